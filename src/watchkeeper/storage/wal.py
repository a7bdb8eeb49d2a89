"""Write-ahead log: length-prefixed, CRC32-checksummed records in numbered segment files.

Record framing (little endian)::

    u32 payload length | u32 crc32(type byte + payload) | u8 type | payload

A batch's records go to the OS in one ``write`` call before ``append`` returns,
so a killed process loses nothing that was acknowledged; ``fsync`` follows the
configured policy (see docs/storage.md). Replay stops at the first record that
is short or fails its checksum: that segment is truncated there, later segments
are removed, and the event is logged and counted, never fatal.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import cramjam
import numpy as np
import orjson

from ..model.histogram import HistogramBatch
from ..model.labels import Labels
from ..model.matchers import Matcher, MatchType

__all__ = [
    "WAL",
    "REC_SERIES",
    "REC_SAMPLES",
    "REC_DELETE",
    "REC_HISTOGRAMS",
    "encode_histograms",
    "decode_histograms",
    "encode_series",
    "decode_series",
    "encode_samples",
    "decode_samples",
    "encode_delete",
    "decode_delete",
    "frame",
    "read_records",
]

log = logging.getLogger(__name__)

REC_SERIES = 1
REC_SAMPLES = 2
REC_DELETE = 3
REC_HISTOGRAMS = 4

_HEADER = struct.Struct("<IIB")
_SAMPLES_HEAD = struct.Struct("<IB")  # sample count, compressed flag
_HIST_HEAD = struct.Struct("<IQQQB")  # samples, positive / negative buckets, custom bounds, compressed
FSYNC_POLICIES = ("always", "interval", "never")


def encode_series(entries: list[tuple[int, Labels]]) -> bytes:
    """JSON ``[[id, [[name, value], ...]], ...]`` (orjson: a batch of new series is one fast call)."""
    rows = [(sid, lb.items) for sid, lb in entries]
    try:
        return orjson.dumps(rows)
    except orjson.JSONEncodeError:  # strings orjson refuses (lone surrogates): the stdlib escapes them
        return json.dumps(rows, separators=(",", ":")).encode()


def decode_series(payload: bytes) -> list[tuple[int, Labels]]:
    return [(sid, Labels.from_sorted(tuple(map(tuple, items)))) for sid, items in json.loads(payload)]


def encode_samples(sid: np.ndarray, t: np.ndarray, v: np.ndarray, *, compress: bool = False) -> bytes:
    body = b"".join(
        (sid.astype("<i4").tobytes(), t.astype("<i8").tobytes(), v.astype("<f8").tobytes())
    )
    if compress:
        body = bytes(cramjam.zstd.compress(body, level=3))
    return _SAMPLES_HEAD.pack(t.shape[0], int(compress)) + body


def decode_samples(payload: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, compressed = _SAMPLES_HEAD.unpack_from(payload)
    body = memoryview(payload)[_SAMPLES_HEAD.size :]
    if compressed:
        body = memoryview(bytes(cramjam.zstd.decompress(bytes(body))))
    sid = np.frombuffer(body, "<i4", n, 0).astype(np.int64)
    t = np.frombuffer(body, "<i8", n, 4 * n).astype(np.int64)
    v = np.frombuffer(body, "<f8", n, 12 * n).astype(np.float64)
    return sid, t, v


def encode_histograms(sid: np.ndarray, t: np.ndarray, h: HistogramBatch, *, compress: bool = False) -> bytes:
    """Histogram samples: series ``sid[k]`` has histogram ``k`` of ``h`` at ``t[k]``.

    Columns one after another (layout in docs/storage.md): sid, t, the six per-histogram
    scalars, then per bucket kind the bucket counts per histogram and the buckets.
    """
    n = t.shape[0]

    def span(off: np.ndarray, *cols: np.ndarray) -> list[np.ndarray]:
        a, b = int(off[0]), int(off[-1])
        return [np.diff(off).astype("<u4"), *(c[a:b] for c in cols)]

    pos = span(h.pos_offsets, h.pos_index.astype("<i4"), h.pos_count.astype("<f8"))
    neg = span(h.neg_offsets, h.neg_index.astype("<i4"), h.neg_count.astype("<f8"))
    cus = span(h.custom_offsets, h.custom_values.astype("<f8"))
    cols = [sid.astype("<i4"), t.astype("<i8"), h.schema.astype("i1"), h.count.astype("<f8"),
            h.sum.astype("<f8"), h.zero_count.astype("<f8"), h.zero_threshold.astype("<f8"),
            h.hint.astype("u1"), *pos, *neg, *cus]
    body = b"".join(np.ascontiguousarray(c).tobytes() for c in cols)
    if compress:
        body = bytes(cramjam.zstd.compress(body, level=3))
    head = _HIST_HEAD.pack(n, pos[1].shape[0], neg[1].shape[0], cus[1].shape[0], int(compress))
    return head + body


def decode_histograms(payload: bytes) -> tuple[np.ndarray, np.ndarray, HistogramBatch]:
    n, npos, nneg, ncus, compressed = _HIST_HEAD.unpack_from(payload)
    body = memoryview(payload)[_HIST_HEAD.size :]
    if compressed:
        body = memoryview(bytes(cramjam.zstd.decompress(bytes(body))))
    pos = 0

    def col(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        arr = np.frombuffer(body, dtype, count, pos)
        pos += arr.nbytes
        return arr

    def offsets(count: int) -> np.ndarray:
        out = np.zeros(count + 1, np.int64)
        np.cumsum(col("<u4", count), out=out[1:])
        return out

    sid = col("<i4", n).astype(np.int64)
    t = col("<i8", n).astype(np.int64)
    scalars = [col("i1", n).astype(np.int8)] + [col("<f8", n).astype(np.float64) for _ in range(4)]
    hint = col("u1", n).astype(np.uint8)
    po = offsets(n)
    pi, pc = col("<i4", npos).astype(np.int32), col("<f8", npos).astype(np.float64)
    no = offsets(n)
    ni, nc = col("<i4", nneg).astype(np.int32), col("<f8", nneg).astype(np.float64)
    co = offsets(n)
    cv = col("<f8", ncus).astype(np.float64)
    return sid, t, HistogramBatch(*scalars, hint, po, pi, pc, no, ni, nc, co, cv)


def encode_delete(matchers: list[Matcher], mint: int, maxt: int) -> bytes:
    ms = [[m.type.value, m.name, m.value] for m in matchers]
    return json.dumps({"matchers": ms, "mint": mint, "maxt": maxt}).encode()


def decode_delete(payload: bytes) -> tuple[list[Matcher], int, int]:
    d = json.loads(payload)
    ms = [Matcher(MatchType(t), n, v) for t, n, v in d["matchers"]]
    return ms, int(d["mint"]), int(d["maxt"])


def frame(rtype: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(bytes((rtype,))))
    return _HEADER.pack(len(payload), crc, rtype) + payload


def _seg_name(n: int) -> str:
    return f"{n:08d}"


def read_records(path: Path) -> tuple[list[tuple[int, bytes]], int, bool]:
    """Records of one file, the byte offset where valid data ends, and whether it ends cleanly."""
    data = path.read_bytes()
    out: list[tuple[int, bytes]] = []
    pos = 0
    end = len(data)
    while pos < end:
        if end - pos < _HEADER.size:
            return out, pos, False
        length, crc, rtype = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        if end - start < length:
            return out, pos, False
        payload = data[start : start + length]
        if zlib.crc32(payload, zlib.crc32(bytes((rtype,)))) != crc:
            return out, pos, False
        out.append((rtype, payload))
        pos = start + length
    return out, pos, True


class WAL:
    """Segmented write-ahead log in ``directory``. Callers serialise ``log`` calls."""

    def __init__(
        self,
        directory: str | Path,
        *,
        fsync: str = "interval",
        fsync_interval_ms: int = 1000,
        fsync_bytes: int = 16 << 20,
        segment_bytes: int = 64 << 20,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"wal fsync policy must be one of {FSYNC_POLICIES}, got {fsync!r}")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.fsync_interval = fsync_interval_ms / 1000.0
        self.fsync_bytes = fsync_bytes
        self._unsynced = 0
        self.segment_bytes = segment_bytes
        self._monotonic = monotonic
        self._fd: int | None = None
        self._seg = 0
        self._seg_size = 0
        self._last_sync = monotonic()
        self._dirty = False
        self.corruptions = 0
        self.truncated_bytes = 0

    # --- layout -------------------------------------------------------------

    def segments(self) -> list[int]:
        return sorted(int(p.name) for p in self.dir.iterdir() if p.name.isdigit())

    def checkpoints(self) -> list[int]:
        found = []
        for p in self.dir.iterdir():
            parts = p.name.split(".")
            if len(parts) == 2 and parts[0] == "checkpoint" and parts[1].isdigit():
                found.append(int(parts[1]))
        return sorted(found)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())

    # --- replay -------------------------------------------------------------

    def replay(self) -> Iterator[tuple[int, bytes]]:
        """All records of the newest checkpoint, then of every later segment, in order.

        Repairs the log on the way: a bad record ends the log (truncate, drop later segments).
        """
        for leftover in self.dir.glob("*.tmp"):
            _remove(leftover)
        cps = self.checkpoints()
        first = 0
        if cps:
            first = cps[-1]
            records, _, clean = read_records(self.dir / f"checkpoint.{_seg_name(first)}")
            if not clean:
                # Checkpoints are written to a temp name and renamed, so this is disk damage.
                self._report(f"checkpoint.{_seg_name(first)}", 0)
            yield from records
        segs = [s for s in self.segments() if s >= first]
        for i, seg in enumerate(segs):
            path = self.dir / _seg_name(seg)
            records, valid, clean = read_records(path)
            yield from records
            if not clean:
                size = path.stat().st_size
                self._report(path.name, size - valid)
                with open(path, "r+b") as f:
                    f.truncate(valid)
                    os.fsync(f.fileno())
                for later in segs[i + 1 :]:
                    self.truncated_bytes += (self.dir / _seg_name(later)).stat().st_size
                    _remove(self.dir / _seg_name(later))
                break

    def _report(self, name: str, lost: int) -> None:
        self.corruptions += 1
        self.truncated_bytes += lost
        log.warning("WAL %s: torn or corrupt record; truncated %d bytes of %s", self.dir, lost, name)

    # --- writing ------------------------------------------------------------

    def open_segment(self) -> int:
        """Start writing a fresh segment (numbered after every existing one); returns its number."""
        self._close_fd()
        existing = self.segments() + self.checkpoints()
        self._seg = (max(existing) + 1) if existing else 1
        path = self.dir / _seg_name(self._seg)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._seg_size = 0
        _fsync_dir(self.dir)
        return self._seg

    def log(self, records: list[tuple[int, bytes]]) -> None:
        """Write records in one syscall (the OS has them when this returns)."""
        if self._fd is None:
            self.open_segment()
        data = b"".join(frame(rt, p) for rt, p in records)
        if self._seg_size and self._seg_size + len(data) > self.segment_bytes:
            self.open_segment()
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            # Cut a partial write off again, so that records acknowledged later do not
            # sit behind a torn one (replay stops at the first bad record).
            os.ftruncate(self._fd, self._seg_size)
            raise
        self._seg_size += len(data)
        self._unsynced += len(data)
        self._dirty = True
        if self.fsync == "always":
            self.sync()
        elif self.fsync == "interval" and (
            self._monotonic() - self._last_sync >= self.fsync_interval
            or (self.fsync_bytes and self._unsynced >= self.fsync_bytes)
        ):
            self.sync()

    def sync(self) -> None:
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
        self._dirty = False
        self._unsynced = 0
        self._last_sync = self._monotonic()

    def write_checkpoint(self, seq: int, records: Iterator[tuple[int, bytes]]) -> int:
        """Write ``checkpoint.<seq>`` atomically, then drop older segments and checkpoints.

        The checkpoint must hold the full state produced by every segment before ``seq``.
        Returns its size in bytes.
        """
        name = f"checkpoint.{_seg_name(seq)}"
        tmp = self.dir / (name + ".tmp")
        size = 0
        with open(tmp, "wb") as f:
            for rt, p in records:
                chunk = frame(rt, p)
                f.write(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / name)
        _fsync_dir(self.dir)
        for s in self.segments():
            if s < seq:
                _remove(self.dir / _seg_name(s))
        for c in self.checkpoints():
            if c < seq:
                _remove(self.dir / f"checkpoint.{_seg_name(c)}")
        return size

    def _close_fd(self) -> None:
        if self._fd is not None:
            if self.fsync != "never":
                self.sync()
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self._close_fd()


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
