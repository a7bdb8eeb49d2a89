"""The PromQL engine over native histograms: selectors, functions, aggregations, operators.

Data comes from a small in-memory querier so that these tests exercise the engine alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from watchkeeper.model import histogram_ops as hops
from watchkeeper.model.batch import SeriesSet
from watchkeeper.model.histogram import COUNTER_RESET, GAUGE_TYPE, NOT_COUNTER_RESET
from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine, QueryResult

MIN = 60_000


def _h(count: float, sum_: float, positive: dict[int, float], **kw: object) -> dict[str, object]:
    return {"schema": 0, "count": count, "sum": sum_, "positive": positive, **kw}


class _Querier:
    """Series given as {labels: [(t, float | histogram dict), ...]}."""

    def __init__(self, series: dict[Labels, list[tuple[int, object]]]) -> None:
        self.series = series

    def select(self, matchers, mint, maxt):  # noqa: ANN001, ANN201 - the Querier protocol
        labels, offsets, ts, vs, hidx, hists = [], [0], [], [], [], []
        for lbl in sorted(self.series, key=lambda x: x.items):
            if not all(m.matches_labels(lbl) for m in matchers):
                continue
            points = [(t, v) for t, v in self.series[lbl] if mint <= t <= maxt]
            if not points:
                continue
            labels.append(lbl)
            for t, v in points:
                ts.append(t)
                if isinstance(v, dict):
                    vs.append(math.nan)
                    hidx.append(len(hists))
                    hists.append(v)
                else:
                    vs.append(float(v))
                    hidx.append(-1)
            offsets.append(len(ts))
        ss = SeriesSet(labels, np.array(offsets, np.int64), np.array(ts, np.int64), np.array(vs))
        if hists:
            ss.h, ss.h_index = hops.from_python(hists), np.array(hidx, np.int64)
        return ss

    def label_names(self, matchers, mint, maxt):  # noqa: ANN001, ANN201
        return []

    def label_values(self, name, matchers, mint, maxt):  # noqa: ANN001, ANN201
        return []


def _lbl(name: str, **kw: str) -> Labels:
    return Labels({"__name__": name, **kw})


# A counter histogram with a reset at 4m, a gauge histogram, a float series and a mixed series.
COUNTER = [(i * MIN, _h(4 + 2 * i, 5 + i, {0: 1 + i, 1: 3 + i})) for i in range(4)] + [
    (4 * MIN, _h(2, 1, {0: 1, 1: 1})), (5 * MIN, _h(4, 2, {0: 2, 1: 2}))]
DATA = {
    _lbl("req", job="a"): COUNTER,
    _lbl("req", job="b"): [(i * MIN, _h(2, 2, {1: 2})) for i in range(6)],
    _lbl("gauge_h"): [(i * MIN, _h(3, 3, {0: 3}, hint=GAUGE_TYPE)) for i in range(6)],
    _lbl("plain", job="a"): [(i * MIN, float(i)) for i in range(6)],
    _lbl("mixed"): [(0, 1.0), (MIN, 2.0), (2 * MIN, _h(1, 1, {0: 1})), (3 * MIN, _h(2, 2, {0: 2}))],
}


def _run(query: str, t: int = 3 * MIN) -> QueryResult:
    return Engine(enable_experimental=True).instant_query(_Querier(DATA), query, t)


def _samples(res: QueryResult) -> dict[str, object]:
    """{labels text: float or histogram dict} of an instant vector result."""
    ss = res.series
    assert ss is not None
    out: dict[str, object] = {}
    for i, lbl in enumerate(ss.labels):
        k = int(ss.offsets[i])
        if ss.h is not None and ss.h_index is not None and ss.h_index[k] >= 0:
            d = hops.to_python(hops.compact(hops.take(ss.h, np.array([ss.h_index[k]]))))[0]
            out[str(lbl)] = d
        else:
            out[str(lbl)] = float(ss.v[k])
    return out


def test_selector_returns_histograms_and_floats() -> None:
    got = _samples(_run('{__name__=~"req|plain"}'))
    assert got['plain{job="a"}'] == 3.0
    h = got['req{job="a"}']
    assert isinstance(h, dict) and h["count"] == 10 and h["positive"] == {0: 4.0, 1: 6.0}


def test_range_query_matrix_carries_histograms() -> None:
    res = Engine().range_query(_Querier(DATA), 'req{job="b"}', 0, 2 * MIN, MIN)
    ss = res.series
    assert res.result_type == "matrix" and ss is not None and ss.h is not None and ss.h_index is not None
    assert ss.t.tolist() == [0, MIN, 2 * MIN]
    assert hops.take(ss.h, ss.h_index).count.tolist() == [2, 2, 2]


@pytest.mark.parametrize(("query", "expected"), [
    ('histogram_count(req{job="a"})', 10.0),
    ('histogram_sum(req{job="a"})', 8.0),
    ('histogram_avg(req{job="a"})', 0.8),
    ('histogram_fraction(0, 1, req{job="a"})', 0.4),
    ('histogram_quantile(0.5, req{job="b"})', 2 ** 0.5),  # all in (1, 2]: the geometric middle
    ('histogram_stdvar(req{job="b"})', (math.sqrt(2) - 1) ** 2),
])
def test_histogram_functions(query: str, expected: float) -> None:
    got = _samples(_run(query))
    assert list(got) == ['{job="a"}'] or list(got) == ['{job="b"}']
    assert next(iter(got.values())) == pytest.approx(expected)


def test_rate_and_increase_handle_counter_resets() -> None:
    # Samples 0..5m; increase over (0, 5m] sees 1m..5m: 6 -> 10, reset, 2 -> 4: 4 + 4 = 8 in 4m,
    # extrapolated to the 5m window by 5/4 at most (the first sample is 1m from the start).
    got = _samples(_run('increase(req{job="a"}[5m])', 5 * MIN))
    h = got['{job="a"}']
    assert isinstance(h, dict)
    assert h["hint"] == GAUGE_TYPE and h["count"] == pytest.approx(8 * 5 / 4)
    rate = _samples(_run('rate(req{job="a"}[5m])', 5 * MIN))['{job="a"}']
    assert isinstance(rate, dict) and rate["count"] == pytest.approx(8 * 5 / 4 / 300)


def test_rate_of_gauge_histogram_warns_and_mixed_window_is_dropped() -> None:
    res = _run("rate(gauge_h[5m])", 5 * MIN)
    assert any("not a counter" in w for w in res.annotations.warnings)
    res = _run("rate(mixed[5m])")
    assert _samples(res) == {}
    assert res.annotations.warnings == [
        'PromQL warning: encountered a mix of histograms and floats for metric name "mixed" (1:6)']


def test_idelta_on_counter_warns_not_gauge() -> None:
    res = _run('idelta(req{job="b"}[5m])')
    assert any("not a gauge" in w for w in res.annotations.warnings)
    assert _samples(res)['{job="b"}']["count"] == 0  # type: ignore[index]


@pytest.mark.parametrize(("query", "count"), [
    ('sum_over_time(req{job="b"}[3m])', 6.0), ('avg_over_time(req{job="b"}[3m])', 2.0),
    ('last_over_time(req{job="b"}[3m])', 2.0),
])
def test_over_time_on_histograms(query: str, count: float) -> None:
    got = _samples(_run(query))
    h = next(iter(got.values()))
    assert isinstance(h, dict) and h["count"] == pytest.approx(count)


def test_float_only_range_functions_ignore_histograms_with_info() -> None:
    res = _run("max_over_time(mixed[5m])")
    assert _samples(res) == {"{}": 2.0}
    assert res.annotations.infos and "ignored histograms in a range" in res.annotations.infos[0]
    assert _samples(_run("count_over_time(mixed[5m])")) == {"{}": 4.0}


def test_changes_and_resets_count_histogram_transitions() -> None:
    assert _samples(_run("changes(mixed[5m])")) == {"{}": 3.0}
    assert _samples(_run('resets(req{job="a"}[10m])', 5 * MIN)) == {'{job="a"}': 1.0}


def test_sum_and_avg_add_histograms() -> None:
    got = _samples(_run("sum(req)"))
    assert isinstance(got["{}"], dict) and got["{}"]["count"] == 12
    got = _samples(_run("avg(req)"))
    assert got["{}"]["positive"] == {0: 2.0, 1: 4.0}  # type: ignore[index]


def test_sum_of_floats_and_histograms_warns_and_drops_the_group() -> None:
    res = _run('sum({__name__=~"req|plain"})')
    assert _samples(res) == {}
    assert res.annotations.warnings == [
        "PromQL warning: encountered a mix of histograms and floats for aggregation (1:5)"]


def test_max_and_topk_ignore_histograms_count_counts_them() -> None:
    res = _run('max({__name__=~"req|plain"})')
    assert _samples(res) == {"{}": 3.0}
    assert res.annotations.infos == ["PromQL info: ignored histogram in max aggregation (1:5)"]
    assert _samples(_run('count({__name__=~"req|plain"})')) == {"{}": 3.0}
    got = _samples(_run("limitk(1, req)"))
    assert isinstance(next(iter(got.values())), dict)


def test_count_values_uses_histogram_text() -> None:
    got = _samples(_run('count_values("v", req{job="b"})'))
    assert got == {'{v="{count:2, sum:2, (1,2]:2}"}': 1.0}


@pytest.mark.parametrize(("query", "count"), [
    ('req{job="b"} * 3', 6.0), ('3 * req{job="b"}', 6.0), ('req{job="b"} / 2', 1.0),
    ('req{job="a"} + req{job="a"}', 20.0), ('req{job="a"} - ignoring(job) req{job="b"}', 8.0),
])
def test_arithmetic_on_histograms(query: str, count: float) -> None:
    h = next(iter(_samples(_run(query)).values()))
    assert isinstance(h, dict) and h["count"] == pytest.approx(count)


def test_subtraction_makes_gauges_and_unsupported_operators_drop_with_info() -> None:
    h = next(iter(_samples(_run('req{job="a"} - req{job="a"}')).values()))
    assert h["hint"] == GAUGE_TYPE  # type: ignore[index]
    res = _run('req{job="b"} > 1')
    assert _samples(res) == {}
    assert res.annotations.infos == [
        'PromQL info: incompatible sample types encountered for binary operator ">": histogram > float (1:1)']


def test_histogram_equality_filters_and_bool() -> None:
    assert list(_samples(_run('req{job="b"} == req{job="b"}'))) == ['req{job="b"}']
    assert _samples(_run('req{job="b"} != bool req{job="b"}')) == {'{job="b"}': 0.0}


def test_unary_minus_and_trim() -> None:
    h = next(iter(_samples(_run('-req{job="b"}')).values()))
    assert h["count"] == -2 and h["hint"] == GAUGE_TYPE  # type: ignore[index]
    # (1, 2] trimmed above sqrt(2): exponential interpolation keeps half.
    h = next(iter(_samples(_run('req{job="b"} </ 1.4142135623730951')).values()))
    assert h["count"] == pytest.approx(1.0)


def test_functions_without_histogram_support_drop_them() -> None:
    assert _samples(_run('abs({__name__=~"req|plain"})')) == {'{job="a"}': 3.0}
    assert _samples(_run('timestamp(req{job="b"})')) == {'{job="b"}': 180.0}
    got = _samples(_run('label_replace(req{job="b"}, "x", "y", "", "")'))
    assert isinstance(got['req{job="b", x="y"}'], dict)


def test_subquery_counts_a_repeated_reset_once() -> None:
    series = {_lbl("c"): [(0, _h(10, 10, {0: 10})), (MIN, _h(3, 3, {0: 3}, hint=COUNTER_RESET)),
                          (2 * MIN, _h(6, 6, {0: 6}))]}
    res = Engine().instant_query(_Querier(series), "increase(c[2m:15s])", 2 * MIN)
    h = next(iter(_samples(res).values()))
    # 10 -> reset to 3 -> 6 over the 8 inner steps: 6, extrapolated by 8/7 windows of 15 s.
    assert isinstance(h, dict) and h["count"] == pytest.approx(6 * 8 / 7)


def test_subquery_ignores_stored_not_reset_hints() -> None:
    # A reset only in a bucket, hidden between two subquery steps: the stored not_reset hint of
    # the later sample refers to its stored predecessor, not to the step before (Prometheus 15987).
    series = {_lbl("c"): [(0, _h(1, 1, {0: 1})), (MIN, _h(1, 1, {1: 1})),
                          (2 * MIN, _h(1, 1, {1: 1}, hint=NOT_COUNTER_RESET))]}
    res = Engine().instant_query(_Querier(series), "resets(c[3m:2m])", 2 * MIN)
    assert _samples(res) == {"{}": 1.0}


def test_anchored_and_smoothed_ranges_over_histograms() -> None:
    series = {_lbl("hc"): [(i * 15_000, _h(1 + i, 1 + i, {1: 1 + i})) for i in range(8)]}
    engine = Engine(enable_experimental=True)

    def count(query: str, t: int) -> float:
        res = engine.instant_query(_Querier(series), query, t)
        return float(next(iter(_samples(res).values()))["count"])  # type: ignore[index]
    assert count("increase(hc[1m] anchored)", 50_000) == pytest.approx(3.0)
    assert count("increase(hc[1m] smoothed)", 50_000) == pytest.approx(10 / 3)
    assert count("increase(hc[1m] smoothed)", 0) == 0.0  # the only sample sits at the range end
    assert count("hc smoothed", 7_000) == pytest.approx(1 + 7 / 15)


def test_trim_custom_buckets_interpolates_linearly() -> None:
    cbh = {"schema": -53, "count": 15, "sum": 172.5, "custom_values": [5.0, 10.0, 15.0, 20.0],
           "positive": {0: 1, 1: 6, 2: 4, 3: 3, 4: 1}}
    engine = Engine(enable_experimental=True)
    res = engine.instant_query(_Querier({_lbl("cbh"): [(0, cbh)]}), "cbh </ 13", 0)
    h = next(iter(_samples(res).values()))
    assert isinstance(h, dict)
    assert h["count"] == pytest.approx(9.4) and h["sum"] == pytest.approx(75.1)
    assert h["positive"] == pytest.approx({0: 1.0, 1: 6.0, 2: 2.4})


def test_histogram_count_reads_selectors_with_detected_reset_hints() -> None:
    series = {_lbl("r", s="late"): [(0, _h(3, 1, {0: 3})), (MIN, _h(2, 1, {0: 2}))],
              _lbl("r", s="early"): [(0, _h(2, 1, {0: 2})), (MIN, _h(3, 1, {0: 3}))]}
    res = Engine().instant_query(_Querier(series), "histogram_count(sum(r))", MIN)
    assert _samples(res) == {"{}": 5.0}
    assert res.annotations.warnings == [
        "PromQL warning: conflicting counter resets during histogram aggregation (1:21)"]
    # Read with buckets (no histogram_count around it), the stored unknown hints stay: no conflict.
    assert Engine().instant_query(_Querier(series), "sum(r)", MIN).annotations.warnings == []
