"""Recording rules: store a query's result under a new metric name."""

from __future__ import annotations

from ..model.labels import METRIC_NAME, Labels
from .base import RuleBase
from .vector import QueryFunc, RuleEvalError, Vector, query_vector

__all__ = ["RecordingRule"]


class RecordingRule(RuleBase):
    """``record: name`` + ``expr`` + static ``labels`` (rule labels override series labels)."""

    kind = "recording"

    def __init__(self, name: str, expr: str, *, labels: Labels = Labels()) -> None:
        super().__init__(name, expr, labels=labels)

    def eval(self, ts_ms: int, query_offset_ms: int, query: QueryFunc, limit: int) -> Vector:
        vec = query_vector(query, self.query_expr, ts_ms - query_offset_ms)
        overrides = dict(self.labels.items)
        overrides[METRIC_NAME] = self.name
        out = [lbls.merge(overrides) for lbls in vec.labels]
        if len(set(out)) != len(out):
            raise RuleEvalError("vector contains metrics with the same labelset after applying rule labels")
        if 0 < limit < len(out):
            raise RuleEvalError(f"exceeded limit of {limit} with {len(out)} series")
        return Vector(out, vec.values, vec.h, vec.h_index)
