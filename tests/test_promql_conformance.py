"""PromQL conformance: Prometheus' ``.test`` corpus run through the watchkeeper engine.

One test per ``eval`` of ../shared/conformance/promql/latest/*.test, read in place
beside the repository (``WATCHKEEPER_CONFORMANCE`` may name another ``conformance``
directory). The id is ``file.test:line``. Evals that need a feature
watchkeeper does not provide (start timestamps) are expected failures, decided
from the script content by ``promqltest.eval_requirements``, never by name or
line; every other eval, native histograms and experimental features included,
must pass.

The first half of the file tests the script parser and the comparison rules
themselves, with a scripted fake engine.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conformance_data import CONFORMANCE
from watchkeeper.model.batch import STALE_NAN, SeriesSet, is_stale
from watchkeeper.model.labels import Labels
from watchkeeper.promql.errors import ExecutionError
from watchkeeper.promql.floatcmp import almost_equal, almost_equal_arrays
from watchkeeper.promql.promqltest import (
    NATIVE_HISTOGRAMS,
    START_TIMESTAMPS,
    EvalFailure,
    ScriptRunner,
    eval_requirements,
    run_cli,
)
from watchkeeper.promql.testhistogram import HistogramLiteral, histograms_equal, parse_histogram_body
from watchkeeper.promql.testscript import (
    ClearCmd,
    EvalCmd,
    LoadCmd,
    ScriptError,
    parse_number_line,
    parse_script,
    parse_series_line,
    parse_value_sequence,
)

LATEST = CONFORMANCE / "promql" / "latest"
NOT_PROVIDED = frozenset({START_TIMESTAMPS})


# --------------------------------------------------------------------------- value sequences


@pytest.mark.parametrize(("text", "expected"), [
    ("1 2 3", [1.0, 2.0, 3.0]),
    ("_ 1 _x3 2", [None, 1.0, None, None, None, 2.0]),
    ("0+10x4", [0.0, 10.0, 20.0, 30.0, 40.0]),
    ("99-1x2", [99.0, 98.0, 97.0]),
    ("-2+1x2", [-2.0, -1.0, 0.0]),
    ("7x2", [7.0, 7.0, 7.0]),
    ("0x59", [0.0] * 60),
    ("1e-3 .5 -1.5 1e+100 12340000", [1e-3, 0.5, -1.5, 1e100, 12340000.0]),
    ("Inf +Inf -Inf inf", [math.inf, math.inf, -math.inf, math.inf]),
    ("2.5+0x1", [2.5, 2.5]),
])
def test_value_sequence(text: str, expected: list) -> None:
    assert parse_value_sequence(text) == expected


def test_value_sequence_nan_and_stale() -> None:
    nan, stale = parse_value_sequence("NaN stale")
    assert math.isnan(nan) and not is_stale(np.array([nan]))[0]
    assert is_stale(np.array([stale]))[0]


def test_value_sequence_repeated_addition_rounding() -> None:
    # 0.1 added ten times is not 1.0 in binary floats; the format says "repeated addition".
    values = parse_value_sequence("0+0.1x10")
    running = 0.0
    for v in values:
        assert v == running
        running += 0.1


def test_format_example_table() -> None:
    values = parse_value_sequence("0+10x4 _ 100 stale 7x2")
    assert values[:6] == [0.0, 10.0, 20.0, 30.0, 40.0, None]
    assert values[6] == 100.0 and is_stale(np.array([values[7]]))[0] and values[8:] == [7.0] * 3


@pytest.mark.parametrize("text", ["1+1", "abc", "1x", "{{schema:0", "{{foo:1}}", "{{sum:1 sum:2}}", "_xa"])
def test_value_sequence_errors(text: str) -> None:
    with pytest.raises(ValueError):
        parse_value_sequence(text)


# --------------------------------------------------------------------------- histogram literals


def test_histogram_literal_fields() -> None:
    h = parse_histogram_body("schema:1 sum:3 count:22 z_bucket:2 z_bucket_w:0.001 buckets:[5 10 7] offset:-1 "
                             "n_buckets:[1 -2] n_offset:3 counter_reset_hint:gauge")
    assert (h.schema, h.sum, h.count, h.zero_count, h.zero_threshold) == (1, 3.0, 22.0, 2.0, 0.001)
    assert h.positive == {-1: 5.0, 0: 10.0, 1: 7.0}
    assert h.negative == {3: 1.0, 4: -2.0}
    assert h.counter_reset_hint == "gauge" and h.hint_set
    assert parse_histogram_body("") == HistogramLiteral()


def test_histogram_sequence_addition() -> None:
    values = parse_value_sequence("{{schema:0 sum:1 count:1 buckets:[1]}}+{{sum:2 count:2 buckets:[2]}}x2")
    assert [(h.sum, h.count, h.positive) for h in values] == [
        (1.0, 1.0, {0: 1.0}), (3.0, 3.0, {0: 3.0}), (5.0, 5.0, {0: 5.0})]
    repeated = parse_value_sequence("{{count:1}}x2 {{count:5}}-{{count:1}}x1")
    assert [h.count for h in repeated] == [1.0, 1.0, 1.0, 5.0, 4.0]


def test_histogram_addition_reduces_finer_increment() -> None:
    # Schema 1 buckets 1 and 2 both fall into schema-0 bucket 1: (1, 2].
    (_, h) = parse_value_sequence("{{schema:0 buckets:[0 1] offset:0}}+{{schema:1 buckets:[1 1] offset:1}}x1")
    assert h.positive == {0: 0.0, 1: 3.0}
    with pytest.raises(ValueError):
        parse_value_sequence("{{schema:1}}+{{schema:0}}x1")


def test_histogram_custom_buckets_and_compare() -> None:
    a = parse_histogram_body("schema:-53 sum:1 count:3 custom_values:[5 10] buckets:[1 0 2]")
    b = parse_histogram_body("schema:-53 sum:1.0000001 count:3 custom_values:[5 10] buckets:[1] offset:0")
    b = b.combine(parse_histogram_body("schema:-53 custom_values:[5 10] buckets:[2] offset:2"), 1.0)
    assert histograms_equal(a, b)
    other_bounds = parse_histogram_body("schema:-53 sum:1 count:3 custom_values:[5 11] buckets:[1 0 2]")
    assert not histograms_equal(a, other_bounds)
    assert not histograms_equal(a, parse_histogram_body("schema:-53 sum:1 count:3 custom_values:[5 10] "
                                                         "buckets:[1 2]"))


def test_histogram_hint_compared_only_when_spelled_out() -> None:
    plain = parse_histogram_body("count:1")
    gauge = parse_histogram_body("count:1 counter_reset_hint:gauge")
    reset = parse_histogram_body("count:1 counter_reset_hint:reset")
    assert histograms_equal(plain, reset)
    assert not histograms_equal(gauge, reset)
    assert histograms_equal(gauge, parse_histogram_body("count:1 counter_reset_hint:gauge"))


# --------------------------------------------------------------------------- float tolerance


@pytest.mark.parametrize(("a", "b", "equal"), [
    (1.0, 1.0 + 1e-7, True),
    (1.0, 1.00001, False),
    (0.0, 1e-300, False),
    (0.0, 0.0, True),
    (math.inf, math.inf, True),
    (math.inf, -math.inf, False),
    (math.nan, math.nan, True),
    (math.nan, 1.0, False),
    (STALE_NAN, math.nan, False),
    (STALE_NAN, STALE_NAN, True),
    (1e308, 1.7e308, False),
    (-1e308, -1e308 * (1 + 1e-9), True),
])
def test_almost_equal(a: float, b: float, equal: bool) -> None:
    assert almost_equal(a, b) is equal
    assert bool(almost_equal_arrays(np.array([a]), np.array([b]))[0]) is equal


# --------------------------------------------------------------------------- script structure


_SCRIPT = """
# comment
load 1m
  up{job="a"} 1 1 0 _ 1
  up{job="b"} 0x4
  up{job="b"} 5x4
# a comment ends a block
clear
load_with_nhcb 5m
  m_bucket{le="1"} 1
  m_bucket{le="+Inf"} 2

eval instant at 3m up
  up{job="a"} 0
  up{job="b"} 0

eval range from 0 to 4m step 2m up{job="a"}
  up{job="a"} 1 0 1

eval_ordered instant at 4m sort_desc(up)
  up{job="a"} 1
  up{job="b"} 0

eval instant at 0 1 + 2
  3

eval instant at 0 "hello"
  expect string "hel\\"lo"

eval_fail instant at 0 foo
  expected_fail_message some error

eval instant at 1m foo
  expect fail regex: some.*error
  expect warn msg: PromQL warning: x (1:1)
  expect warn
  expect no_info

eval instant at 1m some_metric[1m]
  expect range vector from 10s to 1m step 10s
  some_metric{env="a"} 2 3 4 5 6
  expect{} 1
"""


def test_parse_script_structure() -> None:
    cmds = parse_script(_SCRIPT)
    kinds = [type(c).__name__ for c in cmds]
    assert kinds == ["LoadCmd", "ClearCmd", "LoadCmd"] + ["EvalCmd"] * 8
    load = cmds[0]
    assert isinstance(load, LoadCmd) and load.step_ms == 60_000 and not load.with_nhcb
    assert load.series[Labels({"__name__": "up", "job": "b"})] == [5.0] * 5  # later line replaces
    assert isinstance(cmds[1], ClearCmd) and cmds[1].line == 8
    assert isinstance(cmds[2], LoadCmd) and cmds[2].with_nhcb and cmds[2].step_ms == 300_000
    inst, rng, ordered, scalar, string, fail_old, fail_new, rangevec = cmds[3:]
    assert isinstance(inst, EvalCmd) and inst.line == 13 and inst.start_ms == 180_000 and not inst.is_range
    assert rng.is_range and (rng.start_ms, rng.end_ms, rng.step_ms) == (0, 240_000, 120_000)
    assert ordered.ordered and ordered.expected[Labels({"__name__": "up", "job": "b"})][0] == 2
    assert scalar.expected_scalar == 3.0 and not scalar.expected
    assert string.expected_string == 'hel"lo'
    assert fail_old.fail is not None and fail_old.fail.message == "some error"
    assert fail_new.fail is not None and fail_new.fail.regex == "some.*error"
    assert [str(w) for w in fail_new.warns] == ["msg: PromQL warning: x (1:1)", "(any)"] and fail_new.no_info
    assert rangevec.range_vector == (10_000, 60_000, 10_000) and rangevec.eval_ms == 60_000
    assert Labels({"__name__": "expect"}) in rangevec.expected


def test_parse_start_timestamp_lines() -> None:
    cmds = parse_script("load 1m\n  c{type=\"a\"}@st  _ _ -30s-1mx2 -1m\n  c{type=\"a\"}     _ _ 0+60x2 5\n")
    load = cmds[0]
    assert isinstance(load, LoadCmd)
    labels = Labels({"__name__": "c", "type": "a"})
    assert load.start_timestamps[labels] == [None, None, -30_000, -90_000, -150_000, -60_000]
    assert load.series[labels] == [None, None, 0.0, 60.0, 120.0, 5.0]
    with pytest.raises(ScriptError):
        parse_script("load 1m\n  c@st 1m\n  d 1\n")
    default = parse_script("load 1m\n  @st -1s 0\n  d 1 2 3\n")[0]
    assert isinstance(default, LoadCmd)
    assert default.start_timestamps[Labels({"__name__": "d"})] == [-1000, 0, -1000]


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3.0), ("-1.5", -1.5), ("1e3", 1000.0), ("Inf", math.inf), ("-Inf", -math.inf), ("0x10", 16.0),
    ("010", 8.0), ("foo", None), ("{} 1", None), ("1 2", None),
])
def test_number_lines(text: str, value: float | None) -> None:
    assert parse_number_line(text) == value


@pytest.mark.parametrize("script", [
    "frobnicate 1m",
    "load\n",
    "eval instant at 1m foo\n  expect fail\n  expect fail\n",
    "eval instant at 1m foo\n  expect warn\n  expect no_warn\n",
    "eval instant at 1m foo\n  expect bogus\n",
    "eval instant at 1m foo\n  foo 1 2\n",
    "eval range from 2m to 1m step 1m foo\n",
    "eval instant at 1m foo\n  expect string\n",
    "eval instant at 1m foo\n  expect fail regex: (\n",
    "eval_fail instant at 1m foo\n  expected_fail_regexp (\n",
])
def test_script_errors(script: str) -> None:
    with pytest.raises(ScriptError):
        parse_script(script)


def test_series_line_quoting() -> None:
    labels, values = parse_series_line('{__name__="a", b="x} y", c=\'q\'} 1 2')
    assert labels == Labels({"__name__": "a", "b": "x} y", "c": "q"}) and values == [1.0, 2.0]


# --------------------------------------------------------------------------- runner with a scripted engine


class _FakeEngine:
    """Returns canned results keyed by (kind, query); records the calls."""

    def __init__(self, results: dict) -> None:
        self.results = results
        self.calls: list[tuple] = []

    def _answer(self, key: tuple):
        self.calls.append(key)
        value = self.results[key[:2]]
        if isinstance(value, Exception):
            raise value
        return value

    def instant_query(self, querier, query: str, t_ms: int):
        return self._answer(("instant", query, t_ms))

    def range_query(self, querier, query: str, start_ms: int, end_ms: int, step_ms: int):
        return self._answer(("range", query, start_ms, end_ms, step_ms))


def _series(rows: list[tuple[dict, list[int], list[float]]]) -> SeriesSet:
    offsets = np.cumsum([0] + [len(t) for _, t, _ in rows]).astype(np.int64)
    t = np.array([x for _, ts, _ in rows for x in ts], dtype=np.int64)
    v = np.array([x for _, _, vs in rows for x in vs], dtype=np.float64)
    return SeriesSet([Labels(lbl) for lbl, _, _ in rows], offsets, t, v)


def _result(kind: str, series=None, scalar=None, string=None, warnings=(), infos=()):
    notes = SimpleNamespace(warnings=list(warnings), infos=list(infos))
    return SimpleNamespace(result_type=kind, series=series, scalar=scalar, string=string, annotations=notes)


class _NullStorage:
    def append(self, batch) -> int:
        return len(batch)


def _run(script: str, results: dict, **kwargs) -> list:
    runner = ScriptRunner(parse_script(script), engine=_FakeEngine(results), new_storage=_NullStorage,
                          **kwargs)
    return runner.run_all()


_A, _B = {"__name__": "up", "job": "a"}, {"__name__": "up", "job": "b"}


def test_runner_vector_set_and_values() -> None:
    script = "eval instant at 1m up\n  up{job=\"a\"} 1\n  up{job=\"b\"} 2\n"
    vec = _result("vector", _series([(_B, [60_000], [2.0]), (_A, [60_000], [1.0000001])]))
    mat = _result("matrix", _series([(_A, [0, 60_000, 120_000], [0, 1, 1]), (_B, [60_000], [2])]))
    good = _run(script, {("instant", "up"): vec, ("range", "up"): mat})
    assert [o.passed for o in good] == [True]
    wrong = _result("vector", _series([(_A, [60_000], [1.0]), (_B, [60_000], [2.1])]))
    (o,) = _run(script, {("instant", "up"): wrong, ("range", "up"): mat})
    assert not o.passed and "expected 2.0" in o.message
    missing = _result("vector", _series([(_A, [60_000], [1.0])]))
    (o,) = _run(script, {("instant", "up"): missing}, range_check=False)
    assert not o.passed and "not found" in o.message
    extra = _result("vector", _series([(_A, [60_000], [1.0]), (_B, [60_000], [2.0]),
                                       ({"__name__": "up"}, [60_000], [3.0])]))
    (o,) = _run(script, {("instant", "up"): extra}, range_check=False)
    assert not o.passed and "unexpected metric" in o.message


def test_runner_range_mode_check_catches_inconsistency() -> None:
    script = "eval instant at 1m up\n  up{job=\"a\"} 1\n"
    vec = _result("vector", _series([(_A, [60_000], [1.0])]))
    inconsistent = _result("matrix", _series([(_A, [0, 60_000], [1.0, 7.0])]))
    (o,) = _run(script, {("instant", "up"): vec, ("range", "up"): inconsistent})
    assert not o.passed and o.message.startswith("range mode:")
    unsorted = _result("matrix", _series([(_B, [60_000], [1.0]), (_A, [60_000], [1.0])]))
    (o,) = _run(script, {("instant", "up"): vec, ("range", "up"): unsorted})
    assert not o.passed and "sorted" in o.message


def test_runner_ordered() -> None:
    script = "eval_ordered instant at 1m sort(up)\n  up{job=\"a\"} 1\n  up{job=\"b\"} 2\n"
    in_order = _result("vector", _series([(_A, [60_000], [1.0]), (_B, [60_000], [2.0])]))
    reversed_ = _result("vector", _series([(_B, [60_000], [2.0]), (_A, [60_000], [1.0])]))
    assert _run(script, {("instant", "sort(up)"): in_order})[0].passed
    (o,) = _run(script, {("instant", "sort(up)"): reversed_})
    assert not o.passed and "position" in o.message


def test_runner_range_points_and_gaps() -> None:
    script = "eval range from 0 to 2m step 1m up\n  up{job=\"a\"} 1 _ 3\n"
    ok = _result("matrix", _series([(_A, [0, 120_000], [1.0, 3.0])]))
    assert _run(script, {("range", "up"): ok})[0].passed
    shifted = _result("matrix", _series([(_A, [0, 60_000], [1.0, 3.0])]))
    (o,) = _run(script, {("range", "up"): shifted})
    assert not o.passed and "timestamp" in o.message
    too_many = "eval range from 0 to 1m step 1m up\n  up{job=\"a\"} 1 2 3\n"
    (o,) = _run(too_many, {("range", "up"): ok})
    assert not o.passed and "cannot return this many points" in o.message


def test_runner_scalar_string_and_types() -> None:
    script = "eval instant at 0 1 + 2\n  3\n\neval instant at 0 \"x\"\n  expect string \"x\"\n"
    scalar_range = _result("matrix", _series([({}, [-60_000, 0, 60_000], [3.0, 3.0, 3.0])]))
    results = {("instant", "1 + 2"): _result("scalar", scalar=(0, 3.0)), ("range", "1 + 2"): scalar_range,
               ("instant", '"x"'): _result("string", string=(0, "x"))}
    assert [o.passed for o in _run(script, results)] == [True, True]
    results[("instant", "1 + 2")] = _result("vector", _series([({}, [0], [3.0])]))
    assert not _run(script, results)[0].passed


def test_runner_failures_and_annotations() -> None:
    script = ("eval instant at 0 foo\n  expect fail msg: boom\n\n"
              "eval instant at 0 bar\n  expect fail regex: bo+m\n\n"
              "eval instant at 0 baz\n  expect warn regex: careful\n  expect no_info\n")
    boom = ExecutionError("boom!")
    empty = _result("vector", _series([]))
    warned = _result("vector", _series([]), warnings=["PromQL warning: careful (1:1)"])
    results = {("instant", "foo"): boom, ("instant", "bar"): boom, ("instant", "baz"): warned,
               ("range", "baz"): _result("matrix", _series([]))}
    assert [o.passed for o in _run(script, results)] == [False, True, True]
    results[("instant", "baz")] = _result("vector", _series([]), warnings=["PromQL warning: other (1:1)"])
    assert not _run(script, results)[2].passed
    results[("instant", "baz")] = _result("vector", _series([]), warnings=["PromQL warning: careful"],
                                          infos=["PromQL info: x"])
    assert not _run(script, results)[2].passed
    results[("instant", "foo")] = empty
    assert not _run(script, results)[0].passed


class _PinnedEngine(_FakeEngine):
    """Answers the original query text from ``results``; pinned ASTs get ``pinned(t_ms)``."""

    def __init__(self, results: dict, pinned) -> None:
        super().__init__(results)
        self.pinned = pinned
        self.pinned_calls: list[tuple[int | None, int]] = []

    def instant_query(self, querier, query, t_ms: int):
        if isinstance(query, str):
            return super().instant_query(querier, query, t_ms)
        self.pinned_calls.append((query.args[0].vector_selector.timestamp_ms, t_ms))
        return self.pinned(t_ms)


def test_step_invariance_check() -> None:
    script = parse_script("eval instant at 1m rate(up[1m])\n  {job=\"a\"} 1\n")
    good = _result("vector", _series([({"job": "a"}, [60_000], [1.0])]))
    engine = _PinnedEngine({("instant", "rate(up[1m])"): good}, lambda t: good)
    runner = ScriptRunner(script, engine=engine, new_storage=_NullStorage, range_check=False,
                          step_invariance=True)
    assert runner.run_all()[0].passed
    assert engine.pinned_calls == [(60_000, t) for t in (-600_000, 0, 12_000, 60_000, 600_000)]
    drifting = _PinnedEngine({("instant", "rate(up[1m])"): good},
                             lambda t: good if t <= 60_000 else _result("vector", _series([])))
    runner = ScriptRunner(script, engine=drifting, new_storage=_NullStorage, range_check=False,
                          step_invariance=True)
    (o,) = runner.run_all()
    assert not o.passed and "evaluated at 600000" in o.message


def test_requirements_are_derived_from_content() -> None:
    script = """
load 1m
  floats{a="1"} 1 2
  hist{a="1"} {{count:1}} 2
  c@st 1m
  c 1

eval instant at 1m floats
  floats{a="1"} 2

eval instant at 1m hist
  hist{a="1"} 2

eval instant at 1m {a="1"}

eval instant at 1m sort_by_label(floats, "a")

eval instant at 1m limitk(1, floats)

eval instant at 1m rate(c[1m])

eval instant at 1m floats
  floats{a="1"} {{count:1}}

eval instant at 1m rate(floats[1m] anchored)

eval instant at 1m rate(floats[30s+30s])

eval instant at 1m floats{a=~"[0-9]+"}

clear

eval instant at 1m hist
"""
    reqs = list(eval_requirements(parse_script(script)).values())
    assert reqs[0] == ()
    assert reqs[1] == (NATIVE_HISTOGRAMS,) and reqs[2] == (NATIVE_HISTOGRAMS,)
    assert reqs[3] == ("experimental function sort_by_label",)
    assert reqs[4] == ("experimental function limitk",)
    assert reqs[5] == (START_TIMESTAMPS,)
    assert reqs[6] == (NATIVE_HISTOGRAMS,)
    assert reqs[7] == ("experimental syntax",) and reqs[8] == ("experimental syntax",)
    assert reqs[9] == () and reqs[10] == ()


def test_cli_reports_counts_and_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "mini.test"
    script.write_text("load 1m\n  up{job=\"a\"} 1 2 3\n\neval instant at 2m up\n  up{job=\"a\"} 3\n\n"
                      "eval instant at 2m up\n  up{job=\"a\"} 4\n")
    assert run_cli([str(script)]) == 1
    out = capsys.readouterr().out
    assert "mini.test: 1/2 passed" in out and "FAIL line 7" in out
    script.write_text("load 1m\n  up{job=\"a\"} 1 2 3\n\neval range from 0 to 2m step 1m up + 1\n"
                      "  {job=\"a\"} 2 3 4\n")
    assert run_cli([str(script)]) == 0


# --------------------------------------------------------------------------- the corpus


def _corpus_params() -> list:
    params = []
    for path in sorted(LATEST.glob("*.test")):
        try:
            commands = parse_script(path.read_text(encoding="utf-8"))
            requirements = eval_requirements(commands)
        except Exception as e:  # noqa: BLE001 - reported as this file's failing test, not a collection error
            params.append(pytest.param(path.name, None, f"{type(e).__name__}: {e}", id=f"{path.name}:parse"))
            continue
        for cmd in commands:
            if not isinstance(cmd, EvalCmd):
                continue
            # Native histograms and the experimental functions/syntax (enabled in the runner, as
            # upstream's harness enables them) must pass; only start timestamps are not provided.
            needs = requirements[cmd.line]
            missing = [n for n in needs if n in NOT_PROVIDED]
            marks = [pytest.mark.xfail(reason="needs " + ", ".join(missing), strict=False)] if missing else []
            params.append(pytest.param(path.name, cmd.line, None, id=f"{path.name}:{cmd.line}", marks=marks))
    return params


@pytest.fixture(scope="module")
def runners() -> dict[str, ScriptRunner]:
    """One runner per file, shared by that file's evals so each load block is stored once."""
    return {}


@pytest.mark.skipif(not LATEST.is_dir(), reason=f"conformance corpus not found at {LATEST}")
@pytest.mark.parametrize(("file", "line", "parse_error"), _corpus_params() if LATEST.is_dir() else [])
def test_conformance(runners: dict[str, ScriptRunner], file: str, line: int | None,
                     parse_error: str | None) -> None:
    assert parse_error is None, parse_error
    runner = runners.get(file)
    if runner is None:
        runner = runners[file] = ScriptRunner.from_file(LATEST / file)
    cmd = next(c for c in runner.evals if c.line == line)
    failure = None
    try:
        runner.run(cmd)
    except EvalFailure as e:
        failure = str(e)
    if failure is not None:
        pytest.fail(f"{file}:{line}: {cmd.expr}\n{failure}", pytrace=False)
