"""Wire details of the HTTP API: value/timestamp text, text exposition, parameter parsing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from watchkeeper.api.errors import ApiError
from watchkeeper.api.jsonfmt import format_times, format_value, format_values, matrix_json, vector_json
from watchkeeper.api.params import MAX_TIME_MS, MIN_TIME_MS, matchers_param, parse_step_ms, parse_time_ms
from watchkeeper.api.textfmt import MetricFamily, go_float, render_families
from watchkeeper.model.batch import SeriesSet
from watchkeeper.model.labels import Labels


@pytest.mark.parametrize(("v", "text"), [
    (1.0, "1"), (-3.0, "-3"), (2.5, "2.5"), (0.1, "0.1"), (-0.0, "-0"), (1e-10, "0.0000000001"),
    (1e20, "100000000000000000000"), (123456789012345678.0, "123456789012345680"),
    (float("inf"), "+Inf"), (float("-inf"), "-Inf"), (float("nan"), "NaN"), (1e15, "1000000000000000"),
    (5e-324, "0." + "0" * 323 + "5"),
])
def test_value_text_is_gos_f_format(v: float, text: str) -> None:
    assert format_value(v) == text
    assert format_values(np.array([v, 1.5]))[0] == text


def test_array_formatting_matches_scalar_formatting() -> None:
    rng = np.random.default_rng(7)
    v = rng.random(20_000) * 10.0 ** rng.integers(-12, 25, 20_000)
    v[::5] = np.round(v[::5])
    v[::3] *= -1
    assert format_values(v) == [format_value(x) for x in v]


def test_timestamps_are_seconds_with_three_decimals() -> None:
    assert format_times(np.array([0, 1500, -1500, 1_700_000_000_123, 5])) == [
        "0", "1.500", "-1.500", "1700000000.123", "0.005"]


def test_matrix_and_vector_json() -> None:
    ss = SeriesSet([Labels({"__name__": "a", "x": "1"}), Labels({"__name__": "a", "x": "2"})],
                   np.array([0, 2, 3]), np.array([1000, 16000, 1000]), np.array([1.0, np.inf, 0.5]))
    assert json.loads(matrix_json(ss)) == [
        {"metric": {"__name__": "a", "x": "1"}, "values": [[1, "1"], [16, "+Inf"]]},
        {"metric": {"__name__": "a", "x": "2"}, "values": [[1, "0.5"]]},
    ]
    assert json.loads(vector_json(ss)) == [
        {"metric": {"__name__": "a", "x": "1"}, "value": [16, "+Inf"]},
        {"metric": {"__name__": "a", "x": "2"}, "value": [1, "0.5"]},
    ]
    assert matrix_json(SeriesSet.empty()) == "[]"


@pytest.mark.parametrize(("v", "text"), [
    (1.0, "1"), (1234567.0, "1.234567e+06"), (100000.0, "100000"), (1e6, "1e+06"), (0.0001, "0.0001"),
    (1.5e-7, "1.5e-07"), (-2.5, "-2.5"), (16663476224.0, "1.6663476224e+10"), (float("nan"), "NaN"),
    (float("-inf"), "-Inf"), (0.0, "0"),
])
def test_text_format_values_are_gos_g_format(v: float, text: str) -> None:
    assert go_float(v) == text


def test_render_families() -> None:
    fam = MetricFamily("up", "gauge", "Is it up.\nReally.")
    fam.add([("instance", 'a"b'), ("job", "j")], 1.0, 1000)
    fam.add([], 0.0)
    assert render_families([fam]).decode() == (
        '# HELP up Is it up.\\nReally.\n# TYPE up gauge\nup{instance="a\\"b",job="j"} 1 1000\nup 0\n')


@pytest.mark.parametrize(("text", "ms"), [
    ("1700000000", 1_700_000_000_000), ("1700000000.5", 1_700_000_000_500), ("-1.5", -1500),
    ("2023-11-14T22:13:20Z", 1_700_000_000_000), ("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123),
    ("2023-11-14T23:13:20+01:00", 1_700_000_000_000), ("-292273086-05-16T16:47:06Z", MIN_TIME_MS),
    ("292277025-08-18T07:12:54.999999999Z", MAX_TIME_MS),
])
def test_time_parameters(text: str, ms: int) -> None:
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize("text", ["", "abc", "2023-11-14", "NaN", "Inf", "2023-11-14T22:13:20"])
def test_bad_time_parameters(text: str) -> None:
    with pytest.raises(ValueError, match=f'cannot parse "{text}" to a valid timestamp'):
        parse_time_ms(text)


@pytest.mark.parametrize(("text", "ms"), [("15", 15000), ("0.5", 500), ("1m", 60000), ("1h30m", 5_400_000)])
def test_step_parameters(text: str, ms: int) -> None:
    assert parse_step_ms(text) == ms


def test_bad_step_parameter() -> None:
    with pytest.raises(ValueError, match='cannot parse "x" to a valid duration'):
        parse_step_ms("x")


def test_match_parameters() -> None:
    [[m]] = matchers_param(['up'])
    assert (m.name, m.value) == ("__name__", "up")
    with pytest.raises(ApiError, match="no match"):
        matchers_param([])
    with pytest.raises(ApiError, match="at least one non-empty matcher"):
        matchers_param(['{a=""}'])
    with pytest.raises(ApiError, match='invalid parameter "match\\[\\]"'):
        matchers_param(["up{"])
