"""Native-histogram value model: ``histogram_ops`` and ``histogram_stats`` against hand-computed cases
that follow Prometheus' ``FloatHistogram`` semantics (float_histogram_test.go, quantile.go)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from watchkeeper.model import histogram_ops as H
from watchkeeper.model import histogram_stats as S
from watchkeeper.model.histogram import (
    COUNTER_RESET,
    CUSTOM_BUCKETS_SCHEMA,
    GAUGE_TYPE,
    NOT_COUNTER_RESET,
    UNKNOWN_RESET,
    HistogramBatch,
)


def hb(*hists: dict) -> HistogramBatch:
    return H.from_python(list(hists))


def rows(batch: HistogramBatch) -> list[dict]:
    return H.to_python(batch)


# --------------------------------------------------------------------------- bounds


def test_upper_bounds_match_prometheus_table() -> None:
    # getBoundExponential: schema 0 -> powers of two, schema 3 from the exponentialBounds table.
    assert H.upper_bounds(np.array([0, 1, 2, -1]), 0).tolist() == [1.0, 2.0, 4.0, 0.5]
    assert H.upper_bounds(np.array([1, 2]), 3).tolist() == [2 * 0.5452538663326288, 2 * 0.5946035575013605]
    assert H.upper_bounds(np.array([1]), 8).tolist() == [2 * 0.5013556375251013]
    # Prometheus' hard-coded table is off by a few ulps at the top of schema 8; ours is correctly rounded.
    assert H.upper_bounds(np.array([255]), 8)[0] == pytest.approx(2 * 0.9972960560854698, rel=1e-15)
    assert H.upper_bounds(np.array([1, 1]), np.array([-1, -2])).tolist() == [4.0, 16.0]
    # The last finite bucket ends at MaxFloat64, the one after it at +Inf.
    top = H.upper_bounds(np.array([1024, 1025, 512, 256 * 1024]), np.array([0, 0, -1, 8]))
    assert top.tolist() == [np.finfo(np.float64).max, math.inf, np.finfo(np.float64).max,
                            np.finfo(np.float64).max]


# --------------------------------------------------------------------------- construction


def test_python_round_trip_take_and_concatenate() -> None:
    a = hb({"schema": 1, "count": 3, "sum": 2, "zero_count": 1, "zero_threshold": 0.01, "hint": GAUGE_TYPE,
            "positive": {-1: 1, 0: 1}, "negative": {3: 0.5}},
           {"schema": CUSTOM_BUCKETS_SCHEMA, "count": 2, "custom_values": [1, 5], "positive": {2: 2}})
    b = hb({"count": 7})
    got = rows(H.concatenate([a, H.HistogramBatch.empty(), b]))
    assert got[:2] == rows(a) and got[2] == rows(b)[0]
    assert rows(a)[0]["positive"] == {-1: 1.0, 0: 1.0} and rows(a)[1]["custom_values"] == [1.0, 5.0]
    picked = H.take(H.concatenate([a, b]), np.array([2, 0, 0]))
    assert [r["count"] for r in rows(picked)] == [7.0, 3.0, 3.0]
    assert rows(picked)[1] == rows(a)[0]
    assert len(H.take(a, np.array([], dtype=np.int64))) == 0


# --------------------------------------------------------------------------- add / sub


def test_add_reduces_to_the_smaller_schema() -> None:
    a = hb({"schema": 0, "count": 3, "sum": 5, "positive": {0: 1, 1: 2}})
    b = hb({"schema": 1, "count": 2, "sum": 1, "positive": {1: 1, 2: 1, 5: 0}})
    for x, y in ((a, b), (b, a)):
        res, flags = H.add(x, y)
        r = rows(res)[0]
        # Schema-1 buckets 1 and 2 are schema-0 bucket 1; bucket 5 is schema-0 bucket 3.
        assert (r["schema"], r["count"], r["sum"], r["positive"]) == (0, 5.0, 6.0, {0: 1.0, 1: 4.0, 3: 0.0})
        assert not flags.incompatible.any() and not flags.reconciled.any() and not flags.collision.any()


def test_sub_and_negative_buckets() -> None:
    a = hb({"count": 10, "sum": 4, "zero_count": 2, "positive": {1: 4}, "negative": {0: 4}})
    b = hb({"count": 3, "sum": 1, "zero_count": 1, "positive": {2: 1}, "negative": {0: 2}})
    r = rows(H.sub(a, b)[0])[0]
    assert (r["count"], r["sum"], r["zero_count"]) == (7.0, 3.0, 1.0)
    assert r["positive"] == {1: 4.0, 2: -1.0} and r["negative"] == {0: 2.0}


def test_add_widens_the_zero_bucket() -> None:
    a = hb({"count": 5, "zero_count": 2, "zero_threshold": 1.0, "positive": {1: 3}})
    b = hb({"count": 8, "zero_count": 1, "zero_threshold": 0.001, "positive": {-1: 2, 0: 4, 1: 1}})
    # b's buckets (0.25,0.5] and (0.5,1] move into a zero bucket of width 1, in either order.
    for x, y in ((a, b), (b, a)):
        r = rows(H.add(x, y)[0])[0]
        assert (r["zero_threshold"], r["zero_count"], r["count"], r["positive"]) == (1.0, 9.0, 13.0, {1: 4.0})


def test_add_moves_threshold_out_of_a_populated_bucket() -> None:
    # A threshold of 0.7 would cut b's populated bucket (0.5, 1], so the threshold becomes 1.
    a = hb({"count": 5, "zero_count": 2, "zero_threshold": 0.7, "positive": {1: 3}})
    b = hb({"count": 8, "zero_count": 1, "zero_threshold": 0.001, "positive": {-1: 2, 0: 4, 1: 1}})
    r = rows(H.add(a, b)[0])[0]
    assert (r["zero_threshold"], r["zero_count"], r["positive"]) == (1.0, 9.0, {1: 4.0})
    # Negative buckets count towards the zero bucket the same way.
    c = hb({"count": 3, "zero_count": 0, "zero_threshold": 0.001, "negative": {0: 3}})
    r = rows(H.add(a, c)[0])[0]
    assert (r["zero_threshold"], r["zero_count"], r["negative"]) == (1.0, 5.0, {})


def test_custom_buckets_reconciled_and_incompatible() -> None:
    a = hb({"schema": -53, "count": 3, "custom_values": [5, 10], "positive": {0: 1, 2: 2}},
           {"schema": -53, "count": 3, "custom_values": [5, 10], "positive": {0: 1, 2: 2}},
           {"schema": 0, "count": 1, "positive": {0: 1}})
    b = hb({"schema": -53, "count": 1, "custom_values": [5, 11], "positive": {1: 1}},
           {"schema": -53, "count": 1, "custom_values": [5, 10], "positive": {1: 1}},
           {"schema": -53, "count": 1, "custom_values": [5], "positive": {0: 1}})
    res, flags = H.add(a, b)
    got = rows(res)
    # Intersection [5]: (-Inf,5] stays bucket 0, (5,10], (10,+Inf] and (5,11] all become (5,+Inf].
    assert (got[0]["custom_values"], got[0]["positive"], got[0]["count"]) == ([5.0], {0: 1.0, 1: 3.0}, 4.0)
    assert (got[1]["custom_values"], got[1]["positive"]) == ([5.0, 10.0], {0: 1.0, 1: 1.0, 2: 2.0})
    assert flags.reconciled.tolist() == [True, False, False]
    assert flags.incompatible.tolist() == [False, False, True]
    sub = rows(H.sub(a, b)[0])[0]
    assert sub["positive"] == {0: 1.0, 1: 1.0}


@pytest.mark.parametrize(("h", "o", "expected", "collision"), [
    (UNKNOWN_RESET, UNKNOWN_RESET, UNKNOWN_RESET, False),
    (GAUGE_TYPE, NOT_COUNTER_RESET, GAUGE_TYPE, False),
    (NOT_COUNTER_RESET, GAUGE_TYPE, GAUGE_TYPE, False),
    (UNKNOWN_RESET, NOT_COUNTER_RESET, UNKNOWN_RESET, False),
    (NOT_COUNTER_RESET, UNKNOWN_RESET, UNKNOWN_RESET, False),
    (COUNTER_RESET, NOT_COUNTER_RESET, UNKNOWN_RESET, True),
    (NOT_COUNTER_RESET, COUNTER_RESET, UNKNOWN_RESET, True),
    (NOT_COUNTER_RESET, NOT_COUNTER_RESET, NOT_COUNTER_RESET, False),
])
def test_counter_reset_hint_adjustment(h: int, o: int, expected: int, collision: bool) -> None:
    res, flags = H.add(hb({"count": 1, "hint": h}), hb({"count": 1, "hint": o}))
    assert int(res.hint[0]) == expected and bool(flags.collision[0]) is collision


# --------------------------------------------------------------------------- scale, reduce, compact


def test_scale_and_divide() -> None:
    a = hb({"count": 4, "sum": 8, "zero_count": 2, "positive": {0: 2}, "negative": {1: 0}},
           {"count": 4, "sum": 8, "positive": {0: 4}})
    s = rows(H.scale(a, np.array([0.5, -1.0])))
    assert (s[0]["count"], s[0]["zero_count"], s[0]["positive"], s[0]["hint"]) == (2.0, 1.0, {0: 1.0}, 0)
    assert (s[1]["count"], s[1]["positive"], s[1]["hint"]) == (-4.0, {0: -4.0}, GAUGE_TYPE)
    d = rows(H.divide(a, np.array([0.0, 2.0])))
    # Division by zero drops the buckets (Prometheus' Div).
    assert d[0]["count"] == math.inf and d[0]["positive"] == {} and d[0]["negative"] == {}
    assert d[1]["positive"] == {0: 2.0}


def test_reduce_schema_and_compact() -> None:
    a = hb({"schema": 2, "positive": {i: 1.0 for i in range(-4, 9)}, "negative": {5: 1, 6: 0}},
           {"schema": -53, "custom_values": [1], "positive": {0: 1}})
    r = rows(H.reduce_schema(a, np.array([0, 0])))
    # targetIdx: ((i-1) >> 2) + 1.
    assert r[0]["schema"] == 0 and r[0]["positive"] == {-1: 1.0, 0: 4.0, 1: 4.0, 2: 4.0}
    assert r[0]["negative"] == {2: 1.0}
    assert r[1] == rows(a)[1]
    c = rows(H.compact(hb({"positive": {0: 0, 1: 2, 3: 0}, "negative": {0: 0}})))[0]
    assert c["positive"] == {1: 2.0} and c["negative"] == {}


# --------------------------------------------------------------------------- group sums


def test_sum_groups_folds_in_row_order() -> None:
    a = hb({"schema": 1, "count": 1, "sum": 3.1, "positive": {1: 1}, "hint": NOT_COUNTER_RESET},
           {"schema": 0, "count": 2, "sum": 1e100, "positive": {1: 2}, "hint": NOT_COUNTER_RESET},
           {"schema": 0, "count": 3, "sum": -1e100, "positive": {2: 3}, "hint": NOT_COUNTER_RESET},
           {"schema": 1, "count": 4, "sum": 1.3, "positive": {2: 4}, "hint": NOT_COUNTER_RESET},
           {"count": 5, "sum": 5, "hint": GAUGE_TYPE},
           {"schema": -53, "count": 1, "custom_values": [1], "positive": {0: 1}})
    res, flags = H.sum_groups(a, np.array([0, 0, 0, 0, 1, 1]), 3)
    got = rows(res)
    # Kahan-Neumaier summation keeps 3.1 + 1.3 across the cancelling 1e100 terms.
    assert got[0]["sum"] == pytest.approx(4.4) and got[0]["count"] == 10.0
    assert got[0]["schema"] == 0 and got[0]["positive"] == {1: 7.0, 2: 3.0}
    assert got[0]["hint"] == NOT_COUNTER_RESET
    assert flags.incompatible.tolist() == [False, True, False]
    assert got[2]["count"] == 0.0 and got[2]["schema"] == 0
    plain = rows(H.sum_groups(a, np.array([0, 0, 0, 0, 1, 1]), 3, kahan=False)[0])
    assert plain[0]["sum"] == 1.3


@pytest.mark.parametrize(("hints", "expected", "collision"), [
    ([NOT_COUNTER_RESET, NOT_COUNTER_RESET], NOT_COUNTER_RESET, False),
    ([NOT_COUNTER_RESET, UNKNOWN_RESET, NOT_COUNTER_RESET], UNKNOWN_RESET, False),
    ([NOT_COUNTER_RESET, GAUGE_TYPE, UNKNOWN_RESET], GAUGE_TYPE, False),
    ([NOT_COUNTER_RESET, COUNTER_RESET], UNKNOWN_RESET, True),
    # A reset and a "not reset" anywhere in the group collide, even next to a gauge.
    ([GAUGE_TYPE, NOT_COUNTER_RESET, UNKNOWN_RESET, COUNTER_RESET], GAUGE_TYPE, True),
])
def test_sum_groups_hint(hints: list[int], expected: int, collision: bool) -> None:
    batch = hb(*({"count": 1, "hint": h} for h in hints))
    res, flags = H.sum_groups(batch, np.zeros(len(hints), np.int64), 1)
    assert int(res.hint[0]) == expected and bool(flags.collision[0]) is collision


def test_sum_groups_matches_pairwise_add() -> None:
    rng = np.random.default_rng(7)
    hists = [{"schema": int(rng.integers(0, 3)), "count": float(rng.integers(1, 9)),
              "sum": float(rng.normal()), "zero_count": 1.0, "zero_threshold": 0.001,
              "positive": {int(i): float(rng.integers(0, 5)) for i in rng.integers(-3, 6, 4)},
              "negative": {int(i): float(rng.integers(0, 5)) for i in rng.integers(0, 4, 2)}}
             for _ in range(12)]
    a = hb(*hists)
    groups = np.array([g % 3 for g in range(12)])
    res, _ = H.sum_groups(a, groups, 3, kahan=False)
    for g in range(3):
        members = np.flatnonzero(groups == g)
        acc = H.take(a, members[:1])
        for m in members[1:]:
            acc, _ = H.add(acc, H.take(a, np.array([m])))
        assert H.equal(H.compact(acc), H.compact(H.take(res, np.array([g]))))[0]


def test_sum_groups_with_differing_thresholds_and_custom_bounds() -> None:
    a = hb({"count": 5, "zero_count": 2, "zero_threshold": 1.0, "positive": {1: 3}},
           {"count": 8, "zero_count": 1, "zero_threshold": 0.001, "positive": {-1: 2, 0: 4, 1: 1}},
           {"schema": -53, "count": 3, "custom_values": [5, 10], "positive": {0: 1, 2: 2}},
           {"schema": -53, "count": 1, "custom_values": [5, 11], "positive": {1: 1}})
    res, flags = H.sum_groups(a, np.array([0, 0, 1, 1]), 2)
    got = rows(res)
    assert (got[0]["zero_threshold"], got[0]["zero_count"], got[0]["positive"]) == (1.0, 9.0, {1: 4.0})
    assert (got[1]["custom_values"], got[1]["positive"]) == ([5.0], {0: 1.0, 1: 3.0})
    assert flags.reconciled.tolist() == [False, True]


# --------------------------------------------------------------------------- reset detection, equality


@pytest.mark.parametrize(("prev", "cur", "reset"), [
    ({"count": 3, "positive": {0: 1, 1: 2}}, {"count": 4, "positive": {0: 1, 1: 3}}, False),
    ({"count": 3, "positive": {0: 1, 1: 2}}, {"count": 2, "positive": {0: 1, 1: 1}}, True),
    # A populated bucket disappears even though the count grows.
    ({"count": 3, "positive": {0: 1, 1: 2}}, {"count": 5, "positive": {1: 5}}, True),
    ({"count": 3, "positive": {0: 0, 1: 3}}, {"count": 5, "positive": {1: 5}}, False),
    # The hint decides without looking at the data.
    ({"count": 3}, {"count": 5, "hint": COUNTER_RESET}, True),
    ({"count": 3}, {"count": 1, "hint": NOT_COUNTER_RESET}, False),
    # Higher resolution or a narrower zero bucket can only come with a reset.
    ({"schema": 0, "count": 1}, {"schema": 1, "count": 1}, True),
    ({"count": 1, "zero_threshold": 0.5}, {"count": 1, "zero_threshold": 0.25}, True),
    # Lower resolution: previous buckets are merged first.
    ({"schema": 1, "count": 3, "positive": {1: 1, 2: 2}},
     {"schema": 0, "count": 3, "positive": {1: 3}}, False),
    # A wider zero bucket absorbs previous buckets; cutting through a populated one is a reset.
    ({"count": 3, "zero_threshold": 0.001, "positive": {0: 1, 1: 2}},
     {"count": 3, "zero_threshold": 1.0, "zero_count": 1, "positive": {1: 2}}, False),
    ({"count": 3, "zero_threshold": 0.001, "positive": {0: 1, 1: 2}},
     {"count": 3, "zero_threshold": 0.7, "zero_count": 1, "positive": {1: 2}}, True),
    ({"schema": 0, "count": 1}, {"schema": -53, "count": 1}, True),
    ({"schema": -53, "count": 3, "custom_values": [5, 10], "positive": {0: 1, 1: 2}},
     {"schema": -53, "count": 3, "custom_values": [5], "positive": {0: 1, 1: 2}}, False),
    ({"schema": -53, "count": 3, "custom_values": [5, 10], "positive": {0: 2, 1: 1}},
     {"schema": -53, "count": 3, "custom_values": [10], "positive": {0: 1, 1: 2}}, True),
])
def test_detect_reset(prev: dict, cur: dict, reset: bool) -> None:
    assert H.detect_reset(hb(prev), hb(cur)).tolist() == [reset]


def test_detect_reset_is_row_wise() -> None:
    prev = hb({"count": 3, "positive": {0: 3}}, {"count": 3, "positive": {0: 3}})
    cur = hb({"count": 4, "positive": {0: 4}}, {"count": 4, "positive": {0: 2, 1: 2}})
    assert H.detect_reset(prev, cur).tolist() == [False, True]


def test_equal_is_exact_and_structural() -> None:
    base = {"count": 3, "sum": 1, "positive": {0: 1, 1: 2}}
    a = hb(base, base, base, base, {"schema": -53, "custom_values": [1], "count": 1})
    b = hb(base, {**base, "positive": {0: 1, 1: 2, 2: 0}}, {**base, "sum": 1 + 1e-16 * 2},
           {**base, "hint": GAUGE_TYPE}, {"schema": -53, "custom_values": [2], "count": 1})
    assert H.equal(a, b).tolist() == [True, False, False, True, False]
    assert H.equal(H.compact(a), H.compact(b)).tolist()[1] is True


# --------------------------------------------------------------------------- statistics


def test_all_buckets_order_bounds_and_rules() -> None:
    a = hb({"count": 10, "zero_count": 2, "zero_threshold": 0.001, "positive": {1: 4},
            "negative": {0: 1, 1: 3}},
           {"schema": -53, "count": 3, "custom_values": [5, 10], "positive": {0: 1, 2: 2}})
    b = S.all_buckets(a)
    assert b.row.tolist() == [0, 0, 0, 0, 1, 1]
    assert b.lower.tolist() == [-2.0, -1.0, -0.001, 1.0, -math.inf, 10.0]
    assert b.upper.tolist() == [-1.0, -0.5, 0.001, 2.0, 5.0, math.inf]
    assert b.count.tolist() == [3.0, 1.0, 2.0, 4.0, 1.0, 2.0]
    assert S.boundary_rules(b).tolist() == [1, 1, 3, 0, 3, 0]
    # Buckets overlapping the zero bucket are clipped at the threshold.
    c = S.all_buckets(hb({"count": 1, "zero_threshold": 0.6, "positive": {0: 1}}))
    assert (c.lower.tolist(), c.upper.tolist()) == ([0.6], [1.0])


def test_quantile() -> None:
    a = hb({"count": 3, "sum": 5, "positive": {0: 1, 1: 2}},
           {"schema": -53, "count": 3, "sum": 20, "custom_values": [5, 10], "positive": {0: 1, 2: 2}},
           {"count": 10, "zero_count": 2, "zero_threshold": 0.001, "positive": {1: 4}, "negative": {1: 4}},
           {"count": 0},
           {"schema": -53, "count": 4, "sum": 1, "custom_values": [5, 10], "positive": {0: 2, 1: 2}},
           {"count": 15, "sum": math.nan, "positive": {0: 12}})
    # Exponential interpolation inside (1, 2]: 2 ** 0.25.
    q = S.quantile(a, np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.8]))
    assert q[0] == pytest.approx(2 ** 0.25)
    assert q[1] == 10.0  # the +Inf custom bucket returns its lower bound
    assert q[2] == pytest.approx(0.0, abs=1e-12)  # linear inside the zero bucket
    assert math.isnan(q[3])
    assert q[4] == 5.0  # first custom bucket: (0, 5] after clamping -Inf to 0
    assert q[5] == pytest.approx(1.0)
    low = S.quantile(a, 0.25)
    assert low[0] == pytest.approx(2 ** -0.25) and low[4] == pytest.approx(2.5)
    # Ranks among NaN observations yield NaN; q outside [0, 1] yields -Inf/+Inf.
    assert math.isnan(S.quantile(a, 0.9)[5])
    assert S.quantile(a, -1).tolist()[0] == -math.inf and S.quantile(a, 2).tolist()[0] == math.inf


def test_fraction() -> None:
    a = hb({"count": 3, "sum": 5, "positive": {0: 1, 1: 2}},
           {"schema": -53, "count": 4, "sum": 1, "custom_values": [5, 10], "positive": {0: 2, 1: 2}},
           {"count": 15, "sum": math.nan, "positive": {0: 12}})
    f = S.fraction(a, np.array([0.0, 0.0, -math.inf]), np.array([1.5, 7.5, math.inf]))
    assert f[0] == pytest.approx((1 + 2 * math.log2(1.5)) / 3)
    assert f[1] == pytest.approx((2 + 1) / 4)  # (0, 5] fully, half of (5, 10]
    assert f[2] == pytest.approx(0.8)  # NaN observations are in no fraction
    assert S.fraction(a, 2.0, 1.0).tolist() == [0.0, 0.0, 0.0]
    # No interpolation in the infinite-width first and last custom buckets (classic le="-3", -2, -1, +Inf).
    nhcb = hb({"schema": -53, "count": 100, "custom_values": [-3, -2, -1],
               "positive": {0: 10, 1: 2, 2: 3, 3: 85}})
    assert S.fraction(nhcb, -4.0, -2.0)[0] == pytest.approx(0.02)
    assert S.fraction(nhcb, 0.0, 1.0)[0] == 0.0 and S.fraction(nhcb, 0.0, math.inf)[0] == pytest.approx(0.85)
    assert math.isnan(S.fraction(hb({"count": 0}), 0.0, 1.0)[0])


def test_stdvar_and_stddev() -> None:
    a = hb({"count": 3, "sum": 5, "positive": {0: 1, 1: 2}},
           {"schema": -53, "count": 2, "sum": 15, "custom_values": [5, 10, 20], "positive": {1: 1, 2: 1}})
    mean = 5 / 3
    expected0 = (1 * (math.sqrt(0.5) - mean) ** 2 + 2 * (math.sqrt(2) - mean) ** 2) / 3
    expected1 = ((7.5 - 7.5) ** 2 + (15 - 7.5) ** 2) / 2
    assert S.stdvar(a) == pytest.approx([expected0, expected1])
    assert S.stddev(a) == pytest.approx([math.sqrt(expected0), math.sqrt(expected1)])


def test_vectorized_paths_scale() -> None:
    # 20k histograms through add/sum/quantile: array work, no per-histogram Python objects.
    n = 20_000
    per = 20
    a = H.HistogramBatch(
        schema=np.zeros(n, np.int8), count=np.full(n, float(per)), sum=np.ones(n), zero_count=np.zeros(n),
        zero_threshold=np.full(n, 0.001), hint=np.zeros(n, np.uint8),
        pos_offsets=np.arange(0, n * per + 1, per, dtype=np.int64),
        pos_index=np.tile(np.arange(per, dtype=np.int32), n), pos_count=np.ones(n * per),
        neg_offsets=np.zeros(n + 1, np.int64), neg_index=np.zeros(0, np.int32), neg_count=np.zeros(0),
        custom_offsets=np.zeros(n + 1, np.int64), custom_values=np.zeros(0))
    res, _ = H.add(a, a)
    assert res.pos_count.sum() == 2 * n * per
    g, _ = H.sum_groups(a, np.arange(n) % 100, 100)
    assert g.count.tolist() == [n / 100 * per] * 100
    assert np.all(S.quantile(a, 0.5) == 2 ** 9)


# --------------------------------------------------------------------------- reference cross-check


def _ref_buckets(h: dict) -> list[tuple[float, float, float]]:
    """AllBucketIterator of one histogram, written out plainly: (lower, upper, count) ascending."""
    base = 2.0 ** (2.0 ** -h["schema"])
    thr = h["zero_threshold"]
    neg = sorted(h["negative"].items(), reverse=True)
    out = [(-base ** i, -thr if -thr < -base ** (i - 1) < 0 else -base ** (i - 1), c) for i, c in neg]
    if h["zero_count"] > 0:
        out.append((-thr, thr, h["zero_count"]))
    for i, c in sorted(h["positive"].items()):
        lo, up = base ** (i - 1), base ** i
        out.append((thr if 0 < lo < thr else lo, up, c))
    return out


def _ref_quantile(q: float, h: dict) -> float:
    buckets = _ref_buckets(h)
    walk = buckets if q < 0.5 else buckets[::-1]
    rank = q * h["count"] if q < 0.5 else (1 - q) * h["count"]
    count = 0.0
    chosen = (0.0, 0.0, 0.0)
    for bucket in walk:
        chosen = bucket
        if bucket[2] == 0:
            continue
        count += bucket[2]
        if count >= rank:
            break
    lo, up, bc = chosen
    if lo < 0 < up:
        if not h["negative"] and h["positive"]:
            lo = 0.0
        elif not h["positive"] and h["negative"]:
            up = 0.0
    count = min(count, h["count"])
    rank = rank - (count - bc) if q < 0.5 else count - rank
    f = rank / bc
    if lo <= 0 <= up:
        return lo + (up - lo) * f
    if lo > 0:
        return 2 ** (math.log2(lo) + (math.log2(up) - math.log2(lo)) * f)
    return -(2 ** (math.log2(-up) + (math.log2(-lo) - math.log2(-up)) * (1 - f)))


def _random_hists(seed: int, n: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        width = 60 if k == 0 else int(rng.integers(1, 6))  # one wide histogram among narrow ones
        pos = {int(i): float(rng.integers(0, 9)) for i in rng.integers(-4, 40, width)}
        neg = {int(i): float(rng.integers(0, 9)) for i in rng.integers(-4, 10, int(rng.integers(0, 3)))}
        zc = float(rng.integers(0, 3))
        count = zc + sum(pos.values()) + sum(neg.values())
        if count == 0:
            pos[0], count = 1.0, count + 1
        out.append({"schema": int(rng.integers(0, 3)), "count": count, "sum": float(rng.normal()),
                    "zero_count": zc, "zero_threshold": 0.001, "positive": pos, "negative": neg})
    return out


def test_quantile_and_stdvar_match_a_plain_reference() -> None:
    hists = _random_hists(11, 40)
    a = hb(*hists)
    for q in (0.1, 0.5, 0.9):
        got = S.quantile(a, q)
        assert got == pytest.approx([_ref_quantile(q, h) for h in hists], rel=1e-9)
    expected = []
    for h in hists:
        mean = h["sum"] / h["count"]
        var = 0.0
        for lo, up, c in _ref_buckets(h):
            if c:
                v = 0.0 if lo <= 0 <= up else math.copysign(math.sqrt(lo * up), up)
                var += c * (v - mean) ** 2
        expected.append(var / h["count"])
    assert S.stdvar(a) == pytest.approx(expected, rel=1e-9)


def test_results_keep_the_contract_dtypes() -> None:
    a = hb({"schema": 1, "count": 3, "positive": {1: 1, 2: 2}, "negative": {0: 1}, "zero_threshold": 0.1,
            "zero_count": 1},
           {"schema": -53, "custom_values": [1, 2], "positive": {0: 1}})
    b = hb({"schema": 0, "count": 3, "positive": {1: 1}, "zero_threshold": 0.5},
           {"schema": -53, "custom_values": [1, 3], "positive": {2: 1}})
    results = [H.add(a, b)[0], H.sub(a, b)[0], H.scale(a, 2.0), H.divide(a, np.array([0.0, 2.0])),
               H.sum_groups(H.concatenate([a, b]), np.array([0, 1, 0, 1]), 2)[0], H.reduce_schema(a, 0),
               H.compact(a), H.take(a, np.array([1])), H.with_hint(a, GAUGE_TYPE)]
    for res in results:
        for name in HistogramBatch.__dataclass_fields__:
            assert getattr(res, name).dtype == getattr(a, name).dtype, name
