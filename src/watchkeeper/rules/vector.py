"""Turning a query result into the instant vector a rule works on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model.histogram import HistogramBatch
from ..model.histogram_ops import take
from ..model.labels import Labels
from ..promql import ast

__all__ = ["QueryFunc", "Vector", "RuleEvalError", "query_vector"]

# (query text or parsed expression, evaluation time in ms) -> engine QueryResult
QueryFunc = Callable[[str | ast.Expr, int], object]


class RuleEvalError(Exception):
    """A rule evaluation failed; ``str()`` is the text shown as the rule's lastError."""


@dataclass
class Vector:
    """An instant vector: one value per label set, at one timestamp."""

    labels: list[Labels]
    values: np.ndarray  # float64 (NaN where the sample is a histogram)
    h: HistogramBatch | None = None  # native-histogram samples, when there are any
    h_index: np.ndarray | None = None  # int64 per series: row of ``h`` or -1 for a float

    def __len__(self) -> int:
        return len(self.labels)


def query_vector(query: QueryFunc, expr: str | ast.Expr, t_ms: int) -> Vector:
    """Run ``expr`` at ``t_ms``; a scalar becomes a one-sample vector with no labels (Prometheus'
    ``EngineQueryFunc``)."""
    res = query(expr, t_ms)
    rtype = res.result_type  # type: ignore[attr-defined]
    if rtype == "vector":
        ss = res.series  # type: ignore[attr-defined]
        if ss is None or len(ss) == 0:
            return Vector([], np.zeros(0, np.float64))
        # One sample per series in an instant vector: the last one of each CSR row.
        last = np.asarray(ss.offsets[1:], dtype=np.int64) - 1
        values = np.asarray(ss.v, dtype=np.float64)[last]
        if ss.h is None or ss.h_index is None:
            return Vector(list(ss.labels), values)
        rows = np.asarray(ss.h_index, dtype=np.int64)[last]
        is_h = rows >= 0
        if not is_h.any():
            return Vector(list(ss.labels), values)
        h_index = np.full(rows.shape[0], -1, np.int64)
        h_index[is_h] = np.arange(int(is_h.sum()), dtype=np.int64)
        return Vector(list(ss.labels), values, take(ss.h, rows[is_h]), h_index)
    if rtype == "scalar":
        return Vector([Labels()], np.array([res.scalar[1]], dtype=np.float64))  # type: ignore[attr-defined]
    raise RuleEvalError("rule result is not a vector or scalar")
