"""Series registry and label postings: ``Labels`` <-> dense ids, matchers -> sorted id arrays.

Postings are kept per (name, value) as sorted int64 id arrays. Matchers are
evaluated once per distinct label value, never per series, and regexes that are
plain literal alternations (``a|b|c``) become set lookups, as in Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..model.labels import Labels
from ..model.matchers import Matcher, MatchType

__all__ = ["GrowArray", "SeriesIndex", "literal_alternatives"]

_EMPTY = np.zeros(0, np.int64)
_LITERAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-/ ,=@")


class GrowArray:
    """An append-only numpy array with amortised O(1) growth.

    Writers only ever write past ``n``; a view of ``[:n]`` taken earlier stays
    valid, which is what lets readers use snapshots without holding a lock.
    """

    __slots__ = ("arr", "n")

    def __init__(self, dtype: np.dtype | type, capacity: int = 4) -> None:
        self.arr = np.empty(capacity, dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        k = values.shape[0]
        need = self.n + k
        if need > self.arr.shape[0]:
            grown = np.empty(max(need, 2 * self.arr.shape[0]), self.arr.dtype)
            grown[: self.n] = self.arr[: self.n]
            self.arr = grown
        self.arr[self.n : need] = values
        self.n = need

    def append(self, value: int) -> None:
        if self.n == self.arr.shape[0]:
            grown = np.empty(2 * self.arr.shape[0], self.arr.dtype)
            grown[: self.n] = self.arr
            self.arr = grown
        self.arr[self.n] = value
        self.n += 1

    def view(self) -> np.ndarray:
        return self.arr[: self.n]

    def __len__(self) -> int:
        return self.n


def literal_alternatives(pattern: str) -> frozenset[str] | None:
    """The set of strings an anchored regex matches when it is ``lit1|lit2|...``, else None."""
    parts = pattern.split("|")
    if all(p and all(c in _LITERAL_CHARS for c in p) for p in parts):
        return frozenset(parts)
    return None


def _union(arrays: list[np.ndarray]) -> np.ndarray:
    if not arrays:
        return _EMPTY
    if len(arrays) == 1:
        return arrays[0]
    return np.unique(np.concatenate(arrays))


class SeriesIndex:
    """Series registry with an inverted index. Callers serialise mutation (the TSDB lock)."""

    def __init__(self) -> None:
        self._ids: dict[Labels, int] = {}
        # id -> labels; None for removed series. Replaced (not mutated) on removal, so
        # readers holding the old list keep valid entries.
        self.labels: list[Labels | None] = []
        self._postings: dict[str, dict[str, GrowArray]] = {}

    def __len__(self) -> int:
        """The id space size (live and removed series)."""
        return len(self.labels)

    @property
    def num_series(self) -> int:
        return len(self._ids)

    def get(self, labels: Labels) -> int | None:
        return self._ids.get(labels)

    def add(self, labels: Labels) -> int:
        """Register a new series and return its id (the caller checked it is new)."""
        sid = len(self.labels)
        self._ids[labels] = sid
        self.labels.append(labels)
        for name, value in labels.items:
            values = self._postings.get(name)
            if values is None:
                values = self._postings[name] = {}
            plist = values.get(value)
            if plist is None:
                plist = values[value] = GrowArray(np.int64)
            plist.append(sid)
        return sid

    def resolve(self, labels: Sequence[Labels]) -> tuple[np.ndarray, list[int]]:
        """Ids for ``labels`` (creating missing series) and the list of newly created ids."""
        get = self._ids.get
        ids = list(map(get, labels))
        created: list[int] = []
        if None in ids:
            # New series are registered first and their postings appended per label pair
            # afterwards, one array extend per pair instead of one append per series and pair.
            registry, table = self._ids, self.labels
            grouped: dict[tuple[str, str], list[int]] = {}
            for i, sid in enumerate(ids):
                if sid is None:
                    lb = labels[i]
                    sid = get(lb)
                    if sid is None:
                        sid = registry[lb] = len(table)
                        table.append(lb)
                        created.append(sid)
                        for pair in lb.items:
                            group = grouped.get(pair)
                            if group is None:
                                grouped[pair] = [sid]
                            else:
                                group.append(sid)
                    ids[i] = sid
            for (name, value), sids in grouped.items():
                values = self._postings.get(name)
                if values is None:
                    values = self._postings[name] = {}
                plist = values.get(value)
                if plist is None:
                    plist = values[value] = GrowArray(np.int64, max(4, len(sids)))
                plist.extend(np.array(sids, np.int64))
        return np.fromiter(ids, np.int64, len(ids)), created

    def remove(self, ids: np.ndarray) -> int:
        """Drop series ``ids`` from the registry and postings; returns how many were registered."""
        labels = self.labels
        gone = [int(i) for i in ids if labels[i] is not None]
        if not gone:
            return 0
        touched: set[tuple[str, str]] = set()
        new_labels = list(labels)
        for i in gone:
            lb = labels[i]
            assert lb is not None
            del self._ids[lb]
            touched.update(lb.items)
            new_labels[i] = None
        dead = np.asarray(gone, np.int64)
        for name, value in touched:
            values = self._postings[name]
            rest = np.setdiff1d(values[value].view(), dead, assume_unique=True)
            if rest.size:
                plist = GrowArray(np.int64, rest.shape[0])
                plist.extend(rest)
                values[value] = plist
            else:
                del values[value]
                if not values:
                    del self._postings[name]
        self.labels = new_labels
        return len(gone)

    def postings(self, name: str, value: str) -> np.ndarray:
        plist = self._postings.get(name, {}).get(value)
        return _EMPTY if plist is None else plist.view()

    def _values_where(self, m: Matcher, want: bool) -> list[np.ndarray]:
        """Postings of every value of ``m.name`` for which ``m.matches(value) == want``."""
        values = self._postings.get(m.name)
        if not values:
            return []
        positive = m.type in (MatchType.EQUAL, MatchType.REGEX)
        lits: Iterable[str] | None = None
        if m.type in (MatchType.EQUAL, MatchType.NOT_EQUAL):
            lits = (m.value,)
        else:
            lits = literal_alternatives(m.value)
        if lits is not None and want == positive:
            return [values[v].view() for v in lits if v in values]
        if lits is not None:
            skip = set(lits)
            return [p.view() for v, p in values.items() if v not in skip]
        return [p.view() for v, p in values.items() if m.matches(v) == want]

    def select(self, matchers: Sequence[Matcher]) -> np.ndarray:
        """Sorted ids of series matching every matcher (a missing label counts as '')."""
        include: list[np.ndarray] = []
        exclude: list[np.ndarray] = []
        for m in matchers:
            if m.matches_empty:
                # Series without the label match; drop those whose value does not.
                exclude.extend(self._values_where(m, False))
            else:
                found = _union(self._values_where(m, True))
                if found.size == 0:
                    return _EMPTY
                include.append(found)
        if include:
            include.sort(key=len)
            ids = include[0]
            for other in include[1:]:
                ids = np.intersect1d(ids, other, assume_unique=True)
        else:
            ids = np.fromiter(self._ids.values(), np.int64, len(self._ids))
            ids.sort()
        if exclude and ids.size:
            ids = np.setdiff1d(ids, _union(exclude), assume_unique=True)
        return ids

    def label_names(self) -> list[str]:
        return sorted(self._postings)

    def label_values(self, name: str) -> list[str]:
        return sorted(self._postings.get(name, {}))

    def value_counts(self, name: str) -> dict[str, int]:
        """Series count per value of label ``name``."""
        return {v: len(p) for v, p in self._postings.get(name, {}).items()}

    def pair_counts(self) -> list[tuple[str, str, int]]:
        """(name, value, series count) for every label pair."""
        return [(n, v, len(p)) for n, vals in self._postings.items() for v, p in vals.items()]

    def names_value_counts(self) -> dict[str, int]:
        """Number of distinct values per label name."""
        return {n: len(vals) for n, vals in self._postings.items()}
