"""Merging ``SeriesSet``s from several sources (blocks, head) into one, by label set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..model.batch import SeriesSet
from ..model.labels import Labels
from .csr import combine, expand_ranks, gather

__all__ = ["merge_series_sets", "sort_keys", "sorted_series_set"]


def sort_keys(labels: Sequence[Labels]) -> list[str] | list[tuple[tuple[str, str], ...]]:
    """Keys that sort like the label sets, but compare much faster than ``Labels``.

    Each set becomes ``name NUL value NUL name NUL value ...``: as NUL sorts below every
    other character this orders exactly like the tuples, unless a name or value itself
    contains NUL, in which case the plain tuples are used.
    """
    keys = ["\x00".join(["\x00".join(p) for p in lb.items]) for lb in labels]
    if any(k.count("\x00") != 2 * len(lb) - 1 for k, lb in zip(keys, labels, strict=True) if len(lb)):
        return [lb.items for lb in labels]
    return keys


def sorted_series_set(
    labels: Sequence[Labels], offsets: np.ndarray, t: np.ndarray, v: np.ndarray
) -> SeriesSet:
    """A SeriesSet with series reordered so that labels are sorted."""
    # Plain tuples: on the read path (mostly presorted, modest sizes) comparing them beats
    # building string keys first.
    keys = [lb.items for lb in labels]
    order = sorted(range(len(labels)), key=keys.__getitem__)
    if order == list(range(len(order))):
        return SeriesSet(list(labels), offsets, t, v)
    perm = np.asarray(order, np.int64)
    rank, rows = gather(offsets, perm)
    new_offsets = np.zeros(len(order) + 1, np.int64)
    np.cumsum(np.bincount(rank, minlength=len(order)), out=new_offsets[1:])
    return SeriesSet([labels[i] for i in order], new_offsets, t[rows], v[rows])


def merge_series_sets(parts: Sequence[SeriesSet]) -> SeriesSet:
    """Union of ``parts`` (oldest first): series with equal labels are merged, newer wins on equal t."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return SeriesSet.empty()
    if len(parts) == 1:
        return parts[0]
    rank_of: dict[Labels, int] = {}
    for p in parts:
        for lb in p.labels:
            rank_of.setdefault(lb, 0)
    found = list(rank_of)
    keys = [lb.items for lb in found]
    all_labels = [found[i] for i in sorted(range(len(found)), key=keys.__getitem__)]
    for i, lb in enumerate(all_labels):
        rank_of[lb] = i
    locals_ = [np.fromiter((rank_of[lb] for lb in p.labels), np.int64, len(p.labels)) for p in parts]
    disjoint = _concatenate_disjoint(parts, locals_, len(all_labels))
    if disjoint is not None:
        return SeriesSet(all_labels, *disjoint)
    ranks, ts, vs = [], [], []
    for p, local in zip(parts, locals_, strict=True):
        ranks.append(local[expand_ranks(p.offsets)])
        ts.append(p.t)
        vs.append(p.v)
    offsets, t, v = combine(np.concatenate(ranks), np.concatenate(ts), np.concatenate(vs), len(all_labels))
    return SeriesSet(all_labels, offsets, t, v)


def _concatenate_disjoint(
    parts: Sequence[SeriesSet], ranks: Sequence[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """CSR ``(offsets, t, v)`` of ``parts`` whose time spans do not overlap, else None.

    Blocks cover disjoint time ranges, so a query over several of them is the usual case:
    every series' samples are then its parts' slices one after another in time order, and
    a single scatter places them without the sort ``combine`` needs for the general case.
    """
    spans = []
    for p in parts:
        if p.t.size == 0:
            return None
        full = np.diff(p.offsets) > 0
        starts, ends = p.offsets[:-1][full], p.offsets[1:][full] - 1
        spans.append((int(p.t[starts].min()), int(p.t[ends].max())))
    order = sorted(range(len(parts)), key=lambda i: spans[i])
    if any(spans[a][1] >= spans[b][0] for a, b in zip(order[:-1], order[1:], strict=True)):
        return None
    counts = np.zeros((len(parts), n), np.int64)
    for k, (p, local) in enumerate(zip(parts, ranks, strict=True)):
        counts[k, local] = np.diff(p.offsets)
    counts = counts[order]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=offsets[1:])
    before = np.cumsum(counts, axis=0) - counts  # samples of earlier parts, per series
    total = int(offsets[-1])
    t = np.empty(total, np.int64)
    v = np.empty(total, np.float64)
    for k, i in enumerate(order):
        p, local = parts[i], ranks[i]
        shift = offsets[local] + before[k, local] - p.offsets[:-1]
        dst = np.repeat(shift, np.diff(p.offsets)) + np.arange(p.t.size, dtype=np.int64)
        t[dst] = p.t
        v[dst] = p.v
    return offsets, t, v
