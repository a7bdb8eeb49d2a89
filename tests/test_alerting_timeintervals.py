"""Time intervals: each field, time zones, and month/day edge cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchkeeper.alerting.timeintervals import parse_named_interval, parse_time_interval


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def contains(spec: dict, t: datetime) -> bool:
    return parse_time_interval(spec).contains(t)


@pytest.mark.parametrize(
    ("t", "inside"),
    [
        (utc(2024, 1, 1, 8, 59), False),
        (utc(2024, 1, 1, 9, 0), True),
        (utc(2024, 1, 1, 16, 59, 59), True),
        (utc(2024, 1, 1, 17, 0), False),  # end is exclusive
    ],
)
def test_times(t: datetime, inside: bool) -> None:
    assert contains({"times": [{"start_time": "09:00", "end_time": "17:00"}]}, t) is inside


def test_times_to_midnight_and_several_ranges() -> None:
    spec = {
        "times": [{"start_time": "00:00", "end_time": "01:00"}, {"start_time": "23:00", "end_time": "24:00"}]
    }
    assert contains(spec, utc(2024, 1, 1, 23, 59)) and contains(spec, utc(2024, 1, 1, 0, 30))
    assert not contains(spec, utc(2024, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("day", "inside"), [(6, False), (7, True), (8, True), (12, True), (13, False), (14, True)]
)
def test_weekdays(day: int, inside: bool) -> None:
    # 2024-01-07 is a Sunday, 2024-01-13 a Saturday.
    assert contains({"weekdays": ["sunday", "monday:friday"]}, utc(2024, 1, day, 12)) is inside


@pytest.mark.parametrize(
    ("spec", "t", "inside"),
    [
        (["1:5"], utc(2024, 3, 5), True),
        (["1:5"], utc(2024, 3, 6), False),
        (["-1"], utc(2024, 2, 29), True),  # leap year: last day is the 29th
        (["-1"], utc(2023, 2, 28), True),
        (["-1"], utc(2024, 2, 28), False),
        (["-3:-1"], utc(2024, 4, 28), True),
        (["-3:-1"], utc(2024, 4, 27), False),
        (["1:-1"], utc(2024, 4, 17), True),
        (["28:31"], utc(2023, 2, 28), True),  # end clamped to the month's length
        (["30:31"], utc(2023, 2, 28), False),  # starts after the month ends: no match
        (["31"], utc(2024, 4, 30), False),
        (["15", "20:21"], utc(2024, 4, 21), True),
    ],
)
def test_days_of_month(spec: list[str], t: datetime, inside: bool) -> None:
    assert contains({"days_of_month": spec}, t) is inside


@pytest.mark.parametrize(
    ("spec", "month", "inside"),
    [
        (["january:march"], 2, True),
        (["january:march"], 4, False),
        (["5"], 5, True),
        (["May", "11:12"], 12, True),
        (["december"], 1, False),
    ],
)
def test_months(spec: list[str], month: int, inside: bool) -> None:
    assert contains({"months": spec}, utc(2024, month, 1)) is inside


def test_years_and_combination() -> None:
    spec = {"years": ["2020:2022", "2024"], "months": ["june"], "weekdays": ["saturday", "sunday"]}
    assert contains(spec, utc(2024, 6, 1))  # Saturday
    assert not contains(spec, utc(2024, 6, 3))  # Monday
    assert not contains(spec, utc(2023, 6, 3))
    assert contains(spec, utc(2021, 6, 5))


def test_location_converts_before_matching() -> None:
    spec = {
        "times": [{"start_time": "09:00", "end_time": "17:00"}],
        "weekdays": ["monday"],
        "location": "Europe/Berlin",
    }
    assert contains(spec, utc(2024, 1, 8, 8, 0))  # 09:00 CET
    assert not contains(spec, utc(2024, 1, 8, 16, 30))  # 17:30 CET
    assert contains(spec, utc(2024, 7, 8, 7, 0))  # 09:00 CEST (summer time)
    assert not contains(spec, utc(2024, 7, 8, 6, 59))
    # Sunday 23:30 UTC is already Monday in Berlin.
    assert contains({"weekdays": ["monday"], "location": "Europe/Berlin"}, utc(2024, 1, 7, 23, 30))
    # Day of month is taken in the location too.
    assert contains({"days_of_month": ["-1"], "location": "Asia/Tokyo"}, utc(2024, 1, 30, 16, 0))


def test_named_interval_any_entry() -> None:
    named = parse_named_interval(
        {
            "name": "offhours",
            "time_intervals": [
                {"weekdays": ["saturday", "sunday"]},
                {"times": [{"start_time": "00:00", "end_time": "08:00"}], "weekdays": ["monday:friday"]},
            ],
        }
    )
    assert named.name == "offhours"
    assert named.contains(utc(2024, 1, 6, 12)) and named.contains(utc(2024, 1, 8, 7))
    assert not named.contains(utc(2024, 1, 8, 9))
    assert parse_named_interval({"name": "empty"}).contains(utc(2024, 1, 1)) is False
    assert contains({}, utc(2024, 1, 1))  # an entry with no fields matches everything


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"times": [{"start_time": "10:00"}]}, "both start and end times must be provided"),
        (
            {"times": [{"start_time": "10:00", "end_time": "09:00"}]},
            "start time cannot be equal or greater than end time",
        ),
        (
            {"times": [{"start_time": "9:00", "end_time": "10:00"}]},
            "couldn't parse timestamp 9:00, invalid format",
        ),
        ({"times": [{"start_time": "00:00", "end_time": "24:01"}]}, "timestamp 24:01 out of range"),
        ({"weekdays": ["friday:monday"]}, "start day cannot be before end day"),
        ({"weekdays": ["moonday"]}, "moonday is not a valid weekday"),
        ({"days_of_month": ["0"]}, "0 is not a valid day of the month: out of range"),
        ({"days_of_month": ["32"]}, "32 is not a valid day of the month: out of range"),
        ({"days_of_month": ["-1:5"]}, "end day must be negative if start day is negative"),
        ({"days_of_month": ["10:5"]}, "end day must not be before start day"),
        ({"months": ["smarch"]}, "smarch is not a valid month"),
        ({"months": ["13"]}, "13 is not a valid month"),
        ({"months": ["march:january"]}, "end month 1 is before start month 3"),
        ({"years": ["2024:2020"]}, "end year 2020 is before start year 2024"),
        ({"location": "Mars/Olympus"}, "unknown time zone Mars/Olympus"),
        ({"bogus": 1}, "field bogus not found"),
    ],
)
def test_invalid(spec: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_time_interval(spec)
    assert message in str(info.value)


def test_route_suppression_mute_and_active() -> None:
    from watchkeeper.alerting.config import load_config
    from watchkeeper.alerting.timeintervals import suppressed

    cfg = load_config(
        "route:\n  receiver: r\n  routes:\n"
        "    - matchers: [a=1]\n      mute_time_intervals: [weekend]\n"
        "    - matchers: [a=2]\n      active_time_intervals: [office, weekend]\n"
        "receivers: [{name: r}]\n"
        "time_intervals:\n  - name: weekend\n    time_intervals: [{weekdays: [saturday, sunday]}]\n"
        "  - name: office\n    time_intervals: [{times: [{start_time: '09:00', end_time: '17:00'}]}]\n"
    )
    muted, active = cfg.route.routes
    ti = cfg.time_intervals
    saturday_night, monday_noon, monday_night = utc(2024, 1, 6, 23), utc(2024, 1, 8, 12), utc(2024, 1, 8, 23)
    assert suppressed(muted.opts.mute_time_intervals, muted.opts.active_time_intervals, ti, saturday_night)
    assert not suppressed(muted.opts.mute_time_intervals, muted.opts.active_time_intervals, ti, monday_night)
    assert not suppressed(active.opts.mute_time_intervals, active.opts.active_time_intervals, ti, monday_noon)
    assert not suppressed(
        active.opts.mute_time_intervals, active.opts.active_time_intervals, ti, saturday_night
    )
    assert suppressed(active.opts.mute_time_intervals, active.opts.active_time_intervals, ti, monday_night)
    assert not suppressed((), (), ti, monday_night)  # the root lists none
