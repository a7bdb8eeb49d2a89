"""Vectorised building blocks for series-major (CSR) sample arrays.

Every source of samples (head runs, the head's append buffer, blocks) hands its
samples over as three flat arrays ``(rank, t, v)``; ``combine`` turns any
concatenation of those into CSR form, sorted by (rank, t), with a later
sample for the same (rank, t) replacing an earlier one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["combine", "gather", "expand_ranks", "drop_empty"]


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
