"""Parsing of query parameters exactly as Prometheus' HTTP API parses them (same error texts)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from ..gocompat.durations import DurationError, parse_duration
from ..model.matchers import Matcher
from ..promql.errors import ParseError
from ..promql.parser import parse_metric_selector
from .errors import bad_data, invalid_param

__all__ = ["MIN_TIME_MS", "MAX_TIME_MS", "parse_time_ms", "parse_step_ms", "time_param", "matchers_param",
           "limit_param", "now_ms"]

# Prometheus' API bounds for "no start"/"no end" (its minTime/maxTime, in ms).
MIN_TIME_MS = -9223309901257974
MAX_TIME_MS = 9223309901257974

# Formats Grafana and promtool send for the time bounds.
_MIN_TIME_TEXT = {"-292273086-05-16T16:47:06Z", "0001-01-01T00:00:00Z"}
_MAX_TIME_TEXT = {"292277025-08-18T07:12:54.999999999Z"}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_ms() -> int:
    return int(time.time() * 1000)


def parse_time_ms(text: str) -> int:
    """A unix timestamp in (fractional) seconds or an RFC 3339 time, as ms; ValueError if neither."""
    try:
        sec = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(sec) or math.isinf(sec):
            raise ValueError(f'cannot parse "{text}" to a valid timestamp')
        return max(MIN_TIME_MS, min(MAX_TIME_MS, round(sec * 1000)))
    if text in _MIN_TIME_TEXT:
        return MIN_TIME_MS
    if text in _MAX_TIME_TEXT:
        return MAX_TIME_MS
    try:
        # RFC 3339 with optional fraction; Python wants at most 6 fraction digits.
        iso = text.replace("Z", "+00:00").replace("z", "+00:00")
        main, _, frac_zone = iso.partition(".")
        if frac_zone:
            digits = frac_zone[: len(frac_zone) - len(frac_zone.lstrip("0123456789"))]
            zone = frac_zone[len(digits):]
            iso = f"{main}.{(digits + '000000')[:6]}{zone}"
        dt = datetime.fromisoformat(iso)
        if dt.tzinfo is None or "T" not in text.upper():
            raise ValueError
        # Integer arithmetic: sub-millisecond digits are truncated, as Prometheus does.
        return (dt - _EPOCH) // timedelta(milliseconds=1)
    except ValueError:
        raise ValueError(f'cannot parse "{text}" to a valid timestamp') from None


def parse_step_ms(text: str) -> int:
    """A duration as float seconds or Prometheus duration text, in ms (``step``, ``timeout``)."""
    try:
        sec = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(sec) or math.isinf(sec) or abs(sec) > 9223372036.854775807:
            raise ValueError(f'cannot parse "{text}" to a valid duration. It overflows int64')
        return round(sec * 1000)
    try:
        return parse_duration(text)
    except DurationError:
        raise ValueError(f'cannot parse "{text}" to a valid duration') from None


def time_param(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name, "")
    if text == "":
        return default
    try:
        return parse_time_ms(text)
    except ValueError as e:
        raise invalid_param(name, f"Invalid time value for '{name}': {e}") from None


def matchers_param(values: Sequence[str], *, required: bool = True) -> list[list[Matcher]]:
    """``match[]`` selectors, each a list of matchers; Prometheus requires a non-empty matcher."""
    if not values:
        if required:
            raise bad_data("no match[] parameter provided")
        return []
    out = []
    for text in values:
        try:
            matchers = parse_metric_selector(text)
        except ParseError as e:
            raise invalid_param("match[]", str(e)) from None
        if all(m.matches_empty for m in matchers):
            raise invalid_param("match[]", "match[] must contain at least one non-empty matcher")
        out.append(matchers)
    return out


def limit_param(params: Mapping[str, str]) -> int:
    """``limit``: 0 (or absent) means no limit; negative or non-integers are rejected."""
    text = params.get("limit", "")
    if text == "":
        return 0
    try:
        limit = int(text)
    except ValueError:
        raise invalid_param("limit", "cannot parse \"" + text + "\": must be a positive integer") from None
    if limit < 0:
        raise invalid_param("limit", "limit must be non-negative")
    return limit
