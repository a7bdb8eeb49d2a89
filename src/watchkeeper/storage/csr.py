"""Vectorised building blocks for series-major (CSR) sample arrays.

Every source of samples (head runs, the head's append buffer, blocks) hands its
samples over as three flat arrays ``(rank, t, v)``; ``combine`` turns any
concatenation of those into CSR form, sorted by (rank, t), with a later
sample for the same (rank, t) replacing an earlier one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["combine", "gather", "gather_ranges", "take_ranges", "concat_csr", "expand_ranks", "drop_empty", "segment_bisect"]


def combine(
    rank: np.ndarray, t: np.ndarray, v: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR ``(offsets, t, v)`` over ``n`` ranks from samples given oldest first.

    Within one rank, timestamps come out strictly increasing; on equal
    timestamps the sample that came last in the input wins.
    """
    if rank.size == 0:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    order = np.argsort(rank, kind="stable")
    r = rank[order]
    tt = t[order]
    same = r[1:] == r[:-1]
    if np.any(same & (tt[1:] <= tt[:-1])):
        order = np.lexsort((t, rank))  # stable: equal (rank, t) keep input order
        r = rank[order]
        tt = t[order]
        dup = (r[1:] == r[:-1]) & (tt[1:] == tt[:-1])
        if dup.any():
            keep = np.ones(order.shape[0], bool)
            keep[:-1] = ~dup
            order = order[keep]
            r = r[keep]
            tt = tt[keep]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=offsets[1:])
    return offsets, tt, v[order]


def expand_ranks(offsets: np.ndarray) -> np.ndarray:
    """The rank of every sample of a CSR layout."""
    n = offsets.shape[0] - 1
    return np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))


def gather(offsets: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of series ``ids`` in a CSR layout: ``(rank, row)`` where rank indexes ``ids``.

    Ids beyond the layout's series count own no rows.
    """
    nser = offsets.shape[0] - 1
    ok = ids < nser
    if ok.all():
        sel = ids
        rank_of_sel = np.arange(ids.shape[0], dtype=np.int64)
    else:
        rank_of_sel = np.flatnonzero(ok)
        sel = ids[ok]
    starts = offsets[sel]
    lens = offsets[sel + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ends = np.cumsum(lens)
    rows = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lens), lens)
    return np.repeat(rank_of_sel, lens), rows


def drop_empty(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(kept ranks, new offsets)`` leaving out ranks that own no samples."""
    counts = np.diff(offsets)
    keep = np.flatnonzero(counts)
    new = np.zeros(keep.shape[0] + 1, np.int64)
    np.cumsum(counts[keep], out=new[1:])
    return keep, new


def segment_bisect(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, x: int, *, right: bool
) -> np.ndarray:
    """Per segment ``values[lo[i]:hi[i]]`` (each sorted), the first position whose value is
    ``>= x`` (``> x`` if ``right``): a binary search run on all segments at once.

    Costs O(segments x log(longest segment)) rather than touching every value, which is
    what finding a short time range inside long series needs.
    """
    lo = lo.astype(np.int64)
    hi = hi.astype(np.int64)
    last = max(values.shape[0] - 1, 0)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        probe = values[np.minimum(mid, last)].astype(np.int64)
        below = (probe <= x) if right else (probe < x)
        below &= active
        lo = np.where(below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)


def gather_ranges(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rank, row)`` for the rows ``starts[i]:ends[i]`` of every i, concatenated."""
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    done = np.cumsum(lens)
    rows = np.arange(total, dtype=np.int64) + np.repeat(starts - (done - lens), lens)
    return np.repeat(np.arange(starts.shape[0], dtype=np.int64), lens), rows


# Copying slices costs a Python step each; below this many samples per slice an index
# array (one vectorised gather) is cheaper.
_SLICE_MIN_LEN = 48


def take_ranges(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``values[starts[i]:ends[i]]`` for every i, concatenated."""
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return values[:0].copy()
    if total >= _SLICE_MIN_LEN * starts.shape[0]:
        return np.concatenate([values[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)])
    done = np.cumsum(lens)
    return values[np.arange(total, dtype=np.int64) + np.repeat(starts - (done - lens), lens)]


def concat_csr(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """One CSR ``(offsets, t, v)`` over ``n`` ranks from CSR parts over the same ranks whose
    time spans do not overlap (None if some do).

    Blocks, and the head's runs, mostly cover disjoint time ranges: every series' samples
    are then its parts' slices one after another in time order, placed without the sort
    ``combine`` needs in general.
    """
    parts = [p for p in parts if p[1].size]
    spans = []
    for offsets, t, _ in parts:
        full = offsets[1:] > offsets[:-1]
        spans.append((int(t[offsets[:-1][full]].min()), int(t[offsets[1:][full] - 1].max())))
    order = sorted(range(len(parts)), key=spans.__getitem__)
    if any(spans[a][1] >= spans[b][0] for a, b in zip(order[:-1], order[1:], strict=True)):
        return None
    parts = [parts[i] for i in order]
    if not parts:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    if len(parts) == 1:
        return parts[0]
    counts = np.stack([np.diff(p[0]) for p in parts])  # (part, rank)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=offsets[1:])
    total = int(offsets[-1])
    if total >= _SLICE_MIN_LEN * int(np.count_nonzero(counts)):
        # Long runs: copy slices, series by series, parts in time order.
        rank, k = np.nonzero(counts.T)
        a = np.stack([p[0][:-1] for p in parts])[k, rank]
        b = a + counts[k, rank]
        pieces = list(zip(k.tolist(), a.tolist(), b.tolist(), strict=True))
        t = np.concatenate([parts[i][1][lo:hi] for i, lo, hi in pieces])
        v = np.concatenate([parts[i][2][lo:hi] for i, lo, hi in pieces])
        return offsets, t, v
    # Short runs: one scatter per part.
    before = np.cumsum(counts, axis=0) - counts  # samples of earlier parts, per series
    t = np.empty(total, np.int64)
    v = np.empty(total, np.float64)
    for k, (p_off, p_t, p_v) in enumerate(parts):
        shift = offsets[:-1] + before[k] - p_off[:-1]
        dst = np.repeat(shift, counts[k]) + np.arange(p_t.size, dtype=np.int64)
        t[dst] = p_t
        v[dst] = p_v
    return offsets, t, v
