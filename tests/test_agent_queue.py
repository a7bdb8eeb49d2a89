"""The agent's on-disk queue: order, acknowledgement persistence, torn tails, the size bound."""

from __future__ import annotations

from pathlib import Path

from watchkeeper.agent.diskqueue import DiskQueue


def _drain(q: DiskQueue) -> list[bytes]:
    out = []
    for _ in range(10_000):
        item = q.peek()
        if item is None:
            return out
        token, payload = item
        out.append(payload)
        q.ack(token)
    raise AssertionError("queue did not drain")


def test_fifo_across_segments(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=100)
    records = [f"record-{i}".encode() * 3 for i in range(20)]
    for r in records:
        q.append(r)
    assert len(list(tmp_path.glob("*.seg"))) > 3
    assert _drain(q) == records
    # Consumed segments are deleted; only the one being written remains.
    assert len(list(tmp_path.glob("*.seg"))) == 1
    assert q.pending_bytes() == 0
    q.close()


def test_position_survives_reopen(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=64)
    for i in range(10):
        q.append(b"r%d" % i)
    for _ in range(4):
        token, _payload = q.peek()  # type: ignore[misc]
        q.ack(token)
    item = q.peek()  # peeked but never acknowledged (a send in flight at a crash)
    assert item is not None and item[1] == b"r4"
    q.close()
    q2 = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=64)
    assert _drain(q2) == [b"r%d" % i for i in range(4, 10)]
    q2.append(b"after")
    assert _drain(q2) == [b"after"]
    q2.close()


def test_torn_tail_is_truncated(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=1 << 20)
    q.append(b"complete-1")
    q.append(b"complete-2")
    q.close()
    seg = sorted(tmp_path.glob("*.seg"))[-1]
    with open(seg, "ab") as f:
        f.write(b"\x40\x00\x00\x00\x01\x02")  # a header promising 64 bytes, then the crash
    q2 = DiskQueue(tmp_path, max_bytes=1 << 20)
    q2.append(b"next")
    assert _drain(q2) == [b"complete-1", b"complete-2", b"next"]
    assert q2.stats.corrupt_records == 0
    q2.close()


def test_corrupt_record_skips_rest_of_segment(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=40)
    for i in range(6):
        q.append(b"payload-%02d" % i)  # 18-byte records: two per segment
    q.close()
    first = sorted(tmp_path.glob("*.seg"))[0]
    data = bytearray(first.read_bytes())
    data[10] ^= 0xFF  # flip a payload byte of the first record
    first.write_bytes(bytes(data))
    q2 = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=40)
    assert _drain(q2) == [b"payload-%02d" % i for i in range(2, 6)]
    assert q2.stats.corrupt_records == 1
    q2.close()


def test_overflow_drops_oldest_and_counts(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=200, segment_bytes=50)
    payloads = [b"x" * 17 + bytes([i]) for i in range(30)]  # 26-byte records: one per 50-byte segment
    for p in payloads:
        q.append(p)
    total = sum(f.stat().st_size for f in tmp_path.glob("*.seg"))
    assert total <= 200
    kept = _drain(q)
    assert kept == payloads[-len(kept):]  # the newest survive, in order
    assert q.stats.dropped_records == len(payloads) - len(kept) > 0
    assert q.stats.dropped_bytes == q.stats.dropped_records * 26
    q.close()


def test_ack_of_dropped_record_is_ignored(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=60, segment_bytes=30)
    q.append(b"a" * 10)
    token, payload = q.peek()  # type: ignore[misc]
    assert payload == b"a" * 10
    for i in range(5):  # pushes the segment being sent out of the bound
        q.append(bytes([i]) * 10)
    q.ack(token)  # must not skip a record that is still queued
    kept = _drain(q)
    assert kept == [bytes([i]) * 10 for i in range(5)][-len(kept):]
    assert q.stats.dropped_records >= 1
    q.close()


def test_wait_wakes_on_append(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=1 << 20)
    assert q.wait(0.01) is False
    q.append(b"x")
    assert q.wait(0.01) is True
    q.close()


def test_consumed_segments_left_by_a_crash_are_removed(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=20)
    for i in range(4):
        q.append(b"rec-%d" % i)  # 13-byte records: one per segment
    q.close()
    first = sorted(tmp_path.glob("*.seg"))[0]
    saved = first.read_bytes()
    q = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=20)
    token, _ = q.peek()  # type: ignore[misc]
    q.ack(token)
    assert q.peek() is not None  # moves to segment 2 and deletes segment 1
    q.close()
    first.write_bytes(saved)  # as if the crash came before the delete
    q = DiskQueue(tmp_path, max_bytes=1 << 20, segment_bytes=20)
    assert not first.exists()
    assert _drain(q) == [b"rec-1", b"rec-2", b"rec-3"]
    q.close()
