"""RFC 3339 timestamps with nanoseconds, as Alertmanager reads and prints them (Go ``time.RFC3339Nano``).

Times are kept as integer nanoseconds since the epoch so a ``startsAt`` from Prometheus comes back out
exactly as it went in. ``None`` stands for Go's zero time, printed ``0001-01-01T00:00:00Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["parse_rfc3339_ns", "format_rfc3339_ns", "ZERO_TIME"]

ZERO_TIME = "0001-01-01T00:00:00Z"
_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_rfc3339_ns(text: str) -> int | None:
    """Nanoseconds since the epoch; ``None`` for the zero time. Raises ``ValueError`` if malformed."""
    m = _RE.match(text)
    if m is None:
        raise ValueError(f'parsing time "{text}" as RFC3339: invalid format')
    y, mo, d, h, mi, s, frac, tz = m.groups()
    offset = timedelta(0)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        offset = sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone(offset))
    if (y, mo, d, h, mi, s) == ("0001", "01", "01", "00", "00", "00") and not int(frac or 0) and tz in "Zz":
        return None
    delta = dt - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


def format_rfc3339_ns(ns: int | None) -> str:
    """Go's RFC3339Nano in UTC: fraction trimmed of trailing zeros, ``Z`` suffix."""
    if ns is None:
        return ZERO_TIME
    seconds, frac = divmod(ns, 1_000_000_000)
    dt = _EPOCH + timedelta(seconds=seconds)
    out = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    return out + "Z"
