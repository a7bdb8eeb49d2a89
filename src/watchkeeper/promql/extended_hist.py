"""Native histograms in ``rate`` / ``increase`` / ``delta`` over ``anchored`` and ``smoothed`` ranges.

``extended.py`` finds, for every (series, step) cell, the samples at the window edges
and whether an edge is interpolated; a cell whose samples are all histograms is
computed here as a weighted sum of those histogram rows: right edge minus left edge
(an interpolated edge is ``(1 - f) * h1 + f * h2``, or ``f * h2`` across a counter
reset) plus, for counters, every sample followed by a reset. One
``histogram_ops.sum_groups`` call adds up all cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..gocompat.quote import go_quote
from ..model import histogram_ops as hops
from ..model.histogram import GAUGE_TYPE, HistogramBatch
from .values import Annotations, RangeWindows

__all__ = ["Edges", "histogram_cells", "smoothed_histograms", "histogram_events"]


@dataclass
class Edges:
    """Sample positions (into ``RangeWindows.t``) and interpolation of every cell's window edges."""

    first: np.ndarray  # (N, S) left edge sample
    last: np.ndarray  # (N, S) right edge sample
    interp_left: np.ndarray  # (N, S) bool: left edge interpolated between first and first + 1
    interp_right: np.ndarray  # (N, S) bool: right edge interpolated between last - 1 and last
    at_left: np.ndarray  # (S,) interpolation time of the left edge
    at_right: np.ndarray  # (S,) interpolation time of the right edge


def _fraction(t: np.ndarray, a: int, b: int, at: int) -> float:
    return float(at - int(t[a])) / float(int(t[b]) - int(t[a]))


def histogram_cells(win: RangeWindows, edges: Edges, present: np.ndarray, counter: bool, per_second: bool,
                    range_ms: int, is_delta: bool, annotations: Annotations, pos: str
                    ) -> tuple[np.ndarray, np.ndarray, HistogramBatch | None]:
    """For cells touching histogram samples: (cells that stay float, histogram row per cell or -1,
    the histograms). Cells mixing floats and histograms are dropped with Prometheus' warning."""
    h = win.h
    assert h is not None and win.h_index is not None
    is_h = np.zeros(win.t.shape[0] + 1, dtype=np.int64)
    np.cumsum(win.h_index >= 0, out=is_h[1:])
    top = max(win.t.shape[0] - 1, 0)
    a, b = np.minimum(edges.first, top), np.minimum(edges.last, top)
    n_h = is_h[b + 1] - is_h[a]
    n_all = b + 1 - a
    touched = present & (n_h > 0)
    float_ok = present & ~touched
    h_row = np.full(present.shape, -1, dtype=np.int64)
    rows: list[int] = []
    weights: list[float] = []
    groups: list[int] = []
    cells: list[tuple[int, int]] = []
    hix = win.h_index
    for i, j in zip(*np.nonzero(touched), strict=True):
        name = go_quote(win.labels[i].get("__name__"))
        if n_h[i, j] != n_all[i, j]:
            annotations.warn("PromQL warning: encountered a mix of histograms and floats for metric name "
                             f"{name}{pos}")
            continue
        f0, l0 = int(a[i, j]), int(b[i, j])
        hints = h.hint[hix[[f0, l0]]]
        if counter and (h.hint[hix[f0:l0 + 1]] == GAUGE_TYPE).any():
            annotations.warn(f"PromQL warning: this native histogram metric is not a counter: {name}{pos}")
        if is_delta and (hints != GAUGE_TYPE).any():
            annotations.warn(f"PromQL warning: this native histogram metric is not a gauge: {name}{pos}")
        g = len(cells)
        right = _edge(win, hix, l0 - 1, l0, edges.interp_right[i, j], int(edges.at_right[j]), counter, 1.0)
        left = _edge(win, hix, f0, f0 + 1, edges.interp_left[i, j], int(edges.at_left[j]), counter, -1.0)
        plan = right + left
        if counter:
            plan += _reset_corrections(win, edges, i, j, f0, l0, right)
        for r, w in plan:
            rows.append(r)
            weights.append(w)
            groups.append(g)
        cells.append((int(i), int(j)))
    if not cells:
        return float_ok, h_row, None
    parts = hops.scale(hops.take(h, np.array(rows, dtype=np.int64)), np.array(weights))
    res, flags = hops.sum_groups(parts, np.array(groups, dtype=np.int64), len(cells))
    if per_second:
        res = hops.scale(res, np.full(len(cells), 1000.0 / range_ms))
    res = hops.compact(hops.with_hint(res, GAUGE_TYPE))
    for k, (i, j) in enumerate(cells):
        if flags.incompatible[k]:
            name = go_quote(win.labels[i].get("__name__"))
            annotations.warn("PromQL warning: vector contains a mix of histograms with exponential and "
                             f"custom buckets schemas for metric name {name}{pos}")
            continue
        h_row[i, j] = k
    return float_ok, h_row, res


def _reset_corrections(win: RangeWindows, edges: Edges, i: int, j: int, first: int, last: int,
                       right_plan: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Prometheus' counter-reset correction for histograms: walk the samples strictly inside the
    range, starting from the left edge when it is a sample (else from the first inner sample),
    and end with the right edge; every sample followed by a reset is added back. Without inner
    samples only two real edge samples are compared."""
    h, hix = win.h, win.h_index
    assert h is not None and hix is not None
    a = first + 1 if int(win.t[first]) <= int(edges.at_left[j]) else first
    b = last - 1 if int(win.t[last]) >= int(edges.at_right[j]) else last
    left_real, right_real = not bool(edges.interp_left[i, j]), not bool(edges.interp_right[i, j])
    if a > b:
        if not (left_real and right_real) or first == last:
            return []
        chain = [first]
    else:
        chain = ([first] if left_real else []) + list(range(a, b + 1))
    out: list[tuple[int, float]] = []
    prev = [hix[k] for k in chain[:-1]]
    cur = [hix[k] for k in chain[1:]]
    if prev:
        resets = hops.detect_reset(hops.take(h, np.array(prev)), hops.take(h, np.array(cur)))
        out += [(int(r), 1.0) for r, hit in zip(prev, resets, strict=True) if hit]
    tail = int(hix[chain[-1]])
    if right_real:
        right = hops.take(h, np.array([hix[last]]))
        if chain[-1] == last:
            return out
    else:
        rows = np.array([r for r, _ in right_plan], dtype=np.int64)
        parts = hops.scale(hops.take(h, rows), np.array([w for _, w in right_plan]))
        right, _ = hops.sum_groups(parts, np.zeros(rows.shape[0], dtype=np.int64), 1)
    if hops.detect_reset(hops.take(h, np.array([tail])), right)[0]:
        out.append((tail, 1.0))
    return out


def _edge(win: RangeWindows, hix: np.ndarray, p: int, q: int, interpolated: bool, at: int, counter: bool,
          sign: float) -> list[tuple[int, float]]:
    """Rows and weights of one window edge: sample ``q`` (right edge) / ``p`` (left edge) or the
    interpolation between samples p and q at ``at``."""
    assert win.h is not None
    if not interpolated:
        return [(int(hix[q if sign > 0 else p]), sign)]
    f = _fraction(win.t, p, q, at)
    h1, h2 = int(hix[p]), int(hix[q])
    reset = counter and bool(hops.detect_reset(hops.take(win.h, np.array([h1])),
                                               hops.take(win.h, np.array([h2])))[0])
    if reset:
        return [(h2, sign * f)]
    return [(h1, sign * (1 - f)), (h2, sign * f)]


def smoothed_histograms(ss_labels: list, t: np.ndarray, h: HistogramBatch, h_index: np.ndarray,
                        lo: np.ndarray, hi: np.ndarray, i: np.ndarray, ref: np.ndarray, exact: np.ndarray,
                        between: np.ndarray, carried: np.ndarray, annotations: Annotations, pos: str
                        ) -> tuple[np.ndarray, np.ndarray, HistogramBatch | None]:
    """``x smoothed`` for cells whose lookback window holds histograms: (cells that stay float,
    histogram row per cell or -1, the histograms). A window mixing floats and histograms, or
    interpolating between exponential and custom buckets, gives nothing and a warning."""
    is_h = np.zeros(t.shape[0] + 1, dtype=np.int64)
    np.cumsum(h_index >= 0, out=is_h[1:])
    n_h = is_h[hi] - is_h[lo]
    n_all = hi - lo
    chosen = exact | between | carried
    touched = chosen & (n_h > 0)
    h_row = np.full(chosen.shape, -1, dtype=np.int64)
    rows: list[int] = []
    weights: list[float] = []
    groups: list[int] = []
    cells: list[tuple[int, int]] = []
    for r, j in zip(*np.nonzero(touched), strict=True):
        name = go_quote(ss_labels[r].get("__name__"))
        if n_h[r, j] != n_all[r, j]:
            annotations.warn("PromQL warning: encountered a mix of histograms and floats for metric name "
                             f"{name}{pos}")
            continue
        k = int(i[r, j])  # first sample at or after ref; the one before it is k - 1
        if exact[r, j]:
            plan = [(int(h_index[k]), 1.0)]
        elif carried[r, j]:
            plan = [(int(h_index[k - 1]), 1.0)]
        else:
            h1, h2 = int(h_index[k - 1]), int(h_index[k])
            if (h.schema[h1] == -53) != (h.schema[h2] == -53):
                annotations.warn("PromQL warning: vector contains a mix of histograms with exponential and "
                                 f"custom buckets schemas for metric name {name}{pos}")
                continue
            f = float(int(ref[j]) - int(t[k - 1])) / float(int(t[k]) - int(t[k - 1]))
            counter = h.hint[h2] != GAUGE_TYPE
            reset = counter and bool(hops.detect_reset(hops.take(h, np.array([h1])),
                                                       hops.take(h, np.array([h2])))[0])
            plan = [(h2, f)] if reset else [(h1, 1 - f), (h2, f)]
        g = len(cells)
        for row, w in plan:
            rows.append(row)
            weights.append(w)
            groups.append(g)
        cells.append((int(r), int(j)))
    float_ok = chosen & ~touched
    if not cells:
        return float_ok, h_row, None
    parts = hops.scale(hops.take(h, np.array(rows, dtype=np.int64)), np.array(weights))
    res, _ = hops.sum_groups(parts, np.array(groups, dtype=np.int64), len(cells))
    for g, (r, j) in enumerate(cells):
        h_row[r, j] = g
    return float_ok, h_row, hops.compact(res)


def histogram_events(h: HistogramBatch, h_index: np.ndarray, float_events: np.ndarray, resets: bool
                     ) -> np.ndarray:
    """``changes``/``resets`` events between consecutive samples when some are histograms: a switch
    between a float and a histogram is one; two histograms differ (``Equals``) or reset
    (``DetectReset``)."""
    prev, cur = h_index[:-1], h_index[1:]
    out = np.where((prev < 0) & (cur < 0), float_events, (prev < 0) != (cur < 0))
    both = np.flatnonzero((prev >= 0) & (cur >= 0))
    if both.size:
        a, b = hops.take(h, prev[both]), hops.take(h, cur[both])
        out[both] = hops.detect_reset(a, b) if resets else ~hops.equal(a, b)
    return out
