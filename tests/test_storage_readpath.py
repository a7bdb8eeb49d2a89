"""The storage read path's fast paths agree with the general ones: bisection, slice copies,
concatenation of time-disjoint parts, head label order, time-restricted block reads."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.model.batch import SampleBatch, SeriesSet
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage import csr, head
from watchkeeper.storage.db import TSDB
from watchkeeper.storage.merge import LabelOrder, merge_series_sets

ALL = [Matcher(MatchType.REGEX, "__name__", ".+")]


def random_csr(rng: np.random.Generator, n: int, t0: int, t1: int, max_len: int = 60):
    lens = rng.integers(0, max_len, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    t = np.concatenate([np.sort(rng.choice(np.arange(t0, t1), int(k), replace=False)) for k in lens]
                       or [np.zeros(0, np.int64)]).astype(np.int64)
    return offsets, t, rng.random(t.shape[0])


@pytest.mark.parametrize("seed", range(5))
def test_segment_bisect_matches_searchsorted(seed):
    rng = np.random.default_rng(seed)
    offsets, t, _ = random_csr(rng, 40, 0, 500)
    lo, hi = offsets[:-1], offsets[1:]
    for x in rng.integers(-10, 510, 8).tolist():
        for right in (False, True):
            got = csr.segment_bisect(t, lo, hi, x, right=right)
            side = "right" if right else "left"
            want = [a + np.searchsorted(t[a:b], x, side=side) for a, b in zip(lo, hi, strict=True)]
            assert got.tolist() == [int(w) for w in want]


@pytest.mark.parametrize("max_len", [3, 200])  # index gather and slice copies
def test_take_and_gather_ranges(max_len):
    rng = np.random.default_rng(max_len)
    values = rng.random(5000)
    starts = np.sort(rng.integers(0, 4000, 30))
    ends = starts + rng.integers(0, max_len, 30)
    want = np.concatenate([values[a:b] for a, b in zip(starts, ends, strict=True)])
    assert np.array_equal(csr.take_ranges(values, starts, ends), want)
    rank, rows = csr.gather_ranges(starts, ends)
    assert np.array_equal(values[rows], want)
    assert rank.tolist() == np.repeat(np.arange(30), ends - starts).tolist()


def test_concat_csr_joins_per_series_disjoint_parts_and_refuses_overlaps():
    rng = np.random.default_rng(3)
    n = 25
    parts = [random_csr(rng, n, k * 1000, k * 1000 + 900) for k in (2, 0, 1)]  # not in time order
    joined = csr.concat_csr([csr.Ranges.of_csr(*p) for p in parts], n)
    assert joined is not None
    ranks = np.concatenate([csr.expand_ranks(p[0]) for p in parts])
    want = csr.combine(ranks, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]), n)
    for got, exp in zip(joined, want, strict=True):
        assert np.array_equal(got, exp)
    # Parts spanning the same time, but each series in one part only, also join.
    a = csr.Ranges.of_csr(np.array([0, 3, 3]), np.array([1, 5, 9]), np.ones(3))
    b = csr.Ranges.of_csr(np.array([0, 0, 2]), np.array([2, 4]), np.zeros(2))
    offsets, t, v = csr.concat_csr([a, b], 2)
    assert offsets.tolist() == [0, 3, 5] and t.tolist() == [1, 5, 9, 2, 4] and v.tolist() == [1, 1, 1, 0, 0]
    # A series whose samples in two parts interleave (or share a timestamp) needs the general merge.
    c = csr.Ranges.of_csr(np.array([0, 2, 2]), np.array([3, 4]), np.ones(2))
    assert csr.concat_csr([a, c], 2) is None
    d = csr.Ranges.of_csr(np.array([0, 1, 1]), np.array([9]), np.ones(1))
    assert csr.concat_csr([a, d], 2) is None
    # Rows read in place from int32 deltas with a time base, short slices (scattered) or long.
    for reps in (1, 60):
        deltas = np.arange(2 + reps, dtype=np.int32)
        e = csr.Ranges(np.array([0, 2]), np.array([2, 2 + reps]), deltas, np.ones(2 + reps), tbase=100)
        offsets, t, v = csr.concat_csr([e, a], 2)
        assert offsets.tolist() == [0, 5, 5 + reps] and t[:5].tolist() == [1, 5, 9, 100, 101]
        assert t[5:].tolist() == list(range(102, 102 + reps))


def series_set(labels: list[Labels], parts: tuple) -> SeriesSet:
    offsets, t, v = parts
    return SeriesSet(labels, offsets, t, v)


@pytest.mark.parametrize("overlap", [False, True])
def test_merge_series_sets_matches_reference(overlap):
    rng = np.random.default_rng(int(overlap))
    names = [Labels({"__name__": "m", "i": f"{i:02d}"}) for i in range(30)]
    sets = []
    for k in range(3):
        chosen = sorted(rng.choice(30, 20, replace=False).tolist())
        t0 = 0 if overlap else k * 1000
        sets.append(series_set([names[i] for i in chosen], random_csr(rng, 20, t0, t0 + 900)))
    got = merge_series_sets(sets)
    want: dict[Labels, dict[int, float]] = {}
    for s in sets:  # later parts win on equal timestamps
        for i in range(len(s)):
            lb, t, v = s.series(i)
            want.setdefault(lb, {}).update(zip(t.tolist(), v.tolist(), strict=True))
    assert got.labels == sorted(lb for lb, pts in want.items() if pts)
    for i in range(len(got)):
        lb, t, v = got.series(i)
        assert list(zip(t.tolist(), v.tolist(), strict=True)) == sorted(want[lb].items())


def test_label_order_ranks_follow_labels_as_series_arrive():
    rng = np.random.default_rng(5)
    pool = [Labels({"__name__": "m", "x": str(int(i))}) for i in rng.permutation(500)]
    order = LabelOrder()
    labels: list[Labels | None] = []
    for size in (3, 200, 201, 260, 500):  # a few single insertions, then bulk re-sorts
        labels.extend(pool[len(labels):size])
        ranks = order.ranks(labels)
        assert [labels[i] for i in np.argsort(ranks)] == sorted(labels)


@pytest.mark.parametrize("bisect_min_rows", [0, 10**9])
def test_select_time_ranges_inside_blocks_and_head_runs(tmp_path, monkeypatch, bisect_min_rows):
    monkeypatch.setattr(head, "_BISECT_MIN_ROWS", bisect_min_rows)
    db = TSDB(tmp_path, block_range_ms=10_000, head_chunk_samples=64)
    names = [Labels({"__name__": "m", "s": str(i)}) for i in (3, 1, 2, 0)]  # created out of label order
    want: dict[Labels, list[tuple[int, float]]] = {lb: [] for lb in names}
    for step in range(120):  # scrapes every 250 ms: 30 s, several blocks plus a head of runs
        t = step * 250 + 7
        vals = np.arange(len(names), dtype=np.float64) + step
        db.append(SampleBatch(names, np.arange(len(names)), np.full(len(names), t, np.int64), vals))
        for lb, v in zip(names, vals.tolist(), strict=True):
            want[lb].append((t, v))
        if step in (50, 90):
            db.maintain()
    try:
        ranges = [(0, 40_000), (3_000, 12_345), (14_999, 27_000), (25_100, 25_300), (29_000, 29_100)]
        for mint, maxt in ranges:
            got = db.select(ALL, mint, maxt)
            exp = {lb: [(t, v) for t, v in pts if mint <= t <= maxt] for lb, pts in want.items()}
            assert got.labels == sorted(lb for lb, pts in exp.items() if pts)
            for i in range(len(got)):
                lb, t, v = got.series(i)
                assert list(zip(t.tolist(), v.tolist(), strict=True)) == exp[lb]
    finally:
        db.close()


def test_head_buffer_index_keeps_last_write_wins_and_sees_new_appends(tmp_path):
    rng = np.random.default_rng(11)
    db = TSDB(tmp_path)
    names = [Labels({"__name__": "g", "s": str(i)}) for i in range(50)]
    want: dict[Labels, dict[int, float]] = {}

    def append(count: int) -> None:
        pick = rng.integers(0, len(names), count)
        t = rng.integers(0, 2_000, count)  # out of order, with repeated timestamps
        v = rng.random(count)
        db.append(SampleBatch([names[i] for i in pick], np.arange(count), t.astype(np.int64), v))
        for i, ti, vi in zip(pick.tolist(), t.tolist(), v.tolist(), strict=True):
            want.setdefault(names[i], {})[ti] = vi

    def check(matchers: list[Matcher], mint: int, maxt: int) -> None:
        got = db.select(matchers, mint, maxt)
        exp = {lb: sorted((t, v) for t, v in pts.items() if mint <= t <= maxt)
               for lb, pts in want.items() if all(m.matches_labels(lb) for m in matchers)}
        assert got.labels == sorted(lb for lb, pts in exp.items() if pts)
        for i in range(len(got)):
            lb, t, v = got.series(i)
            assert list(zip(t.tolist(), v.tolist(), strict=True)) == exp[lb]

    some = [Matcher(MatchType.EQUAL, "__name__", "g"), Matcher(MatchType.REGEX, "s", "1.?|3")]
    try:
        for count in (3_000, 3_000, 100, 9_000, 200):  # indexed, a tail, re-indexed, a tail
            append(count)
            check(some, 500, 1_500)
            check(ALL, 0, 2_000)
        assert db._head.snapshot().buffer_index.covered == 15_100
    finally:
        db.close()
