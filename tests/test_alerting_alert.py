"""Alert merge rule and RFC 3339 nanosecond times."""

from __future__ import annotations

import pytest

from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.timefmt import format_rfc3339_ns, parse_rfc3339_ns


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21T23:51:09.641041672Z",
        "2026-11-21T23:51:28.642583Z",
        "2026-11-21T23:51:28Z",
        "1970-01-01T00:00:00.000000001Z",
    ],
)
def test_rfc3339_round_trip(text: str) -> None:
    assert format_rfc3339_ns(parse_rfc3339_ns(text)) == text


def test_rfc3339_zero_offsets_and_errors() -> None:
    assert parse_rfc3339_ns("0001-01-01T00:00:00Z") is None
    assert format_rfc3339_ns(None) == "0001-01-01T00:00:00Z"
    assert parse_rfc3339_ns("2020-01-01T02:00:00+02:00") == parse_rfc3339_ns("2020-01-01T00:00:00Z")
    assert format_rfc3339_ns(parse_rfc3339_ns("2020-01-01T00:00:00.500-01:30")) == "2020-01-01T01:30:00.5Z"
    with pytest.raises(ValueError, match="RFC3339"):
        parse_rfc3339_ns("yesterday")


def a(start: int, end: int | None, updated: int, timeout: bool = False) -> Alert:
    return Alert(labels={"a": "1"}, starts_at=start, ends_at=end, updated_at=updated, timeout=timeout)


NOW = 100


def test_merge_younger_wins_earlier_start_kept() -> None:
    m = a(10, 200, 1).merge(a(20, 150, 2), NOW)
    assert (m.starts_at, m.ends_at, m.updated_at) == (10, 200, 2)  # older non-timeout later end survives
    assert a(20, 150, 2).merge(a(10, 200, 1), NOW) == m  # argument order does not matter


def test_merge_timeout_end_does_not_survive() -> None:
    m = a(10, 200, 1, timeout=True).merge(a(20, 150, 2), NOW)
    assert m.ends_at == 150


def test_merge_resolved() -> None:
    assert a(10, 90, 1).merge(a(10, 80, 2), NOW).ends_at == 90  # both resolved: the later end wins
    assert a(10, 200, 1).merge(a(10, 80, 2), NOW).ends_at == 80  # newer resolves: its end wins
    assert a(10, None, 1).merge(a(10, 80, 2), NOW).ends_at == 80


def test_fingerprint_and_resolved() -> None:
    x = Alert(labels={"alertname": "G1", "instance": "a"}, ends_at=5)
    assert x.fingerprint == "89ebaa99bbf4f944"
    assert x.resolved(5) and not x.resolved(4) and not Alert(labels={}).resolved(10**18)
