"""Aggregations over time: ``<agg>_over_time``, ``ts_of_*_over_time``, ``absent_over_time``.

Sums and means use Prometheus' Kahan/Neumaier summation in the same order it
does (compiled loops in ``kernels``), so results match Prometheus' bit for bit.
"""

from __future__ import annotations

import numpy as np

from ..values import InstantVectors
from . import kernels
from .base import FuncCall, go_format_g, range_result, single_series
from .misc import absent_labels
from .windows import WindowSet

__all__ = ["FUNCTIONS", "quantiles_sorted"]

# Upper bound on elements of one padded (windows x samples) block in quantile computations.
_BLOCK_ELEMENTS = 1 << 22


def _simple(call: FuncCall, compute, keep_name: bool = False,  # type: ignore[no-untyped-def]
            ordered: bool = False) -> InstantVectors:
    """A range function computed per window by ``compute(WindowSet)``."""
    rw = call.windows(0)
    ws = WindowSet(rw, ordered=ordered)
    with np.errstate(all="ignore"):
        result = compute(ws)
    values, present = ws.scatter(result)
    return range_result(rw, values, present, keep_name=keep_name)


def _variance(ws: WindowSet) -> np.ndarray:
    return kernels.window_variance(ws.lo, ws.count, ws.v)


def _extreme(ws: WindowSet, want_max: bool) -> np.ndarray:
    return kernels.window_extreme(ws.lo, ws.count, ws.v, want_max)


def _ts_of_extreme(ws: WindowSet, want_max: bool) -> np.ndarray:
    return kernels.window_ts_of_extreme(ws.lo, ws.count, ws.t, ws.v, want_max)


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


FUNCTIONS = {
    "sum_over_time": lambda call: _simple(call, lambda ws: kernels.window_sum(ws.lo, ws.count, ws.v)),
    "avg_over_time": lambda call: _simple(call, lambda ws: kernels.window_avg(ws.lo, ws.count, ws.v)),
    "count_over_time": lambda call: _simple(call, lambda ws: ws.count.astype(np.float64)),
    "present_over_time": lambda call: _simple(call, lambda ws: np.ones(len(ws))),
    "last_over_time": lambda call: _simple(call, lambda ws: ws.last_values(), keep_name=True),
    "first_over_time": lambda call: _simple(call, lambda ws: ws.first_values(), keep_name=True),
    "ts_of_last_over_time": lambda call: _simple(call, lambda ws: ws.t[ws.last] / 1000),
    "ts_of_first_over_time": lambda call: _simple(call, lambda ws: ws.t[ws.lo] / 1000),
    "max_over_time": lambda call: _simple(call, lambda ws: _extreme(ws, True)),
    "min_over_time": lambda call: _simple(call, lambda ws: _extreme(ws, False)),
    "ts_of_max_over_time": lambda call: _simple(call, lambda ws: _ts_of_extreme(ws, True)),
    "ts_of_min_over_time": lambda call: _simple(call, lambda ws: _ts_of_extreme(ws, False)),
    "stdvar_over_time": lambda call: _simple(call, _variance),
    "stddev_over_time": lambda call: _simple(call, lambda ws: np.sqrt(_variance(ws))),
    "quantile_over_time": _quantile_over_time,
    "mad_over_time": _mad_over_time,
    "absent_over_time": _absent_over_time,
}
