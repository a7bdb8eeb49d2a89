"""Merging ``SeriesSet``s from several sources (blocks, head) into one, by label set."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

import numpy as np

from ..model.batch import SeriesSet
from ..model.histogram_ops import concatenate
from ..model.labels import Labels
from .csr import Ranges, combine, concat_csr, expand_ranks
from .hist import resolve, to_tagged

__all__ = ["LabelOrder", "merge_series_sets", "sort_keys"]


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


def merge_series_sets(parts: Sequence[SeriesSet]) -> SeriesSet:
    """Union of ``parts`` (oldest first): series with equal labels are merged, newer wins on equal t.

    Parts with native histograms are merged as tagged values (``hist``) and come back out
    with ``h``/``h_index``; float-only parts take the float path unchanged.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return SeriesSet.empty()
    if len(parts) == 1:
        return parts[0]
    if all(p.h is None for p in parts):
        return _merge_floats(parts)
    tagged, pools, base = [], [], 0
    for p in parts:
        if p.h is None:
            tagged.append(p)
            continue
        tagged.append(SeriesSet(p.labels, p.offsets, p.t, to_tagged(p.v, p.h_index, base)))
        pools.append(p.h)
        base += len(p.h)
    return resolve(_merge_floats(tagged), concatenate(pools))


def _merge_floats(parts: list[SeriesSet]) -> SeriesSet:
    # Label sets are compared as their item tuples: equal sets from different sources are
    # distinct objects, and tuples compare in C where ``Labels.__eq__`` is a Python call.
    keys = [[lb.items for lb in p.labels] for p in parts]
    k0 = keys[0]
    if all(k == k0 for k in keys[1:]) and all(a < b for a, b in zip(k0, k0[1:], strict=False)):
        # The usual case: the same series everywhere, in label order.
        all_labels = list(parts[0].labels)
        locals_ = [np.arange(len(all_labels), dtype=np.int64)] * len(parts)
    else:
        first: dict[tuple[tuple[str, str], ...], Labels] = {}
        for p, pk in zip(parts, keys, strict=True):
            for key, lb in zip(pk, p.labels, strict=True):
                first.setdefault(key, lb)
        ordered = sorted(first)
        all_labels = [first[k] for k in ordered]
        rank_of = {k: i for i, k in enumerate(ordered)}
        locals_ = [np.fromiter(map(rank_of.__getitem__, pk), np.int64, len(pk)) for pk in keys]
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
        spread.append(Ranges.of_csr(offsets, p.t, p.v))
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

