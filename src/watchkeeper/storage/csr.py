"""Vectorised building blocks for series-major (CSR) sample arrays.

Every source of samples (head runs, the head's append buffer, blocks) hands its
samples over as three flat arrays ``(rank, t, v)``; ``combine`` turns any
concatenation of those into CSR form, sorted by (rank, t), with a later
sample for the same (rank, t) replacing an earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Ranges", "combine", "concat_csr", "drop_empty", "expand_ranks", "gather", "gather_ranges",
           "segment_bisect", "take_ranges"]


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


@dataclass(frozen=True)
class Ranges:
    """Samples of ``n`` series as row ranges into arrays: series i has the timestamps
    ``t[starts[i]:ends[i]] + tbase`` and the values ``v[starts[i]:ends[i]]``.

    A CSR layout is the case ``starts = offsets[:-1]``, ``ends = offsets[1:]``; a head run
    read in place has its own int32 time deltas and base.
    """

    starts: np.ndarray
    ends: np.ndarray
    t: np.ndarray
    v: np.ndarray
    tbase: int = 0

    @classmethod
    def of_csr(cls, offsets: np.ndarray, t: np.ndarray, v: np.ndarray) -> Ranges:
        return cls(offsets[:-1], offsets[1:], t, v)

    def first_last(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(series with samples, their first and last timestamps)."""
        has = self.ends > self.starts
        first = self.t[self.starts[has]].astype(np.int64) + self.tbase
        last = self.t[self.ends[has] - 1].astype(np.int64) + self.tbase
        return has, first, last

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rank, t, v) per sample, in (rank, t) order."""
        rank, rows = gather_ranges(self.starts, self.ends)
        return rank, self.t[rows].astype(np.int64) + self.tbase, self.v[rows]


def concat_csr(parts: list[Ranges], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """One CSR ``(offsets, t, v)`` over ``n`` ranks from parts over the same ranks, if every
    series' samples in the parts (taken in order of their earliest sample) follow one
    another in time; None if some overlap.

    Blocks, and the head's runs, mostly hold disjoint time ranges of each series: its
    samples are then its parts' slices one after another, copied without the sort
    ``combine`` needs in general.
    """
    spans = []
    for p in parts:
        has, first, last = p.first_last()
        if first.size:
            spans.append((int(first.min()), p, has, first, last))
    spans.sort(key=lambda s: s[0])
    parts = [s[1] for s in spans]
    if not parts:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    prev_last = np.full(n, np.iinfo(np.int64).min, np.int64)
    for _, _, has, first, last in spans:
        if (first <= prev_last[has]).any():
            return None
        prev_last[has] = last
    counts = np.stack([p.ends - p.starts for p in parts])  # (part, rank)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=offsets[1:])
    total = int(offsets[-1])
    if total < _SLICE_MIN_LEN * int(np.count_nonzero(counts)):
        # Short runs: one scatter per part.
        before = np.cumsum(counts, axis=0) - counts  # samples of earlier parts, per series
        t = np.empty(total, np.int64)
        v = np.empty(total, np.float64)
        for k, p in enumerate(parts):
            rank, pt, pv = p.triples()
            dst = (offsets[:-1] + before[k])[rank] + np.arange(rank.size, dtype=np.int64)
            dst -= np.repeat(np.cumsum(counts[k]) - counts[k], counts[k])
            t[dst] = pt
            v[dst] = pv
        return offsets, t, v
    # Long runs: copy slices, series by series, parts in time order.
    rank, k = np.nonzero(counts.T)
    a = np.stack([p.starts for p in parts])[k, rank]
    b = a + counts[k, rank]
    pieces = list(zip(k.tolist(), a.tolist(), b.tolist(), strict=True))
    t = np.concatenate([parts[i].t[lo:hi] for i, lo, hi in pieces]).astype(np.int64, copy=False)
    bases = np.array([p.tbase for p in parts], np.int64)
    if bases.any():
        t += np.repeat(bases[k], counts[k, rank])
    v = np.concatenate([parts[i].v[lo:hi] for i, lo, hi in pieces])
    return offsets, t, v
