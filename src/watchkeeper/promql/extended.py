"""``rate`` / ``increase`` / ``delta`` over the experimental ``anchored`` and ``smoothed`` ranges.

An anchored range ``x[5m] anchored`` also sees the last sample up to one lookback
delta before the window and measures from it (no extrapolation); a smoothed range
additionally looks one lookback delta past the end and interpolates the values at
both window edges. Mirrors Prometheus' ``extendedRate``, vectorized over every
(series, step) cell; counter resets inside the window are summed from per-series
prefix sums of the drops.
"""

from __future__ import annotations

import numpy as np

from ..model.batch import SeriesSet
from .extended_hist import Edges, histogram_cells, histogram_events
from .selectors import drop_stale, segment_search, windows_over
from .values import Annotations, InstantVectors

__all__ = ["EXTENDED_RATE_FUNCTIONS", "EXTENDED_COUNT_FUNCTIONS", "extended_rate", "anchored_count"]

# function name -> (is_counter, is_rate)
EXTENDED_RATE_FUNCTIONS = {"rate": (True, True), "increase": (True, False), "delta": (False, False)}
EXTENDED_COUNT_FUNCTIONS = ("changes", "resets")


def _interpolate(t1: np.ndarray, v1: np.ndarray, t2: np.ndarray, v2: np.ndarray, t: np.ndarray,
                 counter: bool) -> np.ndarray:
    """Prometheus' ``interpolate``: linear; across a counter reset the counter restarts from 0."""
    y1, y2 = v1, v2
    if counter:
        y1 = np.where(y2 < y1, 0.0, y1)
    with np.errstate(all="ignore"):
        return y1 + (y2 - y1) * (t - t1).astype(np.float64) / (t2 - t1).astype(np.float64)


def extended_rate(func: str, ss: SeriesSet, ref: np.ndarray, range_ms: int, lookback_ms: int,
                  smoothed: bool, annotations: Annotations | None = None, pos: str = "") -> InstantVectors:
    """``func(x[range] anchored|smoothed)`` at every step; ``ref`` is the window end per step."""
    counter, per_second = EXTENDED_RATE_FUNCTIONS[func]
    ref = np.asarray(ref, dtype=np.int64)
    ss = drop_stale(ss)
    win = windows_over(ss, ref + (lookback_ms if smoothed else 0),
                       range_ms + lookback_ms * (2 if smoothed else 1))
    n, steps = win.lo.shape
    if n == 0:
        return InstantVectors([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))
    t, v, lo, hi = win.t, win.v, win.lo, win.hi
    range_start = ref - range_ms
    nonempty = hi > lo
    last = np.maximum(hi - 1, lo)
    # First sample after the range start (searched among all but the last), minus one.
    after_start = np.clip(segment_search(win.offsets, t, range_start, "right"), lo, last)
    first = np.maximum(lo, after_start - 1)
    if smoothed:
        last = np.clip(segment_search(win.offsets, t, ref, "left"), lo, last)
    top = max(t.size - 1, 0)
    first_c, last_c = np.minimum(first, top), np.minimum(last, top)
    present = nonempty & (t[last_c] > range_start[None, :])

    left = v[first_c]
    right = v[last_c]
    if smoothed:
        nxt = np.minimum(first_c + 1, top)
        interp_left = present & (t[first_c] < range_start[None, :]) & (first_c + 1 <= last_c)
        at_start = np.broadcast_to(range_start, first_c.shape)
        left = np.where(interp_left, _interpolate(t[first_c], v[first_c], t[nxt], v[nxt], at_start, counter),
                        left)
        prv = np.maximum(last_c - 1, 0)
        interp_right = present & (last_c > lo) & (t[last_c] > ref[None, :])
        at_end = np.broadcast_to(ref, last_c.shape)
        right = np.where(interp_right, _interpolate(t[prv], v[prv], t[last_c], v[last_c], at_end, counter),
                         right)
        # Data only after the range gives no result either.
        present &= t[first_c] <= ref[None, :]
    result = right - left
    if counter:
        a = np.where(t[first_c] <= range_start[None, :], first_c + 1, first_c)
        b = np.where(t[last_c] >= ref[None, :], last_c - 1, last_c)
        result = result + _reset_correction(v, win.offsets, left, right, a, b)
    if per_second:
        result = result / (range_ms / 1000.0)
    h_row, hists = None, None
    if win.h is not None and win.h_index is not None:
        at_left = np.broadcast_to(range_start, (steps,))
        edges = Edges(first_c, last_c, interp_left if smoothed else np.zeros(present.shape, dtype=bool),
                      interp_right if smoothed else np.zeros(present.shape, dtype=bool), at_left, ref)
        float_ok, h_row, hists = histogram_cells(win, edges, present, counter, per_second, range_ms,
                                                 func == "delta", annotations or Annotations(), pos)
        present = float_ok | (h_row >= 0)
    rows = np.flatnonzero(present.any(axis=1))
    out = InstantVectors([win.labels[i] for i in rows], result[rows], present[rows],
                         drop_name=np.ones(rows.size, dtype=bool))
    if hists is not None and h_row is not None:
        out.h, out.h_index = hists, h_row[rows]
    return out


def _reset_correction(v: np.ndarray, offsets: np.ndarray, left: np.ndarray, right: np.ndarray,
                      a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Prometheus' ``correctForCounterResets(left, right, v[a..b])`` for every cell."""
    drop = np.zeros(v.size + 1)
    if v.size > 1:
        falls = np.concatenate([[False], v[1:] < v[:-1]])
        falls[offsets[:-1][offsets[:-1] < v.size]] = False  # no drop across series boundaries
        drop[1:] = np.where(falls, np.concatenate([[0.0], v[:-1]]), 0.0)
    prefix = np.cumsum(drop)  # prefix[k + 1] = sum of drop[1..k] over the flat array
    top = max(v.size - 1, 0)
    ac, bc = np.clip(a, 0, top), np.clip(b, 0, top)
    some = a <= b
    inner = prefix[bc + 1] - prefix[ac + 1]
    first_term = np.where(v[ac] < left, left, 0.0)
    last_term = np.where(right < v[bc], v[bc], 0.0)
    with_points = first_term + inner + last_term
    without = np.where(right < left, left, 0.0)
    return np.where(some, with_points, without)


def anchored_count(func: str, ss: SeriesSet, ref: np.ndarray, range_ms: int,
                   lookback_ms: int) -> InstantVectors:
    """``changes`` / ``resets`` over ``x[range] anchored``: the window's samples, preceded by the last
    sample at or before the window start (within the lookback delta) when there is one."""
    ref = np.asarray(ref, dtype=np.int64)
    win = windows_over(drop_stale(ss), ref, range_ms + lookback_ms)
    n, steps = win.lo.shape
    if n == 0:
        return InstantVectors([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))
    t, v, lo, hi = win.t, win.v, win.lo, win.hi
    inside = np.clip(segment_search(win.offsets, t, ref - range_ms, "right"), lo, hi)  # first in window
    present = hi > inside
    start = np.maximum(lo, inside - 1)
    end = np.maximum(hi - 1, start)
    if func == "changes":
        event = (v[1:] != v[:-1]) & ~(np.isnan(v[1:]) & np.isnan(v[:-1]))
    else:
        event = v[1:] < v[:-1]
    if win.h is not None and win.h_index is not None and v.size > 1:
        event = histogram_events(win.h, win.h_index, event, resets=func == "resets")
    pair = np.zeros(v.size, dtype=np.int64)  # pair[k]: event between samples k-1 and k
    pair[1:] = event
    pair[win.offsets[:-1][win.offsets[:-1] < v.size]] = 0
    prefix = np.cumsum(pair)
    top = max(v.size - 1, 0)
    counts = prefix[np.minimum(end, top)] - prefix[np.minimum(start, top)]
    rows = np.flatnonzero(present.any(axis=1))
    return InstantVectors([win.labels[i] for i in rows], counts[rows].astype(np.float64), present[rows],
                          drop_name=np.ones(rows.size, dtype=bool))
