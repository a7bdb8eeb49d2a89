"""Writing blocks, series batch by series batch (layout in docs/storage.md and ``block``).

``BlockWriter`` takes series in label order in as many ``add`` calls as the
caller likes, streaming values to Parquet row groups, so compacting large
blocks needs memory for one batch, not for the whole block.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..model.histogram import HistogramBatch
from ..model.histogram_ops import take
from ..model.labels import Labels
from .block import HISTOGRAMS_SCHEMA, BlockMeta
from .csr import expand_ranks
from .decimal import encode
from .hist import tag

__all__ = ["BlockWriter", "new_block_id", "write_block"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LABELS_TYPE = pa.map_(pa.string(), pa.string())
_VALUES_SCHEMA = pa.schema([("series_id", pa.int32()), ("mantissa", pa.int64()), ("float", pa.float64())])


def new_block_id(after: str = "") -> str:
    """A ULID (48-bit ms time + 80 random bits, Crockford base32) greater than ``after``.

    Block ULIDs order writes: on equal timestamps the block with the larger ULID wins,
    so a block must sort after every block that existed when its data was taken.
    """
    n = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    if after:
        n = max(n, sum(_CROCKFORD.index(c) << (5 * i) for i, c in enumerate(reversed(after))) + 1)
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in range(25, -1, -1))


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _fsync_tree(path: Path) -> None:
    for p in path.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlockWriter:
    """Builds one block in ``<parent>/<ulid>.tmp`` and renames it into place on ``finish``."""

    def __init__(
        self,
        parent: Path,
        *,
        compression_level: int = 6,
        row_group_rows: int = 1 << 17,
        after: str = "",
    ) -> None:
        self.ulid = new_block_id(after)
        self.parent = parent
        self.tmp = parent / (self.ulid + ".tmp")
        self.tmp.mkdir(parents=True)
        self._opts = {
            "compression": "zstd",
            "compression_level": compression_level,
            "write_statistics": False,
        }
        self._row_group_rows = row_group_rows
        self._values = pq.ParquetWriter(
            self.tmp / "values.parquet",
            _VALUES_SCHEMA,
            use_dictionary=False,
            column_encoding={
                "series_id": "DELTA_BINARY_PACKED",
                "mantissa": "DELTA_BINARY_PACKED",
                "float": "BYTE_STREAM_SPLIT",
            },
            **self._opts,
        )
        self._labels: list[list[tuple[str, str]]] = []
        self._groups: list[np.ndarray] = []
        self._exps: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._group_of: dict[bytes, int] = {}
        self._group_ts: list[np.ndarray] = []
        self._samples = 0
        self._histograms = 0
        self._hist_writer: pq.ParquetWriter | None = None

    @property
    def num_series(self) -> int:
        return len(self._labels)

    def add(self, labels: Sequence[Labels], offsets: np.ndarray, t: np.ndarray, v: np.ndarray,
            h: HistogramBatch | None = None, h_index: np.ndarray | None = None) -> None:
        """Append series (sorted, after all earlier ones, every one non-empty) in CSR form.

        Histogram samples (``h_index >= 0``, rows of ``h``) go to histograms.parquet in
        sample order; their value is a tag naming their row there.
        """
        n = len(labels)
        if n == 0:
            return
        if h is not None and h_index is not None and (h_index >= 0).any():
            v = self._add_histograms(v, h, h_index)
        first_id = len(self._labels)
        groups = np.empty(n, np.int32)
        for i in range(n):
            ts = t[offsets[i] : offsets[i + 1]]
            key = ts.tobytes()
            g = self._group_of.get(key)
            if g is None:
                g = self._group_of[key] = len(self._group_ts)
                self._group_ts.append(ts.copy())
            groups[i] = g
        exps, mant, fits = encode(v, offsets)
        self._values.write_table(
            pa.table(
                {
                    "series_id": pa.array((expand_ranks(offsets) + first_id).astype(np.int32)),
                    "mantissa": pa.array(mant, mask=~fits),
                    "float": pa.array(v, mask=fits),
                },
                schema=_VALUES_SCHEMA,
            ),
            row_group_size=self._row_group_rows,
        )
        self._labels.extend(list(lb.items) for lb in labels)
        self._groups.append(groups)
        self._exps.append(exps)
        self._counts.append(np.diff(offsets).astype(np.int32))
        self._samples += int(t.shape[0])

    def _add_histograms(self, v: np.ndarray, h: HistogramBatch, h_index: np.ndarray) -> np.ndarray:
        mask = h_index >= 0
        rows = h_index[mask]
        v = v.copy()
        v[mask] = tag(np.arange(self._histograms, self._histograms + rows.shape[0], dtype=np.int64))
        self._histograms += rows.shape[0]
        if self._hist_writer is None:
            self._hist_writer = pq.ParquetWriter(self.tmp / "histograms.parquet", HISTOGRAMS_SCHEMA,
                                                 **self._opts)
        self._hist_writer.write_table(_histogram_table(take(h, rows)), row_group_size=self._row_group_rows)
        return v

    def finish(
        self,
        *,
        min_time: int,
        max_time: int,
        level: int = 1,
        sources: Sequence[str] = (),
        out_of_order: bool = False,
    ) -> BlockMeta:
        """Write the series index, timestamps and meta.json; fsync; rename into place."""
        self._values.close()
        if self._hist_writer is not None:
            self._hist_writer.close()
        n = len(self._labels)
        counts = _cat(self._counts, np.int32)
        row_start = np.zeros(n, np.int64)
        np.cumsum(counts[:-1], out=row_start[1:])
        pq.write_table(
            pa.table(
                {
                    "series_id": pa.array(np.arange(n, dtype=np.int32)),
                    "labels": pa.array(self._labels, _LABELS_TYPE),
                    "group": pa.array(_cat(self._groups, np.int32)),
                    "exponent": pa.array(_cat(self._exps, np.int8)),
                    "row_start": pa.array(row_start),
                    "count": pa.array(counts),
                }
            ),
            self.tmp / "series.parquet",
            **self._opts,
        )
        g_len = np.array([a.shape[0] for a in self._group_ts], np.int64)
        pq.write_table(
            pa.table(
                {
                    "group": pa.array(np.repeat(np.arange(len(g_len), dtype=np.int32), g_len)),
                    "t": pa.array(_cat(self._group_ts, np.int64)),
                }
            ),
            self.tmp / "timestamps.parquet",
            use_dictionary=False,
            column_encoding={"group": "DELTA_BINARY_PACKED", "t": "DELTA_BINARY_PACKED"},
            row_group_size=self._row_group_rows,
            **self._opts,
        )
        meta = BlockMeta(
            ulid=self.ulid,
            min_time=min_time,
            max_time=max_time,
            num_series=n,
            num_samples=self._samples,
            level=level,
            sources=list(sources) or [self.ulid],
            out_of_order=out_of_order,
            num_histograms=self._histograms,
        )
        (self.tmp / "meta.json").write_text(json.dumps(meta.to_json(), indent=1))
        _fsync_tree(self.tmp)
        os.replace(self.tmp, self.parent / self.ulid)
        return meta

    def abort(self) -> None:
        """Drop the unfinished block."""
        self._values.close()
        if self._hist_writer is not None:
            self._hist_writer.close()
        for p in self.tmp.iterdir():
            p.unlink()
        self.tmp.rmdir()


def _histogram_table(h: HistogramBatch) -> pa.Table:
    def lists(offsets: np.ndarray, values: np.ndarray, typ: pa.DataType) -> pa.Array:
        a, b = int(offsets[0]), int(offsets[-1])
        return pa.LargeListArray.from_arrays(pa.array(offsets - a, pa.int64()), pa.array(values[a:b], typ))

    return pa.table({
        "schema": pa.array(h.schema, pa.int8()),
        "count": pa.array(h.count, pa.float64()),
        "sum": pa.array(h.sum, pa.float64()),
        "zero_count": pa.array(h.zero_count, pa.float64()),
        "zero_threshold": pa.array(h.zero_threshold, pa.float64()),
        "hint": pa.array(h.hint, pa.uint8()),
        "pos_index": lists(h.pos_offsets, h.pos_index, pa.int32()),
        "pos_count": lists(h.pos_offsets, h.pos_count, pa.float64()),
        "neg_index": lists(h.neg_offsets, h.neg_index, pa.int32()),
        "neg_count": lists(h.neg_offsets, h.neg_count, pa.float64()),
        "custom_values": lists(h.custom_offsets, h.custom_values, pa.float64()),
    }, schema=HISTOGRAMS_SCHEMA)


def write_block(
    parent: Path,
    labels: Sequence[Labels],
    offsets: np.ndarray,
    t: np.ndarray,
    v: np.ndarray,
    *,
    min_time: int,
    max_time: int,
    level: int = 1,
    sources: Sequence[str] = (),
    out_of_order: bool = False,
    compression_level: int = 6,
    row_group_rows: int = 1 << 17,
    after: str = "",
) -> BlockMeta:
    """Write a block of CSR samples (``labels`` sorted, every series non-empty) in one go."""
    w = BlockWriter(parent, compression_level=compression_level, row_group_rows=row_group_rows, after=after)
    try:
        w.add(labels, offsets, t, v)
        return w.finish(
            min_time=min_time, max_time=max_time, level=level, sources=sources, out_of_order=out_of_order
        )
    except BaseException:
        w.abort()
        raise
