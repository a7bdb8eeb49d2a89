# ruff: noqa: E501  (one-line cases with Go error texts kept verbatim)
"""Go fmt formatting of Python values (expected strings are Go's, most checked through promtool 2.42)."""

from __future__ import annotations

import math

import pytest

from watchkeeper.template.gofmt import format_float, format_v, go_type_name, quote, sprint, sprintf, sprintln
from watchkeeper.template.gotime import GoDuration, GoTime, format_duration, parse_rfc3339


@pytest.mark.parametrize(
    ("value", "want"),
    [
        (1e6, "1e+06"), (1234567.891, "1.234567891e+06"), (0.1, "0.1"), (3.14, "3.14"), (100000.0, "100000"),
        (123456.7, "123456.7"), (0.0123, "0.0123"), (1e-4, "0.0001"), (1e-5, "1e-05"), (0.000012, "1.2e-05"),
        (1e21, "1e+21"), (1e20, "1e+20"), (1e100, "1e+100"), (5e-324, "5e-324"), (2.5e-300, "2.5e-300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (-0.0, "-0"), (0.0, "0"), (1.0, "1"),
        (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
    ],
)
def test_float_v(value: float, want: str) -> None:
    assert format_v(value) == want
    assert format_float(value) == want


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ({"b": "2", "a": "1"}, "map[a:1 b:2]"), ([1, "a", 2.5], "[1 a 2.5]"), ([], "[]"), ({}, "map[]"),
        (None, "<nil>"), (True, "true"), (42, "42"), ("s", "s"), ({"x": [1, {"y": None}]}, "map[x:[1 map[y:<nil>]]]"),
    ],
)
def test_value_v(value: object, want: str) -> None:
    assert format_v(value) == want


@pytest.mark.parametrize(
    ("fmt", "args", "want"),
    [
        ("%5.1f|%-10s|%q|%x|%X|%e|%E|%g|%G|%t|%%|%d", (3.14159, "ab", 'q"é\n', 255, "hi", 1234.5678, 0.000123, 1e21, 1e-7, True, 42),
         '  3.1|ab        |"q\\"é\\n"|ff|6869|1.234568e+03|1.230000E-04|1e+21|1E-07|true|%|42'),
        ("%o|%b|%c|%U|%+d|% d|%05d|%-5d|%.3s|%10.3f|%+.2e|%#x|%#o", (8, 5, 65, 233, 5, 5, -42, 7, "abcdef", 3.14159, 12345.678, 255, 8),
         "10|101|A|U+00E9|+5| 5|-0042|7    |abc|     3.142|+1.23e+04|0xff|010"),
        ("%d", ("a",), "%!d(string=a)"),
        ("%s", (1,), "%!s(int=1)"),
        ("%d %d", (1,), "1 %!d(MISSING)"),
        ("%d", (1, 2, "x"), "1%!(EXTRA int=2, string=x)"),
        ("%z", (1,), "%!z(int=1)"),
        ("%!", (), "%!!(MISSING)"),
        ("%", (), "%!(NOVERB)"),
        ("%s", (None,), "%!s(<nil>)"),
        ("%v %v", (True, None), "true <nil>"),
        ("%T %T %T", (1, 1.5, "s"), "int float64 string"),
        ("%.2f", (1234567.891,), "1234567.89"),
        ("%.0f", (1234567.891,), "1234568"),
        ("%.0f %.0f %.0f %.0f %.1f", (0.5, 1.5, 2.5, -0.5, 0.25), "0 2 2 -0 0.2"),
        ("%g %g %g %.3g %.10g %g", (100000.0, 1000000.0, 1e-4, 1e-5, 123456789.0, 0.00001234),
         "100000 1e+06 0.0001 1e-05 123456789 1.234e-05"),
        ("%v %v %e %f", (1e100, 5e-324, 0.0, 1e22), "1e+100 5e-324 0.000000e+00 10000000000000000000000.000000"),
        ("%6.2v|%.2v|%10v|%-10v|", (3.14159, "abc", "x", 1.5), "   3.1|ab|         x|1.5       |"),
        ("%g|%G|%.2g|%.0g|%#g|%g", (1e-7, 1e-7, 123.0, 7.0, 1.0, 1e21), "1e-07|1E-07|1.2e+02|7|1.00000|1e+21"),
        ("%q|%+q|%#q|%x|%X|% X", ("tab\there", "é", "back`tick", "é", "é", "ab"),
         '"tab\\there"|"\\u00e9"|"back`tick"|c3a9|C3A9|61 62'),
        ("%s|%10s|%-10s|%.1s|%5.2s|", ("héllo",) * 5, "héllo|     héllo|héllo     |h|   hé|"),
        ("%08.3f|%x|% x|%6.2f%%|%*d|%-8.2f|", (-3.14159, "hi", "hi", 12.345, 5, 42, 3.14159),
         "-003.142|6869|68 69| 12.35%|   42|3.14    |"),
        ("%5t|%-7v|%3c|%q|%x", (True, 12, 65, 65, -255), " true|12     |  A|'A'|-ff"),
        ("%v|%d|%s", ({"a": 1}, {"a": 1}, {"a": 1}), "map[a:1]|map[%!d(string=a):1]|map[a:%!s(int=1)]"),
        ("%q", ({"k": "v"},), 'map["k":"v"]'),
        ("%+v|%#v", (1.5, 2), "1.5|2"),
        ("%10.4f|%-10.2e|%+.1f|% .1f", (3.14159265, 1234.5, 2.25, 2.25), "    3.1416|1.23e+03  |+2.2| 2.2"),
        ("%f|%5.1f|%e", (math.inf, -math.inf, math.nan), "+Inf| -Inf|NaN"),
    ],
)
def test_sprintf(fmt: str, args: tuple[object, ...], want: str) -> None:
    assert sprintf(fmt, *args) == want


def test_sprint_and_sprintln() -> None:
    assert sprint(1, 2, "a", 3, 4) == "1 2a3 4"
    assert sprint("a", "b") == "ab"
    assert sprint(1.5, True) == "1.5 true"
    assert sprintln(1, "a", 2) == "1 a 2\n"
    assert sprint() == ""


def test_quote_and_type_names() -> None:
    assert quote('a"\\\t\x01é\u2028') == '"a\\"\\\\\\t\\x01é\\u2028"'
    assert quote("é", ascii_only=True) == '"\\u00e9"'
    assert go_type_name({"a": "b"}) == "map[string]string"
    assert go_type_name(["a"]) == "[]string"
    assert go_type_name([1]) == "[]interface {}"


@pytest.mark.parametrize(
    ("ns", "want"),
    [(0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_500_000, "1.5ms"), (90_500_000_000, "1m30.5s"),
     (3_725_500_000_000, "1h2m5.5s"), (-2_000_000_000, "-2s"), (86_400_000_000_000, "24h0m0s")],
)
def test_duration_string(ns: int, want: str) -> None:
    assert format_duration(ns) == want
    assert format_v(GoDuration(ns)) == want


def test_time_string_and_layouts() -> None:
    t = parse_rfc3339("2026-11-21T23:51:09.641041672Z")
    assert format_v(t) == "2026-11-21 23:51:09.641041672 +0000 UTC"
    assert t.Format("2006-01-02T15:04:05.000000Z07:00") == "2026-11-21T23:51:09.641041Z"
    assert t.Format("Mon Jan _2 3:04PM 06 .999 002") == "Sat Nov 21 11:51PM 26 .641 325"
    assert format_v(GoTime(1_700_000_000 * 10**9)) == "2023-11-14 22:13:20 +0000 UTC"
    assert format_v(parse_rfc3339("0001-01-01T00:00:00Z")) == "0001-01-01 00:00:00 +0000 UTC"
    assert parse_rfc3339("2026-01-01T01:00:00+01:00").UTC().String() == "2026-01-01 00:00:00 +0000 UTC"
    assert parse_rfc3339("2026-01-01T01:00:00+01:00").String() == "2026-01-01 01:00:00 +0100 +0100"
