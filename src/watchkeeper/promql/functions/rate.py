"""Counter and gauge change functions: rate, increase, delta, irate, idelta, deriv,
predict_linear, resets, changes (Prometheus' ``extrapolatedRate``, ``instantValue``,
``linearRegression``, ``funcResets``, ``funcChanges``)."""

from __future__ import annotations

import numpy as np

from ..values import InstantVectors, RangeWindows
from .base import FuncCall, go_quote, range_result
from .windows import WindowSet, kahan_inc

__all__ = ["FUNCTIONS"]

_COUNTER_SUFFIXES = ("_total", "_sum", "_count", "_bucket")


def _series_starts(rw: RangeWindows) -> np.ndarray:
    """Boolean (M,): sample i is the first sample of its series."""
    starts = np.zeros(rw.v.shape[0], dtype=bool)
    firsts = rw.offsets[:-1][rw.offsets[:-1] < rw.offsets[1:]]
    starts[firsts] = True
    return starts


def _pair_flags(rw: RangeWindows, flag: np.ndarray) -> np.ndarray:
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


def _counter_correction(ws: WindowSet, rw: RangeWindows) -> np.ndarray:
    """Per window, the sum of the values before each counter reset, added in Prometheus' order."""
    flag = _reset_flags(rw)
    counts = _pair_flags(rw, flag)
    n_resets = counts[ws.lo + ws.count] - counts[ws.lo + 1]
    correction = np.zeros(len(ws))
    has = n_resets > 0
    if not has.any():
        return correction
    sub = ws.select(has)
    acc = np.zeros(len(sub))
    v = rw.v
    for _, m, idx in sub.lockstep(start=1):
        acc[:m] += np.where(flag[idx], v[idx - 1], 0.0)
    correction[has] = acc
    return correction


def _possible_non_counter(call: FuncCall, rw: RangeWindows, rows_with_result: np.ndarray) -> None:
    """Prometheus' info when rate()/increase() is applied to a name that doesn't look like a counter."""
    for i in np.flatnonzero(rows_with_result):
        name = rw.labels[i].name
        if name and not name.endswith(_COUNTER_SUFFIXES):
            call.info("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "
                      + go_quote(name), call.exprs[0].pos)


def _extrapolated_rate(call: FuncCall, is_counter: bool, is_rate: bool) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw, min_count=2)
    t, v = rw.t, rw.v
    first_t, last_t = t[ws.lo], t[ws.last]
    first_v, last_v = v[ws.lo], v[ws.last]
    range_end = rw.eval_t[ws.step]
    range_start = range_end - rw.range_ms
    with np.errstate(all="ignore"):
        result = last_v - first_v
        if is_counter:
            result = result + _counter_correction(ws, rw)
        to_start = (first_t - range_start) / 1000
        to_end = (range_end - last_t) / 1000
        sampled = (last_t - first_t) / 1000
        avg = sampled / (ws.count - 1)
        threshold = avg * 1.1
        to_start = np.where(to_start >= threshold, avg / 2, to_start)
        if is_counter:
            use_zero = (result > 0) & (first_v >= 0)
            to_zero = np.where(use_zero, sampled * (first_v / result), to_start)
            to_start = np.where(to_zero < to_start, to_zero, to_start)
        to_end = np.where(to_end >= threshold, avg / 2, to_end)
        factor = np.where(sampled != 0, (sampled + to_start + to_end) / sampled, 1.0)
        if is_rate:
            factor = factor / (rw.range_ms / 1000)
        result = result * factor
    values, present = ws.scatter(result)
    if call.name in ("rate", "increase"):
        _possible_non_counter(call, rw, present.any(axis=1))
    return range_result(rw, values, present)


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


def _linear_regression(ws: WindowSet, intercept_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``linearRegression`` (Kahan sums) for every window; returns (slope, intercept)."""
    t, v = ws.t, ws.v
    size = len(ws)
    n = np.zeros(size)
    sx, cx, sy, cy, sxy, cxy, sx2, cx2 = (np.zeros(size) for _ in range(8))
    init_y = v[ws.lo]
    const_y = np.ones(size, dtype=bool)
    with np.errstate(all="ignore"):
        for k, m, idx in ws.lockstep():
            y = v[idx]
            if k > 0:
                const_y[:m] &= ~(y != init_y[:m])
            n[:m] += 1.0
            x = (t[idx] - intercept_t[:m]) / 1e3
            sx[:m], cx[:m] = kahan_inc(x, sx[:m], cx[:m])
            sy[:m], cy[:m] = kahan_inc(y, sy[:m], cy[:m])
            sxy[:m], cxy[:m] = kahan_inc(x * y, sxy[:m], cxy[:m])
            sx2[:m], cx2[:m] = kahan_inc(x * x, sx2[:m], cx2[:m])
        sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
        cov_xy = sxy - sx * sy / n
        var_x = sx2 - sx * sx / n
        slope = cov_xy / var_x
        intercept = sy / n - slope * sx / n
    inf_y = np.isinf(init_y)
    slope = np.where(const_y, np.where(inf_y, np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(inf_y, np.nan, init_y), intercept)
    return slope, intercept


def _deriv(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw, min_count=2)
    slope, _ = _linear_regression(ws, rw.t[ws.lo])
    values, present = ws.scatter(slope)
    return range_result(rw, values, present)


def _predict_linear(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    duration = call.scalar(1)
    ws = WindowSet(rw, min_count=2)
    slope, intercept = _linear_regression(ws, call.eval_ts.astype(np.int64)[ws.step])
    with np.errstate(all="ignore"):
        result = slope * duration[ws.step] + intercept
    values, present = ws.scatter(result)
    return range_result(rw, values, present)


def _count_pairs(call: FuncCall, flag: np.ndarray) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw)
    counts = _pair_flags(rw, flag)
    result = (counts[ws.lo + ws.count] - counts[ws.lo + 1]).astype(np.float64)
    values, present = ws.scatter(result)
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
