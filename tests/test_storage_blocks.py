"""Blocks: lossless decimal encoding, Parquet round trips, head cuts, compaction, retention, tombstones."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.model.batch import STALE_NAN, SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage.block import Block, RowGroupCache
from watchkeeper.storage.block_writer import write_block
from watchkeeper.storage.compact import plan_compaction
from watchkeeper.storage.db import TSDB
from watchkeeper.storage.decimal import decode, encode

ALL = [Matcher(MatchType.REGEX, "__name__", ".+")]
R = 10_000  # block range for the TSDB tests: 10 s


def bits(a: np.ndarray) -> list[int]:
    return np.ascontiguousarray(a, np.float64).view(np.uint64).tolist()


def roundtrip(v: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    exps, mant, fits = encode(v, offsets)
    per = np.repeat(exps, np.diff(offsets)).astype(np.int64)
    return np.where(fits, decode(mant, per), v)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40), st.data())
def test_decimal_encoding_is_bit_exact(values, data):
    v = np.array(values, np.float64)
    cut = []
    if len(values) > 1:
        cut = sorted(data.draw(st.lists(st.integers(1, len(values) - 1), max_size=3, unique=True)))
    offsets = np.array([0, *cut, len(values)], np.int64)
    exps, mant, fits = encode(v, offsets)
    per = np.repeat(exps, np.diff(offsets)).astype(np.int64)
    assert bits(decode(mant[fits], per[fits])) == bits(v[fits])
    assert not fits[~np.isfinite(v)].any()


@pytest.mark.parametrize(
    ("values", "exponent"),
    [
        ([12345.67, 12345.68, 12345.7], 2),
        ([1.5e9, 2.5e9], -8),
        ([0.0, 1.0, 3.0], 0),
        ([0.1, 0.25], 2),
    ],
)
def test_decimal_exponent_is_smallest_that_fits(values, exponent):
    v = np.array(values)
    exps, _, fits = encode(v, np.array([0, len(values)]))
    assert exps.tolist() == [exponent] and fits.all()
    assert bits(roundtrip(v, np.array([0, len(values)]))) == bits(v)


def test_block_roundtrip_and_plain_parquet(tmp_path):
    labels = [Labels({"__name__": "a", "i": str(i)}) for i in range(4)]
    t = np.array([0, 15, 30, 0, 15, 30, 0, 16, 31, 5], np.int64)
    v = np.array([1.5, 2.5, STALE_NAN, 3.0, -0.0, np.inf, 0.1 + 0.2, 1e300, np.nan, 7.0])
    offsets = np.array([0, 3, 6, 9, 10], np.int64)
    meta = write_block(tmp_path, labels, offsets, t, v, min_time=0, max_time=100)
    block = Block(tmp_path / meta.ulid, RowGroupCache())
    ss = block.select(ALL, 0, 99)
    assert ss.labels == labels
    assert ss.offsets.tolist() == offsets.tolist() and ss.t.tolist() == t.tolist()
    assert bits(ss.v) == bits(v)
    assert block.select([Matcher.eq("i", "2")], 16, 31).t.tolist() == [16, 31]
    # Plain Parquet that other tools can read: two series share a timestamp group.
    assert pq.read_table(tmp_path / meta.ulid / "timestamps.parquet").num_rows == 3 + 3 + 1
    series = pq.read_table(tmp_path / meta.ulid / "series.parquet").to_pylist()
    assert dict(series[1]["labels"]) == {"__name__": "a", "i": "1"}
    columns = pq.read_table(tmp_path / meta.ulid / "values.parquet").column_names
    assert columns == ["series_id", "mantissa", "float"]


def scrape(db: TSDB, t: int, n: int = 3, name: str = "m", value: float | None = None) -> None:
    labels = [Labels({"__name__": name, "i": str(i)}) for i in range(n)]
    vals = np.full(n, float(t) if value is None else value) + np.arange(n)
    db.append(SampleBatch(labels, np.arange(n), np.full(n, t, np.int64), vals))


def samples(db: TSDB, matchers=ALL, mint=-(10**12), maxt=10**12) -> dict[str, list[tuple[int, float]]]:
    ss = db.select(matchers, mint, maxt)
    out = {}
    for i in range(len(ss)):
        lb, t, v = ss.series(i)
        out[str(lb)] = list(zip(t.tolist(), v.tolist(), strict=True))
    return out


def test_cut_query_reopen_and_out_of_order_block(tmp_path):
    db = TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=())
    for t in range(0, 40_000, 1000):
        scrape(db, t)
    assert db.maintain()["blocks_written"] == 3  # [0,10s) [10s,20s) [20s,30s); head keeps the rest
    full = samples(db)
    assert len(full['m{i="1"}']) == 40
    # Backfill older than every block, and an overwrite of a persisted sample.
    scrape(db, 2500)
    scrape(db, 3000, value=-1.0)
    # The backfill lands in its own block, which compaction merges with the overlapping one.
    assert db.maintain() == {"blocks_written": 1, "compactions": 1, "blocks_deleted": 0}
    metas = db.blocks()
    assert sorted((m.min_time, m.level) for m in metas) == [(0, 2), (R, 1), (2 * R, 1)]
    got = samples(db)
    assert (2500, 2501.0) in got['m{i="1"}'] and (3000, 0.0) in got['m{i="1"}']
    assert len(got['m{i="1"}']) == 41
    db.close()
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db2:
        assert samples(db2) == got
        assert db2.label_values("i", [], 0, 5000) == ["0", "1", "2"]
        assert db2.label_names([], 0, 5000) == ["__name__", "i"]


def test_compaction_merges_overlaps_then_windows(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(3 * R,)) as db:
        for t in range(0, 75_000, 1000):
            scrape(db, t)
            if t % 5000 == 0:
                db.maintain()
        before = samples(db)
        scrape(db, 1500)  # out of order: an overlapping block, merged by the next compaction
        before['m{i="0"}'] = sorted(before['m{i="0"}'] + [(1500, 1500.0)])
        res = db.maintain()
        assert res["compactions"] >= 1
        ranges = sorted((m.min_time, m.max_time, m.level) for m in db.blocks())
        assert (0, 3 * R) in [(a, b) for a, b, _ in ranges]
        assert plan_compaction(db.blocks(), (3 * R,)) == []
        got = samples(db)
        assert got['m{i="0"}'] == before['m{i="0"}']
    assert len(list(tmp_path.glob("*/meta.json"))) == len(ranges)


def test_leftover_source_blocks_are_removed_on_open(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        for t in range(0, 45_000, 1000):
            scrape(db, t)
        db.maintain()
        expected = samples(db)
    saved = tmp_path.parent / "saved"
    for d in tmp_path.glob("*/meta.json"):
        shutil.copytree(d.parent, saved / d.parent.name)
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(3 * R,)) as db:
        assert db.maintain()["compactions"] == 1
    for d in saved.iterdir():  # a crash after the compacted block landed, before sources went
        shutil.copytree(d, tmp_path / d.name)
    (tmp_path / "half-written.tmp").mkdir()
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(3 * R,)) as db:
        assert len(db.blocks()) == 1
        assert samples(db) == expected
    assert not (tmp_path / "half-written.tmp").exists()


def test_retention_by_time_and_size(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(), retention_ms=3 * R) as db:
        for t in range(0, 80_000, 1000):
            scrape(db, t)
        res = db.maintain()
        assert res["blocks_deleted"] == 4  # blocks ending at or before 79 s - 30 s
        assert min(m.min_time for m in db.blocks()) == 4 * R
        assert min(t for t, _ in samples(db)['m{i="0"}']) == 4 * R
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(), retention_bytes=1) as db:
        db.maintain()
        assert db.blocks() == []


def test_delete_series_in_blocks_survives_reopen_and_compaction(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        for t in range(0, 40_000, 1000):
            scrape(db, t)
        db.maintain()
        removed = db.delete_series([Matcher.eq("i", "2")], 5000, 25_000)
        assert removed == 21
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(4 * R,)) as db:
        ts = [t for t, _ in samples(db)['m{i="2"}']]
        assert len(ts) == 19 and not any(5000 <= t <= 25_000 for t in ts)
        db.maintain()
        assert [t for t, _ in samples(db)['m{i="2"}']] == ts
        assert len(samples(db)['m{i="1"}']) == 40


@pytest.mark.parametrize("seed", [1, 2])
def test_random_operations_match_a_reference_model(tmp_path, seed):
    """Appends (out of order, overwrites), deletes, cuts, compactions and reopens vs. a dict."""
    rng = np.random.default_rng(seed)
    pool = [Labels({"__name__": "r", "job": j, "i": str(i)}) for j in ("a", "b") for i in range(3)]
    ref: dict[tuple[Labels, int], float] = {}
    opts = {"block_range_ms": R, "compaction_ranges_ms": (3 * R,), "retention_ms": 0}
    opts["head_chunk_samples"] = 16
    db = TSDB(tmp_path, **opts)
    try:
        for _ in range(50):
            op = rng.random()
            if op < 0.6:
                n = int(rng.integers(1, 12))
                series = rng.integers(0, len(pool), n)
                t = rng.integers(0, 90, n) * 1000 + int(rng.integers(0, 10)) * 90_000 // 10
                v = np.round(rng.normal(0, 100, n), int(rng.integers(0, 4)))
                db.append(SampleBatch(pool, series, t, v))
                for s, tt, vv in zip(series.tolist(), t.tolist(), v.tolist(), strict=True):
                    ref[(pool[s], tt)] = vv
            elif op < 0.7:
                job = "a" if rng.random() < 0.5 else "b"
                lo = int(rng.integers(0, 150)) * 1000
                hi = lo + int(rng.integers(0, 60)) * 1000
                db.delete_series([Matcher.eq("job", job)], lo, hi)
                ref = {k: x for k, x in ref.items() if not (k[0].get("job") == job and lo <= k[1] <= hi)}
            elif op < 0.9:
                db.maintain()
            else:
                db.close()
                db = TSDB(tmp_path, **opts)
            ss = db.select(ALL, -(10**12), 10**12)
            got = {
                (ss.labels[i], int(t)): float(v)
                for i in range(len(ss))
                for t, v in zip(*ss.series(i)[1:], strict=True)
            }
            assert got == ref
        assert db.blocks(), "the sequence should have produced blocks"
    finally:
        db.close()


def test_series_gone_from_the_head_are_forgotten_after_a_cut(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        for t in range(0, 10_000, 1000):
            scrape(db, t, n=3, name="old")
        for t in range(0, 30_000, 1000):
            scrape(db, t, n=2, name="new")
        assert db.stats()["headStats"]["numSeries"] == 5
        db.maintain()
        assert db.stats()["headStats"]["numSeries"] == 2
        assert db.gc_series_removed == 3
        assert db.label_values("__name__", [], 20_000, 30_000) == ["new"]
        assert len(db.series([Matcher.eq("__name__", "old")], 0, 10**9)) == 3  # still in the block
        scrape(db, 31_000, n=1, name="old")  # comes back under a new id
        back = samples(db, [Matcher.eq("__name__", "old")], 30_000, 40_000)
        assert back == {'old{i="0"}': [(31_000, 31_000.0)]}
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        assert len(samples(db, [Matcher.eq("__name__", "old")])['old{i="0"}']) == 11
        assert db.stats()["headStats"]["numSeries"] == 3


def test_series_and_label_apis_agree_with_select_across_blocks_and_head(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        for t in range(0, 40_000, 1000):
            scrape(db, t, n=2 if t < 15_000 else 3)
        scrape(db, 12_345, n=1, name="rare")
        db.maintain()
        for lo, hi in [(0, 5000), (12_000, 12_500), (12_346, 14_999), (15_000, 15_000), (0, 10**9)]:
            for ms in (ALL, [Matcher.eq("__name__", "m")], [Matcher.eq("i", "2")]):
                want = db.select(ms, lo, hi).labels
                assert db.series(ms, lo, hi) == want, (lo, hi, ms)
                assert db.label_values("i", ms, lo, hi) == sorted({x.get("i") for x in want})
                assert db.label_names(ms, lo, hi) == sorted({n for x in want for n in x.names()})


def test_block_reads_across_row_groups_with_a_tiny_cache(tmp_path):
    rng = np.random.default_rng(5)
    labels = [Labels({"__name__": "x", "i": f"{i:02d}"}) for i in range(20)]
    counts = rng.integers(1, 30, 20)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    t = np.concatenate([np.sort(rng.choice(1000, c, replace=False)) for c in counts]).astype(np.int64)
    v = np.round(rng.normal(0, 1e3, offsets[-1]), 3)
    meta = write_block(tmp_path, labels, offsets, t, v, min_time=0, max_time=1000, row_group_rows=7)
    cache = RowGroupCache(max_bytes=200)
    block = Block(tmp_path / meta.ulid, cache)
    for ids in ([3], [0, 19], [5, 6, 7, 12]):
        ss = block.select([Matcher(MatchType.REGEX, "i", "|".join(f"{i:02d}" for i in ids))], 0, 999)
        assert [lb.get("i") for lb in ss.labels] == [f"{i:02d}" for i in ids]
        for k, i in enumerate(ids):
            _, tt, vv = ss.series(k)
            assert tt.tolist() == t[offsets[i] : offsets[i + 1]].tolist()
            assert bits(vv) == bits(v[offsets[i] : offsets[i + 1]])
    assert 0 < cache.nbytes <= 200


def test_compaction_streams_series_batches_and_newer_blocks_win(tmp_path):
    from watchkeeper.storage.compact import compact_blocks

    cache = RowGroupCache()
    rng = np.random.default_rng(9)
    expected: dict[tuple[Labels, int], float] = {}
    blocks = []
    for b in range(3):  # overlapping series sets and timestamps; later blocks overwrite
        labels = sorted(Labels({"__name__": "c", "i": str(i)}) for i in rng.choice(9, 5, replace=False))
        t = np.tile(np.arange(0, 50, 10) + b * 20, len(labels)).astype(np.int64)
        v = rng.normal(size=t.shape[0]).round(2)
        offsets = np.arange(0, t.shape[0] + 1, 5, dtype=np.int64)
        after = blocks[-1].ulid if blocks else ""
        meta = write_block(tmp_path, labels, offsets, t, v, min_time=0, max_time=100, after=after)
        blocks.append(Block(tmp_path / meta.ulid, cache))
        for k, lb in enumerate(labels):
            for j in range(5):
                expected[(lb, int(t[5 * k + j]))] = float(v[5 * k + j])
    meta = compact_blocks(tmp_path, blocks, batch_series=2, after=blocks[-1].ulid)
    assert meta is not None and meta.level == 2 and len(meta.sources) == 3
    out = Block(tmp_path / meta.ulid, cache).select(ALL, 0, 100)
    got = {
        (out.labels[i], int(t)): float(v)
        for i in range(len(out))
        for t, v in zip(*out.series(i)[1:], strict=True)
    }
    assert got == expected


def test_head_cut_writes_each_range_in_series_batches(tmp_path):
    from watchkeeper.storage.cut import write_head_blocks
    from watchkeeper.storage.head import Head

    head = Head(chunk_samples=7)
    labels = [Labels({"__name__": "h", "i": str(i)}) for i in (5, 3, 9, 1, 7)]
    ids, _ = head.index.resolve(labels)
    rng = np.random.default_rng(4)
    ref: dict[tuple[Labels, int], float] = {}
    for k in range(40):
        t = np.full(5, k * 1000) + rng.integers(0, 3, 5)
        v = np.arange(5) + k * 10.0
        head.append(ids, t, v)
        ref.update({(labels[j], int(t[j])): float(v[j]) for j in range(5) if t[j] < 25_000})
    head.seal()
    metas = write_head_blocks(tmp_path, head.index.labels, head.runs, 25_000, R, batch_series=2)
    assert [(m.min_time, m.max_time, m.num_series, m.num_samples) for m in metas] == [
        (0, R, 5, 50),
        (R, 2 * R, 5, 50),
        (2 * R, 3 * R, 5, 25),
    ]
    cache = RowGroupCache()
    got: dict[tuple[Labels, int], float] = {}
    for m in metas:
        ss = Block(tmp_path / m.ulid, cache).select(ALL, 0, 10**9)
        assert list(ss.labels) == sorted(labels)
        for i in range(len(ss)):
            got.update({(ss.labels[i], int(t)): float(v) for t, v in zip(*ss.series(i)[1:], strict=True)})
    assert got == ref
    assert all(r.mint >= 25_000 for r in head.runs_from(head.runs, 25_000))


def test_queries_and_appends_stay_consistent_while_maintenance_runs(tmp_path):
    import threading

    db = TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=(3 * R,), head_chunk_samples=32)
    labels = [Labels({"__name__": "c", "i": str(i)}) for i in range(4)]
    acked = [-1]
    errors: list[str] = []
    done = threading.Event()

    def writer() -> None:
        for k in range(600):
            db.append(SampleBatch(labels, np.arange(4), np.full(4, k * 500), np.full(4, float(k))))
            acked[0] = k
        done.set()

    def reader() -> None:
        while not done.is_set():
            upto = acked[0]
            ss = db.select(ALL, 0, upto * 500)
            for i in range(len(ss)):
                t = ss.series(i)[1]
                if t.tolist() != list(range(0, upto * 500 + 1, 500)):
                    errors.append(f"series {i}: {len(t)} samples for {upto + 1} acknowledged")
                    return

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for th in threads:
        th.start()
    rounds = 0
    while not done.is_set() and rounds < 10_000:
        db.maintain()
        rounds += 1
    for th in threads:
        th.join(timeout=60)
    db.maintain()
    assert not errors
    assert len(db.blocks()) >= 3
    assert len(db.select(ALL, 0, 10**9).t) == 4 * 600
    db.close()


def test_unreadable_block_is_moved_aside_not_fatal(tmp_path):
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        for t in range(0, 40_000, 1000):
            scrape(db, t)
        db.maintain()
        first = db.blocks()[0].ulid
    (tmp_path / first / "series.parquet").write_bytes(b"not parquet at all")
    with TSDB(tmp_path, block_range_ms=R, compaction_ranges_ms=()) as db:
        assert db.broken_blocks == 1
        assert (tmp_path / (first + ".broken")).is_dir()
        assert len(db.blocks()) == 2
        assert min(t for t, _ in samples(db)['m{i="0"}']) == R
