"""PromQL engine semantics on hand-built ASTs over a tiny in-memory querier.

The conformance corpus (test_promql_conformance.py) covers breadth; these pin the
tricky rules: lookback and staleness, offset / @, subquery alignment, vector
matching errors, aggregation numerics, name dropping and query limits.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from watchkeeper.model.batch import STALE_NAN, SeriesSet
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.promql import ast
from watchkeeper.promql.engine import Engine, QueryResult, position_suffix
from watchkeeper.promql.errors import (
    ExecutionError,
    QueryCanceledError,
    QueryTimeoutError,
    TooManySamplesError,
)
from watchkeeper.promql.format import format_float, format_floats, go_g
from watchkeeper.promql.limits import xxhash64
from watchkeeper.promql.topk import go_heap_select

M = 60_000  # one minute in ms


class MemQuerier:
    """Series given as {labels: [(t_ms, value), ...]}; ``select`` as the Querier protocol says."""

    def __init__(self, data: dict[Labels, list[tuple[int, float]]]) -> None:
        self.data = dict(sorted(data.items()))
        self.selects: list[tuple[int, int]] = []

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        self.selects.append((mint, maxt))
        labels, ts, vs = [], [], []
        for lbl, samples in self.data.items():
            if not all(m.matches_labels(lbl) for m in matchers):
                continue
            pts = [(t, v) for t, v in samples if mint <= t <= maxt]
            if pts:
                labels.append(lbl)
                ts.append(np.array([p[0] for p in pts], dtype=np.int64))
                vs.append(np.array([p[1] for p in pts], dtype=np.float64))
        if not labels:
            return SeriesSet.empty()
        offsets = np.concatenate([[0], np.cumsum([len(t) for t in ts])]).astype(np.int64)
        return SeriesSet(labels, offsets, np.concatenate(ts), np.concatenate(vs))

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted({k for lbl in self.data for k in lbl.names()})

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted({lbl.get(name) for lbl in self.data if lbl.has(name)})


def L(name: str = "", **kv: str) -> Labels:  # noqa: N802 - reads like a series literal
    d = dict(kv)
    if name:
        d["__name__"] = name
    return Labels(d)


def sel(name: str, offset_ms: int = 0, at: int | None = None, start_or_end: str | None = None,
        **eq: str) -> ast.VectorSelector:
    matchers = [Matcher(MatchType.EQUAL, "__name__", name)]
    matchers += [Matcher(MatchType.EQUAL, k, v) for k, v in eq.items()]
    return ast.VectorSelector(name, matchers, offset_ms=offset_ms, timestamp_ms=at,
                              start_or_end=start_or_end)  # type: ignore[arg-type]


def num(v: float) -> ast.NumberLiteral:
    return ast.NumberLiteral(v)


def vector(res: QueryResult) -> dict[Labels, float]:
    assert res.result_type == "vector" and res.series is not None
    return {lbl: float(v) for lbl, v in zip(res.series.labels, res.series.v, strict=True)}


def matrix(res: QueryResult) -> dict[Labels, list[tuple[int, float]]]:
    assert res.result_type == "matrix" and res.series is not None
    out = {}
    for i, lbl in enumerate(res.series.labels):
        _, t, v = res.series.series(i)
        out[lbl] = [(int(a), float(b)) for a, b in zip(t, v, strict=True)]
    return out


ENGINE = Engine()
DELAYED = Engine(enable_delayed_name_removal=True)


def q(querier: MemQuerier, expr: ast.Expr, t: int, engine: Engine = ENGINE) -> QueryResult:
    return engine.instant_query(querier, expr, t)


# ----------------------------------------------------------------------------- selectors


def test_lookback_is_left_open() -> None:
    db = MemQuerier({L("x"): [(0, 1.0)]})
    assert vector(q(db, sel("x"), 5 * M - 1)) == {L("x"): 1.0}
    assert vector(q(db, sel("x"), 5 * M)) == {}
    assert vector(q(db, sel("x"), -1)) == {}


def test_stale_marker_hides_series_until_next_sample() -> None:
    db = MemQuerier({L("x"): [(0, 1.0), (M, STALE_NAN), (3 * M, 7.0)]})
    assert vector(q(db, sel("x"), M - 1)) == {L("x"): 1.0}
    assert vector(q(db, sel("x"), 2 * M)) == {}
    assert vector(q(db, sel("x"), 3 * M)) == {L("x"): 7.0}


def test_range_query_steps_inclusive_and_sorted() -> None:
    db = MemQuerier({L("x", a="2"): [(0, 1.0), (2 * M, 2.0)], L("x", a="1"): [(M, 5.0)]})
    res = ENGINE.range_query(db, sel("x"), 0, 2 * M, M)
    assert list(matrix(res)) == [L("x", a="1"), L("x", a="2")]
    assert matrix(res)[L("x", a="2")] == [(0, 1.0), (M, 1.0), (2 * M, 2.0)]
    assert matrix(res)[L("x", a="1")] == [(M, 5.0), (2 * M, 5.0)]


def test_offset_and_at_modifiers() -> None:
    db = MemQuerier({L("x"): [(0, 0.0), (M, 1.0), (2 * M, 2.0), (3 * M, 3.0)]})
    assert vector(q(db, sel("x", offset_ms=M), 3 * M)) == {L("x"): 2.0}
    assert vector(q(db, sel("x", offset_ms=-M), M)) == {L("x"): 2.0}
    assert vector(q(db, sel("x", at=M), 3 * M)) == {L("x"): 1.0}
    assert vector(q(db, sel("x", at=2 * M, offset_ms=M), 0)) == {L("x"): 1.0}
    res = ENGINE.range_query(db, sel("x", start_or_end="end"), 0, 2 * M, M)
    assert matrix(res)[L("x")] == [(0, 2.0), (M, 2.0), (2 * M, 2.0)]
    res = ENGINE.range_query(db, sel("x", start_or_end="start"), M, 3 * M, M)
    assert matrix(res)[L("x")] == [(M, 1.0), (2 * M, 1.0), (3 * M, 1.0)]


def test_matrix_selector_window_is_left_open_and_drops_stale() -> None:
    db = MemQuerier({L("x"): [(0, 0.0), (M, 1.0), (90_000, STALE_NAN), (2 * M, 2.0)]})
    res = q(db, ast.MatrixSelector(sel("x"), 2 * M), 2 * M)
    assert matrix(res) == {L("x"): [(M, 1.0), (2 * M, 2.0)]}


def test_subquery_steps_align_to_absolute_multiples() -> None:
    db = MemQuerier({L("x"): [(t * 10_000, float(t)) for t in range(40)]})
    sub = ast.SubqueryExpr(sel("x"), range_ms=2 * M, step_ms=M)
    res = q(db, sub, 150_000)  # window (30s, 150s]: steps 60s and 120s
    assert matrix(res) == {L("x"): [(M, 6.0), (2 * M, 12.0)]}
    res = q(db, ast.SubqueryExpr(sel("x"), range_ms=2 * M, step_ms=M, offset_ms=30_000), 150_000)
    assert matrix(res) == {L("x"): [(M, 6.0), (2 * M, 12.0)]}  # window (0, 120s]
    res = q(db, ast.SubqueryExpr(sel("x"), range_ms=M, step_ms=20_000, timestamp_ms=100_000), 10 * M)
    assert matrix(res) == {L("x"): [(60_000, 6.0), (80_000, 8.0), (100_000, 10.0)]}


def test_subquery_default_step_is_engine_interval() -> None:
    db = MemQuerier({L("x"): [(t * 10_000, float(t)) for t in range(40)]})
    eng = Engine(no_step_subquery_interval_ms=30_000)
    res = eng.instant_query(db, ast.SubqueryExpr(sel("x"), range_ms=M), 120_000)
    assert [t for t, _ in matrix(res)[L("x")]] == [90_000, 120_000]


# ----------------------------------------------------------------------------- binary operators


def bin_(op: str, lhs: ast.Expr, rhs: ast.Expr, *, card: str = "one-to-one", on: bool = False,
         labels: Sequence[str] = (), include: Sequence[str] = (), bool_: bool = False) -> ast.BinaryExpr:
    m = ast.VectorMatching(card=card, matching_labels=list(labels), on=on, include=list(include))  # type: ignore[arg-type]
    return ast.BinaryExpr(op, lhs, rhs, m, return_bool=bool_)


def test_scalar_arithmetic_and_comparison() -> None:
    db = MemQuerier({})
    res = q(db, ast.BinaryExpr("%", num(-7), num(3)), 0)
    assert res.result_type == "scalar" and res.scalar == (0, -1.0)
    assert q(db, ast.BinaryExpr("^", num(2), num(10)), 0).scalar == (0, 1024.0)
    assert q(db, ast.BinaryExpr(">", num(2), num(1), return_bool=True), 0).scalar == (0, 1.0)


def test_vector_scalar_name_dropping_and_filtering() -> None:
    db = MemQuerier({L("x", a="1"): [(0, 1.0)], L("x", a="2"): [(0, 5.0)]})
    assert vector(q(db, ast.BinaryExpr("*", sel("x"), num(2)), 0)) == {L(a="1"): 2.0, L(a="2"): 10.0}
    assert vector(q(db, ast.BinaryExpr(">", sel("x"), num(2)), 0)) == {L("x", a="2"): 5.0}
    # The scalar on the left still filters and keeps the vector's value.
    assert vector(q(db, ast.BinaryExpr("<", num(2), sel("x")), 0)) == {L("x", a="2"): 5.0}
    res = q(db, ast.BinaryExpr(">", sel("x"), num(2), return_bool=True), 0)
    assert vector(res) == {L(a="1"): 0.0, L(a="2"): 1.0}
    assert vector(q(db, ast.BinaryExpr("*", sel("x"), num(2)), 0, DELAYED)) == {L(a="1"): 2.0, L(a="2"): 10.0}


def test_one_to_one_matching_ignores_name() -> None:
    db = MemQuerier({L("a", i="1"): [(0, 10.0)], L("a", i="2"): [(0, 20.0)], L("b", i="1"): [(0, 3.0)]})
    assert vector(q(db, bin_("-", sel("a"), sel("b")), 0)) == {L(i="1"): 7.0}
    assert vector(q(db, bin_(">", sel("a"), sel("b")), 0)) == {L("a", i="1"): 10.0}


def test_group_left_copies_include_labels_from_one_side() -> None:
    db = MemQuerier({
        L("req", job="api", path="/a"): [(0, 2.0)],
        L("req", job="api", path="/b"): [(0, 4.0)],
        L("info", job="api", version="v1"): [(0, 1.0)],
    })
    expr = bin_("*", sel("req"), sel("info"), card="many-to-one", on=True, labels=["job"],
                include=["version"])
    assert vector(q(db, expr, 0)) == {L(job="api", path="/a", version="v1"): 2.0,
                                      L(job="api", path="/b", version="v1"): 4.0}


def test_duplicate_series_on_one_side_is_an_error() -> None:
    db = MemQuerier({L("a", i="1"): [(0, 1.0)], L("b", i="1", j="x"): [(0, 1.0)],
                     L("b", i="1", j="y"): [(0, 1.0)]})
    with pytest.raises(ExecutionError, match=r"found duplicate series for the match group \{i=\"1\"\} on the "
                                             r"right hand-side.*many-to-many matching not allowed"):
        q(db, bin_("+", sel("a"), sel("b"), on=True, labels=["i"]), 0)
    with pytest.raises(ExecutionError, match="many-to-one matching must be explicit"):
        q(db, bin_("+", sel("b"), sel("a"), on=True, labels=["i"]), 0)


def test_set_operators() -> None:
    db = MemQuerier({L("a", i="1"): [(0, 1.0)], L("a", i="2"): [(0, 2.0)], L("b", i="2"): [(0, 9.0)],
                     L("b", i="3"): [(0, 3.0)]})
    many = {"card": "many-to-many"}
    assert vector(q(db, bin_("and", sel("a"), sel("b"), **many), 0)) == {L("a", i="2"): 2.0}
    assert vector(q(db, bin_("unless", sel("a"), sel("b"), **many), 0)) == {L("a", i="1"): 1.0}
    res = q(db, bin_("or", sel("a"), sel("b"), **many), 0)
    assert list(vector(res)) == [L("a", i="1"), L("a", i="2"), L("b", i="3")]


def test_arithmetic_collision_after_name_drop_is_an_error() -> None:
    db = MemQuerier({L("a", i="1"): [(0, 1.0)], L("b", i="1"): [(0, 2.0)]})
    regex = [Matcher(MatchType.REGEX, "__name__", "a|b")]
    expr = ast.BinaryExpr("+", ast.VectorSelector(None, regex), num(1))
    with pytest.raises(ExecutionError, match="vector cannot contain metrics with the same labelset"):
        q(db, expr, 0)
    with pytest.raises(ExecutionError, match="vector cannot contain metrics with the same labelset"):
        q(db, expr, 0, DELAYED)


# ----------------------------------------------------------------------------- aggregations


def agg(op: str, expr: ast.Expr, by: Sequence[str] = (), without: bool = False,
        param: ast.Expr | None = None) -> ast.AggregateExpr:
    return ast.AggregateExpr(op, expr, param=param, grouping=list(by), without=without)


def test_sum_uses_compensated_summation() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, v)] for i, v in enumerate([1e100, 1.0, -1e100])})
    assert vector(q(db, agg("sum", sel("x")), 0)) == {L(): 1.0}
    assert vector(q(db, agg("avg", sel("x")), 0)) == {L(): pytest.approx(1 / 3)}


def test_sum_of_large_group_keeps_compensation() -> None:
    values = [1e100, 1.0, -1e100] + [0.0] * 200
    db = MemQuerier({L("x", i=f"{i:03d}"): [(0, v)] for i, v in enumerate(values)})
    assert vector(q(db, agg("sum", sel("x")), 0)) == {L(): 1.0}


def test_avg_falls_back_to_incremental_mean_on_overflow() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, 1.7e308)] for i in range(3)})
    assert vector(q(db, agg("avg", sel("x")), 0)) == {L(): pytest.approx(1.7e308)}


def test_grouping_by_and_without() -> None:
    db = MemQuerier({L("x", job="a", i="1"): [(0, 1.0)], L("x", job="a", i="2"): [(0, 3.0)],
                     L("x", job="b", i="1"): [(0, 5.0)]})
    assert vector(q(db, agg("sum", sel("x"), ["job"]), 0)) == {L(job="a"): 4.0, L(job="b"): 5.0}
    assert vector(q(db, agg("max", sel("x"), ["i"], without=True), 0)) == {L(job="a"): 3.0, L(job="b"): 5.0}
    assert vector(q(db, agg("count", sel("x"), ["__name__"]), 0)) == {L("x"): 3.0}


def test_min_max_prefer_numbers_over_nan() -> None:
    db = MemQuerier({L("x", i="1"): [(0, math.nan)], L("x", i="2"): [(0, 2.0)], L("x", i="3"): [(0, 1.0)]})
    assert vector(q(db, agg("max", sel("x")), 0)) == {L(): 2.0}
    assert vector(q(db, agg("min", sel("x")), 0)) == {L(): 1.0}
    only_nan = MemQuerier({L("x"): [(0, math.nan)]})
    assert math.isnan(vector(q(only_nan, agg("max", sel("x")), 0))[L()])


def test_stddev_stdvar_and_infinities() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    db = MemQuerier({L("x", i=str(i)): [(0, v)] for i, v in enumerate(values)})
    assert vector(q(db, agg("stddev", sel("x")), 0)) == {L(): pytest.approx(2.0)}
    assert vector(q(db, agg("stdvar", sel("x")), 0)) == {L(): pytest.approx(4.0)}
    inf = MemQuerier({L("x", i="1"): [(0, math.inf)], L("x", i="2"): [(0, 1.0)]})
    assert math.isnan(vector(q(inf, agg("stddev", sel("x")), 0))[L()])


def test_quantile_interpolates_and_sorts_nan_first() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, float(v))] for i, v in enumerate([4, 1, 3, 2])})
    assert vector(q(db, agg("quantile", sel("x"), param=num(0.5)), 0)) == {L(): 2.5}
    assert vector(q(db, agg("quantile", sel("x"), param=num(2)), 0)) == {L(): math.inf}
    res = q(db, agg("quantile", sel("x"), param=num(2)), 0)
    warning = "PromQL warning: quantile value should be between 0 and 1, got 2 (1:1)"
    assert res.annotations.warnings == [warning]
    nan = MemQuerier({L("x", i="1"): [(0, math.nan)], L("x", i="2"): [(0, 5.0)]})
    assert math.isnan(vector(q(nan, agg("quantile", sel("x"), param=num(0)), 0))[L()])


def test_topk_bottomk_order_and_ties() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, v)] for i, v in enumerate([1.0, 3.0, math.nan, 3.0, 2.0])})
    res = q(db, agg("topk", sel("x"), param=num(3)), 0)
    assert list(vector(res).items()) == [(L("x", i="1"), 3.0), (L("x", i="3"), 3.0), (L("x", i="4"), 2.0)]
    res = q(db, agg("bottomk", sel("x"), param=num(5)), 0)
    # NaN last; the tie 3/3 comes out in the order Go's heap and insertion sort leave it.
    assert [lbl.get("i") for lbl in vector(res)] == ["0", "4", "3", "1", "2"]
    assert vector(q(db, agg("topk", sel("x"), param=num(0)), 0)) == {}
    with pytest.raises(ExecutionError, match="Parameter value is NaN"):
        q(db, agg("topk", sel("x"), param=num(math.nan)), 0)


def test_topk_in_range_query_picks_per_step() -> None:
    db = MemQuerier({L("x", i="a"): [(0, 1.0), (M, 5.0)], L("x", i="b"): [(0, 2.0), (M, 0.0)]})
    res = ENGINE.range_query(db, agg("topk", sel("x"), param=num(1)), 0, M, M)
    assert matrix(res) == {L("x", i="a"): [(M, 5.0)], L("x", i="b"): [(0, 2.0)]}


def test_count_values_and_limitk() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, v)] for i, v in enumerate([1.0, 1.0, 1e6])})
    res = q(db, ast.AggregateExpr("count_values", sel("x"), param=ast.StringLiteral("v")), 0)
    assert vector(res) == {L(v="1"): 2.0, L(v="1000000"): 1.0}
    res = q(db, agg("limitk", sel("x"), param=num(2)), 0)
    assert list(vector(res)) == [L("x", i="0"), L("x", i="1")]


def test_limit_ratio_complements() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, 1.0)] for i in range(50)})
    part = set(vector(q(db, agg("limit_ratio", sel("x"), param=num(0.3)), 0)))
    rest = set(vector(q(db, agg("limit_ratio", sel("x"), param=num(-0.7)), 0)))
    assert not part & rest and len(part | rest) == 50


# ----------------------------------------------------------------------------- limits and results


def test_too_many_samples() -> None:
    db = MemQuerier({L("x", i=str(i)): [(0, 1.0)] for i in range(20)})
    with pytest.raises(TooManySamplesError, match="too many samples"):
        Engine(max_samples=10).instant_query(db, sel("x"), 0)


def test_cancel_and_timeout() -> None:
    db = MemQuerier({L("x"): [(0, 1.0)]})
    ev = threading.Event()
    ev.set()
    with pytest.raises(QueryCanceledError):
        ENGINE.instant_query(db, sel("x"), 0, cancel=ev)
    with pytest.raises(QueryTimeoutError, match="query timed out in expression evaluation"):
        Engine(timeout_s=-1).instant_query(db, sel("x"), 0)


def test_range_query_of_scalar_gives_one_series() -> None:
    res = ENGINE.range_query(MemQuerier({}), ast.BinaryExpr("+", num(1), num(2)), 0, 2 * M, M)
    assert matrix(res) == {L(): [(0, 3.0), (M, 3.0), (2 * M, 3.0)]}


def test_unary_minus_drops_name() -> None:
    db = MemQuerier({L("x", a="1"): [(0, 2.0)]})
    assert vector(q(db, ast.UnaryExpr("-", sel("x")), 0)) == {L(a="1"): -2.0}
    assert vector(q(db, ast.UnaryExpr("-", sel("x")), 0, DELAYED)) == {L(a="1"): -2.0}


@pytest.mark.parametrize("value,text", [
    (1e6, "1000000"), (1e-7, "0.0000001"), (0.1, "0.1"), (-0.0, "-0"), (2.5, "2.5"),
    (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"), (1e21, "1000000000000000000000"),
])
def test_format_float_matches_go(value: float, text: str) -> None:
    assert format_float(value) == text


def test_format_floats_and_go_g() -> None:
    assert format_floats(np.array([1.0, 0.5, 1.0])) == ["1", "0.5", "1"]
    assert [go_g(v) for v in (2.0, 1e6, 1.5e-5, 123456.0)] == ["2", "1e+06", "1.5e-05", "123456"]


def test_position_suffix() -> None:
    assert position_suffix("sum(x)", (4, 5)) == " (1:5)"
    assert position_suffix("a +\n  b", (6, 7)) == " (2:3)"


@pytest.mark.parametrize("data,digest", [
    (b"", 0xEF46DB3751D8E999), (b"a", 0xD24EC4F1A98C6E5B), (b"abc", 0x44BC2CF5AD770999),
    (b"Nobody inspects the spammish repetition", 0xFBCEA83C8A378BF1),
])
def test_xxhash64_reference_vectors(data: bytes, digest: int) -> None:
    assert xxhash64(data) == digest


def _random_series(rng: np.random.Generator) -> SeriesSet:
    lens = rng.integers(0, 9, rng.integers(1, 6))
    lens[0] = max(int(lens[0]), 1)
    t = np.concatenate([np.sort(rng.choice(200, n, replace=False)) for n in lens]).astype(np.int64) - 50
    v = rng.random(t.size)
    v[rng.random(t.size) < 0.15] = STALE_NAN
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    return SeriesSet([L("x", i=str(i)) for i in range(lens.size)], offsets, t, v)


@pytest.mark.parametrize("seed", range(40))
def test_selection_matches_brute_force(seed: int) -> None:
    from watchkeeper.model.batch import is_stale
    from watchkeeper.promql.selectors import instant_select, range_select

    rng = np.random.default_rng(seed)
    ss = _random_series(rng)
    steps = int(rng.integers(1, 12))
    if seed % 3 == 0:
        ref = np.sort(rng.integers(-80, 200, steps)).astype(np.int64)
    else:
        ref = int(rng.integers(-80, 150)) + int(rng.integers(1, 30)) * np.arange(steps, dtype=np.int64)
    lookback, rng_ms = int(rng.integers(1, 60)), int(rng.integers(1, 60))
    vec = instant_select(ss, ref, lookback)
    win = range_select(ss, ref, rng_ms)
    got_vec = {(lbl, j): float(vec.values[r, j]) for r, lbl in enumerate(vec.labels)
               for j in range(steps) if vec.present[r, j]}
    got_win = {(lbl, j): win.v[win.lo[r, j]:win.hi[r, j]].tolist() for r, lbl in enumerate(win.labels)
               for j in range(steps) if win.hi[r, j] > win.lo[r, j]}
    want_vec, want_win = {}, {}
    for i, lbl in enumerate(ss.labels):
        _, t, v = ss.series(i)
        for j, x in enumerate(ref.tolist()):
            before = np.flatnonzero((t <= x) & (t > x - lookback))
            if before.size and not is_stale(v[before[-1:]])[0]:
                want_vec[(lbl, j)] = float(v[before[-1]])
            inside = (t <= x) & (t > x - rng_ms) & ~is_stale(v)
            if inside.any():
                want_win[(lbl, j)] = v[inside].tolist()
    assert got_vec == want_vec
    assert got_win == want_win


def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    if math.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def _prom_sum_avg(values: list[float]) -> tuple[float, float, float]:
    """Prometheus' sequential sum, avg and stdvar, written out per sample as reference."""
    total, kc, count, mean, incremental = values[0], 0.0, 1.0, values[0], False
    s_total, s_c = values[0], 0.0
    for f in values[1:]:
        s_total, s_c = _kahan_inc(f, s_total, s_c)
        count += 1
        if not incremental:
            nv, nc = _kahan_inc(f, total, kc)
            if not math.isinf(nv):
                total, kc = nv, nc
                continue
            incremental = True
            mean = total / (count - 1)
            kc /= count - 1
        q = (count - 1) / count
        mean, kc = _kahan_inc(f / count, q * mean, q * kc)
    avg = mean + kc if incremental else total / count + kc / count
    w_mean, w_acc = values[0], (0.0 if math.isfinite(values[0]) else math.nan)
    for n, f in enumerate(values[1:], start=2):
        delta = f - w_mean
        w_mean += delta / n
        w_acc += delta * (f - w_mean)
    return s_total + s_c, avg, w_acc / len(values)


@pytest.mark.parametrize("seed", range(12))
def test_sum_avg_stdvar_replay_prometheus_order_exactly(seed: int) -> None:
    from watchkeeper.promql.aggregations import aggregate
    from watchkeeper.promql.values import Annotations, InstantVectors

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 150)) if seed % 2 else int(rng.integers(200, 400))
    gid = rng.integers(0, 3, n)
    vals = rng.normal(0, 1, (n, 2)) * 10.0 ** rng.integers(-5, 300, (n, 2))
    present = rng.random((n, 2)) < 0.8
    labels = [L("x", g=str(g), i=str(i)) for i, g in enumerate(gid)]
    vec = InstantVectors(labels, vals, present)
    for op, k in (("sum", 0), ("avg", 1), ("stdvar", 2)):
        out = aggregate(op, vec, ["g"], False, None, Annotations())
        for r, lbl in enumerate(out.labels):
            for j in range(2):
                members = [float(vals[i, j]) for i in range(n)
                           if present[i, j] and labels[i].get("g") == lbl.get("g")]
                assert out.present[r, j] == bool(members)
                if members:
                    want = _prom_sum_avg(members)[k]
                    got = out.values[r, j]
                    assert got == want or (math.isnan(got) and math.isnan(want)), (op, lbl, j)


@pytest.mark.parametrize("seed,balanced", [(s, b) for s in range(6) for b in (True, False)])
@pytest.mark.parametrize("op", ["topk", "bottomk", "limitk"])
def test_select_k_matches_brute_force(seed: int, balanced: bool, op: str) -> None:
    from watchkeeper.promql.aggregations import aggregate
    from watchkeeper.promql.values import Annotations, InstantVectors

    rng = np.random.default_rng(seed)
    n, steps = 120, 3
    gid = rng.integers(0, 4, n) if balanced else np.where(np.arange(n) < 60, 0, np.arange(n))
    vals = rng.integers(0, 5, (n, steps)).astype(np.float64)  # many ties
    vals[rng.random((n, steps)) < 0.1] = math.nan
    present = rng.random((n, steps)) < 0.8
    labels = [L("x", g=str(g), i=f"{i:03d}") for i, g in enumerate(gid)]
    k = np.array([2.0, 3.0, 1.0])
    out = aggregate(op, InstantVectors(labels, vals, present), ["g"], False, k, Annotations())
    got = {(lbl, j) for r, lbl in enumerate(out.labels) for j in range(steps) if out.present[r, j]}
    want = set()
    for g in set(gid.tolist()):
        for j in range(steps):
            members = [i for i in range(n) if gid[i] == g and present[i, j]]
            if op == "limitk":
                kept = members[:int(k[j])]
            else:
                chosen = go_heap_select([vals[i, j] for i in members], int(k[j]), op == "topk")
                kept = [members[x] for x in chosen]
            want |= {(labels[i], j) for i in kept}
    assert got == want


def _range_call(func: str, name: str, range_ms: int, **mods: bool) -> ast.Call:
    vs = sel(name)
    vs.anchored = mods.get("anchored", False)
    vs.smoothed = mods.get("smoothed", False)
    return ast.Call(func, [ast.MatrixSelector(vs, range_ms)])


def test_anchored_increase_measures_from_last_sample_before_window() -> None:
    db = MemQuerier({L("x"): [(0, 1.0), (30_000, 2.0), (60_000, 4.0), (90_000, 5.0)]})
    assert vector(q(db, _range_call("increase", "x", M, anchored=True), 90_000)) == {L(): 3.0}
    assert vector(q(db, _range_call("changes", "x", M, anchored=True), 90_000)) == {L(): 2.0}
    with pytest.raises(ExecutionError, match="anchored modifier can only be used with: changes, delta, "
                                             "increase, rate, resets - not with deriv"):
        q(db, _range_call("deriv", "x", M, anchored=True), 90_000)


def test_smoothed_interpolates_at_window_edges() -> None:
    db = MemQuerier({L("x"): [(t * 10_000, 1.0 + t) for t in range(11)]})
    smooth = sel("x")
    smooth.smoothed = True
    assert vector(q(db, smooth, 15_000)) == {L("x"): 2.5}
    # Window (5s, 25s]: interpolated 1.5 at 5s and 3.5 at 25s.
    assert vector(q(db, _range_call("increase", "x", 20_000, smoothed=True), 25_000)) == {L(): 2.0}
    # Across a counter reset the counter restarts from zero.
    reset = MemQuerier({L("x"): [(0, 100.0), (15_000, 10.0)]})
    res = vector(q(reset, _range_call("rate", "x", 10_000, smoothed=True), 12_000))
    assert res == {L(): pytest.approx(2 / 3)}


def test_concurrency_cap_queues_and_times_out() -> None:
    entered, release = threading.Event(), threading.Event()

    class BlockingQuerier(MemQuerier):
        def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
            entered.set()
            release.wait(5)
            return super().select(matchers, mint, maxt)

    db = BlockingQuerier({L("x"): [(0, 1.0)]})
    eng = Engine(max_concurrent=1, timeout_s=0.2)
    results: list[QueryResult] = []
    worker = threading.Thread(target=lambda: results.append(eng.instant_query(db, sel("x"), 0)))
    worker.start()
    try:
        assert entered.wait(5)
        with pytest.raises(QueryTimeoutError, match="query timed out in query queue"):
            eng.instant_query(db, sel("x"), 0)
    finally:
        release.set()
        worker.join(5)
    assert vector(results[0]) == {L("x"): 1.0}


@pytest.mark.parametrize("values,k,top,want", [
    ([1.0, 1.0, 2.0], 2, True, [2, 1]),  # the root (first 1) is evicted, the second 1 survives
    ([1.0, 3.0, math.nan, 3.0, 2.0], 5, False, [0, 4, 3, 1, 2]),
    ([5.0, math.nan, 4.0], 2, True, [0, 2]),  # NaN loses to any number
    ([math.nan, math.nan], 1, True, [0]),
])
def test_go_heap_select_models_prometheus(values: list[float], k: int, top: bool, want: list[int]) -> None:
    assert go_heap_select(values, k, top) == want


def test_engine_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from watchkeeper.promql.enginebench import QUERIES, main

    main(["--series", "40", "--hours", "0.2", "--runs", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 * len(QUERIES) and all(" ms " in line for line in lines)


def test_step_invariant_parts_are_evaluated_once() -> None:
    db = MemQuerier({L("x"): [(0, 1.0), (M, 2.0), (2 * M, 3.0)],
                     L("y"): [(t * M, float(t)) for t in range(4)]})
    expr = ast.BinaryExpr("+", agg("sum", sel("x", at=M)), agg("sum", sel("y")))
    res = ENGINE.range_query(db, expr, 0, 3 * M, M)
    assert matrix(res) == {L(): [(0, 2.0), (M, 3.0), (2 * M, 4.0), (3 * M, 5.0)]}
    # The pinned selector was read for one step only; the other one for the whole range.
    assert sorted(db.selects) == [(-5 * M + 1, 3 * M), (-4 * M + 1, M)]
