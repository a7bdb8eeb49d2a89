"""Compiled per-window loops for range functions whose Prometheus definition is sequential.

Kahan/Neumaier sums, incremental means, Welford-style variance and least-squares
regression must add the samples of each window in order to give Prometheus'
exact floating point results. These numba kernels run that loop for every
window (``lo[w]``, ``count[w]`` into the flat sample arrays), so a range query
costs one pass over the samples its windows cover, as in Prometheus.
Compiled on first use and cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "window_sum", "window_avg", "window_variance", "window_extreme", "window_ts_of_extreme",
    "window_regression", "window_counter_correction", "window_boundary_correction",
    "window_double_exponential_smoothing",
]


@njit(cache=True, inline="always")
def _kahan_inc(inc: float, total: float, comp: float) -> tuple[float, float]:
    t = total + inc
    if math.isinf(t):
        comp = 0.0
    elif abs(total) >= abs(inc):
        comp += (total - t) + inc
    else:
        comp += (inc - t) + total
    return t, comp


@njit(cache=True)
def window_sum(lo: np.ndarray, count: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        total = 0.0
        comp = 0.0
        for i in range(lo[w], lo[w] + count[w]):
            total, comp = _kahan_inc(v[i], total, comp)
        out[w] = total if math.isinf(total) else total + comp
    return out


@njit(cache=True)
def window_avg(lo: np.ndarray, count: np.ndarray, v: np.ndarray) -> np.ndarray:
    """avg_over_time: direct Kahan mean, switching to an incremental mean if the sum would overflow."""
    out = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        first = lo[w]
        total = v[first]
        n = 1.0
        mean = 0.0
        comp = 0.0
        incremental = False
        for i in range(first + 1, first + count[w]):
            n += 1.0
            f = v[i]
            if not incremental:
                new_total, new_comp = _kahan_inc(f, total, comp)
                if not math.isinf(new_total):
                    total, comp = new_total, new_comp
                    continue
                incremental = True
                mean = total / (n - 1)
                comp /= n - 1
            q = (n - 1) / n
            mean, comp = _kahan_inc(f / n, q * mean, q * comp)
        out[w] = mean + comp if incremental else total / n + comp / n
    return out


@njit(cache=True)
def window_variance(lo: np.ndarray, count: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        n = 0.0
        mean = 0.0
        c_mean = 0.0
        aux = 0.0
        c_aux = 0.0
        for i in range(lo[w], lo[w] + count[w]):
            f = v[i]
            n += 1.0
            delta = f - (mean + c_mean)
            mean, c_mean = _kahan_inc(delta / n, mean, c_mean)
            aux, c_aux = _kahan_inc(delta * (f - (mean + c_mean)), aux, c_aux)
        out[w] = (aux + c_aux) / n
    return out


@njit(cache=True)
def window_extreme(lo: np.ndarray, count: np.ndarray, v: np.ndarray, want_max: bool) -> np.ndarray:
    """max/min_over_time: a NaN running value is replaced by any later sample; later NaNs are ignored."""
    out = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        best = v[lo[w]]
        for i in range(lo[w], lo[w] + count[w]):
            cur = v[i]
            if (cur > best if want_max else cur < best) or math.isnan(best):
                best = cur
        out[w] = best
    return out


@njit(cache=True)
def window_ts_of_extreme(lo: np.ndarray, count: np.ndarray, t: np.ndarray, v: np.ndarray,
                         want_max: bool) -> np.ndarray:
    """ts_of_max/min_over_time: the last sample reaching the extreme (``>=``/``<=``), in seconds."""
    out = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        best = v[lo[w]]
        best_t = t[lo[w]]
        for i in range(lo[w], lo[w] + count[w]):
            cur = v[i]
            if (cur >= best if want_max else cur <= best) or math.isnan(best):
                best = cur
                best_t = t[i]
        out[w] = best_t / 1000
    return out


@njit(cache=True)
def window_regression(lo: np.ndarray, count: np.ndarray, t: np.ndarray, v: np.ndarray,
                      intercept_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``linearRegression`` per window: (slope, intercept at ``intercept_t``)."""
    slopes = np.empty(lo.shape[0])
    intercepts = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        first = lo[w]
        init_y = v[first]
        const_y = True
        n = 0.0
        sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = 0.0
        for i in range(first, first + count[w]):
            y = v[i]
            if const_y and i > first and y != init_y:
                const_y = False
            n += 1.0
            x = (t[i] - intercept_t[w]) / 1e3
            sx, cx = _kahan_inc(x, sx, cx)
            sy, cy = _kahan_inc(y, sy, cy)
            sxy, cxy = _kahan_inc(x * y, sxy, cxy)
            sx2, cx2 = _kahan_inc(x * x, sx2, cx2)
        if const_y:
            if math.isinf(init_y):
                slopes[w] = math.nan
                intercepts[w] = math.nan
            else:
                slopes[w] = 0.0
                intercepts[w] = init_y
            continue
        sx += cx
        sy += cy
        sxy += cxy
        sx2 += cx2
        cov_xy = sxy - sx * sy / n
        var_x = sx2 - sx * sx / n
        slope = cov_xy / var_x
        slopes[w] = slope
        intercepts[w] = sy / n - slope * sx / n
    return slopes, intercepts


@njit(cache=True)
def window_counter_correction(lo: np.ndarray, count: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sum of the values before each counter reset (a drop) inside each window, in order."""
    out = np.zeros(lo.shape[0])
    for w in range(lo.shape[0]):
        acc = 0.0
        for i in range(lo[w] + 1, lo[w] + count[w]):
            if v[i] < v[i - 1]:
                acc += v[i - 1]
        out[w] = acc
    return out


@njit(cache=True)
def window_boundary_correction(v: np.ndarray, left: np.ndarray, right: np.ndarray, from_i: np.ndarray,
                               to_i: np.ndarray) -> np.ndarray:
    """``correctForCounterResets``: resets from ``left`` through samples from_i..to_i to ``right``."""
    out = np.zeros(left.shape[0])
    for w in range(left.shape[0]):
        acc = 0.0
        prev = left[w]
        for i in range(from_i[w], to_i[w] + 1):
            if v[i] < prev:
                acc += prev
            prev = v[i]
        if right[w] < prev:
            acc += prev
        out[w] = acc
    return out


@njit(cache=True)
def window_double_exponential_smoothing(lo: np.ndarray, count: np.ndarray, v: np.ndarray, sf: np.ndarray,
                                        tf: np.ndarray) -> np.ndarray:
    out = np.empty(lo.shape[0])
    for w in range(lo.shape[0]):
        first = lo[w]
        s0 = 0.0
        s1 = v[first]
        b = v[first + 1] - v[first]
        for k in range(1, count[w]):
            x = sf[w] * v[first + k]
            if k > 1:
                b = tf[w] * (s1 - s0) + (1 - tf[w]) * b
            y = (1 - sf[w]) * (s1 + b)
            s0 = s1
            s1 = x + y
        out[w] = s1
    return out


@njit(cache=True, inline="always")
def _quantile_sorted(q: float, values: np.ndarray, n_nan: int) -> float:
    """Prometheus' ``quantile`` of ``n_nan`` NaNs (sorted first) followed by sorted ``values``."""
    n = values.shape[0] + n_nan
    if n == 0 or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1.0, lower + 1)
    weight = rank - math.floor(rank)
    lo_i = int(lower)
    up_i = int(upper)
    lo_v = math.nan if lo_i < n_nan else values[lo_i - n_nan]
    up_v = math.nan if up_i < n_nan else values[up_i - n_nan]
    return lo_v * (1 - weight) + up_v * weight


@njit(cache=True, inline="always")
def _sorted_without_nan(v: np.ndarray, start: int, count: int, buf: np.ndarray) -> tuple[np.ndarray, int]:
    """The window's non-NaN values sorted (a view of ``buf``) and its number of NaNs."""
    k = 0
    for i in range(start, start + count):
        if not math.isnan(v[i]):
            buf[k] = v[i]
            k += 1
    values = buf[:k]
    values.sort()
    return values, count - k


@njit(cache=True)
def window_quantile(lo: np.ndarray, count: np.ndarray, v: np.ndarray, q: np.ndarray) -> np.ndarray:
    """quantile_over_time: Prometheus sorts NaNs before all numbers, then interpolates linearly."""
    out = np.empty(lo.shape[0])
    buf = np.empty(count.max() if count.shape[0] else 0)
    for w in range(lo.shape[0]):
        values, n_nan = _sorted_without_nan(v, lo[w], count[w], buf)
        out[w] = _quantile_sorted(q[w], values, n_nan)
    return out


@njit(cache=True)
def window_mad(lo: np.ndarray, count: np.ndarray, v: np.ndarray) -> np.ndarray:
    """mad_over_time: median absolute deviation from the median; NaN if any sample is NaN."""
    out = np.empty(lo.shape[0])
    buf = np.empty(count.max() if count.shape[0] else 0)
    for w in range(lo.shape[0]):
        values, n_nan = _sorted_without_nan(v, lo[w], count[w], buf)
        if n_nan:
            out[w] = math.nan
            continue
        median = _quantile_sorted(0.5, values, 0)
        for i in range(values.shape[0]):
            values[i] = abs(values[i] - median)
        values.sort()
        out[w] = _quantile_sorted(0.5, values, 0)
    return out


@njit(cache=True)
def window_extrapolated_rate(lo: np.ndarray, count: np.ndarray, t: np.ndarray, v: np.ndarray,
                             range_end: np.ndarray, range_ms: int, is_counter: bool,
                             is_rate: bool, drops: np.ndarray) -> np.ndarray:
    """Prometheus' ``extrapolatedRate`` for windows of at least two samples.

    If given (non-empty), ``drops[i]`` counts the decreases ``v[j] < v[j - 1]`` for
    ``j <= i``: a window without one (most windows of most counters) then skips the scan
    for counter resets, which pays when windows overlap and would scan samples repeatedly.
    """
    out = np.empty(lo.shape[0])
    known = drops.shape[0] > 0
    for w in range(lo.shape[0]):
        first = lo[w]
        last = first + count[w] - 1
        result = v[last] - v[first]
        if is_counter and (not known or drops[last] != drops[first]):
            for i in range(first + 1, last + 1):
                if v[i] < v[i - 1]:
                    result += v[i - 1]
        range_start = range_end[w] - range_ms
        to_start = (t[first] - range_start) / 1000
        to_end = (range_end[w] - t[last]) / 1000
        sampled = (t[last] - t[first]) / 1000
        average = sampled / (count[w] - 1)
        threshold = average * 1.1
        if to_start >= threshold:
            to_start = average / 2
        if is_counter:
            to_zero = to_start
            if result > 0 and v[first] >= 0:
                to_zero = sampled * (v[first] / result)
            if to_zero < to_start:
                to_start = to_zero
        if to_end >= threshold:
            to_end = average / 2
        factor = 1.0
        if sampled != 0:
            factor = (sampled + to_start + to_end) / sampled
        if is_rate:
            factor /= range_ms / 1000
        out[w] = result * factor
    return out
