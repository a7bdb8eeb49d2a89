"""PromQL functions on hand-made windows and vectors; expected values mostly from Prometheus'
``functions.test`` (the same data evaluated the same way)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from watchkeeper.gocompat.regexp import expand
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.promql import ast
from watchkeeper.promql.errors import ExecutionError
from watchkeeper.promql.functions import FUNCTIONS, FuncCall
from watchkeeper.promql.functions.base import format_position, go_format_g
from watchkeeper.promql.functions.misc import natural_less
from watchkeeper.promql.values import Annotations, InstantVectors, RangeWindows, Scalar, String


def windows(series: dict[str, list[tuple[int, float]]], eval_t: list[int], range_ms: int,
            offset_ms: int = 0) -> RangeWindows:
    """RangeWindows for samples given as {labels text: [(t_ms, value), ...]}."""
    labels, ts, vs, offsets = [], [], [], [0]
    for text, samples in series.items():
        labels.append(_labels(text))
        ts += [t for t, _ in samples]
        vs += [v for _, v in samples]
        offsets.append(len(ts))
    t = np.array(ts, dtype=np.int64)
    ends = np.array(eval_t, dtype=np.int64) - offset_ms
    lo = np.zeros((len(labels), len(eval_t)), dtype=np.int64)
    hi = np.zeros_like(lo)
    for i in range(len(labels)):
        a, b = offsets[i], offsets[i + 1]
        lo[i] = a + np.searchsorted(t[a:b], ends - range_ms, side="right")
        hi[i] = a + np.searchsorted(t[a:b], ends, side="right")
    return RangeWindows(labels, t, np.array(vs, dtype=np.float64), np.array(offsets, dtype=np.int64),
                        lo, hi, ends, range_ms)


def _labels(text: str) -> Labels:
    name, _, rest = text.partition("{")
    pairs = {}
    for part in filter(None, rest.rstrip("}").split(",")):
        k, _, v = part.partition("=")
        pairs[k.strip()] = v.strip().strip('"')
    if name:
        pairs["__name__"] = name
    return Labels(pairs)


def vectors(series: dict[str, list[float | None]]) -> InstantVectors:
    labels = [_labels(k) for k in series]
    vals = np.array([[np.nan if x is None else x for x in row] for row in series.values()], dtype=np.float64)
    present = np.array([[x is not None for x in row] for row in series.values()], dtype=bool)
    return InstantVectors(labels, vals, present)


def call(name: str, args: list, eval_t: list[int], exprs: list[ast.Expr] | None = None,
         query: str = "") -> tuple[object, Annotations]:
    annotations = Annotations()
    exprs = exprs or [ast.NumberLiteral(0.0, pos=(0, 0)) for _ in args]
    fc = FuncCall(name=name, args=args, exprs=exprs, eval_ts=np.array(eval_t, dtype=np.int64),
                  annotations=annotations, querier=None, lookback_ms=300_000, pos=(0, len(query)),
                  query=query)
    return FUNCTIONS[name](fc), annotations


def result_map(out: InstantVectors, step: int = 0) -> dict[str, float]:
    return {str(lbl.without_name() if d else lbl): float(out.values[i, step])
            for i, (lbl, d) in enumerate(zip(out.labels, out.drop_name_mask(), strict=True))
            if out.present[i, step]}


def assert_close(got: float, want: float) -> None:
    if math.isnan(want):
        assert math.isnan(got), got
    else:
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (got, want)


# http_requests{...} 0+10x10 etc. at 5m steps, as in functions.test's rate section.
def _counter(step_ms: int, values: list[float]) -> list[tuple[int, float]]:
    return [(i * step_ms, v) for i, v in enumerate(values)]


MIN = 60_000


def test_rate_increase_delta_extrapolation() -> None:
    # functions.test: load 5m http_requests_total{path="/foo"} 0+10x10, {path="/bar"} 0+18x5 0+18x5,
    # {path="/dings"} 10+10x10, {path="/bumms"} 1+10x10
    data = {
        'http_requests_total{path="/foo"}': _counter(5 * MIN, [10 * i for i in range(11)]),
        'http_requests_total{path="/bar"}': _counter(5 * MIN, [18 * i for i in range(6)] * 2),
        'http_requests_total{path="/dings"}': _counter(5 * MIN, [10 + 10 * i for i in range(11)]),
        'http_requests_total{path="/bumms"}': _counter(5 * MIN, [1 + 10 * i for i in range(11)]),
    }
    out, _ = call("increase", [windows(data, [50 * MIN], 50 * MIN)], [50 * MIN])
    got = result_map(out)
    assert_close(got['{path="/foo"}'], 100)
    assert_close(got['{path="/bar"}'], 160)
    out, _ = call("increase", [windows(data, [50 * MIN], 100 * MIN)], [50 * MIN])
    got = result_map(out)
    for path, want in [("/foo", 100), ("/bar", 162), ("/dings", 105), ("/bumms", 101)]:
        assert_close(got[f'{{path="{path}"}}'], want)
    out, _ = call("rate", [windows(data, [50 * MIN], 50 * MIN)], [50 * MIN])
    assert_close(result_map(out)['{path="/foo"}'], 100 / 3000)
    out, _ = call("delta", [windows(data, [50 * MIN], 50 * MIN)], [50 * MIN])
    # delta: no counter handling and no zero clamp: 90 extrapolated over 3000s / 2700s.
    assert_close(result_map(out)['{path="/foo"}'], 100)


def test_rate_needs_two_samples_and_zero_clamp() -> None:
    # A counter starting at 0 is not extrapolated below zero.
    rw = windows({"x_total": [(60_000, 0.0), (120_000, 10.0)], "y_total": [(60_000, 5.0)]},
                 [150_000], 120_000)
    out, _ = call("increase", [rw], [150_000])
    got = result_map(out)
    assert list(got) == ["{}"] or len(got) == 1
    # durationToStart 30s clamps to the zero point at 60s (value 0): 10 * (60+0+30)/60 = 15.
    assert_close(got["{}"], 15.0)


def test_rate_info_for_non_counter_names() -> None:
    rw = windows({"foo": _counter(MIN, [1, 2, 3])}, [3 * MIN], 5 * MIN)
    expr = ast.MatrixSelector(ast.VectorSelector("foo", []), 5 * MIN, pos=(5, 12))
    _, annos = call("rate", [rw], [3 * MIN], exprs=[expr], query="rate(foo[5m])")
    assert annos.infos == ['PromQL info: metric might not be a counter, name does not end in '
                           '_total/_sum/_count/_bucket: "foo" (1:6)']


def test_irate_idelta_and_resets_changes() -> None:
    rw = windows({"c_total": _counter(MIN, [1, 3, 10, 2, 2, 7])}, [5 * MIN], 10 * MIN)
    out, _ = call("irate", [rw], [5 * MIN])
    assert_close(out.values[0, 0], 5 / 60)
    out, _ = call("idelta", [rw], [5 * MIN])
    assert_close(out.values[0, 0], 5)
    out, _ = call("resets", [rw], [5 * MIN])
    assert out.values[0, 0] == 1
    out, _ = call("changes", [rw], [5 * MIN])
    assert out.values[0, 0] == 4
    # irate across a reset uses the value after the reset.
    rw2 = windows({"c_total": _counter(MIN, [10, 4])}, [MIN], 5 * MIN)
    out, _ = call("irate", [rw2], [MIN])
    assert_close(out.values[0, 0], 4 / 60)


def test_rate_with_counter_reset_in_window() -> None:
    rw = windows({"c_total": _counter(MIN, [0, 10, 20, 5, 15])}, [4 * MIN], 4 * MIN + 1)
    out, _ = call("increase", [rw], [4 * MIN])
    # Raw increase: 15 - 0 + 20 = 35 over 4m of samples, window 4m+1ms, start at 0 (zero clamp).
    assert_close(out.values[0, 0], 35 * (240 + 0 + 0) / 240)


def test_deriv_and_predict_linear() -> None:
    # functions.test: testcounter_reset_middle 0+10x4 0+10x5 ... simpler: a perfect line.
    rw = windows({"m": _counter(MIN, [10 * i for i in range(11)])}, [10 * MIN], 10 * MIN + 1)
    out, _ = call("deriv", [rw], [10 * MIN])
    assert_close(out.values[0, 0], 10 / 60)
    out, _ = call("predict_linear", [rw, Scalar(np.array([3600.0]))], [10 * MIN])
    assert_close(out.values[0, 0], 100 + 3600 * 10 / 60)
    # Constant values: slope 0; infinite constant values: NaN.
    rw = windows({"a": _counter(MIN, [3, 3, 3]), "b": _counter(MIN, [math.inf] * 3)}, [2 * MIN], 5 * MIN)
    out, _ = call("deriv", [rw], [2 * MIN])
    assert out.values[0, 0] == 0
    assert math.isnan(out.values[1, 0])


@pytest.mark.parametrize("name,values,want", [
    ("avg_over_time", [1, 2, 3, 4, 5], 3),
    ("avg_over_time", [1, 2, 3, 4, math.inf], math.inf),
    ("avg_over_time", [1, 2, 3, math.inf, -math.inf], math.nan),
    ("avg_over_time", [9.988465674311579e+307, 9.988465674311579e+307], 9.988465674311579e+307),
    ("avg_over_time", [-9.988465674311579e+307] * 3, -9.988465674311579e+307),
    ("avg_over_time", [1, 1e100, 1, -1e100], 0.5),
    ("avg_over_time", [1e10, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6], 1.6666666666666675e+09),
    ("avg_over_time", [1.78264E+50, 0.76342771, 1.9592258, 2.258E+220, 7.69805412, 458.90154],
     3.76333333333333E+219),
    ("sum_over_time", [1, 1e100, 1, -1e100], 2),
    ("sum_over_time", [9.988465674311579e+307, 9.988465674311579e+307], math.inf),
    ("count_over_time", [1, 2, 3], 3),
    ("max_over_time", [math.nan, 1, math.nan, 3, 2], 3),
    ("min_over_time", [math.nan, 1, math.nan, -3, 2], -3),
    ("max_over_time", [math.nan, math.nan], math.nan),
    ("last_over_time", [1, 2, 7], 7),
    ("first_over_time", [4, 2, 7], 4),
    ("stdvar_over_time", [2, 4, 4, 4, 5, 5, 7, 9], 4),
    ("stddev_over_time", [2, 4, 4, 4, 5, 5, 7, 9], 2),
    ("stddev_over_time", [1.5990505637277868, 1.5990505637277868, 1.5990505637277868], 0),
    ("mad_over_time", [4, 6, 2, 1, 999, 1, 2], 1),
    ("mad_over_time", [1, math.nan, 3], math.nan),
    ("present_over_time", [5, 6], 1),
])
def test_over_time(name: str, values: list[float], want: float) -> None:
    rw = windows({"m": _counter(10_000, values)}, [len(values) * 10_000], 10 * MIN)
    out, _ = call(name, [rw], [len(values) * 10_000])
    assert_close(out.values[0, 0], want)
    assert out.drop_name_mask()[0] == (name not in ("last_over_time", "first_over_time"))


def test_over_time_across_steps_and_empty_windows() -> None:
    rw = windows({"m": _counter(10_000, [1, 2, 3, 4, 5]), "n": _counter(10_000, [7])},
                 [0, 20_000, 40_000, 100_000], 20_000)
    out, _ = call("sum_over_time", [rw], [0, 20_000, 40_000, 100_000])
    assert out.present.tolist() == [[True, True, True, False], [True, False, False, False]]
    assert out.values[0, :3].tolist() == [1, 5, 9]
    out, _ = call("count_over_time", [rw], [0, 20_000, 40_000, 100_000])
    assert out.values[0, :3].tolist() == [1, 2, 2]


def test_ts_of_functions() -> None:
    rw = windows({"m": [(10_053, 1.0), (20_106, 3.0), (30_159, 3.0), (40_212, 2.0)]}, [90_000], 90_000)
    for name, want in [("ts_of_max_over_time", 30.159), ("ts_of_min_over_time", 10.053),
                       ("ts_of_last_over_time", 40.212), ("ts_of_first_over_time", 10.053)]:
        out, _ = call(name, [rw], [90_000])
        assert_close(out.values[0, 0], want)


@pytest.mark.parametrize("q,want", [(0, 0), (0.5, 1), (0.75, 2.5), (0.8, 2.8), (1, 4), (-1, -math.inf),
                                    (2, math.inf)])
def test_quantile_over_time(q: float, want: float) -> None:
    # data{test="uneven samples"} 0 1 4
    rw = windows({"data": _counter(10_000, [0, 1, 4])}, [60_000], 120_000)
    out, annos = call("quantile_over_time", [Scalar(np.array([q])), rw], [60_000])
    assert_close(out.values[0, 0], want)
    assert bool(annos.warnings) == (q < 0 or q > 1)


def test_quantile_over_time_nan_first() -> None:
    rw = windows({"data": _counter(10_000, [math.nan, 1, 2])}, [60_000], 120_000)
    out, _ = call("quantile_over_time", [Scalar(np.array([0.0])), rw], [60_000])
    assert math.isnan(out.values[0, 0])
    out, _ = call("quantile_over_time", [Scalar(np.array([1.0])), rw], [60_000])
    assert out.values[0, 0] == 2


def test_absent_and_absent_over_time_labels() -> None:
    sel = ast.VectorSelector("nonexistent", [
        Matcher(MatchType.EQUAL, "__name__", "nonexistent"), Matcher(MatchType.EQUAL, "job", "testjob"),
        Matcher(MatchType.EQUAL, "job", "testjob2"), Matcher(MatchType.EQUAL, "foo", "bar"),
        Matcher(MatchType.REGEX, "method", ".x")])
    empty = InstantVectors([], np.zeros((0, 1)), np.zeros((0, 1), dtype=bool))
    out, _ = call("absent", [empty], [0], exprs=[sel])
    assert result_map(out) == {'{foo="bar"}': 1.0}
    present = vectors({'up{job="a"}': [1.0]})
    out, _ = call("absent", [present], [0], exprs=[sel])
    assert not out.labels
    rw = windows({}, [0, MIN], MIN)
    out, _ = call("absent_over_time", [rw], [0, MIN],
                  exprs=[ast.MatrixSelector(sel, MIN)])
    assert out.present.tolist() == [[True, True]]


def test_elementwise_math() -> None:
    vec = vectors({'x{a="1"}': [-2.5], 'x{a="2"}': [0.4]})
    expect = {"abs": [2.5, 0.4], "ceil": [-2.0, 1.0], "floor": [-3.0, 0.0], "sgn": [-1.0, 1.0]}
    for name, want in expect.items():
        out, _ = call(name, [vec], [0])
        assert out.values[:, 0].tolist() == want
        assert out.drop_name_mask().all()
    out, _ = call("round", [vectors({"x": [2.5, -2.5, 1.25]}), Scalar(np.array([1.0, 1.0, 0.1]))], [0, 1, 2])
    assert out.values[0].tolist() == [3.0, -2.0, 1.3]
    out, _ = call("clamp", [vec, Scalar(np.array([0.0])), Scalar(np.array([1.0]))], [0])
    assert out.values[:, 0].tolist() == [0.0, 0.4]
    out, _ = call("clamp", [vec, Scalar(np.array([2.0])), Scalar(np.array([1.0]))], [0])
    assert not out.present.any()


def test_dates() -> None:
    vec = vectors({"t": [1136239445.0]})
    want = {"year": 2006, "month": 1, "day_of_month": 2, "day_of_year": 2, "day_of_week": 1, "hour": 22,
            "minute": 4}
    for name, value in want.items():
        out, _ = call(name, [vec], [0])
        assert out.values[0, 0] == value, name
    for ts, name, value in [(1454284800, "days_in_month", 29), (1485907200, "days_in_month", 28),
                            (1483191420, "day_of_year", 366), (1230767999, "year", 2008)]:
        out, _ = call(name, [vectors({"t": [float(ts)]})], [0])
        assert out.values[0, 0] == value
    out, _ = call("day_of_week", [], [0])
    assert result_map(out) == {"{}": 4.0}


def test_timestamp_time_vector_scalar() -> None:
    vec = vectors({'m{a="1"}': [1.0], 'm{a="2"}': [2.0]})
    vec.timestamps = np.array([[5000], [6000]], dtype=np.int64)
    out, _ = call("timestamp", [vec], [10_000])
    assert out.values[:, 0].tolist() == [5.0, 6.0]
    out, _ = call("time", [], [1, 3_000_000])
    assert out.values.tolist() == [0.001, 3000.0]
    out, _ = call("scalar", [vec], [0])
    assert math.isnan(out.values[0])
    out, _ = call("scalar", [vectors({"m": [3.0, None]})], [0, 1])
    assert out.values[0] == 3.0 and math.isnan(out.values[1])
    out, _ = call("vector", [Scalar(np.array([1.5]))], [0])
    assert result_map(out) == {"{}": 1.5}


def test_label_replace_and_join() -> None:
    vec = vectors({'testmetric{src="source-value-10",dst="original"}': [0.0],
                   'testmetric{src="source-value-20",dst="original"}': [1.0]})
    args = [vec] + [String(s) for s in ("dst", "destination-value-$1", "src", "source-value-(.*)")]
    out, _ = call("label_replace", args, [0])
    assert sorted(lbl.get("dst") for lbl in out.labels) == ["destination-value-10", "destination-value-20"]
    args = [vec] + [String(s) for s in ("dst", "value-$1", "src", "value-(.*)")]
    out, _ = call("label_replace", args, [0])
    assert {lbl.get("dst") for lbl in out.labels} == {"original"}
    with pytest.raises(ExecutionError, match="invalid regular expression"):
        call("label_replace", [vec] + [String(s) for s in ("dst", "x", "src", "(.*")], [0])
    with pytest.raises(ExecutionError, match="same labelset"):
        call("label_replace", [vec] + [String(s) for s in ("src", "", "", "")], [0])
    out, _ = call("label_join", [vec] + [String(s) for s in ("dst", "-", "src", "dst")], [0])
    assert out.labels[0].get("dst") == "source-value-10-original"


def test_label_replace_merges_series_without_overlap() -> None:
    vec = vectors({'series{label="a",idx="1"}': [2.0, None], 'series{label="a",idx="2"}': [None, 4.0]})
    out, _ = call("label_replace", [vec] + [String(s) for s in ("idx", "replaced", "idx", ".*")], [0, 1])
    assert len(out.labels) == 1
    assert out.values[0].tolist() == [2.0, 4.0]


@pytest.mark.parametrize("template,want", [
    ("$1-$2", "ab-cd"), ("${1}x", "abx"), ("$1x", ""), ("$$1", "$1"), ("$name", "cd"), ("${name}!", "cd!"),
    ("$", "$"), ("$-", "$-"), ("$9", ""),
])
def test_expand_template(template: str, want: str) -> None:
    from watchkeeper.model.matchers import compile_anchored
    pattern = compile_anchored("(ab)(?P<name>cd)")
    m = pattern.match("abcd")
    assert expand(template, m, dict(pattern.groupindex)) == want


def test_sort_functions() -> None:
    vec = vectors({'m{i="1"}': [3.0], 'm{i="2"}': [math.nan], 'm{i="3"}': [1.0], 'm{i="4"}': [3.0],
                   'm{i="5"}': [math.nan]})
    out, _ = call("sort", [vec], [0])
    assert [lbl.get("i") for lbl in out.labels] == ["3", "1", "4", "5", "2"]
    out, _ = call("sort_desc", [vec], [0])
    assert [lbl.get("i") for lbl in out.labels] == ["1", "4", "3", "5", "2"]
    _, annos = call("sort", [vectors({"m": [1.0, 2.0]})], [0, 1], query="sort(m)")
    assert annos.warnings == ["PromQL warning: sort is ineffective for range queries since results are "
                              "always ordered by labels (1:1)"]
    vec = vectors({'n{x="a10"}': [1.0], 'n{x="a9"}': [1.0], 'n{x="a010"}': [1.0], 'n{x="b"}': [1.0]})
    out, _ = call("sort_by_label", [vec, String("x")], [0])
    # natsort ties "a10" and "a010"; Go's insertion sort then keeps their input order.
    assert [lbl.get("x") for lbl in out.labels] == ["a9", "a10", "a010", "b"]
    out, _ = call("sort_by_label_desc", [vec, String("x")], [0])
    assert [lbl.get("x") for lbl in out.labels] == ["b", "a010", "a10", "a9"]


def test_natural_less() -> None:
    assert natural_less("a9", "a10")
    assert not natural_less("a10", "a9")
    assert natural_less("abc", "abd")
    assert not natural_less("x", "x")
    assert natural_less("x", "xy")


def test_double_exponential_smoothing() -> None:
    rw = windows({"m": _counter(MIN, [0, 10, 20, 30])}, [3 * MIN], 5 * MIN)
    out, _ = call("double_exponential_smoothing", [rw, Scalar(np.array([0.5])), Scalar(np.array([0.5]))],
                  [3 * MIN])
    assert_close(out.values[0, 0], 30.0)
    with pytest.raises(ExecutionError, match="invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"):
        call("double_exponential_smoothing", [rw, Scalar(np.array([1.0])), Scalar(np.array([0.5]))],
             [3 * MIN])


def _buckets(counts: dict[str, float], extra: str = "") -> InstantVectors:
    return vectors({f'req_bucket{{le="{le}"{extra}}}': [c] for le, c in counts.items()})


def test_histogram_quantile_classic() -> None:
    vec = _buckets({"0.1": 50, "0.2": 70, "+Inf": 100})
    out, _ = call("histogram_quantile", [Scalar(np.array([0.5])), vec], [0])
    assert result_map(out) == {"{}": pytest.approx(0.1)}
    out, _ = call("histogram_quantile", [Scalar(np.array([0.6])), vec], [0])
    assert_close(out.values[0, 0], 0.15)
    out, _ = call("histogram_quantile", [Scalar(np.array([0.99])), vec], [0])
    assert_close(out.values[0, 0], 0.2)
    # No +Inf bucket: NaN. Invalid quantile: warning and +/-Inf.
    out, _ = call("histogram_quantile", [Scalar(np.array([0.5])), _buckets({"0.1": 1, "0.2": 2})], [0])
    assert math.isnan(out.values[0, 0])
    out, annos = call("histogram_quantile", [Scalar(np.array([1.5])), vec], [0])
    assert out.values[0, 0] == math.inf and annos.warnings


def test_histogram_quantile_monotonicity_info() -> None:
    vec = _buckets({"0.1": 50, "0.2": 40, "+Inf": 100})
    exprs = [ast.NumberLiteral(0.5, pos=(19, 22)), ast.VectorSelector("req_bucket", [], pos=(20, 30))]
    out, annos = call("histogram_quantile", [Scalar(np.array([0.5])), vec], [0], exprs=exprs)
    assert_close(out.values[0, 0], 0.1)
    assert annos.infos and annos.infos[0].startswith(
        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity")
    assert annos.infos[0].endswith('for metric name "req_bucket" (1:21)')


def test_histogram_fraction_classic() -> None:
    vec = _buckets({"0.1": 50, "0.2": 70, "+Inf": 100})
    out, _ = call("histogram_fraction", [Scalar(np.array([0.0])), Scalar(np.array([0.15])), vec], [0])
    assert_close(out.values[0, 0], 0.6)
    out, _ = call("histogram_fraction", [Scalar(np.array([-math.inf])), Scalar(np.array([math.inf])), vec],
                  [0])
    assert_close(out.values[0, 0], 1.0)


def test_format_helpers() -> None:
    assert format_position("a +\n  rate(x[5m])", (6, 10)) == "2:3"
    assert format_position("", (4, 8)) == "1:5"
    assert [go_format_g(x) for x in (0.5, 1e6, 123456.0, 1e-5, math.nan, -math.inf)] == \
        ["0.5", "1e+06", "123456", "1e-05", "NaN", "-Inf"]


def _widened(values: list[float], step_ms: int, eval_t: list[int], range_ms: int, smoothed: bool,
             lookback_ms: int = 300_000) -> RangeWindows:
    """Windows the engine builds for anchored/smoothed selectors: widened by the lookback delta."""
    t = np.arange(len(values), dtype=np.int64) * step_ms
    ends = np.array(eval_t, dtype=np.int64)
    lo = np.searchsorted(t, ends - range_ms - lookback_ms, side="right")[None, :]
    hi = np.searchsorted(t, ends + (lookback_ms if smoothed else 0), side="right")[None, :]
    return RangeWindows([_labels("metric")], t, np.array(values, dtype=np.float64),
                        np.array([0, len(values)]), lo, hi, ends, range_ms)


@pytest.mark.parametrize("mode,want", [
    ("anchored", [0, 1, 2, 3, 4, 7, 7, 7, 7]),
    ("smoothed", [1 / 3, 4 / 3, 7 / 3, 10 / 3, 5, 7, 7, 7, 6]),
])
def test_increase_anchored_and_smoothed(mode: str, want: list[float]) -> None:
    # extended_vectors.test: load 15s metric 1+1x4 9+1x4, increase(metric[1m] <mode>) at 5s, 20s, ...
    values = [1, 2, 3, 4, 5, 9, 10, 11, 12, 13]
    eval_t = [5_000 + 15_000 * i for i in range(9)]
    rw = _widened(values, 15_000, eval_t, 60_000, smoothed=mode == "smoothed")
    sel = ast.VectorSelector("metric", [], anchored=mode == "anchored", smoothed=mode == "smoothed")
    out, _ = call("increase", [rw], eval_t, exprs=[ast.MatrixSelector(sel, 60_000)])
    for j, w in enumerate(want):
        assert_close(out.values[0, j], w)


class _FakeQuerier:
    """An in-memory ``Querier`` over a few series, enough for info()."""

    def __init__(self, series: dict[str, list[tuple[int, float]]]) -> None:
        self.series = sorted(((_labels(k), v) for k, v in series.items()), key=lambda kv: kv[0])

    def select(self, matchers, mint: int, maxt: int):  # type: ignore[no-untyped-def]
        from watchkeeper.model.batch import SeriesSet
        labels, ts, vs, offsets = [], [], [], [0]
        for lbls, samples in self.series:
            if not all(m.matches_labels(lbls) for m in matchers):
                continue
            kept = [(t, v) for t, v in samples if mint <= t <= maxt]
            if not kept:
                continue
            labels.append(lbls)
            ts += [t for t, _ in kept]
            vs += [v for _, v in kept]
            offsets.append(len(ts))
        return SeriesSet(labels, np.array(offsets, dtype=np.int64), np.array(ts, dtype=np.int64),
                         np.array(vs, dtype=np.float64))


def _info_call(base: InstantVectors, eval_t: list[int], querier: _FakeQuerier,
               selector: list[Matcher] | None = None, base_expr: ast.Expr | None = None) -> InstantVectors:
    exprs: list[ast.Expr] = [base_expr or ast.VectorSelector("metric", [])]
    args: list = [base]
    if selector is not None:
        exprs.append(ast.VectorSelector(None, selector))
        args.append(base)
    fc = FuncCall(name="info", args=args, exprs=exprs, eval_ts=np.array(eval_t, dtype=np.int64),
                  annotations=Annotations(), querier=querier, lookback_ms=300_000, pos=(0, 0))
    out = FUNCTIONS["info"](fc)
    assert isinstance(out, InstantVectors)
    return out


def test_info_enriches_with_target_info() -> None:
    q = _FakeQuerier({
        'target_info{instance="a",job="1",data="info",another_data="x"}': [(0, 1.0), (300_000, 1.0)],
        'build_info{instance="a",job="1",build_data="build"}': [(0, 1.0)],
    })
    base = vectors({'metric{instance="a",job="1",label="value"}': [0.0, 1.0],
                    'metric{instance="b",job="1"}': [5.0, None]})
    out = _info_call(base, [0, 300_000], q)
    got = {str(lbl): out.values[i].tolist() for i, lbl in enumerate(out.labels)}
    assert got['metric{another_data="x", data="info", instance="a", job="1", label="value"}'] == [0.0, 1.0]
    assert got['metric{instance="b", job="1"}'][0] == 5.0
    # A data matcher not matching "" drops series without a matching info series.
    out = _info_call(base, [0, 300_000], q, [Matcher(MatchType.REGEX, "data", ".+")])
    assert [str(lbl) for lbl in out.labels] == ['metric{data="info", instance="a", job="1", label="value"}']
    # Other info metrics by name; info series themselves pass through unchanged.
    out = _info_call(base, [0, 300_000], q, [Matcher(MatchType.EQUAL, "__name__", "build_info")])
    assert 'metric{build_data="build", instance="a", job="1", label="value"}' in [str(x) for x in out.labels]


def test_info_conflicting_labels_fail() -> None:
    q = _FakeQuerier({'target_info{instance="a",job="1",x="t"}': [(0, 1.0)],
                      'build_info{instance="a",job="1",x="b"}': [(0, 1.0)]})
    base = vectors({'metric{instance="a",job="1"}': [1.0]})
    with pytest.raises(ExecutionError, match="conflicting label"):
        _info_call(base, [0], q, [Matcher(MatchType.REGEX, "__name__", ".+_info")])


def test_info_uses_the_selector_reference_time() -> None:
    q = _FakeQuerier({'target_info{instance="a",job="1",version="old"}': [(0, 1.0), (120_000, 1.0)],
                      'target_info{instance="a",job="1",version="new"}': [(180_000, 1.0), (480_000, 1.0)]})
    base = vectors({'metric{instance="a",job="1"}': [2.0, 2.0]})
    pinned = ast.VectorSelector("metric", [], timestamp_ms=120_000)
    out = _info_call(base, [480_000, 540_000], q, base_expr=pinned)
    assert [lbl.get("version") for lbl in out.labels] == ["old"]


def test_histogram_quantiles_and_bad_bucket_label() -> None:
    vec = _buckets({"0.1": 50, "0.2": 70, "+Inf": 100}, ',job="a"')
    out, _ = call("histogram_quantiles", [vec, String("q"), Scalar(np.array([0.0])), Scalar(np.array([1.0]))],
                  [0])
    got = sorted(str(lbl.without_name()) for lbl in out.labels)
    assert got == ['{job="a", q="0.0"}', '{job="a", q="1.0"}']
    bad = vectors({'req_bucket{le="x"}': [1.0]})
    exprs = [ast.NumberLiteral(0.5), ast.VectorSelector("req_bucket", [], pos=(24, 34))]
    out, annos = call("histogram_quantile", [Scalar(np.array([0.5])), bad], [0], exprs=exprs)
    assert not out.labels
    assert annos.warnings == ['PromQL warning: bucket label "le" is missing or has a malformed value of "x" '
                              'for metric name "req_bucket" (1:25)']


def test_changes_and_resets_anchored() -> None:
    # extended_vectors.test style: the window also holds the last sample at or before the range start.
    values = [1, 2, 0, 0, 5]
    rw = _widened(values, 15_000, [65_000], 30_000, smoothed=False)
    sel = ast.VectorSelector("metric", [], anchored=True)
    out, _ = call("changes", [rw], [65_000], exprs=[ast.MatrixSelector(sel, 30_000)])
    # Anchor: the sample at 30s (0); then 45s (0) and 60s (5): one change.
    assert out.values[0, 0] == 1
    out, _ = call("resets", [rw], [65_000], exprs=[ast.MatrixSelector(sel, 30_000)])
    assert out.values[0, 0] == 0
