"""Aggregations over time: ``<agg>_over_time``, ``ts_of_*_over_time``, ``absent_over_time``.

Sums and means use Prometheus' Kahan/Neumaier summation in the same order it
does, so results match bit for bit where Prometheus' own are exact.
"""

from __future__ import annotations

import numpy as np

from ..values import InstantVectors
from .base import FuncCall, go_format_g, range_result, single_series
from .misc import absent_labels
from .windows import WindowSet, kahan_inc

__all__ = ["FUNCTIONS", "quantiles_sorted"]

# Upper bound on elements of one padded (windows x samples) block in quantile computations.
_BLOCK_ELEMENTS = 1 << 22


def _simple(call: FuncCall, compute, keep_name: bool = False,  # type: ignore[no-untyped-def]
            ordered: bool = False) -> InstantVectors:
    """A range function computed per window by ``compute(WindowSet)``; ``ordered`` for lockstep ones."""
    rw = call.windows(0)
    ws = WindowSet(rw, ordered=ordered)
    with np.errstate(all="ignore"):
        if ordered:
            result = np.empty(len(ws))
            for part, chunk in ws.chunks():
                result[part] = compute(chunk)
        else:
            result = compute(ws)
    values, present = ws.scatter(result)
    return range_result(rw, values, present, keep_name=keep_name)


def _sum(ws: WindowSet) -> np.ndarray:
    total = np.zeros(len(ws))
    comp = np.zeros(len(ws))
    v = ws.v
    for _, m, idx in ws.lockstep():
        total[:m], comp[:m] = kahan_inc(v[idx], total[:m], comp[:m])
    return np.where(np.isinf(total), total, total + comp)


def _avg(ws: WindowSet) -> np.ndarray:
    """Direct Kahan mean, switching to an incremental mean once the running sum would overflow."""
    v = ws.v
    total = ws.first_values().copy()
    comp = np.zeros(len(ws))
    mean = np.zeros(len(ws))
    incremental = np.zeros(len(ws), dtype=bool)
    for k, m, idx in ws.lockstep(start=1):
        f = v[idx]
        count = float(k + 1)
        inc = incremental[:m]
        new_total, new_comp = kahan_inc(f, total[:m], comp[:m])
        overflow = ~inc & np.isinf(new_total)
        direct = ~inc & ~overflow
        total[:m] = np.where(direct, new_total, total[:m])
        comp_m = np.where(direct, new_comp, comp[:m])
        # Windows switching now: turn the running sum into a mean.
        mean[:m] = np.where(overflow, total[:m] / (count - 1), mean[:m])
        comp_m = np.where(overflow, comp_m / (count - 1), comp_m)
        incremental[:m] = inc | overflow
        q = (count - 1) / count
        inc_mean, inc_comp = kahan_inc(f / count, q * mean[:m], q * comp_m)
        now_inc = incremental[:m]
        mean[:m] = np.where(now_inc, inc_mean, mean[:m])
        comp[:m] = np.where(now_inc, inc_comp, comp_m)
    count = ws.count.astype(np.float64)
    return np.where(incremental, mean + comp, total / count + comp / count)


def _variance(ws: WindowSet) -> np.ndarray:
    v = ws.v
    size = len(ws)
    mean, c_mean, aux, c_aux = (np.zeros(size) for _ in range(4))
    for k, m, idx in ws.lockstep():
        f = v[idx]
        count = float(k + 1)
        delta = f - (mean[:m] + c_mean[:m])
        mean[:m], c_mean[:m] = kahan_inc(delta / count, mean[:m], c_mean[:m])
        aux[:m], c_aux[:m] = kahan_inc(delta * (f - (mean[:m] + c_mean[:m])), aux[:m], c_aux[:m])
    return (aux + c_aux) / ws.count


def _compare(ws: WindowSet, better, want_time: bool) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Prometheus' ``compareOverTime``: keep the sample for which ``better(cur, best)`` or best is NaN;
    returns its value or (``want_time``) its timestamp in seconds."""
    v, t = ws.v, ws.t
    best = ws.first_values().copy()
    best_t = t[ws.lo].copy()
    for _, m, idx in ws.lockstep():
        cur = v[idx]
        take = better(cur, best[:m]) | np.isnan(best[:m])
        best[:m] = np.where(take, cur, best[:m])
        best_t[:m] = np.where(take, t[idx], best_t[:m])
    return best_t / 1000 if want_time else best


def quantiles_sorted(ws: WindowSet, q: np.ndarray, transform=None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Prometheus' ``quantile(q, values)`` for every window (NaNs sort first), ``q`` per window.

    ``transform(block, counts)`` may rewrite each padded block of window values
    (padding is +Inf) before the quantile is taken; used by ``mad_over_time``.
    """
    out = np.full(len(ws), np.nan)
    start = 0
    v = ws.v
    while start < len(ws):
        width = int(ws.count[start])
        rows = max(1, _BLOCK_ELEMENTS // max(width, 1))
        stop = min(len(ws), start + rows)
        counts = ws.count[start:stop]
        offs = np.arange(width)
        valid = offs[None, :] < counts[:, None]
        idx = np.where(valid, ws.lo[start:stop, None] + offs[None, :], 0)
        block = np.where(valid, v[idx], np.inf)
        if transform is not None:
            block = transform(block, valid, counts)
        out[start:stop] = _block_quantile(block, counts, q[start:stop])
        start = stop
    return out


def _block_quantile(block: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of each row's first ``counts`` entries (rest padded with +Inf)."""
    n_nan = np.isnan(block).sum(axis=1)
    ordered = np.sort(block, axis=1)  # non-NaN values ascending, then padding, then NaNs
    n = counts.astype(np.float64)
    with np.errstate(all="ignore"):
        rank = q * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        lo_i = np.nan_to_num(lower, nan=0.0).astype(np.int64)
        up_i = np.nan_to_num(upper, nan=0.0).astype(np.int64)

        def pick(pos: np.ndarray) -> np.ndarray:
            # Prometheus sorts NaNs first: position p holds NaN if p < n_nan, else ordered[p - n_nan].
            src = np.clip(pos - n_nan, 0, block.shape[1] - 1)
            vals = np.take_along_axis(ordered, src[:, None], axis=1)[:, 0]
            return np.where(pos < n_nan, np.nan, vals)

        result = pick(lo_i) * (1 - weight) + pick(up_i) * weight
    result = np.where(q < 0, -np.inf, result)
    result = np.where(q > 1, np.inf, result)
    return np.where(np.isnan(q), np.nan, result)


def _quantile_over_time(call: FuncCall) -> InstantVectors:
    q_steps = call.scalar(0)
    rw = call.windows(1)
    ws = WindowSet(rw, ordered=True)
    q = q_steps[ws.step]
    bad = np.isnan(q) | (q < 0) | (q > 1)
    for value in np.unique(q[bad]):
        call.warn(f"quantile value should be between 0 and 1, got {go_format_g(float(value))}",
                  call.exprs[0].pos)
    values, present = ws.scatter(quantiles_sorted(ws, q))
    return range_result(rw, values, present)


def _mad_over_time(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw, ordered=True)
    half = np.full(len(ws), 0.5)
    median = quantiles_sorted(ws, half)
    has_nan = np.zeros(len(ws), dtype=bool)
    start = 0

    def deviations(block: np.ndarray, valid: np.ndarray, counts: np.ndarray) -> np.ndarray:
        nonlocal start
        rows = block.shape[0]
        med = median[start:start + rows]
        has_nan[start:start + rows] = np.isnan(np.where(valid, block, 0.0)).any(axis=1)
        start += rows
        with np.errstate(all="ignore"):
            return np.where(valid, np.abs(block - med[:, None]), np.inf)

    result = quantiles_sorted(ws, half, transform=deviations)
    result = np.where(has_nan, np.nan, result)
    values, present = ws.scatter(result)
    return range_result(rw, values, present)


def _absent_over_time(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    any_sample = ((rw.hi - rw.lo) > 0).any(axis=0) if len(rw.labels) else np.zeros(call.num_steps, bool)
    absent = ~any_sample
    if not absent.any():
        return InstantVectors([], np.zeros((0, call.num_steps)), np.zeros((0, call.num_steps), dtype=bool))
    return single_series(absent_labels(call.exprs[0]), np.where(absent, 1.0, np.nan), absent,
                         drop_name=True)


def _extreme(ws: WindowSet, pick) -> np.ndarray:  # type: ignore[no-untyped-def]
    """max/min_over_time: Prometheus replaces a NaN running value and ignores later NaNs, which is
    exactly ``fmax``/``fmin``."""
    best = ws.first_values().copy()
    v = ws.v
    for _, m, idx in ws.lockstep(start=1):
        best[:m] = pick(best[:m], v[idx])
    return best


def _lockstep(compute):  # type: ignore[no-untyped-def]
    return lambda call: _simple(call, compute, ordered=True)


FUNCTIONS = {
    "sum_over_time": _lockstep(_sum),
    "avg_over_time": _lockstep(_avg),
    "count_over_time": lambda call: _simple(call, lambda ws: ws.count.astype(np.float64)),
    "present_over_time": lambda call: _simple(call, lambda ws: np.ones(len(ws))),
    "last_over_time": lambda call: _simple(call, lambda ws: ws.last_values(), keep_name=True),
    "first_over_time": lambda call: _simple(call, lambda ws: ws.first_values(), keep_name=True),
    "ts_of_last_over_time": lambda call: _simple(call, lambda ws: ws.t[ws.last] / 1000),
    "ts_of_first_over_time": lambda call: _simple(call, lambda ws: ws.t[ws.lo] / 1000),
    "max_over_time": _lockstep(lambda ws: _extreme(ws, np.fmax)),
    "min_over_time": _lockstep(lambda ws: _extreme(ws, np.fmin)),
    "ts_of_max_over_time": _lockstep(lambda ws: _compare(ws, np.greater_equal, True)),
    "ts_of_min_over_time": _lockstep(lambda ws: _compare(ws, np.less_equal, True)),
    "stdvar_over_time": _lockstep(_variance),
    "stddev_over_time": _lockstep(lambda ws: np.sqrt(_variance(ws))),
    "quantile_over_time": _quantile_over_time,
    "mad_over_time": _mad_over_time,
    "absent_over_time": _absent_over_time,
}
