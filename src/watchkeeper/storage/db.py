"""``TSDB``: the embedded time-series database (head + WAL + Parquet blocks).

``TSDB(None)`` is purely in memory (tests, the PromQL conformance runner);
``TSDB(path)`` keeps a WAL under ``path/wal`` and immutable blocks under
``path/<block id>/``. One lock serialises head mutation; queries take a snapshot
under the lock and do their work outside it.
"""

from __future__ import annotations

import heapq
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..model.batch import SampleBatch, SeriesSet
from ..model.histogram import HistogramBatch
from ..model.histogram_ops import take
from ..model.labels import METRIC_NAME, Labels
from ..model.matchers import Matcher
from .api import StorageError
from .block import Block, BlockMeta, RowGroupCache
from .compact import compact_blocks, covered_blocks, plan_compaction
from .csr import drop_empty, expand_ranks
from .cut import write_head_blocks
from .head import Head, HeadSnapshot, Run
from .hist import canonicalize_nans, is_tagged, resolve, tagged_rows, validate
from .merge import LabelOrder, merge_series_sets
from .retention import expired_blocks
from .wal import (
    REC_DELETE,
    REC_HISTOGRAMS,
    REC_SAMPLES,
    REC_SERIES,
    WAL,
    decode_delete,
    decode_histograms,
    decode_samples,
    decode_series,
    encode_delete,
    encode_histograms,
    encode_samples,
    encode_series,
)

__all__ = ["TSDB"]

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
_CHECKPOINT_SERIES = 10_000
_CHECKPOINT_SAMPLES = 1 << 20
_MAX_COMPACTIONS_PER_RUN = 64  # the rest waits for the next maintain()


class TSDB:
    """A Prometheus-compatible sample store implementing ``storage.api.Storage``.

    Options (keyword-only): ``block_range_ms`` (head cut size, aligned to the epoch like
    Prometheus), ``compaction_ranges_ms`` (larger block sizes compaction builds),
    ``retention_ms`` / ``retention_bytes`` (0 disables), ``wal_fsync`` ("always",
    "interval", "never") with ``wal_fsync_interval_ms`` / ``wal_fsync_bytes``, ``wal_segment_bytes``,
    ``head_chunk_samples`` (append-buffer size before it is sorted into a run),
    ``block_compression_level`` (zstd) and ``cache_bytes`` (decoded block data cache).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        block_range_ms: int = 2 * HOUR_MS,
        compaction_ranges_ms: tuple[int, ...] = (6 * HOUR_MS, DAY_MS, 7 * DAY_MS),
        retention_ms: int = 15 * DAY_MS,
        retention_bytes: int = 0,
        wal_fsync: str = "interval",
        wal_fsync_interval_ms: int = 1000,
        wal_fsync_bytes: int = 16 << 20,
        wal_segment_bytes: int = 64 << 20,
        head_chunk_samples: int = 1 << 18,
        block_compression_level: int = 6,
        cache_bytes: int = 256 << 20,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.block_range_ms = block_range_ms
        # Like Prometheus, blocks grow to at most a tenth of the retention time.
        self.compaction_ranges_ms = tuple(
            r for r in compaction_ranges_ms if retention_ms <= 0 or r <= retention_ms // 10
        )
        self.retention_ms = retention_ms
        self.retention_bytes = retention_bytes
        self.block_compression_level = block_compression_level
        self._lock = threading.RLock()  # head mutation and the block list
        self._maint_lock = threading.Lock()  # cuts, compaction, retention, deletes
        self._head = Head(chunk_samples=head_chunk_samples)
        self._head_order = LabelOrder()  # label order of the head's series, for select
        self._blocks: list[Block] = []
        self._graveyard: list[Block] = []  # removed blocks, deleted once in-flight reads are done
        self._cache = RowGroupCache(cache_bytes)
        self._closed = False
        self._unlogged: list[int] = []  # series created while the WAL write failed
        self._wal: WAL | None = None
        self.replay_dropped_samples = 0
        self.gc_series_removed = 0
        self.broken_blocks = 0
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            self._open_blocks()
            self._wal = WAL(
                self.path / "wal",
                fsync=wal_fsync,
                fsync_interval_ms=wal_fsync_interval_ms,
                fsync_bytes=wal_fsync_bytes,
                segment_bytes=wal_segment_bytes,
            )
            self._replay()
            self._wal.open_segment()

    @property
    def wal_corruptions(self) -> int:
        """Torn or corrupt WAL tails repaired when this TSDB was opened."""
        return self._wal.corruptions if self._wal is not None else 0

    # --- opening ------------------------------------------------------------------

    def _open_blocks(self) -> None:
        assert self.path is not None
        for d in self.path.iterdir():
            if d.is_dir() and d.name.endswith(".tmp"):
                shutil.rmtree(d, ignore_errors=True)
        blocks = []
        for d in sorted(self.path.iterdir()):
            if not (d / "meta.json").is_file() or d.suffix == ".broken":
                continue
            try:
                blocks.append(Block(d, self._cache))
            except (OSError, ValueError, KeyError, pa.ArrowException) as e:
                # Keep serving the rest; leave the damaged block for inspection.
                log.error("block %s is unreadable (%s); moved aside as %s.broken", d.name, e, d.name)
                d.rename(d.with_name(d.name + ".broken"))
                self.broken_blocks += 1
        stale = {m.ulid for m in covered_blocks([b.meta for b in blocks])}
        for b in blocks:
            if b.ulid in stale:
                log.info("removing block %s: already compacted into another block", b.ulid)
                b.remove()
        self._blocks = sorted((b for b in blocks if b.ulid not in stale), key=lambda b: b.ulid)

    def _replay(self) -> None:
        assert self._wal is not None
        head = self._head
        idmap = np.full(1024, -1, np.int64)  # WAL series id -> head series id
        for rtype, payload in self._wal.replay():
            if rtype == REC_SERIES:
                for wid, labels in decode_series(payload):
                    if wid >= idmap.shape[0]:
                        idmap = np.concatenate([idmap, np.full(max(wid + 1, 2 * idmap.shape[0]), -1)])
                    sid = head.index.get(labels)
                    idmap[wid] = head.index.add(labels) if sid is None else sid
            elif rtype == REC_SAMPLES:
                wsid, t, v = decode_samples(payload)
                known = wsid < idmap.shape[0]
                sid = np.where(known, idmap[np.minimum(wsid, idmap.shape[0] - 1)], -1)
                ok = sid >= 0
                if not ok.all():
                    self.replay_dropped_samples += int((~ok).sum())
                    sid, t, v = sid[ok], t[ok], v[ok]
                head.append(sid, t, v)
            elif rtype == REC_HISTOGRAMS:
                wsid, t, h = decode_histograms(payload)
                known = wsid < idmap.shape[0]
                sid = np.where(known, idmap[np.minimum(wsid, idmap.shape[0] - 1)], -1)
                ok = sid >= 0
                if not ok.all():
                    self.replay_dropped_samples += int((~ok).sum())
                    sid, t, h = sid[ok], t[ok], take(h, np.flatnonzero(ok))
                head.append_histograms(sid, t, h)
            elif rtype == REC_DELETE:
                matchers, mint, maxt = decode_delete(payload)
                head.delete(head.index.select(matchers), mint, maxt)
        if self._wal.corruptions:
            log.warning("WAL replay of %s repaired %d corruption(s)", self.path, self._wal.corruptions)

    # --- writing -----------------------------------------------------------------

    def append(self, batch: SampleBatch) -> int:
        """Store a batch; returns once it is in the WAL (and so survives a process crash)."""
        n = len(batch)
        if n == 0:
            return 0
        series = np.asarray(batch.series, np.int64)
        t = np.asarray(batch.t, np.int64)
        v = np.asarray(batch.v, np.float64)
        if not (series.shape == t.shape == v.shape):
            raise StorageError("sample batch arrays differ in length")
        if series.min() < 0 or series.max() >= len(batch.labels):
            raise StorageError("sample batch refers to a series outside its label list")
        hist = None
        if batch.h_index is not None:
            # Floats and histograms are logged and stored as two groups, floats first, both
            # live and on replay, so a float and a histogram at the same (series, t) in one
            # batch resolve the same way (the histogram wins) after a crash.
            series, t, v, hist = _split_histograms(batch, series, t, v)
        v = canonicalize_nans(v)
        with self._lock:
            if self._closed:
                raise StorageError("storage is closed")
            head = self._head
            ids, created = head.index.resolve(batch.labels)
            sid = ids[series]
            if hist is not None:
                hist = (hist[0], hist[1], head.counter_hints(ids[hist[0]], hist[1], hist[2], sid, t))
            if self._wal is not None:
                new = self._unlogged + created
                records = []
                if new:
                    records.append((REC_SERIES, encode_series([(i, head.index.labels[i]) for i in new])))
                if t.size:
                    records.append((REC_SAMPLES, encode_samples(sid, t, v, compress=n >= 4096)))
                if hist is not None:
                    records.append((REC_HISTOGRAMS, encode_histograms(ids[hist[0]], hist[1], hist[2],
                                                                      compress=n >= 4096)))
                try:
                    self._wal.log(records)
                except OSError as e:
                    self._unlogged = new
                    raise StorageError(f"writing the WAL failed: {e}") from e
                self._unlogged = []
            head.append(sid, t, v)
            if hist is not None:
                head.append_histograms(ids[hist[0]], hist[1], hist[2])
        return n

    def delete_series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """Delete samples of matching series in [mint, maxt]; returns the number removed."""
        with self._maint_lock:
            removed = 0
            with self._lock:
                blocks = [b for b in self._blocks if b.meta.min_time <= maxt and b.meta.max_time > mint]
            for b in blocks:
                ids = b.index.select(matchers)
                if ids.size:
                    _, t, _ = b.read(ids)
                    hit = int(((t >= mint) & (t <= maxt)).sum())
                    if hit:
                        b.add_tombstone(ids, mint, maxt)
                        removed += hit
            with self._lock:
                head = self._head
                if self._wal is not None:
                    self._wal.log([(REC_DELETE, encode_delete(list(matchers), mint, maxt))])
                removed += head.delete(head.index.select(matchers), mint, maxt)
            return removed

    # --- reading -----------------------------------------------------------------

    def _snapshot(
        self, matchers: Sequence[Matcher], mint: int, maxt: int
    ) -> tuple[list[Block], np.ndarray, HeadSnapshot, list[Labels | None]]:
        with self._lock:
            blocks = [b for b in self._blocks if b.meta.min_time <= maxt and b.meta.max_time > mint]
            head = self._head
            return blocks, head.index.select(matchers), head.snapshot(), head.index.labels

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        """Matching series with their samples in [mint, maxt], sorted by labels."""
        blocks, ids, snap, labels = self._snapshot(matchers, mint, maxt)
        parts = [b.select(matchers, mint, maxt) for b in blocks]
        if ids.size:
            # Read the head's series in label order, so that its samples need no reordering.
            ids = ids[np.argsort(self._head_order.ranks(labels)[ids], kind="stable")]
            offsets, t, v = snap.samples(ids, mint, maxt)
            keep, offsets = drop_empty(offsets)
            part = SeriesSet([labels[i] for i in ids[keep]], offsets, t, v)
            parts.append(part if snap.hist is None else resolve(part, snap.hist))
        return merge_series_sets(parts)

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        """Sorted label sets of matching series with at least one sample in [mint, maxt].

        Reads timestamps only, never values, so it is much cheaper than ``select``.
        """
        blocks, ids, snap, labels = self._snapshot(matchers, mint, maxt)
        found: set[Labels] = set()
        for b in blocks:
            found.update(b.series_in_range(matchers, mint, maxt))
        if ids.size:
            found.update(labels[i] for i in ids[snap.has_samples(ids, mint, maxt)])
        return sorted(found)

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        if matchers:
            names: set[str] = set()
            for lb in self.series(matchers, mint, maxt):
                names.update(lb.names())
            return sorted(names)
        with self._lock:
            out = set(self._head.index.label_names()) if self._head_overlaps(mint, maxt) else set()
            for b in self._overlapping_blocks(mint, maxt):
                out.update(b.index.label_names())
        return sorted(out)

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        if matchers:
            values = {lb.get(name) for lb in self.series(matchers, mint, maxt)}
            values.discard("")
            return sorted(values)
        with self._lock:
            out = set(self._head.index.label_values(name)) if self._head_overlaps(mint, maxt) else set()
            for b in self._overlapping_blocks(mint, maxt):
                out.update(b.index.label_values(name))
        return sorted(out)

    def _overlapping_blocks(self, mint: int, maxt: int) -> list[Block]:
        return [b for b in self._blocks if b.meta.min_time <= maxt and b.meta.max_time > mint]

    def _head_overlaps(self, mint: int, maxt: int) -> bool:
        h = self._head
        return h.mint is not None and h.maxt is not None and h.mint <= maxt and h.maxt >= mint

    def blocks(self) -> list[BlockMeta]:
        """Metadata of the persisted blocks, oldest ULID first."""
        with self._lock:
            return [b.meta for b in self._blocks]

    # --- maintenance: head cut, compaction, retention ------------------------------

    def maintain(self) -> dict[str, int]:
        """Cut due head data into blocks, compact blocks, apply retention. Safe to call any time.

        The server runs this periodically as the compactor component; appends and queries
        continue meanwhile (the head is only locked to take a snapshot and to swap results in).
        """
        if self.path is None or self._closed:
            return {"blocks_written": 0, "compactions": 0, "blocks_deleted": 0}
        with self._maint_lock:
            self._empty_graveyard()
            written = len(self._cut_head())
            compactions = 0
            for _ in range(_MAX_COMPACTIONS_PER_RUN):
                with self._lock:
                    blocks = list(self._blocks)
                plan = plan_compaction([b.meta for b in blocks], self.compaction_ranges_ms)
                if not plan:
                    break
                chosen = {m.ulid for m in plan}
                self._compact([b for b in blocks if b.ulid in chosen])
                compactions += 1
            deleted = self._apply_retention()
            return {"blocks_written": written, "compactions": compactions, "blocks_deleted": deleted}

    def _cut_head(self) -> list[BlockMeta]:
        r = self.block_range_ms
        with self._lock:
            head = self._head
            if head.maxt is None or head.mint is None:
                return []
            boundary = ((head.maxt - r // 2) // r) * r
            if head.mint >= boundary:
                return []
            head.seal()
            runs = list(head.runs)
            count = len(runs)
            head.frozen = count
            n = len(head.index)
            labels = head.index.labels[:n]
            hist = head.hist.view() if len(head.hist) else None
            seq = self._wal.open_segment() if self._wal is not None else 0
        try:
            metas = write_head_blocks(
                self.path,  # type: ignore[arg-type]
                labels,
                runs,
                boundary,
                r,
                after=self._blocks[-1].ulid if self._blocks else "",
                existing=[(b.meta.min_time, b.meta.max_time) for b in self._blocks],
                compression_level=self.block_compression_level,
                hist=hist,
            )
            keep = head.runs_from(runs, boundary)
            opened = [Block(self.path / m.ulid, self._cache) for m in metas]  # type: ignore[operator]
        except BaseException:
            with self._lock:
                head.frozen = 0
            raise
        with self._lock:
            head.replace_runs(count, keep)
            self._blocks = sorted(self._blocks + opened, key=lambda b: b.ulid)
            self.gc_series_removed += head.gc_series()
            registered = head.index.labels[: len(head.index)]
        if self._wal is not None:
            # Segments >= seq hold everything appended since the snapshot; series registered
            # since then are in the checkpoint too, which is harmless (same id, same labels).
            # ``keep`` and ``hist`` are the runs and pool as they were: consistent tags.
            self._wal.write_checkpoint(seq, _checkpoint_records(registered, keep, hist))
        with self._lock:
            head.compact_histograms()
        return metas

    def _compact(self, blocks: list[Block]) -> None:
        assert self.path is not None
        with self._lock:
            newest = self._blocks[-1].ulid
        meta = compact_blocks(
            self.path, blocks, compression_level=self.block_compression_level, after=newest
        )
        gone = {b.ulid for b in blocks}
        opened = [Block(self.path / meta.ulid, self._cache)] if meta is not None else []
        with self._lock:
            kept = [b for b in self._blocks if b.ulid not in gone]
            self._blocks = sorted(kept + opened, key=lambda b: b.ulid)
        self._graveyard.extend(blocks)

    def _apply_retention(self) -> int:
        with self._lock:
            blocks = list(self._blocks)
            newest = max([b.meta.max_time for b in blocks] + [self._head.maxt or 0])
        wal_bytes = self._wal.size_bytes() if self._wal is not None else 0
        doomed = expired_blocks(
            [b.meta for b in blocks],
            [b.size_bytes() for b in blocks],
            newest_time=newest,
            retention_ms=self.retention_ms,
            retention_bytes=self.retention_bytes,
            other_bytes=wal_bytes,
        )
        gone = {m.ulid for m in doomed}
        if gone:
            with self._lock:
                self._blocks = [b for b in self._blocks if b.ulid not in gone]
            self._graveyard.extend(b for b in blocks if b.ulid in gone)
        return len(gone)

    def _empty_graveyard(self) -> None:
        for b in self._graveyard:
            b.remove()
        self._graveyard = []

    # --- status ------------------------------------------------------------------

    def stats(self, limit: int = 10) -> dict:
        """Head cardinality figures shaped like Prometheus' /api/v1/status/tsdb ``data``."""

        def top(pairs: list[tuple[str, int]]) -> list[dict]:
            best = heapq.nlargest(limit, pairs, key=lambda p: (p[1], p[0]))
            return [{"name": n, "value": c} for n, c in best]

        with self._lock:
            index = self._head.index
            pairs = index.pair_counts()
            head = self._head
            memory: dict[str, int] = {}
            for n, v, c in pairs:
                memory[n] = memory.get(n, 0) + len(v) * c
            return {
                "headStats": {
                    "numSeries": index.num_series,
                    "numLabelPairs": len(pairs),
                    "chunkCount": len(head.runs),
                    "minTime": head.mint if head.mint is not None else 0,
                    "maxTime": head.maxt if head.maxt is not None else 0,
                    "numSamples": head.num_samples,
                },
                "numBlocks": len(self._blocks),
                "seriesCountByMetricName": top(list(index.value_counts(METRIC_NAME).items())),
                "labelValueCountByLabelName": top(list(index.names_value_counts().items())),
                "memoryInBytesByLabelName": top(list(memory.items())),
                "seriesCountByLabelValuePair": top([(f"{n}={v}", c) for n, v, c in pairs]),
            }

    # --- lifecycle ---------------------------------------------------------------

    def sync(self) -> None:
        """Force the WAL to stable storage now (whatever the fsync policy)."""
        with self._lock:
            if self._wal is not None:
                self._wal.sync()

    def close(self) -> None:
        with self._maint_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            if self._wal is not None:
                self._wal.close()
            self._empty_graveyard()

    def __enter__(self) -> TSDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split_histograms(
    batch: SampleBatch, series: np.ndarray, t: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, HistogramBatch] | None]:
    """The float samples of a batch and, if any, its histogram samples ``(series, t, histograms)``."""
    h_index = np.asarray(batch.h_index, np.int64)
    if h_index.shape != t.shape:
        raise StorageError("sample batch arrays differ in length")
    is_h = h_index >= 0
    if not is_h.any():
        return series, t, v, None
    h = batch.h
    if h is None:
        raise StorageError("sample batch marks histogram samples but carries no histograms")
    problem = validate(h)
    if problem:
        raise StorageError(problem)
    rows = h_index[is_h]
    if int(rows.max()) >= len(h):
        raise StorageError("sample batch refers to a histogram outside its histogram batch")
    if not (rows.shape[0] == len(h) and (rows == np.arange(len(h))).all()):
        h = take(h, rows)
    floats = ~is_h
    return series[floats], t[floats], v[floats], (series[is_h], t[is_h], h)


def _checkpoint_records(
    labels: list[Labels | None], runs: list[Run], hist: HistogramBatch | None
) -> Iterator[tuple[int, bytes]]:
    """WAL records restoring the registered series of ``labels`` and the samples of ``runs``."""
    for a in range(0, len(labels), _CHECKPOINT_SERIES):
        end = min(a + _CHECKPOINT_SERIES, len(labels))
        chunk = [(i, lb) for i in range(a, end) if (lb := labels[i]) is not None]
        if chunk:
            yield REC_SERIES, encode_series(chunk)
    for run in runs:  # oldest first, as replay resolves duplicates by order
        sid = expand_ranks(run.offsets)
        for a in range(0, run.size, _CHECKPOINT_SAMPLES):
            b = a + _CHECKPOINT_SAMPLES
            s, t, v = sid[a:b], run.times(slice(a, b)), run.v[a:b]
            # A run has one sample per (series, t), so its floats and histograms can be
            # logged as two records without changing what replay keeps.
            mask = is_tagged(v) if hist is not None else None
            if mask is None or not mask.any():
                yield REC_SAMPLES, encode_samples(s, t, v, compress=True)
                continue
            assert hist is not None
            if not mask.all():
                yield REC_SAMPLES, encode_samples(s[~mask], t[~mask], v[~mask], compress=True)
            yield REC_HISTOGRAMS, encode_histograms(s[mask], t[mask], take(hist, tagged_rows(v, mask)),
                                                    compress=True)
