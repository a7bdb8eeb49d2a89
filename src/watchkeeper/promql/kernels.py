"""Compiled loops for order-sensitive aggregations over large groups.

Prometheus sums with Neumaier-compensated (Kahan) addition in input order, and its
``avg`` switches to an incremental mean only when the running sum would overflow.
Exact answers need that same sequence of float operations, which is inherently
sequential per (group, step) cell. ``aggregations.py`` replays it with numpy one
group member at a time when groups are small; for large groups these numba kernels
do the same arithmetic in one compiled pass (compiled once, cached on disk).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["group_sum_avg", "group_variance"]


@njit(cache=True)
def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    if np.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


@njit(cache=True)
def group_sum_avg(vals: np.ndarray, present: np.ndarray, order: np.ndarray, starts: np.ndarray,
                  sizes: np.ndarray, avg: bool) -> np.ndarray:
    """Per group (members ``order[starts[g]:starts[g]+sizes[g]]``) and step: sum or avg, as Prometheus."""
    ngroups, steps = starts.shape[0], vals.shape[1]
    out = np.zeros((ngroups, steps))
    total = np.zeros(steps)
    comp = np.zeros(steps)
    mean = np.zeros(steps)
    count = np.zeros(steps)
    incremental = np.zeros(steps, dtype=np.bool_)
    for g in range(ngroups):
        total[:] = 0.0
        comp[:] = 0.0
        mean[:] = 0.0
        count[:] = 0.0
        incremental[:] = False
        for k in range(starts[g], starts[g] + sizes[g]):
            r = order[k]
            for j in range(steps):
                if not present[r, j]:
                    continue
                f = vals[r, j]
                if count[j] == 0.0:
                    total[j] = f
                    mean[j] = f
                    comp[j] = 0.0
                    count[j] = 1.0
                    continue
                count[j] += 1.0
                if not avg:
                    total[j], comp[j] = _kahan_inc(f, total[j], comp[j])
                    continue
                if not incremental[j]:
                    nv, nc = _kahan_inc(f, total[j], comp[j])
                    if not np.isinf(nv):
                        total[j], comp[j] = nv, nc
                        continue
                    incremental[j] = True
                    mean[j] = total[j] / (count[j] - 1.0)
                    comp[j] = comp[j] / (count[j] - 1.0)
                q = (count[j] - 1.0) / count[j]
                mean[j], comp[j] = _kahan_inc(f / count[j], q * mean[j], q * comp[j])
        for j in range(steps):
            if not avg:
                out[g, j] = total[j] + comp[j]
            elif incremental[j]:
                out[g, j] = mean[j] + comp[j]
            elif count[j] == 0.0:  # no member at this step (numba raises on 0 / 0)
                out[g, j] = np.nan
            else:
                out[g, j] = total[j] / count[j] + comp[j] / count[j]
    return out


@njit(cache=True)
def group_variance(vals: np.ndarray, present: np.ndarray, order: np.ndarray, starts: np.ndarray,
                   sizes: np.ndarray) -> np.ndarray:
    """Per group and step: population variance by Welford's method, in input order (Prometheus' stdvar)."""
    ngroups, steps = starts.shape[0], vals.shape[1]
    out = np.zeros((ngroups, steps))
    mean = np.zeros(steps)
    acc = np.zeros(steps)
    count = np.zeros(steps)
    for g in range(ngroups):
        mean[:] = 0.0
        acc[:] = 0.0
        count[:] = 0.0
        for k in range(starts[g], starts[g] + sizes[g]):
            r = order[k]
            for j in range(steps):
                if not present[r, j]:
                    continue
                f = vals[r, j]
                count[j] += 1.0
                if count[j] == 1.0:
                    mean[j] = f
                    acc[j] = 0.0 if np.isfinite(f) else np.nan
                    continue
                delta = f - mean[j]
                mean[j] += delta / count[j]
                acc[j] += delta * (f - mean[j])
        for j in range(steps):
            out[g, j] = acc[j] / count[j] if count[j] != 0.0 else np.nan
    return out
