"""The PromQL engine: evaluates an AST for all steps of a query at once.

Every node is evaluated once for the whole step array ``ts`` (one element for an
instant query) and returns a batch value (``values.py``). Subqueries evaluate
their inner expression over their own, step-aligned array. Semantics follow
Prometheus 3 (``promql/engine.go``): left-open lookback and range windows,
staleness markers, ``offset`` / ``@``, vector matching, delayed name removal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..model import histogram_ops as hops
from ..model.batch import SeriesSet
from ..model.histogram import COUNTER_RESET, NOT_COUNTER_RESET, UNKNOWN_RESET
from ..model.labels import Labels
from ..storage.api import Querier
from . import ast
from .aggregations import aggregate
from .binops import ARITHMETIC, COMPARISON, TRIM, scalar_binop, vector_binop, vector_scalar_binop
from .durations import resolve_duration_exprs
from .errors import ExecutionError, QueryCanceledError, QueryTimeoutError, TooManySamplesError
from .extended import EXTENDED_COUNT_FUNCTIONS, EXTENDED_RATE_FUNCTIONS, anchored_count, extended_rate
from .functions import FUNCTIONS, NATIVE_FUNCTIONS
from .functions.base import FuncCall
from .functions.native import call_with_histograms, has_histograms
from .histstats import stats_selectors, with_stats_hints
from .labelsets import DUPLICATE_LABELSET, collapse_same_labels, drop_metadata, finalize_names
from .limits import limit_ratio
from .parser import parse
from .selectors import (
    concat_ranges,
    instant_select,
    range_select,
    smoothed_select,
    vectors_to_series,
    windows_over,
)
from .values import Annotations, InstantVectors, RangeWindows, Scalar, String, Value

__all__ = ["Engine", "QueryResult", "position_suffix"]


@dataclass
class QueryResult:
    """What a query returns. ``series`` order is Prometheus' output order: as produced for
    instant vectors, sorted by labels for matrices."""

    result_type: Literal["vector", "matrix", "scalar", "string"]
    series: SeriesSet | None = None
    scalar: tuple[int, float] | None = None
    string: tuple[int, str] | None = None
    annotations: Annotations = field(default_factory=Annotations)


def position_suffix(query: str, pos: tuple[int, int]) -> str:
    """`` (line:col)`` of ``pos`` in ``query``, as Prometheus appends to annotations."""
    start = max(0, min(pos[0], len(query)))
    line = query.count("\n", 0, start) + 1
    col = start - (query.rfind("\n", 0, start) + 1) + 1
    return f" ({line}:{col})"


class Engine:
    """Runs PromQL queries against a ``Querier``; thread-safe, at most ``max_concurrent`` at once."""

    def __init__(self, *, lookback_delta_ms: int = 300_000, timeout_s: float = 120.0,
                 max_samples: int = 50_000_000, max_concurrent: int = 20, enable_experimental: bool = False,
                 enable_delayed_name_removal: bool = False,
                 no_step_subquery_interval_ms: int = 60_000) -> None:
        self.lookback_delta_ms = lookback_delta_ms
        self.timeout_s = timeout_s
        self.max_samples = max_samples
        self.enable_experimental = enable_experimental
        self.enable_delayed_name_removal = enable_delayed_name_removal
        self.no_step_subquery_interval_ms = no_step_subquery_interval_ms
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def instant_query(self, querier: Querier, query: str | ast.Expr, t_ms: int, *,
                      cancel: threading.Event | None = None) -> QueryResult:
        return self._run(querier, query, t_ms, t_ms, 0, cancel)

    def range_query(self, querier: Querier, query: str | ast.Expr, start_ms: int, end_ms: int,
                    step_ms: int, *, cancel: threading.Event | None = None) -> QueryResult:
        if step_ms <= 0:
            raise ExecutionError("zero or negative query resolution step widths are not accepted. "
                                 "Try a positive integer")
        if end_ms < start_ms:
            raise ExecutionError("end timestamp must not be before start time")
        return self._run(querier, query, start_ms, end_ms, step_ms, cancel)

    def _parse(self, query: str | ast.Expr) -> tuple[ast.Expr, str]:
        if isinstance(query, ast.Expr):
            return query, ""
        return parse(query, enable_experimental=self.enable_experimental), query

    def _run(self, querier: Querier, query: str | ast.Expr, start: int, end: int, step: int,
             cancel: threading.Event | None) -> QueryResult:
        expr, text = self._parse(query)
        resolve_duration_exprs(expr, step_ms=step, range_ms=end - start)
        if step and expr.type in ("matrix", "string"):
            name = "range vector" if expr.type == "matrix" else "string"
            raise ExecutionError(f'invalid expression type "{name}" for range query, '
                                 "must be Scalar or instant Vector")
        deadline = time.monotonic() + self.timeout_s
        if not self._slots.acquire(timeout=max(0.0, self.timeout_s)):
            raise QueryTimeoutError("query timed out in query queue")
        try:
            ev = _Evaluator(self, querier, text, (start, end, step), deadline, cancel)
            ev.stats_ids = stats_selectors(expr)
            ts = np.arange(start, end + 1, step or 1, dtype=np.int64)
            ev.check()
            value = ev.eval(expr, ts)
            return ev.result(value, ts, instant=not step)
        finally:
            self._slots.release()


class _Evaluator:
    """State of one query evaluation."""

    def __init__(self, engine: Engine, querier: Querier, text: str, query_range: tuple[int, int, int],
                 deadline: float, cancel: threading.Event | None) -> None:
        self.engine = engine
        self.querier = querier
        self.text = text
        self.query_range = query_range  # (start, end, step) of the whole query; step 0 if instant
        self.start, self.end = query_range[0], query_range[1]
        self.deadline = deadline
        self.cancel = cancel
        self.annotations = Annotations()
        self.delayed = engine.enable_delayed_name_removal
        self.lookback = engine.lookback_delta_ms
        self._invariant: dict[int, bool] = {}  # node id -> step invariance
        self.stats_ids: set[int] = set()  # selectors read as Prometheus' HistogramStatsIterator does

    # -- bookkeeping ---------------------------------------------------------------------------

    def check(self) -> None:
        """Raise if the query was canceled or ran out of time (checked before every node)."""
        if self.cancel is not None and self.cancel.is_set():
            raise QueryCanceledError("query was canceled in expression evaluation")
        if time.monotonic() > self.deadline:
            raise QueryTimeoutError("query timed out in expression evaluation")

    def count_samples(self, n: int) -> None:
        if n > self.engine.max_samples:
            raise TooManySamplesError()

    def pos(self, node: ast.Expr) -> str:
        return position_suffix(self.text, node.pos)

    # -- evaluation ----------------------------------------------------------------------------

    def eval(self, node: ast.Expr, ts: np.ndarray) -> Value:
        self.check()
        if ts.shape[0] > 1 and self.invariant(node):
            # Same value at every step (everything it reads is pinned by @): evaluate once,
            # as Prometheus does for its StepInvariantExpr.
            return _repeat_steps(self.eval_node(node, ts[:1]), ts.shape[0])
        return self.eval_node(node, ts)

    def invariant(self, node: ast.Expr) -> bool:
        key = id(node)
        known = self._invariant.get(key)
        if known is None:
            known = self._invariant[key] = _step_invariant(node, self.invariant)
        return known

    def eval_node(self, node: ast.Expr, ts: np.ndarray) -> Value:
        if isinstance(node, ast.NumberLiteral):
            return Scalar(np.full(ts.shape[0], float(node.val)))
        if isinstance(node, ast.StringLiteral):
            return String(node.val)
        if isinstance(node, ast.ParenExpr | ast.StepInvariantExpr):
            return self.eval(node.expr, ts)
        if isinstance(node, ast.VectorSelector):
            return self.vector_selector(node, ts)
        if isinstance(node, ast.MatrixSelector):
            return self.matrix_selector(node, ts)
        if isinstance(node, ast.SubqueryExpr):
            return self.subquery(node, ts)
        if isinstance(node, ast.UnaryExpr):
            return self.unary(node, ts)
        if isinstance(node, ast.BinaryExpr):
            return self.binary(node, ts)
        if isinstance(node, ast.AggregateExpr):
            return self.aggregation(node, ts)
        if isinstance(node, ast.Call):
            return self.call(node, ts)
        raise ExecutionError(f"unhandled expression of type {type(node).__name__}")

    def ref_times(self, ts: np.ndarray, timestamp_ms: int | None, start_or_end: str | None,
                  offset_ms: int) -> np.ndarray:
        """Per step, the time a selector or subquery looks at: ``@`` (or the step) minus ``offset``."""
        if start_or_end == "start":
            base = np.full(ts.shape[0], self.start, dtype=np.int64)
        elif start_or_end == "end":
            base = np.full(ts.shape[0], self.end, dtype=np.int64)
        elif timestamp_ms is not None:
            base = np.full(ts.shape[0], timestamp_ms, dtype=np.int64)
        else:
            base = ts
        return base - offset_ms

    def vector_selector(self, node: ast.VectorSelector, ts: np.ndarray) -> InstantVectors:
        ref = self.ref_times(ts, node.timestamp_ms, node.start_or_end, node.offset_ms)
        if node.smoothed:
            ss = self.querier.select(node.matchers, int(ref.min()) - self.lookback + 1,
                                     int(ref.max()) + self.lookback)
            vec = smoothed_select(ss, ref, self.lookback, self.annotations, self.pos(node))
        else:
            _reject_extended(node)
            ss = self.select(node, int(ref.min()) - self.lookback + 1, int(ref.max()))
            vec = instant_select(ss, ref, self.lookback)
        self.count_samples(int(vec.present.sum()))
        return vec

    def matrix_selector(self, node: ast.MatrixSelector, ts: np.ndarray) -> RangeWindows:
        vs = node.vector_selector
        _reject_extended(vs)
        ref = self.ref_times(ts, vs.timestamp_ms, vs.start_or_end, vs.offset_ms)
        ss = self.select(vs, int(ref.min()) - node.range_ms + 1, int(ref.max()))
        win = range_select(ss, ref, node.range_ms)
        if win.lo.size:
            self.count_samples(int((win.hi - win.lo).sum(axis=0).max()))
        return win

    def select(self, vs: ast.VectorSelector, mint: int, maxt: int) -> SeriesSet:
        """The selector's series; read as the stats iterator would when a histogram_count/_sum/_avg
        consumes them (one lookback delta earlier, so that the first sample has a predecessor)."""
        if id(vs) not in self.stats_ids:
            return self.querier.select(vs.matchers, mint, maxt)
        return with_stats_hints(self.querier.select(vs.matchers, mint - self.lookback, maxt))

    def subquery(self, node: ast.SubqueryExpr, ts: np.ndarray) -> RangeWindows:
        step = node.step_ms or self.engine.no_step_subquery_interval_ms
        ref = self.ref_times(ts, node.timestamp_ms, node.start_or_end, node.offset_ms)
        # Inner steps are multiples of the step in absolute time, starting strictly after the
        # earliest window start (Prometheus aligns subqueries this way for cacheability).
        first = (int(ref.min()) - node.range_ms) // step * step + step
        inner_ts = np.arange(first, int(ref.max()) + 1, step, dtype=np.int64)
        if inner_ts.size == 0:
            inner = InstantVectors([], np.zeros((0, 0)), np.zeros((0, 0), dtype=bool))
        else:
            inner = self.as_vectors(self.eval(node.expr, inner_ts), inner_ts)
            if inner.h is not None and inner.h_index is not None:
                inner = _forget_counter_hints(inner)
        ss = vectors_to_series(inner, inner_ts)
        return windows_over(ss, ref, node.range_ms, drop_name=inner.drop_name)

    def as_vectors(self, value: Value, ts: np.ndarray) -> InstantVectors:
        if isinstance(value, InstantVectors):
            return value
        if isinstance(value, Scalar):
            return InstantVectors([Labels()], value.values[None, :].copy(),
                                  np.ones((1, ts.shape[0]), dtype=bool))
        raise ExecutionError(f"expected instant vector, got {type(value).__name__}")

    def unary(self, node: ast.UnaryExpr, ts: np.ndarray) -> Value:
        val = self.eval(node.expr, ts)
        if node.op != "-":
            return val
        if isinstance(val, Scalar):
            return Scalar(-val.values)
        if not isinstance(val, InstantVectors):
            raise ExecutionError("unary minus needs a scalar or instant vector")
        h, h_index = None, None
        if val.h is not None and val.h_index is not None:
            h, h_index = hops.scale(val.h, -1.0), val.h_index
        if self.delayed:
            return InstantVectors(val.labels, -val.values, val.present, np.ones(len(val.labels), dtype=bool),
                                  None, h, h_index)
        out = InstantVectors([drop_metadata(lbl) for lbl in val.labels], -val.values, val.present, None, None,
                             h, h_index)
        return collapse_same_labels(out)

    def binary(self, node: ast.BinaryExpr, ts: np.ndarray) -> Value:
        lhs = self.eval(node.lhs, ts)
        rhs = self.eval(node.rhs, ts)
        op = node.op
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            return Scalar(scalar_binop(op, lhs.values, rhs.values))
        if op not in ARITHMETIC and op not in COMPARISON and op not in TRIM and not (
                isinstance(lhs, InstantVectors) and isinstance(rhs, InstantVectors)):
            raise ExecutionError(f"set operator {op!r} not allowed in binary scalar expression")
        notes = {"annotations": self.annotations, "pos": self.pos(node)}
        if isinstance(lhs, InstantVectors) and isinstance(rhs, Scalar):
            out = vector_scalar_binop(op, lhs, rhs.values, scalar_left=False, return_bool=node.return_bool,
                                      delayed_names=self.delayed, **notes)
        elif isinstance(lhs, Scalar) and isinstance(rhs, InstantVectors):
            out = vector_scalar_binop(op, rhs, lhs.values, scalar_left=True, return_bool=node.return_bool,
                                      delayed_names=self.delayed, **notes)
        elif isinstance(lhs, InstantVectors) and isinstance(rhs, InstantVectors):
            out = vector_binop(op, lhs, rhs, node.matching, return_bool=node.return_bool,
                               delayed_names=self.delayed, **notes)
        else:
            raise ExecutionError(f"invalid operands for binary operator {op!r}")
        self.count_samples(int(out.present.sum()))
        return out

    def aggregation(self, node: ast.AggregateExpr, ts: np.ndarray) -> InstantVectors:
        param: np.ndarray | str | None = None
        param_pos = ""
        if node.param is not None:
            pval = self.eval(node.param, ts)
            if isinstance(pval, String):
                param = pval.value
            elif isinstance(pval, Scalar):
                param = pval.values
            else:
                raise ExecutionError(f"expected scalar parameter for {node.op}")
            param_pos = self.pos(node.param)
        vec = self.as_vectors(self.eval(node.expr, ts), ts)
        if node.op == "limit_ratio":
            assert isinstance(param, np.ndarray)
            out = limit_ratio(vec, node.grouping, node.without, param, self.annotations, param_pos)
        else:
            out = aggregate(node.op, vec, node.grouping, node.without, param, self.annotations, param_pos,
                            self.pos(node.expr))
        self.count_samples(int(out.present.sum()))
        return out

    def call(self, node: ast.Call, ts: np.ndarray) -> Value:
        fn = FUNCTIONS.get(node.func)
        if fn is None:
            raise ExecutionError(f"unknown function with name {node.func!r}")
        for arg in node.args:
            if isinstance(arg, ast.MatrixSelector):
                _check_extended_use(node.func, arg.vector_selector)
                vs = arg.vector_selector
                if node.func in EXTENDED_RATE_FUNCTIONS and (vs.anchored or vs.smoothed):
                    return self.finish_vectors(self.extended_rate(node.func, arg, ts))
                if node.func in EXTENDED_COUNT_FUNCTIONS and vs.anchored:
                    return self.finish_vectors(self.anchored_count(node.func, arg, ts))
        args = [self.eval(arg, ts) for arg in node.args]
        call = FuncCall(name=node.func, args=args, exprs=list(node.args), eval_ts=ts,
                        annotations=self.annotations, querier=self.querier, lookback_ms=self.lookback,
                        pos=node.pos, query=self.text, query_range=self.query_range)
        if any(has_histograms(a) for a in args):
            out = call_with_histograms(call, fn, NATIVE_FUNCTIONS)
        else:
            out = fn(call)
        if isinstance(out, InstantVectors):
            out = self.finish_vectors(out)
        return out

    def finish_vectors(self, out: InstantVectors) -> InstantVectors:
        """A function's output: names dropped now unless removal is delayed; equal label sets merged."""
        if not self.delayed and out.drop_name is not None and out.drop_name.any():
            labels = [drop_metadata(lbl) if d else lbl
                      for lbl, d in zip(out.labels, out.drop_name, strict=True)]
            out = InstantVectors(labels, out.values, out.present, None, out.timestamps, out.h, out.h_index)
        out = collapse_same_labels(out)
        self.count_samples(int(out.present.sum()))
        return out

    def extended_rate(self, func: str, node: ast.MatrixSelector, ts: np.ndarray) -> InstantVectors:
        vs = node.vector_selector
        ref = self.ref_times(ts, vs.timestamp_ms, vs.start_or_end, vs.offset_ms)
        after = self.lookback if vs.smoothed else 0
        ss = self.querier.select(vs.matchers, int(ref.min()) - node.range_ms - self.lookback + 1,
                                 int(ref.max()) + after)
        return extended_rate(func, ss, ref, node.range_ms, self.lookback, vs.smoothed, self.annotations,
                             self.pos(node))

    def anchored_count(self, func: str, node: ast.MatrixSelector, ts: np.ndarray) -> InstantVectors:
        vs = node.vector_selector
        ref = self.ref_times(ts, vs.timestamp_ms, vs.start_or_end, vs.offset_ms)
        mint = int(ref.min()) - node.range_ms - self.lookback + 1
        ss = self.querier.select(vs.matchers, mint, int(ref.max()))
        return anchored_count(func, ss, ref, node.range_ms, self.lookback)

    # -- results -------------------------------------------------------------------------------

    def result(self, value: Value, ts: np.ndarray, *, instant: bool) -> QueryResult:
        t0 = int(ts[0])
        if isinstance(value, String):
            return QueryResult("string", string=(t0, value.value), annotations=self.annotations)
        if isinstance(value, Scalar):
            if instant:
                return QueryResult("scalar", scalar=(t0, float(value.values[0])),
                                   annotations=self.annotations)
            value = self.as_vectors(value, ts)
        if isinstance(value, RangeWindows):
            return QueryResult("matrix", series=_windows_result(value), annotations=self.annotations)
        assert isinstance(value, InstantVectors)
        vec = finalize_names(value)
        keep = vec.present.any(axis=1)
        rows = np.flatnonzero(keep)
        labels = [vec.labels[i] for i in rows]
        if instant:
            values = vec.values[rows, 0].astype(np.float64)
            offsets = np.arange(rows.size + 1, dtype=np.int64)
            series = SeriesSet(labels, offsets, np.full(rows.size, t0, dtype=np.int64), values)
            if vec.h is not None and vec.h_index is not None:
                series.h, series.h_index = vec.h, vec.h_index[rows, 0]
            return QueryResult("vector", series=series, annotations=self.annotations)
        order = sorted(range(len(labels)), key=lambda i: labels[i].items)  # tuple order = label order
        rows = rows[order]
        sub = InstantVectors([vec.labels[i] for i in rows], vec.values[rows], vec.present[rows])
        if vec.h is not None and vec.h_index is not None:
            sub.h, sub.h_index = vec.h, vec.h_index[rows]
        return QueryResult("matrix", series=vectors_to_series(sub, ts), annotations=self.annotations)


# Functions whose result depends on the evaluation time itself (Prometheus' AtModifierUnsafeFunctions).
_TIME_DEPENDENT = frozenset({"days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
                             "month", "year", "predict_linear", "time", "timestamp"})


def _step_invariant(node: ast.Expr, invariant: Callable[[ast.Expr], bool]) -> bool:
    """Whether ``node`` has the same value at every step: every selector and subquery it reads is
    pinned with ``@`` and no function looks at the evaluation time."""
    if isinstance(node, ast.NumberLiteral | ast.StringLiteral):
        return True
    if isinstance(node, ast.VectorSelector):
        return node.timestamp_ms is not None or node.start_or_end is not None
    if isinstance(node, ast.MatrixSelector):
        return invariant(node.vector_selector)
    if isinstance(node, ast.SubqueryExpr):
        return node.timestamp_ms is not None or node.start_or_end is not None
    if isinstance(node, ast.ParenExpr | ast.StepInvariantExpr | ast.UnaryExpr):
        return invariant(node.expr)
    if isinstance(node, ast.BinaryExpr):
        return invariant(node.lhs) and invariant(node.rhs)
    if isinstance(node, ast.AggregateExpr):
        return invariant(node.expr) and (node.param is None or invariant(node.param))
    if isinstance(node, ast.Call):
        return node.func not in _TIME_DEPENDENT and all(invariant(a) for a in node.args)
    return False


def _forget_counter_hints(vec: InstantVectors) -> InstantVectors:
    """Subquery steps lose ``reset``/``not_reset`` hints (Prometheus PR 15987): a step may see
    the same stored histogram again or skip samples between two steps, so a hint about the
    stored predecessor says nothing about the previous step; resets are detected explicitly."""
    assert vec.h is not None and vec.h_index is not None
    hint = vec.h.hint
    clear = (hint == COUNTER_RESET) | (hint == NOT_COUNTER_RESET)
    if not clear.any():
        return vec
    h = hops.with_hint(vec.h, np.where(clear, UNKNOWN_RESET, hint).astype(np.uint8))
    return InstantVectors(vec.labels, vec.values, vec.present, vec.drop_name, vec.timestamps, h, vec.h_index)


def _repeat_steps(value: Value, steps: int) -> Value:
    """A one-step value repeated for ``steps`` steps."""
    if isinstance(value, Scalar):
        return Scalar(np.repeat(value.values, steps))
    if isinstance(value, InstantVectors):
        ts = None if value.timestamps is None else np.repeat(value.timestamps, steps, axis=1)
        hix = None if value.h_index is None else np.repeat(value.h_index, steps, axis=1)
        return InstantVectors(value.labels, np.repeat(value.values, steps, axis=1),
                              np.repeat(value.present, steps, axis=1), value.drop_name, ts, value.h, hix)
    if isinstance(value, RangeWindows):
        return RangeWindows(value.labels, value.t, value.v, value.offsets,
                            np.repeat(value.lo, steps, axis=1), np.repeat(value.hi, steps, axis=1),
                            np.repeat(value.eval_t, steps), value.range_ms, value.drop_name, value.h,
                            value.h_index)
    return value


_ANCHORED_SAFE = ("changes", "delta", "increase", "rate", "resets")
_SMOOTHED_SAFE = ("delta", "increase", "rate")


def _check_extended_use(func: str, vs: ast.VectorSelector) -> None:
    """Prometheus' check that ``anchored`` / ``smoothed`` ranges feed only functions defined for them."""
    if vs.anchored and func not in _ANCHORED_SAFE:
        raise ExecutionError(f"anchored modifier can only be used with: {', '.join(_ANCHORED_SAFE)} "
                             f"- not with {func}")
    if vs.smoothed and func not in _SMOOTHED_SAFE:
        raise ExecutionError(f"smoothed modifier can only be used with: {', '.join(_SMOOTHED_SAFE)} "
                             f"- not with {func}")


def _reject_extended(vs: ast.VectorSelector) -> None:
    # The experimental boundary-extending selectors need matching function support; rather
    # than answer wrongly, say so.
    if vs.anchored or vs.smoothed:
        raise ExecutionError("the experimental anchored and smoothed modifiers are not supported")


def _windows_result(win: RangeWindows) -> SeriesSet:
    """The matrix an instant query of a range selector or subquery returns: the window at the one step."""
    lo, hi = win.lo[:, 0], win.hi[:, 0]
    drop = win.drop_name if win.drop_name is not None else np.zeros(len(win.labels), dtype=bool)
    keep = np.flatnonzero(hi > lo)
    labels = [drop_metadata(win.labels[i]) if drop[i] else win.labels[i] for i in keep]
    if len(set(labels)) != len(labels):
        raise ExecutionError(DUPLICATE_LABELSET)
    order = sorted(range(len(labels)), key=lambda i: labels[i].items)
    keep = keep[order]
    labels = [labels[i] for i in order]
    counts = (hi - lo)[keep]
    offsets = np.zeros(keep.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    take = concat_ranges(lo[keep], hi[keep])
    if win.h is not None and win.h_index is not None:
        return SeriesSet(labels, offsets, win.t[take], win.v[take], win.h, win.h_index[take])
    return SeriesSet(labels, offsets, win.t[take], win.v[take])
