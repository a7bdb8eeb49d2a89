"""The in-memory head: recent samples, columnar, appended batch-wise.

Layout (a tiny log-structured merge tree of columnar runs):

* an append buffer: three growable arrays (series id, t, v) in arrival order;
  a batch lands with one ``np.copyto`` per column, whatever its series count;
* when the buffer holds ``chunk_samples`` samples it is *sealed* into a run:
  CSR arrays sorted by (series id, t), duplicates resolved (last write wins);
* runs of the same level are merged ``merge_factor`` at a time, up to
  ``max_level``, so each sample is re-sorted at most ``max_level`` times and a
  head holds few runs (a 3 h head at 100k series: about twenty).

Readers take a ``HeadSnapshot`` under the TSDB lock (a tuple of immutable runs
plus views of the buffer's filled prefix) and work on it without the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..model.histogram import HistogramBatch
from ..model.histogram_ops import take
from .counter_hints import SeriesHistogramState
from .csr import Ranges, combine, concat_csr, expand_ranks, gather, segment_bisect
from .hist import HistogramPool, is_tagged, tag, tagged_rows
from .index import GrowArray, SeriesIndex

__all__ = ["Run", "Head", "HeadSnapshot"]


@dataclass(frozen=True)
class Run:
    """Immutable CSR samples indexed by head series id (``offsets`` has one entry per id + 1).

    Timestamps are kept as int32 offsets from ``tbase`` whenever the run spans less
    than ~24 days (always, for a normal head), which saves a quarter of its memory.
    """

    offsets: np.ndarray
    tdelta: np.ndarray
    tbase: int
    v: np.ndarray
    level: int
    mint: int
    maxt: int

    @property
    def size(self) -> int:
        return int(self.v.shape[0])

    @property
    def t(self) -> np.ndarray:
        return self.times(slice(None))

    def times(self, rows: np.ndarray | slice) -> np.ndarray:
        """Absolute int64 timestamps of ``rows``."""
        return self.tdelta[rows].astype(np.int64) + self.tbase

    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(series id, t, v) per sample."""
        return expand_ranks(self.offsets), self.t, self.v

    @classmethod
    def build(cls, sid: np.ndarray, t: np.ndarray, v: np.ndarray, n_series: int, level: int) -> Run:
        offsets, tt, vv = combine(sid, t, v, n_series)
        if tt.size == 0:
            return cls(offsets, tt, 0, vv, level, 0, 0)
        lo, hi = int(tt.min()), int(tt.max())
        if hi - lo < 2**31:
            return cls(offsets, (tt - lo).astype(np.int32), lo, vv, level, lo, hi)
        return cls(offsets, tt, 0, vv, level, lo, hi)


def merge_runs(runs: list[Run], n_series: int, level: int) -> Run:
    """One run holding the samples of ``runs`` (oldest first; newer wins on equal timestamps)."""
    parts = [r.triples() for r in runs]
    return Run.build(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        n_series,
        level,
    )


# Up to this many candidate rows, reading them all, filtering and sorting beats binary
# searches and slice copies.
_BISECT_MIN_ROWS = 16_384


def _run_ranges(run: Run, ids: np.ndarray, mint: int, maxt: int) -> Ranges:
    """The rows of series ``ids`` (rank i = ids[i]) in ``run`` within [mint, maxt]."""
    known = ids < run.offsets.shape[0] - 1
    starts = np.zeros(ids.shape[0], np.int64)
    ends = np.zeros(ids.shape[0], np.int64)
    starts[known] = run.offsets[ids[known]]
    ends[known] = run.offsets[ids[known] + 1]
    if not (mint <= run.mint and run.maxt <= maxt):
        # A query over part of the run (say the last 5 minutes of a 2 hour head): search
        # each series' time range instead of reading all of its samples.
        starts = segment_bisect(run.tdelta, starts, ends, mint - run.tbase, right=False)
        ends = segment_bisect(run.tdelta, starts, ends, maxt - run.tbase, right=True)
    return Ranges(starts, ends, run.tdelta, run.v, run.tbase)


def _run_triples(run: Run, ids: np.ndarray, mint: int, maxt: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rank, t, v)`` of series ``ids`` in ``run`` within [mint, maxt], by reading all their
    samples and filtering: cheapest when they are few."""
    rank, rows = gather(run.offsets, ids)
    t = run.times(rows)
    if mint <= run.mint and run.maxt <= maxt:
        return rank, t, run.v[rows]
    keep = (t >= mint) & (t <= maxt)
    return rank[keep], t[keep], run.v[rows[keep]]


class BufferIndex:
    """Positions of an append buffer's samples grouped by series id, for a prefix of it.

    The buffer is in arrival order, so finding a few series' samples means scanning all of
    it; with this index a query reads their positions directly and scans only the part
    appended since the index was built. It is rebuilt once that part grows past a quarter
    of the indexed one, so building costs O(log) sorts over the buffer's life.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.covered = 0  # buffer positions [0, covered) are indexed
        self.order = np.zeros(0, np.int64)  # those positions, sorted by series id (stable)
        self.offsets = np.zeros(1, np.int64)  # series id -> slice of ``order``

    def get(self, sid: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """``(covered, order, offsets)`` for the buffer whose series ids are ``sid``."""
        with self._lock:
            if sid.shape[0] - self.covered > max(4096, self.covered // 4):
                n = int(sid.max()) + 1
                self.order = np.argsort(sid, kind="stable")
                self.offsets = np.zeros(n + 1, np.int64)
                np.cumsum(np.bincount(sid, minlength=n), out=self.offsets[1:])
                self.covered = sid.shape[0]
            return self.covered, self.order, self.offsets


@dataclass(frozen=True)
class HeadSnapshot:
    """A consistent read-only view of the head's samples."""

    runs: tuple[Run, ...]
    sid: np.ndarray
    t: np.ndarray
    v: np.ndarray
    n_series: int
    buffer_index: BufferIndex | None = None
    hist: HistogramBatch | None = None  # the head's histogram pool, when it has any

    def samples(
        self, ids: np.ndarray, mint: int, maxt: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR ``(offsets, t, v)`` for series ``ids`` (rank i = ids[i]) restricted to [mint, maxt]."""
        n = ids.shape[0]
        runs = [run for run in self.runs if run.size and run.mint <= maxt and run.maxt >= mint]
        buffered = None
        if self.t.size:
            rows = self._buffer_rows(ids)
            t = self.t[rows]
            inside = (t >= mint) & (t <= maxt)
            if not inside.all():
                rows, t = rows[inside], t[inside]
            rank_of = np.zeros(self.n_series, np.int64)
            rank_of[ids] = np.arange(n, dtype=np.int64)
            buffered = (rank_of[self.sid[rows]], t, self.v[rows])
        candidates = 0
        for run in runs:
            known = ids[ids < run.offsets.shape[0] - 1]
            candidates += int((run.offsets[known + 1] - run.offsets[known]).sum())
        if candidates > _BISECT_MIN_ROWS:
            # Many samples: runs are read in place (each is in (rank, t) order already) and,
            # when they hold disjoint time ranges of each series (appends in time order),
            # their slices are copied one after another instead of sorting all samples again.
            parts = [_run_ranges(run, ids, mint, maxt) for run in runs]
            if buffered is not None:
                parts.append(Ranges.of_csr(*combine(*buffered, n)))
            joined = concat_csr(parts, n)
            if joined is not None:
                return joined
            triples = [p.triples() for p in parts]
        else:
            triples = [_run_triples(run, ids, mint, maxt) for run in runs]
            if buffered is not None:
                triples.append(buffered)
        if not triples:
            return combine(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), n)
        rank, t, v = zip(*triples, strict=True)
        return combine(np.concatenate(rank), np.concatenate(t), np.concatenate(v), n)

    def _buffer_rows(self, ids: np.ndarray) -> np.ndarray:
        """Buffer positions of the samples of series ``ids``."""
        covered, order, offsets = 0, None, None
        if self.buffer_index is not None:
            covered, order, offsets = self.buffer_index.get(self.sid)
            if covered > self.sid.shape[0]:  # indexed for a later, longer view of the buffer
                covered = 0
        # A byte mask for the rest: a selector usually wants few of the buffer's series.
        wanted = np.zeros(self.n_series, bool)
        wanted[ids] = True
        tail = covered + np.flatnonzero(wanted[self.sid[covered:]])
        if not covered:
            return tail
        assert order is not None and offsets is not None
        known = ids[ids < offsets.shape[0] - 1]
        _, pos = gather(offsets, known)
        # Grouped by series, each in arrival order: all that ``combine`` needs to let the
        # last write of a timestamp win.
        return np.concatenate([order[pos], tail])

    def has_samples(self, ids: np.ndarray, mint: int, maxt: int) -> np.ndarray:
        """Mask over ``ids``: does the series have a sample in [mint, maxt]? (Values are not read.)"""
        found = np.zeros(ids.shape[0], bool)
        for run in self.runs:
            if run.size == 0 or run.mint > maxt or run.maxt < mint:
                continue
            rank, rows = gather(run.offsets, ids)
            t = run.times(rows)
            found[rank[(t >= mint) & (t <= maxt)]] = True
        if self.t.size:
            rank_of = np.full(self.n_series, -1, np.int64)
            rank_of[ids] = np.arange(ids.shape[0], dtype=np.int64)
            r = rank_of[self.sid]
            found[r[(r >= 0) & (self.t >= mint) & (self.t <= maxt)]] = True
        return found


class Head:
    """Mutable head state. Not thread-safe by itself: the TSDB serialises calls."""

    def __init__(self, *, chunk_samples: int = 1 << 18, merge_factor: int = 4, max_level: int = 2) -> None:
        self.index = SeriesIndex()
        self.runs: list[Run] = []
        self.chunk_samples = chunk_samples
        self.merge_factor = merge_factor
        # Merges run inside the append lock: capping the level bounds the pause an append can
        # see (a level-2 run holds merge_factor**2 chunks) at the price of more runs per query.
        self.max_level = max_level
        self.frozen = 0  # leading runs a block cut is reading; merges must leave them alone
        self._new_buffer()
        # Histogram samples are tagged NaNs in ``v`` referring to rows of this pool (see ``hist``).
        self.hist = HistogramPool()
        self.hist_state = SeriesHistogramState()  # for counter-reset hints (counter_hints.py)
        self.mint: int | None = None
        self.maxt: int | None = None

    def _new_buffer(self) -> None:
        self._buffer_index = BufferIndex()
        self._sid = GrowArray(np.int64, 1024)
        self._t = GrowArray(np.int64, 1024)
        self._v = GrowArray(np.float64, 1024)

    @property
    def num_samples(self) -> int:
        """Stored samples (the buffer may still hold duplicates that a later seal removes)."""
        return sum(r.size for r in self.runs) + len(self._t)

    def append(self, sid: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        """Add samples of already-registered series (any order, any timestamps)."""
        self.hist_state.floats_appended(sid, t)
        self._append(sid, t, v)

    def _append(self, sid: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        if t.size == 0:
            return
        lo, hi = int(t.min()), int(t.max())
        self.mint = lo if self.mint is None else min(self.mint, lo)
        self.maxt = hi if self.maxt is None else max(self.maxt, hi)
        self._sid.extend(sid)
        self._t.extend(t)
        self._v.extend(v)
        if len(self._t) >= self.chunk_samples:
            self.seal()

    def append_histograms(self, sid: np.ndarray, t: np.ndarray, h: HistogramBatch) -> None:
        """Add histogram samples: series ``sid[k]`` has histogram ``k`` of ``h`` at ``t[k]``."""
        if t.size:
            rows = self.hist.extend(h)
            self._append(sid, t, tag(rows))
            self.hist_state.histograms_appended(sid, t, rows)

    def counter_hints(self, sid: np.ndarray, t: np.ndarray, h: HistogramBatch, float_sid: np.ndarray,
                      float_t: np.ndarray) -> HistogramBatch:
        """``h`` with the counter-reset hints Prometheus' TSDB reads back (see counter_hints.py),
        for appending it after the floats ``float_sid``/``float_t`` of the same batch."""
        return self.hist_state.hints(self.hist.view(), sid, t, h, float_sid, float_t)

    def seal(self) -> None:
        """Turn the append buffer into a level-0 run and merge full levels."""
        if len(self._t) == 0:
            return
        n = len(self.index)
        run = Run.build(self._sid.view(), self._t.view(), self._v.view(), n, 0)
        self._new_buffer()
        self.runs.append(run)
        f = self.merge_factor
        while (
            len(self.runs) - self.frozen >= f
            and self.runs[-1].level < self.max_level
            and all(r.level == self.runs[-1].level for r in self.runs[-f:])
        ):
            merged = merge_runs(self.runs[-f:], n, self.runs[-1].level + 1)
            del self.runs[-f:]
            self.runs.append(merged)

    def snapshot(self) -> HeadSnapshot:
        return HeadSnapshot(
            tuple(self.runs), self._sid.view(), self._t.view(), self._v.view(), len(self.index),
            self._buffer_index, self.hist.view() if len(self.hist) else None,
        )

    def runs_from(self, runs: list[Run], boundary: int) -> list[Run]:
        """``runs`` with every sample before ``boundary`` removed (run by run, levels kept)."""
        n = len(self.index)
        keep: list[Run] = []
        for run in runs:
            if run.mint >= boundary:
                keep.append(run)
                continue
            sid, t, v = run.triples()
            after = t >= boundary
            if after.any():
                keep.append(Run.build(sid[after], t[after], v[after], n, run.level))
        return keep

    def replace_runs(self, count: int, keep: list[Run]) -> None:
        """Swap the oldest ``count`` runs for ``keep`` (after a block cut took the rest away)."""
        self.runs[:count] = keep
        self.frozen = 0
        self._recompute_bounds()

    def gc_series(self) -> int:
        """Forget series without samples in the head; returns how many.

        Their ids are not reused; if such a series comes back it gets a new id (and a new
        WAL series record).
        """
        n = len(self.index)
        live = np.zeros(n, bool)
        for run in self.runs:
            counts = np.diff(run.offsets)
            live[: counts.shape[0]] |= counts > 0
        live[self._sid.view()] = True
        return self.index.remove(np.flatnonzero(~live))

    def compact_histograms(self) -> None:
        """Drop pool rows no sample refers to any more (after cuts and deletes), once they
        are the majority. Runs that hold histograms are rebuilt with renumbered tags; the
        buffer is sealed first. Snapshots taken earlier keep the old pool and runs."""
        size = len(self.hist)
        if size < 1024:
            return
        self.seal()
        masks = [is_tagged(r.v) for r in self.runs]
        live = sum(int(m.sum()) for m in masks)
        if live * 2 > size:
            return
        old = self.hist.view()
        self.hist = HistogramPool()
        remap = np.full(size, -1, np.int64)
        runs = []
        for run, mask in zip(self.runs, masks, strict=True):
            if mask.any():
                v = run.v.copy()
                old_rows = tagged_rows(run.v, mask)
                new_rows = self.hist.extend(take(old, old_rows))
                remap[old_rows] = new_rows
                v[mask] = tag(new_rows)
                run = Run(run.offsets, run.tdelta, run.tbase, v, run.level, run.mint, run.maxt)
            runs.append(run)
        self.runs = runs
        self.hist_state.renumber(remap)

    def delete(self, ids: np.ndarray, mint: int, maxt: int) -> int:
        """Remove samples of series ``ids`` within [mint, maxt]; returns how many were removed.

        Rewrites only the runs that hold such samples, keeping their level.
        """
        self.seal()
        n = len(self.index)
        member = np.zeros(n, bool)
        member[ids] = True
        removed = 0
        runs = []
        for run in self.runs:
            if run.mint > maxt or run.maxt < mint:
                runs.append(run)
                continue
            sid, t, v = run.triples()
            drop = member[sid] & (t >= mint) & (t <= maxt)
            hit = int(drop.sum())
            if hit == 0:
                runs.append(run)
                continue
            removed += hit
            keep = ~drop
            if keep.any():
                runs.append(Run.build(sid[keep], t[keep], v[keep], n, run.level))
        if removed:
            self.runs = runs
            self._recompute_bounds()
        return removed

    def _recompute_bounds(self) -> None:
        sizes = [r for r in self.runs if r.size]
        if len(self._t):
            bt = self._t.view()
            lo, hi = [int(bt.min())], [int(bt.max())]
        else:
            lo, hi = [], []
        lo += [r.mint for r in sizes]
        hi += [r.maxt for r in sizes]
        self.mint = min(lo) if lo else None
        self.maxt = max(hi) if hi else None

