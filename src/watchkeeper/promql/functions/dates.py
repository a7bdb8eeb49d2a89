"""Calendar functions (UTC): minute, hour, day_of_week, day_of_month, day_of_year,
days_in_month, month, year; timestamp() and start_timestamp().

Dates are computed with integer civil-calendar arithmetic on whole arrays
(days since the epoch to proleptic Gregorian year/month/day), so there is no
per-sample ``datetime`` object.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...model.labels import Labels
from ..values import InstantVectors
from .base import FuncCall, empty_vectors, single_series
from .elementwise import map_values

__all__ = ["FUNCTIONS", "civil_from_seconds"]

_DAYS_BEFORE_MONTH = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=np.int64)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_INT64_MIN = np.iinfo(np.int64).min


def civil_from_seconds(seconds: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar fields of Unix ``seconds`` (int64) in UTC, each an int64 array of the same shape."""
    days = np.floor_divide(seconds, 86400)
    secs_of_day = seconds - days * 86400
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy_march = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy_march + 2) // 153
    day = doy_march - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    day_of_year = _DAYS_BEFORE_MONTH[month] + day + (leap & (month > 2))
    return {
        "year": year,
        "month": month,
        "day_of_month": day,
        "day_of_year": day_of_year,
        "day_of_week": np.mod(days + 4, 7),
        "days_in_month": _DAYS_IN_MONTH[month] + (leap & (month == 2)),
        "hour": secs_of_day // 3600,
        "minute": (secs_of_day % 3600) // 60,
    }


def _to_unix_seconds(values: np.ndarray) -> np.ndarray:
    """Go's ``int64(f)``: truncation toward zero; NaN and out-of-range values become the int64 minimum."""
    finite = np.isfinite(values) & (np.abs(values) < 9.2e18)
    out = np.full(values.shape, _INT64_MIN, dtype=np.int64)
    out[finite] = np.trunc(values[finite]).astype(np.int64)
    return out


def _date_function(field: str) -> Callable[[FuncCall], InstantVectors]:
    def impl(call: FuncCall) -> InstantVectors:
        if not call.args:
            ts = call.eval_ts.astype(np.int64)
            seconds = np.where(ts < 0, -((-ts) // 1000), ts // 1000)  # Go truncates toward zero
            values = civil_from_seconds(seconds)[field].astype(np.float64)
            return single_series(Labels(), values, np.ones(call.num_steps, dtype=bool))
        vec = call.vector(0)
        values = civil_from_seconds(_to_unix_seconds(vec.values))[field].astype(np.float64)
        return map_values(vec, values)
    return impl


def _timestamp(call: FuncCall) -> InstantVectors:
    vec = call.vector(0)
    if vec.timestamps is not None:
        values = vec.timestamps.astype(np.float64) / 1000
    else:
        values = np.broadcast_to(call.eval_ts.astype(np.float64) / 1000, vec.values.shape).copy()
    return map_values(vec, values)


def _start_timestamp(call: FuncCall) -> InstantVectors:
    """start_timestamp(): samples' start (created) timestamps. Storage keeps none, and Prometheus
    returns nothing for samples without one."""
    call.vector(0)
    return empty_vectors(call.num_steps)


FUNCTIONS = {name: _date_function(name) for name in (
    "year", "month", "day_of_month", "day_of_year", "day_of_week", "days_in_month", "hour", "minute")}
FUNCTIONS["timestamp"] = _timestamp
FUNCTIONS["start_timestamp"] = _start_timestamp
