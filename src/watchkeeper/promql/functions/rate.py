"""Counter and gauge change functions: rate, increase, delta, irate, idelta, deriv,
predict_linear, resets, changes (Prometheus' ``extrapolatedRate``, ``extendedRate``,
``instantValue``, ``linearRegression``, ``funcResets``, ``funcChanges``).

``anchored`` and ``smoothed`` range selectors (experimental) need samples outside
the range: the engine widens their windows to the samples in
``(start - lookback, end]`` (anchored) or ``(start - lookback, end + lookback]``
(smoothed), and the functions here pick the boundary samples from those.
"""

from __future__ import annotations

import numpy as np

from ...model.labels import Labels
from .. import ast
from ..values import InstantVectors, RangeWindows
from .base import FuncCall, compiled, go_quote, range_result, unwrap_expr
from .windows import WindowSet

__all__ = ["FUNCTIONS"]

_COUNTER_SUFFIXES = ("_total", "_sum", "_count", "_bucket")


def _series_starts(rw: RangeWindows) -> np.ndarray:
    """Boolean (M,): sample i is the first sample of its series."""
    starts = np.zeros(rw.v.shape[0], dtype=bool)
    firsts = rw.offsets[:-1][rw.offsets[:-1] < rw.offsets[1:]]
    starts[firsts] = True
    return starts


def _pair_flags(flag: np.ndarray) -> np.ndarray:
    """Prefix counts of a per-sample flag that compares a sample with its predecessor.

    ``flag[i]`` must be False at series starts; the number of flagged samples in
    window [lo, hi) excluding its first sample is ``F[hi] - F[lo + 1]``.
    """
    return np.concatenate(([0], np.cumsum(flag, dtype=np.int64)))


def _reset_flags(rw: RangeWindows) -> np.ndarray:
    v = rw.v
    flag = np.zeros(v.shape[0], dtype=bool)
    if v.shape[0] > 1:
        flag[1:] = v[1:] < v[:-1]
    flag &= ~_series_starts(rw)
    return flag


def _possible_non_counter(call: FuncCall, labels: list[Labels]) -> None:
    """Prometheus' info when rate()/increase() gives results for a name that doesn't look like a counter."""
    seen: set[str] = set()
    for lbls in labels:
        items = lbls.items
        # ``__name__`` usually sorts first; the info is given once per name.
        name = items[0][1] if items and items[0][0] == "__name__" else lbls.name
        if name in seen:
            continue
        seen.add(name)
        if name and not name.endswith(_COUNTER_SUFFIXES):
            call.info("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "
                      + go_quote(name), call.exprs[0].pos)


def _extended_mode(call: FuncCall) -> str | None:
    """"anchored" or "smoothed" if the range argument is such a selector."""
    expr = unwrap_expr(call.exprs[0])
    if isinstance(expr, ast.MatrixSelector):
        if expr.vector_selector.anchored:
            return "anchored"
        if expr.vector_selector.smoothed:
            return "smoothed"
    return None


def _interpolate(t: np.ndarray, v: np.ndarray, i1: np.ndarray, at: np.ndarray,
                 is_counter: bool) -> np.ndarray:
    """Value at time ``at`` on the line through samples i1 and i1+1 (a counter restarts from 0)."""
    y1, y2 = v[i1], v[i1 + 1]
    if is_counter:
        y1 = np.where(y2 < y1, 0.0, y1)
    return y1 + (y2 - y1) * (at - t[i1]) / (t[i1 + 1] - t[i1])


def _extended_rate(call: FuncCall, rw: RangeWindows, smoothed: bool, is_counter: bool,
                   is_rate: bool) -> InstantVectors:
    """Prometheus' ``extendedRate``: the change between the range boundaries, without extrapolation."""
    ws = WindowSet(rw)
    t, v = rw.t, rw.v
    end = rw.eval_t[ws.step]
    start = end - rw.range_ms
    lo, n = ws.lo, ws.count
    # Samples among the first n-1 at or before the start / before the end (Go's sort.Search bounds).
    before_start = _count_where(t, lo, n - 1, start, inclusive=True)
    first = lo + np.maximum(0, before_start - 1)
    last = lo + (_count_where(t, lo, n - 1, end, inclusive=False) if smoothed else n - 1)
    ok = t[last] > start
    if smoothed:
        ok &= t[first] <= end
    with np.errstate(all="ignore"):
        left = v[first].copy()
        right = v[last].copy()
        if smoothed:
            i = np.flatnonzero(ok & (t[first] < start))
            left[i] = _interpolate(t, v, first[i], start[i], is_counter)
            i = np.flatnonzero(ok & (last > lo) & (t[last] > end))
            right[i] = _interpolate(t, v, last[i] - 1, end[i], is_counter)
        result = right - left
        if is_counter:
            from_i = np.where(t[first] <= start, first + 1, first)
            to_i = np.where(t[last] >= end, last - 1, last)
            result = result + compiled().window_boundary_correction(v, left, right, from_i, to_i)
        if is_rate:
            result = result / (rw.range_ms / 1000)
    values, present = ws.scatter(result, ok)
    return range_result(rw, values, present)


def _count_where(t: np.ndarray, lo: np.ndarray, n: np.ndarray, bound: np.ndarray,
                 inclusive: bool) -> np.ndarray:
    """Per window, how many of its first ``n`` samples have ``t <= bound`` (or ``t < bound``),
    by bisection (timestamps increase within a window)."""
    a = np.zeros(lo.shape[0], dtype=np.int64)
    b = np.maximum(n, 0).astype(np.int64)
    while (a < b).any():
        active = a < b
        mid = (a + b) // 2
        tm = t[np.where(active, lo + mid, 0)]
        cond = (tm <= bound) if inclusive else (tm < bound)
        a = np.where(active & cond, mid + 1, a)
        b = np.where(active & ~cond, mid, b)
    return a


def _extrapolated_rate(call: FuncCall, is_counter: bool, is_rate: bool) -> InstantVectors:
    rw = call.windows(0)
    mode = _extended_mode(call)
    if mode is not None:
        out = _extended_rate(call, rw, mode == "smoothed", is_counter, is_rate)
    else:
        ws = WindowSet(rw, min_count=2)
        drops = np.zeros(0, dtype=np.int64)
        if is_counter and int(ws.count.sum()) > 2 * rw.v.shape[0]:
            drops = np.zeros(rw.v.shape[0], dtype=np.int64)
            np.cumsum(rw.v[1:] < rw.v[:-1], out=drops[1:])
        with np.errstate(all="ignore"):
            result = compiled().window_extrapolated_rate(ws.lo, ws.count, rw.t, rw.v, rw.eval_t[ws.step],
                                                      rw.range_ms, is_counter, is_rate, drops)
        values, present = ws.scatter(result)
        out = range_result(rw, values, present)
    if call.name in ("rate", "increase"):
        _possible_non_counter(call, out.labels)
    return out


def _rate(call: FuncCall) -> InstantVectors:
    return _extrapolated_rate(call, True, True)


def _increase(call: FuncCall) -> InstantVectors:
    return _extrapolated_rate(call, True, False)


def _delta(call: FuncCall) -> InstantVectors:
    return _extrapolated_rate(call, False, False)


def _instant_value(call: FuncCall, is_rate: bool) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw, min_count=2)
    t, v = rw.t, rw.v
    last, prev = ws.last, ws.last - 1
    with np.errstate(all="ignore"):
        if is_rate:
            result = np.where(v[last] < v[prev], v[last], v[last] - v[prev])
            result = result / ((t[last] - t[prev]) / 1000)
        else:
            result = v[last] - v[prev]
    values, present = ws.scatter(result)
    return range_result(rw, values, present)


def _irate(call: FuncCall) -> InstantVectors:
    return _instant_value(call, True)


def _idelta(call: FuncCall) -> InstantVectors:
    return _instant_value(call, False)


def _deriv(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw, min_count=2)
    slope, _ = compiled().window_regression(ws.lo, ws.count, rw.t, rw.v, rw.t[ws.lo])
    values, present = ws.scatter(slope)
    return range_result(rw, values, present)


def _predict_linear(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    duration = call.scalar(1)
    ws = WindowSet(rw, min_count=2)
    slope, intercept = compiled().window_regression(ws.lo, ws.count, rw.t, rw.v,
                                                 call.eval_ts.astype(np.int64)[ws.step])
    with np.errstate(all="ignore"):
        result = slope * duration[ws.step] + intercept
    values, present = ws.scatter(result)
    return range_result(rw, values, present)


def _count_pairs(call: FuncCall, flag: np.ndarray) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw)
    counts = _pair_flags(flag)
    lo, ok = ws.lo, None
    if _extended_mode(call) == "anchored":
        # Start from the last sample at or before the range start; need one after it.
        start = rw.eval_t[ws.step] - rw.range_ms
        at_or_before = _count_where(rw.t, ws.lo, ws.count, start, inclusive=True)
        ok = at_or_before < ws.count
        lo = ws.lo + np.maximum(0, at_or_before - 1)
    result = (counts[ws.lo + ws.count] - counts[lo + 1]).astype(np.float64)
    values, present = ws.scatter(result, ok)
    return range_result(rw, values, present)


def _resets(call: FuncCall) -> InstantVectors:
    return _count_pairs(call, _reset_flags(call.windows(0)))


def _changes(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    v = rw.v
    flag = np.zeros(v.shape[0], dtype=bool)
    if v.shape[0] > 1:
        cur, prev = v[1:], v[:-1]
        flag[1:] = (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
    flag &= ~_series_starts(rw)
    return _count_pairs(call, flag)


FUNCTIONS = {
    "rate": _rate,
    "increase": _increase,
    "delta": _delta,
    "irate": _irate,
    "idelta": _idelta,
    "deriv": _deriv,
    "predict_linear": _predict_linear,
    "resets": _resets,
    "changes": _changes,
}
