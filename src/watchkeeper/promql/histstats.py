"""Counter-reset hints as Prometheus' ``HistogramStatsIterator`` produces them.

When a selector feeds ``histogram_count``/``histogram_sum``/``histogram_avg`` (through
aggregations and range functions, not through ``histogram_quantile``/``_fraction``,
a binary operator or a subquery), Prometheus reads it with an iterator that skips
buckets and instead decides every sample's counter-reset hint on the fly: an
unknown hint becomes ``reset`` or ``not_reset`` by comparing with the previous
sample of the series. Adding such samples can then report conflicting resets.
"""

from __future__ import annotations

import numpy as np

from ..model import histogram_ops as hops
from ..model.batch import SeriesSet
from ..model.histogram import COUNTER_RESET, NOT_COUNTER_RESET, UNKNOWN_RESET
from . import ast

__all__ = ["stats_selectors", "with_stats_hints"]

_STATS = frozenset({"histogram_count", "histogram_sum", "histogram_avg"})
_BUCKETS = frozenset({"histogram_quantile", "histogram_fraction", "histogram_quantiles"})


def stats_selectors(expr: ast.Expr) -> set[int]:
    """``id`` of every vector selector read through the stats iterator."""
    out: set[int] = set()
    _walk(expr, False, out)
    return out


def _walk(node: ast.Expr, stats: bool, out: set[int]) -> None:
    if isinstance(node, ast.VectorSelector):
        if stats:
            out.add(id(node))
    elif isinstance(node, ast.MatrixSelector):
        _walk(node.vector_selector, stats, out)
    elif isinstance(node, ast.Call):
        mode = True if node.func in _STATS else False if node.func in _BUCKETS else stats
        for arg in node.args:
            _walk(arg, mode, out)
    elif isinstance(node, ast.BinaryExpr):
        _walk(node.lhs, False, out)
        _walk(node.rhs, False, out)
    elif isinstance(node, ast.AggregateExpr):
        _walk(node.expr, stats, out)
        if node.param is not None:
            _walk(node.param, False, out)
    elif isinstance(node, ast.SubqueryExpr):
        _walk(node.expr, False, out)
    elif isinstance(node, ast.ParenExpr | ast.StepInvariantExpr | ast.UnaryExpr):
        _walk(node.expr, stats, out)


def with_stats_hints(ss: SeriesSet) -> SeriesSet:
    """``ss`` with unknown hints of histogram samples replaced by detected ones (each compared
    with the previous histogram sample of its series; a series' first one stays unknown)."""
    if ss.h is None or ss.h_index is None:
        return ss
    hix = ss.h_index
    series = np.repeat(np.arange(len(ss.labels)), np.diff(ss.offsets))
    pos = np.flatnonzero(hix >= 0)
    if pos.shape[0] < 2:
        return ss
    prev, cur = pos[:-1], pos[1:]
    same = series[prev] == series[cur]
    prev, cur = prev[same], cur[same]
    unknown = ss.h.hint[hix[cur]] == UNKNOWN_RESET
    prev, cur = prev[unknown], cur[unknown]
    if cur.shape[0] == 0:
        return ss
    reset = hops.detect_reset(hops.take(ss.h, hix[prev]), hops.take(ss.h, hix[cur]))
    hint = np.array(ss.h.hint, copy=True)
    hint[hix[cur]] = np.where(reset, COUNTER_RESET, NOT_COUNTER_RESET)
    return SeriesSet(ss.labels, ss.offsets, ss.t, ss.v, hops.with_hint(ss.h, hint), hix)
