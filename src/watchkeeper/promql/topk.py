"""``topk``, ``bottomk`` and ``limitk``: which series each (group, step) keeps, and in what order.

Ranks come from one vectorized sort per group (value order, NaN last, ties in input
order). Prometheus instead feeds the series through a binary heap of size k, so
when equal values straddle the k-th place, which of them survive depends on the
heap's layout, and an instant query lists the survivors in the order of the heap
sorted by Go's (small-input insertion) sort. Those cells, and every cell of an
instant query, are replayed through an exact model of Go's ``container/heap``.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ExecutionError
from .format import go_g
from .labelsets import empty_vectors, sorted_groups
from .values import InstantVectors

__all__ = ["select_k", "go_heap_select"]


def _check_k(param: np.ndarray) -> None:
    if np.isnan(param).any():
        raise ExecutionError("Parameter value is NaN")
    lo, hi = float(param.min()), float(param.max())
    if lo <= -9.223372036854776e18:
        raise ExecutionError(f"Scalar value {go_g(lo)} underflows int64")
    if hi >= 9.223372036854776e18:
        raise ExecutionError(f"Scalar value {go_g(hi)} overflows int64")


def _member_ranks(op: str, vec: InstantVectors, gid: np.ndarray, ngroups: int) -> np.ndarray:
    """Rank (0 = chosen first) of every present sample within its (group, step) cell.

    topk ranks by value descending, bottomk ascending, NaN after every number, ties and
    limitk in input order. Uses a dense (group, step, member) cube when groups are
    balanced enough for it to stay small, else one group at a time.
    """
    n, steps = vec.values.shape
    order, starts, sizes = sorted_groups(gid, ngroups)
    present = vec.present[order]
    rank = np.full((n, steps), np.iinfo(np.int64).max, dtype=np.int64)
    if op == "limitk":
        counts = np.cumsum(present, axis=0)
        before = np.concatenate([np.zeros((1, steps), dtype=counts.dtype), counts])[starts]
        rank[order] = counts - np.repeat(before, sizes, axis=0) - 1
        return rank
    key = np.where(present, -vec.values[order] if op == "topk" else vec.values[order], np.nan)
    maxsize = int(sizes.max())
    if ngroups * maxsize <= 2 * n + 64:
        # (group, step, member) so that the sort runs along contiguous memory.
        member = np.arange(n) - np.repeat(starts, sizes)
        gsorted = gid[order]
        cube = np.full((ngroups, steps, maxsize), np.nan)
        cube_present = np.zeros((ngroups, steps, maxsize), dtype=bool)
        cube[gsorted, :, member] = key
        cube_present[gsorted, :, member] = present
        idx = np.argsort(cube, axis=2, kind="stable")  # NaN (and absent) last, ties in input order
        sorted_rank = np.cumsum(np.take_along_axis(cube_present, idx, axis=2), axis=2) - 1
        cube_rank = np.empty_like(sorted_rank)
        np.put_along_axis(cube_rank, idx, sorted_rank, axis=2)
        rank[order] = cube_rank[gsorted, :, member]
    else:
        for g in np.flatnonzero(sizes):
            lo, hi = starts[g], starts[g] + sizes[g]
            block_key = np.ascontiguousarray(key[lo:hi].T)
            idx = np.argsort(block_key, axis=1, kind="stable")
            sorted_rank = np.cumsum(np.take_along_axis(present[lo:hi].T, idx, axis=1), axis=1) - 1
            block = np.empty_like(sorted_rank)
            np.put_along_axis(block, idx, sorted_rank, axis=1)
            rank[order[lo:hi]] = block.T
    return rank


def go_heap_select(values: list[float], k: int, top: bool) -> list[int]:
    """Indices of ``values`` that Prometheus' topk (``top``) or bottomk keeps, in its output order.

    A faithful model of Go's ``container/heap`` with ``vectorByValueHeap`` (NaN is
    the smallest) or ``vectorByReverseValueHeap``, followed by Go's ``sort.Sort`` of
    the reversed heap (insertion sort for up to 12 elements; stable sort beyond).
    """
    def less(a: float, b: float) -> bool:
        if math.isnan(a):
            return True
        return a < b if top else a > b

    heap: list[int] = []

    def up(j: int) -> None:
        while j > 0:
            i = (j - 1) // 2
            if not less(values[heap[j]], values[heap[i]]):
                break
            heap[i], heap[j] = heap[j], heap[i]
            j = i

    def down(i: int) -> None:
        n = len(heap)
        while True:
            j = 2 * i + 1
            if j >= n:
                break
            if j + 1 < n and less(values[heap[j + 1]], values[heap[j]]):
                j += 1
            if not less(values[heap[j]], values[heap[i]]):
                break
            heap[i], heap[j] = heap[j], heap[i]
            i = j

    for idx, v in enumerate(values):
        if len(heap) < k:
            heap.append(idx)
            up(len(heap) - 1)
            continue
        root = values[heap[0]]
        better = root < v if top else root > v
        if better or (math.isnan(root) and not math.isnan(v)):
            heap[0] = idx
            if k > 1:
                down(0)
    if len(heap) <= 12:
        for i in range(1, len(heap)):  # insertion sort with the reversed ordering
            j = i
            while j > 0 and less(values[heap[j - 1]], values[heap[j]]):
                heap[j], heap[j - 1] = heap[j - 1], heap[j]
                j -= 1
        return heap
    return sorted(heap, key=lambda i: (math.isnan(values[i]), -values[i] if top else values[i]))


def _boundary_ties(vals: np.ndarray, present: np.ndarray, rank: np.ndarray, gid: np.ndarray,
                   ngroups: int, k: np.ndarray) -> np.ndarray:
    """(group, step) cells where a kept and a dropped sample have equal values (or are both NaN)."""
    steps = vals.shape[1]
    ki = k.astype(np.int64)[None, :]
    kth = np.full((ngroups, steps), np.nan)
    has_kth = np.zeros((ngroups, steps), dtype=bool)
    at_kth = present & (rank == ki - 1)
    rows, cols = np.nonzero(at_kth)
    kth[gid[rows], cols] = vals[rows, cols]
    has_kth[gid[rows], cols] = True
    dropped = present & (rank >= ki)
    drow, dcol = np.nonzero(dropped)
    ref = kth[gid[drow], dcol]
    dv = vals[drow, dcol]
    same = has_kth[gid[drow], dcol] & ((dv == ref) | (np.isnan(dv) & np.isnan(ref)))
    ties = np.zeros((ngroups, steps), dtype=bool)
    ties[gid[drow[same]], dcol[same]] = True
    return ties


def select_k(op: str, vec: InstantVectors, gid: np.ndarray, ngroups: int,
             param: np.ndarray) -> InstantVectors:
    n, steps = vec.values.shape
    if float(param.max()) < 1:  # NaN compares false and goes on to the NaN error, as upstream
        return empty_vectors(steps)
    _check_k(param)
    if n == 0:
        return empty_vectors(steps)
    k = np.minimum(np.trunc(param), n)
    rank = _member_ranks(op, vec, gid, ngroups)
    if op != "limitk":
        replay = _boundary_ties(vec.values, vec.present, rank, gid, ngroups, k)
        if steps == 1:
            replay[:] = True
        for g, j in zip(*np.nonzero(replay), strict=True):
            members = np.flatnonzero((gid == g) & vec.present[:, j])
            if int(k[j]) < 1:
                continue
            kept = go_heap_select(vec.values[members, j].tolist(), int(k[j]), op == "topk")
            rank[members, j] = np.iinfo(np.int64).max
            rank[members[kept], j] = np.arange(len(kept))
    present = vec.present & (rank < k[None, :])
    # Output order (what an instant query shows): groups in order of first appearance, then rank.
    best = np.where(present, rank, np.iinfo(np.int64).max).min(axis=1)
    used = np.flatnonzero(present.any(axis=1))
    used = used[np.lexsort((used, best[used], gid[used]))]
    out = InstantVectors(labels=[vec.labels[i] for i in used], values=vec.values[used],
                         present=present[used], drop_name=vec.drop_name_mask()[used])
    if vec.h is not None and vec.h_index is not None:  # limitk keeps histogram samples
        out.h, out.h_index = vec.h, np.where(present[used], vec.h_index[used], -1)
    return out
