"""Named time intervals (``time_intervals`` / ``mute_time_intervals``) and whether an instant lies in them.

An interval is a list of entries; an entry contains an instant when every field it sets matches (after
converting the instant to the entry's ``location``, UTC by default); any range inside a field may match.
Validation messages follow Alertmanager's ``timeinterval`` package.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "TimeRange",
    "TimeInterval",
    "NamedTimeInterval",
    "parse_time_interval",
    "parse_named_interval",
    "suppressed",
]

_DAYS = {
    d: i for i, d in enumerate(["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"])
}
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_TIME = re.compile(r"^(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class TimeRange:
    """Minutes of the day, ``[start, end)``."""

    start: int
    end: int


@dataclass(frozen=True)
class TimeInterval:
    """One entry; ``None`` fields match everything. Ranges are inclusive ``(begin, end)`` pairs."""

    times: tuple[TimeRange, ...] | None = None
    weekdays: tuple[tuple[int, int], ...] | None = None
    days_of_month: tuple[tuple[int, int], ...] | None = None
    months: tuple[tuple[int, int], ...] | None = None
    years: tuple[tuple[int, int], ...] | None = None
    location: tzinfo = UTC

    def contains(self, t: datetime) -> bool:
        """Whether instant ``t`` (timezone-aware) lies in this entry."""
        t = t.astimezone(self.location)
        if self.times is not None:
            minute = t.hour * 60 + t.minute
            if not any(r.start <= minute < r.end for r in self.times):
                return False
        if self.days_of_month is not None and not self._day_matches(t):
            return False
        if self.months is not None and not any(b <= t.month <= e for b, e in self.months):
            return False
        if self.weekdays is not None:
            wd = (t.weekday() + 1) % 7  # Python's Monday=0 to Go's Sunday=0
            if not any(b <= wd <= e for b, e in self.weekdays):
                return False
        if self.years is not None and not any(b <= t.year <= e for b, e in self.years):
            return False
        return True

    def _day_matches(self, t: datetime) -> bool:
        n = calendar.monthrange(t.year, t.month)[1]
        for b, e in self.days_of_month or ():
            begin = n + b + 1 if b < 0 else b
            end = n + e + 1 if e < 0 else e
            if begin > n:  # a range starting beyond this month's end does not match
                continue
            begin, end = max(-n, min(begin, n)), max(-n, min(end, n))
            if begin <= t.day <= end:
                return True
        return False


@dataclass(frozen=True)
class NamedTimeInterval:
    """A named list of entries; contains ``t`` if any entry does."""

    name: str
    intervals: tuple[TimeInterval, ...]

    def contains(self, t: datetime) -> bool:
        return any(i.contains(t) for i in self.intervals)


def _parse_time(s: Any) -> int:
    m = _TIME.match(str(s))
    if m is None:
        raise ValueError(f"couldn't parse timestamp {s}, invalid format")
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 24 or mi > 59 or (h == 24 and mi != 0):
        raise ValueError(f"timestamp {s} out of range")
    return h * 60 + mi


def _parse_times(items: Sequence[Any]) -> tuple[TimeRange, ...]:
    out = []
    for item in items:
        if not isinstance(item, dict) or not item.get("start_time") or not item.get("end_time"):
            raise ValueError("both start and end times must be provided")
        unknown = set(item) - {"start_time", "end_time"}
        if unknown:
            raise ValueError(f"field {sorted(unknown)[0]} not found in type timeinterval.TimeRange")
        start, end = _parse_time(item["start_time"]), _parse_time(item["end_time"])
        if start >= end:
            raise ValueError("start time cannot be equal or greater than end time")
        out.append(TimeRange(start, end))
    return tuple(out)


def _split_range(text: Any) -> tuple[str, str]:
    s = str(text).strip()
    parts = s.split(":")
    if len(parts) == 1:
        return parts[0], parts[0]
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    raise ValueError(f"invalid range format: {s}")


def _weekday(s: str) -> int:
    d = _DAYS.get(s.lower())
    if d is None:
        raise ValueError(f"{s} is not a valid weekday")
    return d


def _parse_weekdays(items: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    out = []
    for item in items:
        b, e = (_weekday(x) for x in _split_range(item))
        if b > e:
            raise ValueError("start day cannot be before end day")
        out.append((b, e))
    return tuple(out)


def _int(s: str, what: str) -> int:
    try:
        return int(s)
    except ValueError:
        raise ValueError(f"invalid {what}: {s}") from None


def _parse_days(items: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    out = []
    for item in items:
        text = str(item).strip()
        # A leading minus belongs to the number, so split "-3:-1" on the colon only.
        bs, es = _split_range(text)
        b, e = _int(bs, "day of month"), _int(es, "day of month")
        for d in (b, e):
            if d == 0 or not -31 <= d <= 31:
                raise ValueError(f"{d} is not a valid day of the month: out of range")
        if b < 0 < e:
            raise ValueError("end day must be negative if start day is negative")
        if (b > 0) == (e > 0) and b > e:  # "1:-1" (first to last day) is fine
            raise ValueError("end day must not be before start day")
        out.append((b, e))
    return tuple(out)


def _month(s: str) -> int:
    if s.lower() in _MONTHS:
        return _MONTHS[s.lower()]
    if s.isdigit() and 1 <= int(s) <= 12:
        return int(s)
    raise ValueError(f"{s} is not a valid month")


def _parse_months(items: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    out = []
    for item in items:
        b, e = (_month(x) for x in _split_range(item))
        if b > e:
            raise ValueError(f"end month {e} is before start month {b}")
        out.append((b, e))
    return tuple(out)


def _parse_years(items: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    out = []
    for item in items:
        bs, es = _split_range(item)
        b, e = _int(bs, "year"), _int(es, "year")
        if b > e:
            raise ValueError(f"end year {e} is before start year {b}")
        out.append((b, e))
    return tuple(out)


def _location(name: Any) -> tzinfo:
    if name in ("UTC", "", None):
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name}") from None


_FIELDS = {
    "times": _parse_times,
    "weekdays": _parse_weekdays,
    "days_of_month": _parse_days,
    "months": _parse_months,
    "years": _parse_years,
}


def parse_time_interval(node: Any) -> TimeInterval:
    """One entry of a named interval from its YAML mapping; raises ``ValueError`` on invalid input."""
    if not isinstance(node, dict):
        raise ValueError("time interval must be a mapping")
    kwargs: dict[str, Any] = {}
    for key, value in node.items():
        if key == "location":
            kwargs["location"] = _location(value)
        elif key in _FIELDS:
            if value is None:
                continue
            if not isinstance(value, list):
                raise ValueError(f"{key} must be a list")
            kwargs[key] = _FIELDS[key](value)
        else:
            raise ValueError(f"field {key} not found in type timeinterval.plain")
    return TimeInterval(**kwargs)


def parse_named_interval(node: Any) -> NamedTimeInterval:
    """``{name: ..., time_intervals: [...]}``."""
    if not isinstance(node, dict):
        raise ValueError("time interval must be a mapping")
    unknown = set(node) - {"name", "time_intervals"}
    if unknown:
        raise ValueError(f"field {sorted(unknown)[0]} not found in type config.plain")
    name = node.get("name")
    if not name:
        raise ValueError("missing name in time interval")
    entries = node.get("time_intervals") or []
    return NamedTimeInterval(str(name), tuple(parse_time_interval(e) for e in entries))


def suppressed(
    mute: Sequence[str], active: Sequence[str], intervals: Mapping[str, NamedTimeInterval], t: datetime
) -> bool:
    """Whether a route's notifications are held back at ``t``: inside any of its ``mute_time_intervals``,
    or outside all of its ``active_time_intervals`` (when it lists some)."""
    if active and not any(intervals[name].contains(t) for name in active):
        return True
    return any(intervals[name].contains(t) for name in mute)
