"""Aggregations over time: ``<agg>_over_time``, ``ts_of_*_over_time``, ``absent_over_time``.

Sums and means use Prometheus' Kahan/Neumaier summation in the same order it
does (compiled loops in ``kernels``), so results match Prometheus' bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..values import InstantVectors
from .base import FuncCall, compiled, empty_vectors, go_format_g, range_result, single_series
from .misc import absent_labels
from .windows import WindowSet

__all__ = ["FUNCTIONS"]


def _simple(call: FuncCall, compute: Callable[[WindowSet], np.ndarray], keep_name: bool = False
            ) -> InstantVectors:
    """A range function computed per window by ``compute(WindowSet)``."""
    rw = call.windows(0)
    ws = WindowSet(rw)
    with np.errstate(all="ignore"):
        result = compute(ws)
    values, present = ws.scatter(result)
    return range_result(rw, values, present, keep_name=keep_name)


def _variance(ws: WindowSet) -> np.ndarray:
    return compiled().window_variance(ws.lo, ws.count, ws.v)


def _extreme(ws: WindowSet, want_max: bool) -> np.ndarray:
    return compiled().window_extreme(ws.lo, ws.count, ws.v, want_max)


def _ts_of_extreme(ws: WindowSet, want_max: bool) -> np.ndarray:
    return compiled().window_ts_of_extreme(ws.lo, ws.count, ws.t, ws.v, want_max)


def _quantile_over_time(call: FuncCall) -> InstantVectors:
    q_steps = call.scalar(0)
    rw = call.windows(1)
    ws = WindowSet(rw)
    q = np.ascontiguousarray(q_steps[ws.step], dtype=np.float64)
    bad = np.isnan(q) | (q < 0) | (q > 1)
    for value in np.unique(q[bad]):
        call.warn(f"quantile value should be between 0 and 1, got {go_format_g(float(value))}",
                  call.exprs[0].pos)
    values, present = ws.scatter(compiled().window_quantile(ws.lo, ws.count, ws.v, q))
    return range_result(rw, values, present)


def _mad_over_time(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    ws = WindowSet(rw)
    values, present = ws.scatter(compiled().window_mad(ws.lo, ws.count, ws.v))
    return range_result(rw, values, present)


def _absent_over_time(call: FuncCall) -> InstantVectors:
    rw = call.windows(0)
    any_sample = ((rw.hi - rw.lo) > 0).any(axis=0) if len(rw.labels) else np.zeros(call.num_steps, bool)
    absent = ~any_sample
    if not absent.any():
        return empty_vectors(call.num_steps)
    return single_series(absent_labels(call.exprs[0]), np.where(absent, 1.0, np.nan), absent,
                         drop_name=True)


FUNCTIONS = {
    "sum_over_time": lambda call: _simple(call, lambda ws: compiled().window_sum(ws.lo, ws.count, ws.v)),
    "avg_over_time": lambda call: _simple(call, lambda ws: compiled().window_avg(ws.lo, ws.count, ws.v)),
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
