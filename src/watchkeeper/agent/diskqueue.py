"""A bounded, crash-safe FIFO of byte records on disk: what the agent collected but has not yet delivered.

Layout of the directory (documented in docs/agent.md):

- ``NNNNNNNNNNNNNNNNNNNN.seg`` segment files, numbered in order. Each record is
  ``u32 length | u32 crc32(payload) | payload`` (little endian). The writer appends to the
  highest-numbered segment and fsyncs every record, so a record that was appended survives
  a crash; a torn record at the tail (crash mid-write) is cut off when the queue is opened.
- ``position``: ``u64 segment | u64 offset | u32 crc32`` of the first unacknowledged record,
  replaced atomically (write, fsync, rename) after every acknowledgement, so a restarted agent
  resumes where the last acknowledged send ended: nothing acknowledged is sent twice except
  the one batch in flight at a crash, and nothing unacknowledged is lost.

The queue is bounded by total segment bytes. When an append would exceed the bound, whole
oldest segments are deleted, read or not, and their unread records are counted as dropped
(node_exporter users expect fresh data first once a long outage ends; vmagent does the same).
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DiskQueue", "QueueStats", "RecordToken"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")
_POSITION = struct.Struct("<QQI")
_SUFFIX = ".seg"


@dataclass(frozen=True)
class RecordToken:
    """Where a peeked record sits; ``ack`` with it moves the read position past the record."""

    segment: int
    offset: int
    next_offset: int


@dataclass
class QueueStats:
    appended_records: int = 0
    acked_records: int = 0
    dropped_records: int = 0
    dropped_bytes: int = 0
    corrupt_records: int = 0


class DiskQueue:
    """FIFO of records in ``directory``; one writer thread and one reader thread may use it together."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int,
        segment_bytes: int | None = None,
        fsync: bool = True,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(4096, min(max_bytes // 8, 16 << 20))
        self.fsync = fsync
        self.stats = QueueStats()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._sizes: dict[int, int] = {}  # segment number -> bytes, in order
        for path in sorted(self.dir.glob(f"*{_SUFFIX}")):
            try:
                self._sizes[int(path.stem)] = path.stat().st_size
            except ValueError:
                continue
        if self._sizes:
            self._repair_tail(max(self._sizes))
        else:
            self._sizes[1] = 0
            (self._path(1)).touch()
        self._write_seg = max(self._sizes)
        self._writer = open(self._path(self._write_seg), "ab")  # noqa: SIM115 - held open for the queue's life
        self._read_seg, self._read_off = self._load_position()
        for seg in [s for s in self._sizes if s < self._read_seg]:
            self._delete(seg)  # consumed before a crash that came between saving the position and deleting

    # -- paths and positions -------------------------------------------------------------
    def _path(self, seg: int) -> Path:
        return self.dir / f"{seg:020d}{_SUFFIX}"

    def _load_position(self) -> tuple[int, int]:
        first = min(self._sizes)
        try:
            raw = (self.dir / "position").read_bytes()
            seg, off, crc = _POSITION.unpack(raw)
            if zlib.crc32(raw[:16]) != crc:
                raise ValueError("position checksum mismatch")
        except (OSError, ValueError, struct.error):
            return first, 0
        if seg not in self._sizes:
            # Its segment was consumed or dropped; the oldest remaining data comes next.
            return (first, 0) if seg < first else (max(self._sizes), self._sizes[max(self._sizes)])
        return seg, min(off, self._sizes[seg])

    def _save_position(self) -> None:
        body = struct.pack("<QQ", self._read_seg, self._read_off)
        tmp = self.dir / "position.tmp"
        with open(tmp, "wb") as f:
            f.write(body + struct.pack("<I", zlib.crc32(body)))
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.dir / "position")

    def _repair_tail(self, seg: int) -> None:
        """Cut a torn or corrupt tail off the segment the writer will append to."""
        path = self._path(seg)
        data = path.read_bytes()
        good = 0
        while good + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, good)
            end = good + _HEADER.size + length
            if end > len(data) or zlib.crc32(data[good + _HEADER.size : end]) != crc:
                break
            good = end
        if good != len(data):
            log.warning("disk queue: truncating torn tail of %s at %d (was %d bytes)", path, good, len(data))
            with open(path, "r+b") as f:
                f.truncate(good)
            self._sizes[seg] = good

    # -- writer --------------------------------------------------------------------------
    def append(self, payload: bytes) -> None:
        record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            used = self._sizes[self._write_seg]
            if used and used + len(record) > self.segment_bytes:
                self._roll()
            self._writer.write(record)
            self._writer.flush()
            if self.fsync:
                os.fsync(self._writer.fileno())
            self._sizes[self._write_seg] += len(record)
            self.stats.appended_records += 1
            self._enforce_bound()
            self._ready.notify_all()

    def _roll(self) -> None:
        self._writer.close()
        self._write_seg += 1
        self._sizes[self._write_seg] = 0
        self._writer = open(self._path(self._write_seg), "ab")  # noqa: SIM115

    def _enforce_bound(self) -> None:
        while sum(self._sizes.values()) > self.max_bytes and len(self._sizes) > 1:
            oldest = min(self._sizes)
            if oldest == self._read_seg:
                records, nbytes = self._count_from(oldest, self._read_off)
                self.stats.dropped_records += records
                self.stats.dropped_bytes += nbytes
                log.warning("disk queue full: dropped %d oldest records (%d bytes)", records, nbytes)
                self._read_seg, self._read_off = min(s for s in self._sizes if s != oldest), 0
                self._save_position()
            self._delete(oldest)

    def _count_from(self, seg: int, offset: int) -> tuple[int, int]:
        data = self._path(seg).read_bytes()
        count, pos = 0, offset
        while pos + _HEADER.size <= len(data):
            (length, _crc) = _HEADER.unpack_from(data, pos)
            pos += _HEADER.size + length
            count += 1
        return count, len(data) - offset

    def _delete(self, seg: int) -> None:
        del self._sizes[seg]
        try:
            self._path(seg).unlink()
        except FileNotFoundError:
            pass

    # -- reader --------------------------------------------------------------------------
    def peek(self) -> tuple[RecordToken, bytes] | None:
        """The oldest unacknowledged record, or None when everything appended has been acknowledged."""
        with self._lock:
            while True:
                size = self._sizes[self._read_seg]
                if self._read_off >= size:
                    if self._read_seg == self._write_seg:
                        return None
                    self._advance_segment()
                    continue
                with open(self._path(self._read_seg), "rb") as f:
                    f.seek(self._read_off)
                    head = f.read(_HEADER.size)
                    length, crc = _HEADER.unpack(head) if len(head) == _HEADER.size else (size, 0)
                    payload = f.read(length) if len(head) == _HEADER.size else b""
                if len(payload) == length and zlib.crc32(payload) == crc:
                    end = self._read_off + _HEADER.size + length
                    return RecordToken(self._read_seg, self._read_off, end), payload
                # Damaged on disk (not a torn tail: that was repaired at open); skip the segment's rest.
                self.stats.corrupt_records += 1
                log.error("disk queue: corrupt record in segment %d at %d; skipping the rest of it",
                          self._read_seg, self._read_off)
                if self._read_seg == self._write_seg:
                    self._read_off = size
                    self._save_position()
                    return None
                self._advance_segment()

    def _advance_segment(self) -> None:
        done = self._read_seg
        self._read_seg = min(s for s in self._sizes if s > done)
        self._read_off = 0
        self._save_position()
        self._delete(done)

    def ack(self, token: RecordToken) -> None:
        """The record was delivered (or given up on): persist the position after it."""
        with self._lock:
            if (self._read_seg, self._read_off) != (token.segment, token.offset):
                return  # dropped by the size bound while it was being sent
            self._read_off = token.next_offset
            self.stats.acked_records += 1
            self._save_position()

    def wait(self, timeout: float) -> bool:
        """Block until something is unacknowledged or ``timeout`` passes; returns whether data is pending."""
        with self._ready:
            if not self._empty():
                return True
            self._ready.wait(timeout)
            return not self._empty()

    def _empty(self) -> bool:
        return self._read_seg == self._write_seg and self._read_off >= self._sizes[self._write_seg]

    def pending_bytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values()) - self._read_off

    def wake(self) -> None:
        """Release a reader blocked in ``wait`` (on shutdown)."""
        with self._ready:
            self._ready.notify_all()

    def close(self) -> None:
        with self._lock:
            self._writer.close()
