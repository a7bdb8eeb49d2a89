"""TSDB behaviour through its public API: appends, selects, matchers, deletes, stats."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.model.batch import STALE_NAN, SampleBatch, is_stale
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage.api import StorageError
from watchkeeper.storage.db import TSDB
from watchkeeper.storage.merge import sort_keys


def lbl(name: str, **kv: str) -> Labels:
    return Labels({"__name__": name, **kv})


def scrape(labels: list[Labels], t: int, values: np.ndarray) -> SampleBatch:
    n = len(labels)
    return SampleBatch(labels, np.arange(n), np.full(n, t, np.int64), np.asarray(values, np.float64))


def as_dict(ss) -> dict[str, list[tuple[int, float]]]:
    out = {}
    for i in range(len(ss)):
        lb, t, v = ss.series(i)
        out[str(lb)] = list(zip(t.tolist(), v.tolist(), strict=True))
    return out


@pytest.fixture(params=[8, 1 << 18], ids=["tiny-chunks", "default-chunks"])
def db(request):
    d = TSDB(None, head_chunk_samples=request.param)
    yield d
    d.close()


SERIES = [lbl("up", job="node", instance=f"h{i}") for i in range(6)] + [
    lbl("cpu", job="node", instance="h0", mode="idle"),
    lbl("cpu", job="api", instance="h1", mode="user"),
]


def fill(db: TSDB, steps: int = 20) -> None:
    for k in range(steps):
        db.append(scrape(SERIES, k * 15_000, np.arange(len(SERIES)) + k))


def test_select_returns_sorted_csr_restricted_to_range(db):
    fill(db)
    ss = db.select([Matcher.eq("__name__", "up")], 30_000, 60_000)
    assert [str(lb) for lb in ss.labels] == sorted(str(lb) for lb in ss.labels)
    assert len(ss) == 6
    assert ss.offsets.tolist() == [0, 3, 6, 9, 12, 15, 18]
    lb, t, v = ss.series(2)
    assert lb == lbl("up", job="node", instance="h2")
    assert t.tolist() == [30_000, 45_000, 60_000]
    assert v.tolist() == [4.0, 5.0, 6.0]


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ([Matcher.eq("__name__", "cpu")], 2),
        ([Matcher.eq("__name__", "cpu"), Matcher.eq("mode", "idle")], 1),
        ([Matcher(MatchType.NOT_EQUAL, "mode", "idle")], 7),
        ([Matcher(MatchType.REGEX, "instance", "h[0-2]")], 5),
        ([Matcher(MatchType.REGEX, "instance", "h0|h5")], 3),
        ([Matcher(MatchType.NOT_REGEX, "instance", "h0|h5")], 5),
        ([Matcher(MatchType.REGEX, "mode", ".*")], 8),
        ([Matcher(MatchType.REGEX, "mode", ".+")], 2),
        ([Matcher.eq("mode", "")], 6),
        ([Matcher(MatchType.NOT_EQUAL, "mode", "")], 2),
        ([Matcher.eq("__name__", "up"), Matcher(MatchType.REGEX, "job", "api")], 0),
        ([Matcher.eq("nosuch", "x")], 0),
        ([Matcher(MatchType.REGEX, "instance", "H0")], 0),
    ],
)
def test_matchers(db, matchers, expected):
    fill(db, 2)
    assert len(db.select(matchers, 0, 10**12)) == expected


def test_series_without_samples_in_range_are_left_out(db):
    fill(db, 4)
    db.append(scrape([lbl("late")], 500_000, [1.0]))
    assert [str(x) for x in db.series([Matcher(MatchType.REGEX, "__name__", ".+")], 400_000, 600_000)] == [
        "late"
    ]
    assert db.select([Matcher.eq("__name__", "late")], 0, 499_999).labels == []


def test_out_of_order_backfill_and_duplicate_replaces(db):
    s = [lbl("m")]
    for t in (60_000, 30_000, 90_000, 0):
        db.append(scrape(s, t, [t / 1000]))
    db.append(scrape(s, 30_000, [-1.0]))
    fill(db, 3)
    ss = db.select([Matcher.eq("__name__", "m")], -(10**12), 10**12)
    assert as_dict(ss) == {"m": [(0, 0.0), (30_000, -1.0), (60_000, 60.0), (90_000, 90.0)]}


def test_duplicate_within_one_batch_last_wins(db):
    s = [lbl("m")]
    db.append(SampleBatch(s, np.zeros(3, np.int64), np.array([5, 5, 4]), np.array([1.0, 2.0, 3.0])))
    assert as_dict(db.select([Matcher.eq("__name__", "m")], 0, 10)) == {"m": [(4, 3.0), (5, 2.0)]}


def test_staleness_markers_are_stored_as_values(db):
    s = [lbl("m")]
    db.append(scrape(s, 1000, [1.0]))
    db.append(scrape(s, 2000, [STALE_NAN]))
    _, t, v = db.select([Matcher.eq("__name__", "m")], 0, 5000).series(0)
    assert t.tolist() == [1000, 2000]
    assert is_stale(v).tolist() == [False, True]


def test_label_names_and_values(db):
    fill(db, 2)
    assert db.label_names([], 0, 10**9) == ["__name__", "instance", "job", "mode"]
    assert db.label_values("job", [], 0, 10**9) == ["api", "node"]
    assert db.label_values("mode", [Matcher.eq("job", "node")], 0, 10**9) == ["idle"]
    assert db.label_names([Matcher.eq("__name__", "up")], 0, 10**9) == ["__name__", "instance", "job"]
    assert db.label_values("job", [], 10**10, 10**11) == []


def test_delete_series(db):
    fill(db, 10)
    removed = db.delete_series([Matcher.eq("__name__", "cpu")], 30_000, 60_000)
    assert removed == 2 * 3
    ss = db.select([Matcher.eq("__name__", "cpu")], 0, 10**9)
    assert [len(ss.series(i)[1]) for i in range(len(ss))] == [7, 7]
    assert len(db.select([Matcher.eq("__name__", "up")], 0, 10**9).t) == 60


def test_stats(db):
    fill(db, 3)
    st = db.stats()
    assert st["headStats"]["numSeries"] == 8
    assert st["headStats"]["numSamples"] == 24
    assert st["headStats"]["minTime"] == 0 and st["headStats"]["maxTime"] == 30_000
    assert st["seriesCountByMetricName"][0] == {"name": "up", "value": 6}
    assert {"name": "job=node", "value": 7} in st["seriesCountByLabelValuePair"]


def test_bad_batches_are_rejected(db):
    with pytest.raises(StorageError):
        db.append(SampleBatch([lbl("m")], np.array([1]), np.array([0]), np.array([1.0])))
    db.close()
    with pytest.raises(StorageError):
        db.append(scrape([lbl("m")], 0, [1.0]))


def test_concurrent_appends_and_selects(db):
    labels = [lbl("c", i=str(i)) for i in range(50)]
    errors: list[Exception] = []

    def writer(base: int) -> None:
        for k in range(100):
            db.append(scrape(labels, base + k * 10, np.full(50, k)))

    def reader() -> None:
        try:
            for _ in range(50):
                ss = db.select([Matcher.eq("__name__", "c")], 0, 10**9)
                assert np.all(np.diff(ss.offsets) >= 0)
                for i in range(len(ss)):
                    assert np.all(np.diff(ss.series(i)[1]) > 0)
        except Exception as e:  # surfaced by the assert below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(b,)) for b in (0, 5)] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors
    ss = db.select([Matcher.eq("__name__", "c")], 0, 10**9)
    assert len(ss) == 50 and len(ss.t) == 50 * 200


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["__name__", "a", "ab", "a\x00"]), st.text(max_size=3), max_size=3),
        max_size=12,
    )
)
def test_sort_keys_order_like_labels(dicts):
    labels = [Labels(d) for d in dicts]
    keys = sort_keys(labels)
    by_key = sorted(range(len(labels)), key=keys.__getitem__)
    assert by_key == sorted(range(len(labels)), key=labels.__getitem__)
