"""Alert label/annotation templates: the data and functions Prometheus gives them.

Each template is prefixed with Prometheus' variable definitions so rule files can
use ``$labels``, ``$value``, ``$externalLabels`` and ``$externalURL`` as well as
``.Labels``/``.Value``. The Go ``text/template`` implementation itself lives in
``watchkeeper.template``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from ..model.labels import Labels
from ..template import TemplateError, TemplateSet
from ..template.prometheus_funcs import QuerySample, prometheus_funcs
from .vector import QueryFunc, query_vector

__all__ = ["TEMPLATE_DEFS", "alert_template_data", "make_templater", "check_template"]

log = logging.getLogger(__name__)

_MAX_CACHED_TEMPLATES = 50_000
_MAX_CACHED_EXPANSIONS = 200_000

TEMPLATE_DEFS = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)


def alert_template_data(
    labels: Labels, external_labels: Labels, external_url: str, value: float
) -> dict[str, Any]:
    """Prometheus' ``AlertTemplateData``: the template sees the series' labels including ``__name__``."""
    return {
        "Labels": labels.to_dict(),
        "ExternalLabels": external_labels.to_dict(),
        "ExternalURL": external_url,
        "Value": value,
    }


def _query_adapter(query: QueryFunc, ts_ms: int) -> Callable[[str], list[QuerySample]]:
    """The template ``query`` function: run PromQL at the evaluation time, return Prometheus'
    ``queryResult`` shape (samples with ``Labels`` and ``Value``)."""

    def run(q: str) -> list[QuerySample]:
        vec = query_vector(query, q, ts_ms)
        return [
            QuerySample(lbls.to_dict(), v) for lbls, v in zip(vec.labels, vec.values.tolist(), strict=True)
        ]

    return run


def make_templater(*, external_labels: Labels, external_url: str) -> Callable[..., str]:
    """An ``AlertTemplater`` expanding with Prometheus' function set.

    Parsing dominates expansion cost, so each (alert, text) is parsed once and its trees are
    reused; the function map is rebuilt only when the evaluation (query, time) changes; and
    a template that does not query is expanded again only when its labels or value change.
    """
    parsed: dict[tuple[str, str], dict[str, Any] | TemplateError] = {}
    last_funcs: list[tuple[tuple[int, int], dict[str, Callable[..., Any]]]] = []
    expanded: dict[tuple[str, str, Labels, float], str] = {}

    def trees_for(name: str, text: str, funcs: dict[str, Callable[..., Any]]) -> dict[str, Any]:
        key = (name, text)
        hit = parsed.get(key)
        if hit is None:
            if len(parsed) > _MAX_CACHED_TEMPLATES:
                parsed.clear()
            try:
                hit = TemplateSet(funcs).parse(TEMPLATE_DEFS + text, name).trees
            except TemplateError as e:
                hit = e
            parsed[key] = hit
        if isinstance(hit, TemplateError):
            raise hit
        return hit

    def funcs_for(query: QueryFunc, ts_ms: int) -> dict[str, Callable[..., Any]]:
        key = (id(query), ts_ms)
        cached = last_funcs[0] if last_funcs else None
        if cached is not None and cached[0] == key:
            return cached[1]
        funcs = prometheus_funcs(query=_query_adapter(query, ts_ms), external_url=external_url)
        last_funcs[:] = [(key, funcs)]
        return funcs

    def templater(
        text: str, *, alert_name: str, labels: Labels, value: float, ts_ms: int, query: QueryFunc
    ) -> str:
        # Without `query` the output depends only on these inputs: reuse it while they repeat
        # (typical: the same alerts with the same values evaluation after evaluation).
        key = None if "query" in text else (alert_name, text, labels, value)
        if key is not None:
            hit = expanded.get(key)
            if hit is not None:
                return hit
        out = expand(text, alert_name, labels, value, ts_ms, query)
        if key is not None and not math.isnan(value):
            if len(expanded) > _MAX_CACHED_EXPANSIONS:
                expanded.clear()
            expanded[key] = out
        return out

    def expand(text: str, alert_name: str, labels: Labels, value: float, ts_ms: int, query: QueryFunc) -> str:
        data = alert_template_data(labels, external_labels, external_url, value)
        funcs = funcs_for(query, ts_ms)
        name = "__alert_" + alert_name
        try:
            # Prometheus expands with missingkey=zero: an absent label prints as "".
            tset = TemplateSet(funcs, missingkey="zero")
            tset.trees = dict(trees_for(name, text, funcs))
            return tset.execute(name, data)
        except TemplateError as e:
            log.warning("expanding alert template failed: alert=%s err=%s", alert_name, e)
            return f"<error expanding template: {e}>"

    return templater


def check_template(text: str, alert_name: str) -> str | None:
    """Parse-check a rule template as ``promtool check rules`` does; the error text or None."""
    if "{{" not in text:
        return None
    funcs = prometheus_funcs()
    try:
        TemplateSet(funcs).parse(TEMPLATE_DEFS + text, "__alert_" + alert_name)
    except TemplateError as e:
        return str(e)
    return None
