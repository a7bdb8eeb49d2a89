"""Merging ``SeriesSet``s from several sources (blocks, head) into one, by label set."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

import numpy as np

from ..model.batch import SeriesSet
from ..model.labels import Labels
from .csr import combine, concat_csr, expand_ranks, gather

__all__ = ["LabelOrder", "merge_series_sets", "sort_keys", "sorted_series_set"]


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


class LabelOrder:
    """Label-sorted ranks of an append-only id -> labels list (the head's series), kept
    up to date as series are added, so that a query sorts its series with one ``argsort``
    of integers instead of comparing label sets."""

    def __init__(self) -> None:
        self._keys: list[tuple[tuple[str, str], ...]] = []  # sorted
        self._ids: list[int] = []  # id of each key
        self._seen = 0
        self._ranks = np.zeros(0, np.int64)
        self._lock = threading.Lock()

    def ranks(self, labels: Sequence[Labels | None]) -> np.ndarray:
        """``ranks[id]``: position of series ``id`` in label order (ids whose labels were
        already gone when first seen get an arbitrary rank; they are never selected)."""
        with self._lock:
            n = len(labels)
            if n == self._seen:
                return self._ranks
            new = [(lb.items, i) for i in range(self._seen, n) if (lb := labels[i]) is not None]
            if len(new) > 64 and len(new) * 8 > len(self._keys):
                pairs = sorted([*zip(self._keys, self._ids, strict=True), *new])
                self._keys = [k for k, _ in pairs]
                self._ids = [i for _, i in pairs]
            else:
                for key, i in new:
                    pos = bisect.bisect(self._keys, key)
                    self._keys.insert(pos, key)
                    self._ids.insert(pos, i)
            ranks = np.zeros(n, np.int64)
            ranks[np.asarray(self._ids, np.int64)] = np.arange(len(self._ids), dtype=np.int64)
            self._ranks, self._seen = ranks, n
            return ranks


def sorted_series_set(
    labels: Sequence[Labels], offsets: np.ndarray, t: np.ndarray, v: np.ndarray,
    ranks: np.ndarray | None = None,
) -> SeriesSet:
    """A SeriesSet with series reordered so that labels are sorted (``ranks``, if given,
    are the series' positions in label order, as ``LabelOrder`` knows them)."""
    if ranks is not None:
        order = np.argsort(ranks, kind="stable")
        if (order[1:] > order[:-1]).all():
            return SeriesSet(list(labels), offsets, t, v)
        perm = order.astype(np.int64)
        order = perm.tolist()
    else:
        # Plain tuples: on the read path (mostly presorted, modest sizes) comparing them
        # beats building string keys first.
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
    n = len(all_labels)
    spread = []
    for p, local in zip(parts, locals_, strict=True):
        if local.shape[0] > 1 and not (local[1:] > local[:-1]).all():
            spread = []  # a part not in label order: leave it to the general merge
            break
        counts = np.zeros(n, np.int64)
        counts[local] = np.diff(p.offsets)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        spread.append((offsets, p.t, p.v))
    disjoint = concat_csr(spread, n) if spread else None
    if disjoint is not None:
        return SeriesSet(all_labels, *disjoint)
    ranks, ts, vs = [], [], []
    for p, local in zip(parts, locals_, strict=True):
        ranks.append(local[expand_ranks(p.offsets)])
        ts.append(p.t)
        vs.append(p.v)
    offsets, t, v = combine(np.concatenate(ranks), np.concatenate(ts), np.concatenate(vs), len(all_labels))
    return SeriesSet(all_labels, offsets, t, v)

