"""Immutable on-disk blocks: a directory of plain Parquet files (layout in docs/storage.md).

::

    <block id>/meta.json          time range, counts, compaction lineage
    <block id>/series.parquet     one row per series: labels (map), timestamp group, exponent, rows
    <block id>/timestamps.parquet one row per (group, t): series sharing identical timestamps share a group
    <block id>/values.parquet     one row per sample: decimal mantissa or raw float
    <block id>/histograms.parquet optional: one row per native-histogram sample (see ``hist``)
    <block id>/tombstones.json    optional deletions not yet compacted away

A ``Block`` keeps its series index in memory and reads value row groups on
demand through a shared byte-bounded cache. Writing lives in ``block_writer``.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..model.batch import SeriesSet
from ..model.histogram import HistogramBatch
from ..model.labels import Labels
from ..model.matchers import Matcher
from .csr import drop_empty, take_ranges
from .decimal import decode
from .hist import resolve
from .index import SeriesIndex

__all__ = ["Block", "BlockMeta", "RowGroupCache", "FORMAT", "HISTOGRAMS_SCHEMA"]

FORMAT = "watchkeeper-parquet-1"

# histograms.parquet: row k is the histogram whose sample in values.parquet is tagged k.
HISTOGRAMS_SCHEMA = pa.schema([
    ("schema", pa.int8()), ("count", pa.float64()), ("sum", pa.float64()), ("zero_count", pa.float64()),
    ("zero_threshold", pa.float64()), ("hint", pa.uint8()),
    ("pos_index", pa.large_list(pa.int32())), ("pos_count", pa.large_list(pa.float64())),
    ("neg_index", pa.large_list(pa.int32())), ("neg_count", pa.large_list(pa.float64())),
    ("custom_values", pa.large_list(pa.float64())),
])


@dataclass
class BlockMeta:
    ulid: str
    min_time: int  # inclusive start of the block's range
    max_time: int  # exclusive end of the block's range
    num_series: int
    num_samples: int
    level: int = 1
    sources: list[str] = field(default_factory=list)
    out_of_order: bool = False
    num_histograms: int = 0  # native-histogram samples (included in num_samples)

    def to_json(self) -> dict:
        return {
            "ulid": self.ulid,
            "minTime": self.min_time,
            "maxTime": self.max_time,
            "stats": {"numSeries": self.num_series, "numSamples": self.num_samples,
                      "numFloatSamples": self.num_samples - self.num_histograms,
                      "numHistogramSamples": self.num_histograms},
            "compaction": {"level": self.level, "sources": self.sources},
            "outOfOrder": self.out_of_order,
            "version": 1,
            "format": FORMAT,
        }

    @classmethod
    def from_json(cls, d: dict) -> BlockMeta:
        return cls(
            ulid=d["ulid"],
            min_time=int(d["minTime"]),
            max_time=int(d["maxTime"]),
            num_series=int(d["stats"]["numSeries"]),
            num_samples=int(d["stats"]["numSamples"]),
            level=int(d["compaction"]["level"]),
            sources=list(d["compaction"]["sources"]),
            out_of_order=bool(d.get("outOfOrder", False)),
            num_histograms=int(d["stats"].get("numHistogramSamples", 0)),
        )


class RowGroupCache:
    """LRU of decoded value row groups, bounded by bytes, shared by all blocks of a TSDB."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes of decoded values currently held."""
        return self._bytes

    def get(self, key: tuple[str, int]) -> np.ndarray | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[str, int], item: np.ndarray) -> None:
        size = item.nbytes
        with self._lock:
            if key in self._items or size > self.max_bytes:
                return
            self._items[key] = item
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes

    def drop_block(self, ulid: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == ulid]:
                self._bytes -= self._items.pop(key).nbytes


def _column_int(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values with nulls as 0, validity mask)."""
    arr = col.combine_chunks()
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    return arr.fill_null(0).to_numpy(zero_copy_only=False), valid


class Block:
    """A block opened for reading. Immutable apart from its tombstones."""

    def __init__(self, path: Path, cache: RowGroupCache) -> None:
        self.path = path
        self.meta = BlockMeta.from_json(json.loads((path / "meta.json").read_text()))
        self._cache = cache
        tab = pq.read_table(path / "series.parquet")
        self.index = SeriesIndex()
        for labels in _read_label_sets(tab.column("labels").combine_chunks()):
            self.index.add(labels)
        self.groups = tab.column("group").to_numpy()
        self.exponents = tab.column("exponent").to_numpy().astype(np.int64)
        counts = tab.column("count").to_numpy().astype(np.int64)
        self.offsets = np.zeros(counts.shape[0] + 1, np.int64)
        np.cumsum(counts, out=self.offsets[1:])
        self._ts: tuple[np.ndarray, np.ndarray] | None = None
        self._ts_lock = threading.Lock()
        with pq.ParquetFile(path / "values.parquet") as vf:
            md = vf.metadata
        rg_rows = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
        self._rg_starts = np.concatenate([[0], np.cumsum(rg_rows)]).astype(np.int64)
        self.tombstones = _read_tombstones(path)
        self._hist: HistogramBatch | None = None

    @property
    def ulid(self) -> str:
        return self.meta.ulid

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir())

    def _timestamps(self) -> tuple[np.ndarray, np.ndarray]:
        """(group offsets, t) for every timestamp group, loaded once."""
        with self._ts_lock:
            if self._ts is None:
                tab = pq.read_table(self.path / "timestamps.parquet")
                g = tab.column("group").to_numpy()
                goffs = np.zeros(int(g.max()) + 2 if g.size else 1, np.int64)
                np.cumsum(np.bincount(g, minlength=goffs.shape[0] - 1), out=goffs[1:])
                self._ts = (goffs, tab.column("t").to_numpy().astype(np.int64))
            return self._ts

    def histograms(self) -> HistogramBatch:
        """Every histogram of the block (row k is the one values tagged k refer to), loaded once."""
        with self._ts_lock:
            if self._hist is None:
                tab = pq.read_table(self.path / "histograms.parquet").combine_chunks()

                def col(name: str, dtype: type) -> np.ndarray:
                    return tab.column(name).to_numpy().astype(dtype, copy=False)

                def lists(name: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
                    arr = tab.column(name).chunk(0) if tab.column(name).num_chunks else pa.array(
                        [], HISTOGRAMS_SCHEMA.field(name).type)
                    offs = arr.offsets.to_numpy().astype(np.int64)
                    vals = arr.values.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
                    return offs - offs[0], vals[offs[0]:offs[-1]]

                po, pi = lists("pos_index", np.int32)
                _, pc = lists("pos_count", np.float64)
                no, ni = lists("neg_index", np.int32)
                _, nc = lists("neg_count", np.float64)
                co, cv = lists("custom_values", np.float64)
                self._hist = HistogramBatch(
                    col("schema", np.int8), col("count", np.float64), col("sum", np.float64),
                    col("zero_count", np.float64), col("zero_threshold", np.float64), col("hint", np.uint8),
                    po, pi, pc, no, ni, nc, co, cv)
            return self._hist

    def _row_group(self, i: int) -> np.ndarray:
        """Decoded float64 values of value row group ``i`` (cached)."""
        key = (self.ulid, i)
        vals = self._cache.get(key)
        if vals is None:
            with pq.ParquetFile(self.path / "values.parquet") as vf:
                tab = vf.read_row_group(i, columns=["mantissa", "float"])
            mant, is_decimal = _column_int(tab.column("mantissa"))
            flt, _ = _column_int(tab.column("float"))
            a, b = int(self._rg_starts[i]), int(self._rg_starts[i + 1])
            first = int(np.searchsorted(self.offsets, a, side="right")) - 1
            last = int(np.searchsorted(self.offsets, b - 1, side="right")) - 1
            lo = np.clip(self.offsets[first : last + 1], a, b)
            hi = np.clip(self.offsets[first + 1 : last + 2], a, b)
            exps = np.repeat(self.exponents[first : last + 1], hi - lo)
            vals = np.where(is_decimal, decode(mant.astype(np.int64), exps), flt.astype(np.float64))
            self._cache.put(key, vals)
        return vals

    def read(self, ids: np.ndarray, mint: int | None = None, maxt: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Samples of block series ``ids`` (ascending) as ``(rank, t, v)``, sorted by (rank, t).

        With ``mint``/``maxt`` only samples in [mint, maxt] are read: a query touching the
        edge of a long block then decodes a small part of it instead of all of it.
        """
        lens, t, v = self._read_ranges(ids, mint, maxt)
        rank = np.repeat(np.arange(ids.shape[0], dtype=np.int64), lens)
        if self.tombstones:
            sids = ids[rank]
            keep = np.ones(t.shape[0], bool)
            for tids, lo, hi in self.tombstones:
                keep &= ~(np.isin(sids, tids) & (t >= lo) & (t <= hi))
            rank, t, v = rank[keep], t[keep], v[keep]
        return rank, t, v

    def _read_ranges(self, ids: np.ndarray, mint: int | None, maxt: int | None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(samples per id, t, v)`` of series ``ids`` (ascending) in [mint, maxt], tombstones
        not applied. Every series' samples are one contiguous run of rows, copied as slices."""
        goffs, gts = self._timestamps()
        g = self.groups[ids]
        starts = self.offsets[ids]
        ends = self.offsets[ids + 1]
        # The k-th sample of series s has the k-th timestamp of its group.
        tshift = goffs[g] - starts
        if mint is not None and maxt is not None and (mint > self.meta.min_time
                                                     or maxt < self.meta.max_time - 1):
            # Per group, the positions of its first timestamp >= mint and first > maxt; a
            # series' samples in range are the same positions of its own rows.
            before = np.add.reduceat((gts < mint).astype(np.int64), goffs[:-1])
            upto = np.add.reduceat((gts <= maxt).astype(np.int64), goffs[:-1])
            ends = starts + upto[g]
            starts = starts + before[g]
        lens = ends - starts
        if int(lens.sum()) == 0:
            return lens, np.zeros(0, np.int64), np.zeros(0, np.float64)
        t = take_ranges(gts, starts + tshift, ends + tshift)
        # Rows ascend with the ids, so the pieces of row group 0, then 1, ... are in order;
        # only the row groups, and within each the series, that hold wanted rows are visited.
        nonempty = lens > 0
        starts, ends = starts[nonempty], ends[nonempty]
        rg_starts = self._rg_starts
        first = int(np.searchsorted(rg_starts, starts[0], side="right")) - 1
        last = int(np.searchsorted(rg_starts, ends[-1] - 1, side="right")) - 1
        pieces = []
        for rg in range(first, last + 1):
            a, b = int(rg_starts[rg]), int(rg_starts[rg + 1])
            i0 = int(np.searchsorted(ends, a, side="right"))
            i1 = int(np.searchsorted(starts, b, side="left"))
            if i1 > i0:
                lo = np.maximum(starts[i0:i1], a) - a
                hi = np.minimum(ends[i0:i1], b) - a
                pieces.append(take_ranges(self._row_group(rg), lo, hi))
        v = np.concatenate(pieces) if len(pieces) != 1 else pieces[0]
        return lens, t, v

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        ids = self.index.select(matchers)
        if ids.size == 0 or mint >= self.meta.max_time or maxt < self.meta.min_time:
            return SeriesSet.empty()
        offsets = np.zeros(ids.shape[0] + 1, np.int64)
        if self.tombstones:
            rank, t, v = self.read(ids, mint, maxt)
            np.cumsum(np.bincount(rank, minlength=ids.shape[0]), out=offsets[1:])
        else:
            lens, t, v = self._read_ranges(ids, mint, maxt)
            np.cumsum(lens, out=offsets[1:])
        kept, offsets = drop_empty(offsets)
        return self.resolve(SeriesSet([self.index.labels[i] for i in ids[kept]], offsets, t, v))

    def resolve(self, ss: SeriesSet) -> SeriesSet:
        """``ss`` read from this block (values possibly tagged) in public form, with h/h_index."""
        return resolve(ss, self.histograms()) if self.meta.num_histograms else ss

    def series_in_range(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        """Matching series with a sample in [mint, maxt], from timestamps alone (values unread).

        Tombstones are not consulted, as for Prometheus' label and series APIs.
        """
        if mint >= self.meta.max_time or maxt < self.meta.min_time:
            return []
        ids = self.index.select(matchers)
        if ids.size and not (mint <= self.meta.min_time and maxt >= self.meta.max_time - 1):
            goffs, gts = self._timestamps()
            inside = ((gts >= mint) & (gts <= maxt)).astype(np.int32)
            group_hit = np.add.reduceat(inside, goffs[:-1]) > 0  # every group has a timestamp
            ids = ids[group_hit[self.groups[ids]]]
        return [self.index.labels[i] for i in ids]

    def add_tombstone(self, ids: np.ndarray, mint: int, maxt: int) -> None:
        """Record a deletion durably (write-then-rename of tombstones.json)."""
        self.tombstones = [*self.tombstones, (np.asarray(ids, np.int64), mint, maxt)]
        data = [{"series": tids.tolist(), "mint": lo, "maxt": hi} for tids, lo, hi in self.tombstones]
        tmp = self.path / "tombstones.json.tmp"
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path / "tombstones.json")
        self._cache.drop_block(self.ulid)

    def remove(self) -> None:
        self._cache.drop_block(self.ulid)
        shutil.rmtree(self.path, ignore_errors=True)


def _read_label_sets(col: pa.MapArray) -> list[Labels]:
    """Label sets of a map column; every distinct (name, value) pair becomes one shared tuple.

    Sharing the pairs (and their strings) keeps a block's index at a fraction of the memory
    of one fresh string per label per series.
    """
    keys = col.keys.dictionary_encode()
    vals = col.items.dictionary_encode()
    kdict = keys.dictionary.to_pylist()
    vdict = vals.dictionary.to_pylist()
    nv = max(len(vdict), 1)
    code = keys.indices.to_numpy().astype(np.int64) * nv + vals.indices.to_numpy().astype(np.int64)
    uniq, inverse = np.unique(code, return_inverse=True)
    pairs = [(kdict[c // nv], vdict[c % nv]) for c in uniq.tolist()]
    shared = [pairs[j] for j in inverse.tolist()]
    offs = col.offsets.to_numpy().tolist()
    return [Labels.from_sorted(tuple(shared[a:b])) for a, b in zip(offs[:-1], offs[1:], strict=True)]


def _read_tombstones(path: Path) -> list[tuple[np.ndarray, int, int]]:
    p = path / "tombstones.json"
    if not p.exists():
        return []
    entries = json.loads(p.read_text())
    return [(np.asarray(d["series"], np.int64), int(d["mint"]), int(d["maxt"])) for d in entries]
