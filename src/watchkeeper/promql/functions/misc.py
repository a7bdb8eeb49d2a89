"""absent, vector, scalar, time, pi, the sort family and double_exponential_smoothing."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ...model.labels import METRIC_NAME, Labels
from ...model.matchers import MatchType
from .. import ast
from ..errors import ExecutionError
from ..values import InstantVectors, Scalar
from .base import FuncCall, compiled, empty_vectors, go_format_f, range_result, single_series
from .windows import WindowSet

__all__ = ["FUNCTIONS", "absent_labels", "natural_less"]


def absent_labels(expr: ast.Expr) -> Labels:
    """Labels ``absent()`` reports: the names matched exactly once with ``=`` by a selector argument.

    A name used by several matchers is left out (Prometheus' historic behaviour).
    """
    expr = _unwrap_step_invariant(expr)
    if isinstance(expr, ast.MatrixSelector):
        expr = expr.vector_selector
    if not isinstance(expr, ast.VectorSelector):
        return Labels()
    out: dict[str, str] = {}
    seen: set[str] = set()
    for m in expr.matchers:
        if m.name == METRIC_NAME:
            continue
        if m.type is MatchType.EQUAL and m.name not in seen:
            out[m.name] = m.value
            seen.add(m.name)
        else:
            out.pop(m.name, None)
    return Labels(out)


def _unwrap_step_invariant(expr: ast.Expr) -> ast.Expr:
    while isinstance(expr, ast.StepInvariantExpr):
        expr = expr.expr
    return expr


def _absent(call: FuncCall) -> InstantVectors:
    vec = call.vector(0)
    absent = ~vec.present.any(axis=0) if len(vec.labels) else np.ones(call.num_steps, dtype=bool)
    if not absent.any():
        return empty_vectors(call.num_steps)
    return single_series(absent_labels(call.exprs[0]), np.where(absent, 1.0, np.nan), absent)


def _vector(call: FuncCall) -> InstantVectors:
    values = np.array(call.scalar(0), dtype=np.float64)
    return single_series(Labels(), values, np.ones(call.num_steps, dtype=bool))


def _scalar(call: FuncCall) -> Scalar:
    vec = call.vector(0)
    if not len(vec.labels):
        return Scalar(np.full(call.num_steps, np.nan))
    one = vec.present.sum(axis=0) == 1
    value = np.where(vec.present, vec.values, 0.0).sum(axis=0)
    return Scalar(np.where(one, value, np.nan))


def _time(call: FuncCall) -> Scalar:
    return Scalar(call.eval_ts.astype(np.float64) / 1000)


def _pi(call: FuncCall) -> Scalar:
    return Scalar(np.full(call.num_steps, math.pi))


def _query_context(field: str) -> Callable[[FuncCall], Scalar]:
    """``start()``, ``end()``, ``step()``, ``range()``: the query's time range in seconds."""
    def impl(call: FuncCall) -> Scalar:
        if call.query_range is None:
            raise ExecutionError(f"{call.name}() needs the query's time range")
        start, end, step = call.query_range
        value = {"start": start, "end": end, "step": step, "range": end - start}[field] / 1000
        return Scalar(np.full(call.num_steps, value))
    return impl


def _min_of(call: FuncCall) -> Scalar:
    return Scalar(np.minimum(call.scalar(0), call.scalar(1)))


def _max_of(call: FuncCall) -> Scalar:
    return Scalar(np.maximum(call.scalar(0), call.scalar(1)))


def natural_less(a: str, b: str) -> bool:
    """facette/natsort's ``Compare`` (used by ``sort_by_label``): runs of digits compare as numbers.

    Works on UTF-8 bytes like the Go original, including its handling of leading zeros.
    """
    x, y = a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
    i = j = 0
    while True:
        if i >= len(x):
            return j < len(y)
        if j >= len(y):
            return False
        ca, cb = x[i], y[j]
        if _digit(ca) and _digit(cb):
            i, na = _number_run(x, i)
            j, nb = _number_run(y, j)
            if na != nb:
                return na < nb
            sa, sb = x[i:i + na], y[j:j + nb]
            if sa != sb:
                return sa < sb
            i += na
            j += nb
            continue
        if ca == cb:
            i += 1
            j += 1
            continue
        return ca < cb


def _digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _number_run(s: bytes, pos: int) -> tuple[int, int]:
    """Skip leading zeros the way natsort does; returns (start, length) of the digit run."""
    length = 1
    cur = s[pos]
    while pos + length < len(s):
        nxt = s[pos + length]
        if cur == 0x30:
            pos += 1
            cur = nxt
            continue
        if _digit(nxt):
            length += 1
        else:
            break
    return pos, length


def _sort_warning(call: FuncCall) -> bool:
    """Sorting a range query's steps is meaningless; Prometheus warns. Returns True if sorting applies."""
    if call.num_steps > 1:
        call.warn("sort is ineffective for range queries since results are always ordered by labels",
                  call.pos)
        return False
    return True


def _reorder(vec: InstantVectors, order: list[int] | None = None) -> InstantVectors:
    """``vec``'s series in ``order``; sample timestamps are not passed on (they are the step's now)."""
    if order is None:
        return InstantVectors(vec.labels, vec.values, vec.present, vec.drop_name, None, vec.h, vec.h_index)
    idx = np.array(order, dtype=np.int64)
    drop = vec.drop_name[idx] if vec.drop_name is not None else None
    h_index = None if vec.h_index is None else vec.h_index[idx]
    return InstantVectors([vec.labels[i] for i in order], vec.values[idx], vec.present[idx], drop, None,
                          vec.h if h_index is not None else None, h_index)


def _sort_by_value(call: FuncCall, descending: bool) -> InstantVectors:
    vec = call.vector(0)
    if not _sort_warning(call) or not len(vec.labels):
        return _reorder(vec)
    rows = [i for i in range(len(vec.labels)) if vec.present[i, 0]]
    vals = vec.values[:, 0]
    numbers = [i for i in rows if not math.isnan(vals[i])]
    nans = [i for i in rows if math.isnan(vals[i])]
    # Go's insertion sort (used for short vectors) keeps ties in input order and reverses NaNs.
    numbers.sort(key=lambda i: -vals[i] if descending else vals[i])
    return _reorder(vec, numbers + nans[::-1])


def _sort_by_label(call: FuncCall, descending: bool) -> InstantVectors:
    vec = call.vector(0)
    names = [call.string(i) for i in range(1, len(call.args))]
    if not _sort_warning(call) or not len(vec.labels):
        return _reorder(vec)
    sign = -1 if descending else 1

    def compare(i: int, j: int) -> int:
        # Prometheus' comparator: not antisymmetric when natsort ties distinct strings ("a10" vs
        # "a010"), so the result depends on the sort algorithm, reproduced below for short vectors.
        a, b = vec.labels[i], vec.labels[j]
        for name in names:
            va, vb = a.get(name), b.get(name)
            if va == vb:
                continue
            return -sign if natural_less(va, vb) else sign
        return sign * (-1 if a < b else (1 if b < a else 0))

    rows = [i for i in range(len(vec.labels)) if vec.present[i, 0]]
    if len(rows) <= _GO_INSERTION_SORT_MAX:
        _insertion_sort(rows, compare)
    else:
        rows.sort(key=functools.cmp_to_key(compare))
    return _reorder(vec, rows)


# Go's slices.SortFunc (pdqsort) insertion-sorts slices of up to 12 elements.
_GO_INSERTION_SORT_MAX = 12


def _insertion_sort(items: list[int], compare: Callable[[int, int], int]) -> None:
    for i in range(1, len(items)):
        j = i
        while j > 0 and compare(items[j], items[j - 1]) < 0:
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1


def _double_exponential_smoothing(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    sf_steps, tf_steps = call.scalar(1), call.scalar(2)
    nonempty = ((rw.hi - rw.lo) > 0).any(axis=0)
    for name, factor, steps in (("smoothing", "sf", sf_steps), ("trend", "tf", tf_steps)):
        bad = nonempty & ~((steps > 0) & (steps < 1))
        if bad.any():
            got = go_format_f(float(steps[np.flatnonzero(bad)[0]]))
            raise ExecutionError(f"invalid {name} factor. Expected: 0 < {factor} < 1, got: {got}")
    ws = WindowSet(rw, min_count=2)
    with np.errstate(all="ignore"):
        s1 = compiled().window_double_exponential_smoothing(ws.lo, ws.count, rw.v, sf_steps[ws.step],
                                                         tf_steps[ws.step])
    values, present = ws.scatter(s1)
    return range_result(rw, values, present)


FUNCTIONS = {
    "absent": _absent,
    "vector": _vector,
    "scalar": _scalar,
    "time": _time,
    "pi": _pi,
    "sort": lambda call: _sort_by_value(call, False),
    "sort_desc": lambda call: _sort_by_value(call, True),
    "sort_by_label": lambda call: _sort_by_label(call, False),
    "sort_by_label_desc": lambda call: _sort_by_label(call, True),
    "double_exponential_smoothing": _double_exponential_smoothing,
    "min_of": _min_of,
    "max_of": _max_of,
    **{name: _query_context(name) for name in ("start", "end", "step", "range")},
}

