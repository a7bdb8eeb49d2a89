"""Instant and range selection over CSR series, for all series and all steps at once.

Every series' samples are a slice of one flat time array; giving each series its
own disjoint key range (``series_index * width + t``) turns "find the sample at or
before time x in series i" for every (series, step) pair into one
``np.searchsorted`` call.
"""

from __future__ import annotations

import numpy as np

from ..model.batch import SeriesSet, is_stale
from ..model.histogram import HistogramBatch
from .extended_hist import smoothed_histograms
from .values import Annotations, InstantVectors, RangeWindows

__all__ = ["segment_search", "instant_select", "smoothed_select", "range_select", "windows_over",
           "drop_stale", "vectors_to_series", "concat_ranges"]

_MAX_KEY = 1 << 62


def segment_search(offsets: np.ndarray, t: np.ndarray, q: np.ndarray, side: str) -> np.ndarray:
    """Absolute positions of ``q[j]`` inside every series' time slice.

    ``offsets``/``t`` describe N series in CSR form, ``q`` has shape (S,). Returns an
    int64 (N, S) array: for side "right", ``offsets[i]`` plus the number of samples of
    series i with ``t <= q[j]``; for side "left", plus the number with ``t < q[j]``.
    """
    n = len(offsets) - 1
    q = np.asarray(q, dtype=np.int64)
    if n == 0:
        return np.zeros((0, q.shape[0]), dtype=np.int64)
    if t.size == 0:
        return np.broadcast_to(offsets[:-1, None], (n, q.shape[0])).copy()
    if q.shape[0] == 1:
        # One query time: count, per series, the samples at or before (before) it.
        below = (t <= q[0]) if side == "right" else (t < q[0])
        cum = np.zeros(t.size + 1, dtype=np.int64)
        np.cumsum(below, out=cum[1:])
        return (offsets[:-1] + cum[offsets[1:]] - cum[offsets[:-1]])[:, None]
    if (np.diff(q) == q[1] - q[0]).all():
        if q.shape[0] > 1 and q[1] == q[0]:
            return np.repeat(_grid_search(offsets, t, int(q[0]), 1, 1, side), q.shape[0], axis=1)
        step = int(q[1] - q[0]) if q.shape[0] > 1 else 1
        if step > 0:
            return _grid_search(offsets, t, int(q[0]), step, q.shape[0], side)
    return _key_search(offsets, t, q, side)


# Samples per series above which searching series by series (one ``np.searchsorted`` each)
# beats the vectorised passes over every sample.
_LOOP_MIN_SAMPLES = 256


def _series_search(offsets: np.ndarray, t: np.ndarray, q: np.ndarray, side: str) -> np.ndarray:
    """``segment_search`` by one binary search per series: few series with long histories."""
    n = len(offsets) - 1
    out = np.empty((n, q.shape[0]), dtype=np.int64)
    bounds = offsets.tolist()
    for i in range(n):
        a = bounds[i]
        out[i] = np.searchsorted(t[a:bounds[i + 1]], q, side=side)
        out[i] += a
    return out


def _grid_search(offsets: np.ndarray, t: np.ndarray, q0: int, step: int, steps: int, side: str) -> np.ndarray:
    """``segment_search`` for the evenly spaced queries ``q0 + j * step``: one counting pass.

    Every sample falls before some first query index j (the first query it does not
    exceed); a per-series histogram of those indices, accumulated over j, counts the
    samples at or before each query.
    """
    n = len(offsets) - 1
    if t.size >= _LOOP_MIN_SAMPLES * n:
        return _series_search(offsets, t, q0 + step * np.arange(steps, dtype=np.int64), side)
    if side == "right":  # first j with q0 + j*step >= t
        first = -((q0 - t) // step)
    else:  # first j with q0 + j*step > t
        first = (t - q0) // step + 1
    np.clip(first, 0, steps, out=first)
    first += np.repeat(np.arange(0, n * (steps + 1), steps + 1, dtype=np.int64), np.diff(offsets))
    hist = np.bincount(first, minlength=n * (steps + 1)).reshape(n, steps + 1)
    out = np.cumsum(hist[:, :steps], axis=1)
    out += offsets[:-1, None]
    return out


def _key_search(offsets: np.ndarray, t: np.ndarray, q: np.ndarray, side: str) -> np.ndarray:
    """``segment_search`` for arbitrary queries: one ``searchsorted`` on per-series disjoint keys."""
    n = len(offsets) - 1
    if t.size >= _LOOP_MIN_SAMPLES * n:
        return _series_search(offsets, t, q, side)
    lo = min(int(t.min()), int(q.min()))
    width = max(int(t.max()), int(q.max())) - lo + 2
    if width * (n + 1) >= _MAX_KEY:
        # Keys would overflow: search series by series instead.
        out = np.empty((n, q.shape[0]), dtype=np.int64)
        for i in range(n):
            a, b = int(offsets[i]), int(offsets[i + 1])
            out[i] = a + np.searchsorted(t[a:b], q, side=side)
        return out
    counts = np.diff(offsets)
    sid = np.repeat(np.arange(n, dtype=np.int64), counts)
    keys = sid * width + (t - lo)
    queries = np.arange(n, dtype=np.int64)[:, None] * width + (q - lo)[None, :]
    return np.searchsorted(keys, queries.ravel(), side=side).reshape(n, q.shape[0])


def instant_select(ss: SeriesSet, ref: np.ndarray, lookback_ms: int) -> InstantVectors:
    """Latest sample in ``(ref - lookback, ref]`` per series and step; a staleness marker means absent."""
    ref = np.asarray(ref, dtype=np.int64)
    steps = ref.shape[0]
    n = len(ss.labels)
    if n == 0 or ss.t.size == 0:
        return _empty_vectors(steps)
    offsets = np.asarray(ss.offsets, dtype=np.int64)
    idx = segment_search(offsets, ss.t, ref, "right") - 1
    valid = idx >= offsets[:-1, None]
    idx = np.where(valid, idx, 0)
    ts = ss.t[idx]
    vs = ss.v[idx]
    valid &= ts > (ref - lookback_ms)[None, :]
    valid &= ~is_stale(vs)
    hix = None
    if ss.h_index is not None:
        hix = np.where(valid, ss.h_index[idx], -1)
    keep = valid.any(axis=1)
    if not keep.all():
        rows = np.flatnonzero(keep)
        labels = [ss.labels[i] for i in rows]
        valid, vs, ts = valid[rows], vs[rows], ts[rows]
        if hix is not None:
            hix = hix[rows]
    else:
        labels = list(ss.labels)
    if hix is not None and (hix >= 0).any():
        return InstantVectors(labels=labels, values=vs, present=valid, timestamps=ts, h=ss.h, h_index=hix)
    return InstantVectors(labels=labels, values=vs, present=valid, timestamps=ts)


def smoothed_select(ss: SeriesSet, ref: np.ndarray, lookback_ms: int, annotations: Annotations | None = None,
                    pos: str = "") -> InstantVectors:
    """``x smoothed``: the value at exactly ``ref``, interpolated between the neighbouring samples.

    Looks at samples in ``(ref - lookback, ref + lookback]`` (staleness markers dropped):
    a sample at ``ref`` is taken as is, otherwise the two around ``ref`` are interpolated
    linearly, and without a later one the earlier value is carried forward.
    """
    ref = np.asarray(ref, dtype=np.int64)
    ss = drop_stale(ss)
    if len(ss.labels) == 0 or ss.t.size == 0:
        return _empty_vectors(ref.shape[0])
    offsets = np.asarray(ss.offsets, dtype=np.int64)
    lo = segment_search(offsets, ss.t, ref - lookback_ms, "right")
    hi = segment_search(offsets, ss.t, ref + lookback_ms, "right")
    i = np.clip(segment_search(offsets, ss.t, ref, "left"), lo, hi)  # first sample at or after ref
    last = max(ss.t.size - 1, 0)
    t_i, v_i = ss.t[np.minimum(i, last)], ss.v[np.minimum(i, last)]
    t_p, v_p = ss.t[np.maximum(i - 1, 0)], ss.v[np.maximum(i - 1, 0)]
    exact = (i < hi) & (t_i == ref[None, :])
    between = ~exact & (i > lo) & (i < hi)
    carried = ~exact & ~between & (i > lo)
    with np.errstate(all="ignore"):
        dt = (ref[None, :] - t_p).astype(np.float64)
        interpolated = v_p + (v_i - v_p) * dt / (t_i - t_p).astype(np.float64)
    values = np.where(exact, v_i, np.where(between, interpolated, v_p))
    present = exact | between | carried
    h_row, hists = None, None
    if ss.h is not None and ss.h_index is not None:
        float_ok, h_row, hists = smoothed_histograms(ss.labels, ss.t, ss.h, ss.h_index, lo, hi, i, ref, exact,
                                                     between, carried, annotations or Annotations(), pos)
        present = float_ok | (h_row >= 0)
    keep = present.any(axis=1)
    rows = np.flatnonzero(keep)
    out = InstantVectors(labels=[ss.labels[r] for r in rows], values=values[rows], present=present[rows])
    if hists is not None and h_row is not None:
        out.h, out.h_index = hists, h_row[rows]
    return out


def _empty_vectors(steps: int) -> InstantVectors:
    return InstantVectors(labels=[], values=np.zeros((0, steps)), present=np.zeros((0, steps), dtype=bool),
                          timestamps=np.zeros((0, steps), dtype=np.int64))


def drop_stale(ss: SeriesSet) -> SeriesSet:
    """The same series without their staleness markers (range selectors never see them)."""
    stale = is_stale(ss.v)
    if not stale.any():
        return ss
    keep = ~stale
    sid = np.repeat(np.arange(len(ss.labels), dtype=np.int64), np.diff(ss.offsets))
    counts = np.bincount(sid[keep], minlength=len(ss.labels))
    offsets = np.zeros(len(ss.labels) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if ss.h_index is not None:
        return SeriesSet(ss.labels, offsets, ss.t[keep], ss.v[keep], ss.h, ss.h_index[keep])
    return SeriesSet(ss.labels, offsets, ss.t[keep], ss.v[keep])


def windows_over(ss: SeriesSet, ref: np.ndarray, range_ms: int,
                 drop_name: np.ndarray | None = None) -> RangeWindows:
    """Windows ``(ref - range, ref]`` of every series at every step; series whose windows are all empty go."""
    ref = np.asarray(ref, dtype=np.int64)
    offsets = np.asarray(ss.offsets, dtype=np.int64)
    lo, hi = _window_bounds(offsets, ss.t, ref, range_ms)
    nonempty = (hi > lo).any(axis=1) if len(ss.labels) else np.zeros(0, dtype=bool)
    labels = list(ss.labels)
    if not nonempty.all():
        rows = np.flatnonzero(nonempty)
        labels = [labels[i] for i in rows]
        hi, lo = hi[rows], lo[rows]
        # Rebuild a compact CSR holding only the kept series.
        starts = ss.offsets[:-1][rows]
        ends = ss.offsets[1:][rows]
        take = concat_ranges(starts, ends)
        new_offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=new_offsets[1:])
        shift = (new_offsets[:-1] - starts)[:, None]
        lo, hi = lo + shift, hi + shift
        if drop_name is not None:
            drop_name = drop_name[rows]
        hix = None if ss.h_index is None else ss.h_index[take]
        return RangeWindows(labels=labels, t=ss.t[take], v=ss.v[take], offsets=new_offsets, lo=lo, hi=hi,
                            eval_t=ref, range_ms=range_ms, drop_name=drop_name, **_hist_fields(ss.h, hix))
    return RangeWindows(labels=labels, t=ss.t, v=ss.v, offsets=offsets, lo=lo, hi=hi, eval_t=ref,
                        range_ms=range_ms, drop_name=drop_name, **_hist_fields(ss.h, ss.h_index))


def _hist_fields(h: HistogramBatch | None, h_index: np.ndarray | None) -> dict:
    """``h``/``h_index`` keyword arguments, left out when no sample is a histogram (the float path)."""
    if h is None or h_index is None or not (h_index >= 0).any():
        return {}
    return {"h": h, "h_index": h_index}


def _window_bounds(offsets: np.ndarray, t: np.ndarray, ref: np.ndarray, range_ms: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) positions of the windows ``(ref - range, ref]``.

    When the range is a whole number k of steps, the window starts are the window ends
    k steps earlier, so one search over k extra steps yields both.
    """
    steps = ref.shape[0]
    if steps > 1 and len(offsets) > 1 and t.size:
        step = int(ref[1] - ref[0])
        if step > 0 and range_ms % step == 0 and (np.diff(ref) == step).all():
            k = range_ms // step
            if k <= 4 * steps:
                ext = _grid_search(offsets, t, int(ref[0]) - range_ms, step, steps + k, "right")
                return ext[:, :steps], ext[:, k:]
    return segment_search(offsets, t, ref - range_ms, "right"), segment_search(offsets, t, ref, "right")


def concat_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for all pairs, vectorized."""
    lengths = (ends - starts).astype(np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    base = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return base + np.arange(total, dtype=np.int64)


def range_select(ss: SeriesSet, ref: np.ndarray, range_ms: int) -> RangeWindows:
    """A matrix selector: windows over the series with staleness markers removed."""
    return windows_over(drop_stale(ss), ref, range_ms)


def vectors_to_series(vec: InstantVectors, eval_ts: np.ndarray) -> SeriesSet:
    """CSR form of instant vectors over steps (the points of a subquery or a range query result)."""
    present = vec.present
    counts = present.sum(axis=1).astype(np.int64)
    offsets = np.zeros(len(vec.labels) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ts = np.broadcast_to(np.asarray(eval_ts, dtype=np.int64)[None, :], present.shape)
    if vec.h is not None and vec.h_index is not None:
        return SeriesSet(list(vec.labels), offsets, ts[present], vec.values[present].astype(np.float64),
                         vec.h, vec.h_index[present])
    return SeriesSet(list(vec.labels), offsets, ts[present], vec.values[present].astype(np.float64))
