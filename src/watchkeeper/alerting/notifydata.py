"""The data every notification is built from (Alertmanager's ``template.Data``), in its JSON shape.

The webhook body is this plus ``version``/``groupKey``/``truncatedAlerts``; channel templates see the same
fields. Firing alerts arrive here with ``ends_at`` blanked by the dispatcher, so they print the zero time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .alert import Alert
from .timefmt import format_rfc3339_ns

__all__ = ["quote_meta", "alert_status", "alert_json", "template_data"]

_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


def quote_meta(s: str) -> str:
    """Go's ``regexp.QuoteMeta``: the receiver name as Alertmanager puts it in payloads."""
    return _META.sub(r"\\\1", s)


def alert_status(a: Alert, now: int) -> str:
    return "resolved" if a.resolved(now) else "firing"


def alert_json(a: Alert, now: int) -> dict[str, Any]:
    return {
        "status": alert_status(a, now),
        "labels": _sorted(a.labels),
        "annotations": _sorted(a.annotations),
        "startsAt": format_rfc3339_ns(a.starts_at or None),
        "endsAt": format_rfc3339_ns(a.ends_at),
        "generatorURL": a.generator_url,
        "fingerprint": a.fingerprint,
    }


def _sorted(m: Mapping[str, str]) -> dict[str, str]:
    """Go marshals maps with sorted keys; keep that order so bodies are byte-identical."""
    return {k: m[k] for k in sorted(m)}


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = _sorted(maps[0])
    for m in maps[1:]:
        common = {k: v for k, v in common.items() if m.get(k) == v}
    return common


def template_data(
    receiver: str, group_labels: Mapping[str, str], alerts: Sequence[Alert], now: int, external_url: str
) -> dict[str, Any]:
    """``receiver``, ``status``, ``alerts``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``,
    ``externalURL``, in Alertmanager's key order."""
    return {
        "receiver": quote_meta(receiver),
        "status": "firing" if any(not a.resolved(now) for a in alerts) else "resolved",
        "alerts": [alert_json(a, now) for a in alerts],
        "groupLabels": _sorted(group_labels),
        "commonLabels": _common([a.labels for a in alerts]),
        "commonAnnotations": _common([a.annotations for a in alerts]),
        "externalURL": external_url,
    }
