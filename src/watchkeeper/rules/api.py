"""The data of ``/api/v1/rules`` and ``/api/v1/alerts`` in Prometheus' JSON shapes.

The HTTP layer wraps these in its ``{"status": "success", "data": ...}`` envelope.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .alert import Alert
from .alerting_rule import AlertingRule
from .base import HEALTH_UNKNOWN
from .group import Group
from .manager import RuleManager
from .notify import format_time

__all__ = ["rules_data", "alerts_data", "alert_json", "go_float_exp", "RULE_TYPES"]

RULE_TYPES = {"alert": "alerting", "record": "recording"}


def go_float_exp(v: float, verb: str = "e") -> str:
    """Go's ``strconv.FormatFloat(v, verb, -1, 64)`` for ``verb`` ``e``/``E``: ``6e+01``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return f"{sign}0{verb}+00"
    _, digits, exp = Decimal(repr(abs(v))).normalize().as_tuple()
    text = "".join(map(str, digits))
    e = int(exp) + len(text) - 1
    mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{sign}{mant}{verb}{'+' if e >= 0 else '-'}{abs(e):02d}"


ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time: Prometheus' "never"


def _time(ms: int, ever: bool) -> str:
    return format_time(ms) if ever else ZERO_TIME


def alert_json(a: Alert) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labels": a.labels.to_dict(),
        "annotations": a.annotations.to_dict(),
        "state": a.state.value,
        "activeAt": format_time(a.active_at),
        "value": go_float_exp(a.value),
    }
    if a.keep_firing_since:
        out["keepFiringSince"] = format_time(a.keep_firing_since)
    return out


def _rule_json(r: object) -> dict[str, Any]:
    if isinstance(r, AlertingRule):
        return {
            "state": r.state().value,
            "name": r.name,
            "query": r.expr,
            "duration": r.for_ms / 1000,
            "keepFiringFor": r.keep_firing_for_ms / 1000,
            "labels": r.labels.to_dict(),
            "annotations": r.annotations.to_dict(),
            "alerts": [alert_json(a) for a in r.active_alerts()],
            "health": r.health,
            "lastError": r.last_error,
            "evaluationTime": r.evaluation_seconds,
            "lastEvaluation": _time(r.last_evaluation_ms, r.health != HEALTH_UNKNOWN),
            "type": "alerting",
        }
    return {
        "name": r.name,  # type: ignore[attr-defined]
        "query": r.expr,  # type: ignore[attr-defined]
        "labels": r.labels.to_dict(),  # type: ignore[attr-defined]
        "health": r.health,  # type: ignore[attr-defined]
        "lastError": r.last_error,  # type: ignore[attr-defined]
        "evaluationTime": r.evaluation_seconds,  # type: ignore[attr-defined]
        "lastEvaluation": _time(r.last_evaluation_ms, r.health != HEALTH_UNKNOWN),  # type: ignore[attr-defined]
        "type": "recording",
    }


def rules_data(
    manager: RuleManager,
    *,
    rule_type: str | None = None,
    rule_names: Iterable[str] = (),
    rule_groups: Iterable[str] = (),
    files: Iterable[str] = (),
    exclude_alerts: bool = False,
) -> dict[str, Any]:
    """``{"groups": [...]}`` for ``/api/v1/rules`` with its ``type``, ``rule_name[]``,
    ``rule_group[]``, ``file[]`` and ``exclude_alerts`` filters. Raises ``ValueError`` for an
    unknown type (the HTTP layer answers 400 ``bad_data``)."""
    if rule_type not in (None, "", "alert", "record"):
        raise ValueError(f'unsupported type "{rule_type}"')
    want_kind = RULE_TYPES.get(rule_type or "")
    names, grps, fls = set(rule_names), set(rule_groups), set(files)
    filtered = bool(want_kind or names or grps or fls)
    out = []
    for g in manager.groups:
        if (grps and g.name not in grps) or (fls and g.file not in fls):
            continue
        rules = []
        for r in g.rules:
            if (want_kind and r.kind != want_kind) or (names and r.name not in names):
                continue
            j = _rule_json(r)
            if exclude_alerts and "alerts" in j:
                del j["alerts"]
            rules.append(j)
        if filtered and not rules:
            continue
        out.append(_group_json(g, rules))
    return {"groups": out}


def _group_json(g: Group, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": g.name,
        "file": g.file,
        "rules": rules,
        "interval": g.interval_ms / 1000,
        "limit": g.limit,
        "evaluationTime": g.metrics.last_duration_s,
        "lastEvaluation": _time(g.metrics.last_evaluation_ms, g.metrics.iterations > 0),
    }


def alerts_data(manager: RuleManager) -> dict[str, Any]:
    """``{"alerts": [...]}`` for ``/api/v1/alerts``: every pending and firing alert."""
    return {"alerts": [alert_json(a) for _, a in manager.active_alerts()]}
