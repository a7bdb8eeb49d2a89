"""WAL durability: replay, torn/corrupt tails, and SIGKILL at random points."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from watchkeeper.model.batch import STALE_NAN, SampleBatch, is_stale
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage.db import TSDB
from watchkeeper.storage.wal import WAL, frame, read_records

ALL = [Matcher(MatchType.REGEX, "__name__", ".+")]
LABELS = [Labels({"__name__": "m", "i": str(i)}) for i in range(5)]


def batch(k: int) -> SampleBatch:
    return SampleBatch(LABELS, np.arange(5), np.full(5, k * 1000, np.int64), np.arange(5) + 10.0 * k)


def last_segment(path: Path) -> Path:
    wal = WAL(path / "wal")
    return path / "wal" / f"{wal.segments()[-1]:08d}"


def test_replay_restores_series_samples_and_deletes(tmp_path):
    with TSDB(tmp_path) as db:
        for k in range(20):
            db.append(batch(k))
        db.append(SampleBatch(LABELS[:1], np.array([0]), np.array([20_500]), np.array([STALE_NAN])))
        db.delete_series([Matcher.eq("i", "4")], 0, 4_000)
    with TSDB(tmp_path) as db:
        assert db.wal_corruptions == 0
        ss = db.select(ALL, 0, 10**9)
        assert len(ss) == 5
        lb, t, v = ss.series(0)
        assert lb == LABELS[0] and t[-1] == 20_500 and is_stale(v[-1:])[0]
        assert ss.series(4)[1][0] == 5_000
        assert ss.series(2)[2].tolist() == [2 + 10.0 * k for k in range(20)]


@pytest.mark.parametrize("damage", ["truncate", "garble", "garbage"])
def test_torn_or_corrupt_tail_is_truncated_not_fatal(tmp_path, damage):
    with TSDB(tmp_path) as db:
        for k in range(10):
            db.append(batch(k))
    seg = last_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    if damage == "truncate":
        data = data[:-7]
    elif damage == "garble":
        data[-3] ^= 0xFF
    else:
        data += b"\x13\x00\x00\x00garbage"
    seg.write_bytes(bytes(data))
    with TSDB(tmp_path) as db:
        assert db.wal_corruptions == 1
        ss = db.select(ALL, 0, 10**9)
        n = len(ss.series(0)[1])
        assert n == (10 if damage == "garbage" else 9)
        db.append(batch(50))
    with TSDB(tmp_path) as db:
        assert db.wal_corruptions == 0
        assert len(db.select(ALL, 0, 10**9).series(0)[1]) == n + 1


def test_read_records_stops_at_bad_crc(tmp_path):
    p = tmp_path / "seg"
    good = frame(2, b"hello") + frame(2, b"world")
    bad = bytearray(frame(2, b"again"))
    bad[-1] ^= 1
    p.write_bytes(good + bytes(bad) + frame(2, b"after"))
    records, valid, clean = read_records(p)
    assert [r[1] for r in records] == [b"hello", b"world"]
    assert valid == len(good) and not clean


def test_segments_rotate_and_cut_truncates_wal(tmp_path):
    hour = 3_600_000
    labels = [Labels({"__name__": "g", "i": str(i)}) for i in range(3)]
    with TSDB(tmp_path, wal_segment_bytes=4096, block_range_ms=hour) as db:
        for k in range(300):  # 300 x 30 s = 2.5 h
            db.append(SampleBatch(labels, np.arange(3), np.full(3, k * 30_000), np.full(3, float(k))))
        wal = WAL(tmp_path / "wal")
        assert len(wal.segments()) > 3
        assert db.maintain()["blocks_written"] == 1  # [0, 1 h); the head keeps >= 30 min
        assert wal.checkpoints() and len(wal.segments()) == 1
        db.append(SampleBatch(labels, np.arange(3), np.full(3, 300 * 30_000), np.full(3, 300.0)))
    with TSDB(tmp_path, block_range_ms=hour) as db:
        ss = db.select(ALL, 0, 10**9)
        assert len(ss) == 3 and ss.series(1)[2].tolist() == [float(k) for k in range(301)]


def test_fsync_policy_is_validated(tmp_path):
    with pytest.raises(ValueError):
        TSDB(tmp_path, wal_fsync="sometimes")


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from watchkeeper.model.batch import SampleBatch
    from watchkeeper.model.labels import Labels
    from watchkeeper.storage.db import TSDB

    path, start = sys.argv[1], int(sys.argv[2])
    db = TSDB(path, wal_fsync="never", block_range_ms=20_000, compaction_ranges_ms=(60_000,),
              wal_segment_bytes=8192, head_chunk_samples=64)
    k = start
    while True:
        n = 3 + k % 5  # series come and go
        labels = [Labels({"__name__": "c", "i": str(i)}) for i in range(n)]
        db.append(SampleBatch(labels, np.arange(n), np.full(n, k * 1000), np.arange(n) + 100.0 * k))
        print(k, flush=True)
        if k % 7 == 0:
            db.maintain()
        k += 1
    """
)


def expected_for(k: int) -> dict[str, float]:
    return {str(i): i + 100.0 * k for i in range(3 + k % 5)}


def test_sigkill_at_random_points_loses_no_acknowledged_sample(tmp_path):
    rng = random.Random(7)
    acked = -1
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(acked + 1)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            target = rng.randint(3, 120)
            for _ in range(target):
                line = proc.stdout.readline()
                if not line:
                    pytest.fail(f"writer died: {proc.stderr.read()}")
                acked = int(line)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        with TSDB(tmp_path, block_range_ms=20_000, compaction_ranges_ms=(60_000,)) as db:
            ss = db.select([Matcher.eq("__name__", "c")], 0, 10**12)
            got: dict[int, dict[str, float]] = {}
            for j in range(len(ss)):
                lb, t, v = ss.series(j)
                for tt, vv in zip(t.tolist(), v.tolist(), strict=True):
                    got.setdefault(tt // 1000, {})[lb.get("i")] = vv
            for k in range(acked + 1):
                assert got.get(k) == expected_for(k), f"sample batch {k} of {acked} acknowledged"
            blocks = db.blocks()
    assert blocks, "the writer's maintenance should have cut blocks between kills"


@pytest.mark.parametrize(("policy", "expected"), [("always", 5), ("interval", 2), ("never", 0)])
def test_fsync_policies(tmp_path, monkeypatch, policy, expected):
    import watchkeeper.storage.wal as walmod

    now = [0.0]
    syncs: list[int] = []
    monkeypatch.setattr(walmod.os, "fsync", lambda fd: syncs.append(fd))
    wal = WAL(tmp_path, fsync=policy, fsync_interval_ms=1000, fsync_bytes=0, monotonic=lambda: now[0])
    wal.open_segment()
    syncs.clear()
    for at in (0.1, 0.5, 1.2, 1.3, 2.5):  # with a 1 s interval: syncs at 1.2 and 2.5
        now[0] = at
        wal.log([(2, b"x")])
    assert len(syncs) == expected
    wal.close()


def test_interval_fsync_also_triggers_on_bytes(tmp_path, monkeypatch):
    import watchkeeper.storage.wal as walmod

    syncs: list[int] = []
    monkeypatch.setattr(walmod.os, "fsync", lambda fd: syncs.append(fd))
    wal = WAL(tmp_path, fsync="interval", fsync_interval_ms=10**9, fsync_bytes=100, monotonic=lambda: 0.0)
    wal.open_segment()
    syncs.clear()
    for _ in range(10):
        wal.log([(2, b"x" * 40)])  # 49 bytes framed: a sync every third record
    assert len(syncs) == 3
    wal.close()


def test_failed_wal_write_is_cut_off_and_later_appends_survive(tmp_path, monkeypatch):
    import watchkeeper.storage.wal as walmod
    from watchkeeper.storage.api import StorageError

    real_write = os.write

    def new_series(t: int) -> SampleBatch:
        return SampleBatch([Labels({"__name__": "new"})], np.array([0]), np.array([t]), np.array([float(t)]))

    with TSDB(tmp_path) as db:
        db.append(batch(0))

        def half_then_fail(fd, data):
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(walmod.os, "write", half_then_fail)
        with pytest.raises(StorageError):
            db.append(new_series(1))
        monkeypatch.setattr(walmod.os, "write", real_write)
        db.append(new_series(2))
        db.append(batch(1))
    with TSDB(tmp_path) as db:
        assert db.wal_corruptions == 0
        assert len(db.select([Matcher.eq("__name__", "m")], 0, 10**9).t) == 10
        assert db.select([Matcher.eq("__name__", "new")], 0, 10**9).t.tolist() == [2]
