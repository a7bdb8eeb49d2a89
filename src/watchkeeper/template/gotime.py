"""Go's time.Time and time.Duration as template values (nanosecond precision, Go layouts).

Alertmanager templates call ``.StartsAt.Format "..."``, ``date``, ``tz`` and print times and
durations directly; these classes expose the Go method names so templates work unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

__all__ = ["GoTime", "GoDuration", "parse_rfc3339", "format_duration"]

_NS = 1_000_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_STD = re.compile(
    r"January|Jan|Monday|Mon|MST|2006|"
    r"Z07:00:00|Z07:00|Z0700|Z07|-07:00:00|-0700|-07:00|-07|"
    r"[.,](?:0+|9+)(?!\d)|"
    r"002|__2|_2|01|02|03|04|05|06|15|1|2|3|4|5|PM|pm"
)


def format_duration(ns: int) -> str:
    """time.Duration.String: "1h2m3.5s", "1.5ms", "0s"."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < _NS:
        for unit, scale in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < scale * 1000:
                s = _frac(u, scale) + unit
                break
    else:
        secs = _frac(u % (60 * _NS), _NS) + "s"
        mins = u // (60 * _NS)
        if mins == 0:
            s = secs
        else:
            h, m = divmod(mins, 60)
            s = (f"{h}h" if h else "") + f"{m}m" + secs
    return "-" + s if neg else s


def _frac(v: int, scale: int) -> str:
    whole, rem = divmod(v, scale)
    if rem == 0:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}." + f"{rem:0{digits}d}".rstrip("0")


class GoDuration:
    """time.Duration: an int64 count of nanoseconds."""

    go_type = "time.Duration"

    def __init__(self, ns: int) -> None:
        self.ns = int(ns)

    def String(self) -> str:
        return format_duration(self.ns)

    def Seconds(self) -> float:
        return self.ns / _NS

    def Minutes(self) -> float:
        return self.ns / (60 * _NS)

    def Hours(self) -> float:
        return self.ns / (3600 * _NS)

    def Milliseconds(self) -> int:
        return int(self.ns / 1_000_000)

    def Nanoseconds(self) -> int:
        return self.ns

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(self.ns)


class GoTime:
    """time.Time: unix nanoseconds plus a location."""

    go_type = "time.Time"

    def __init__(self, unix_ns: int, tz: dt.tzinfo = dt.UTC) -> None:
        self.unix_ns = int(unix_ns)
        self.tz = tz

    @classmethod
    def from_datetime(cls, d: dt.datetime) -> GoTime:
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.UTC)
        delta = d - _EPOCH
        return cls((delta.days * 86400 + delta.seconds) * _NS + delta.microseconds * 1000, d.tzinfo)

    def _dt(self) -> dt.datetime:
        secs, ns = divmod(self.unix_ns, _NS)
        return (_EPOCH + dt.timedelta(seconds=secs, microseconds=ns // 1000)).astimezone(self.tz)

    def nanosecond(self) -> int:
        return self.unix_ns % _NS

    # Go methods -----------------------------------------------------------------------------
    def String(self) -> str:
        return self.Format("2006-01-02 15:04:05.999999999 -0700 MST")

    def Format(self, layout: str) -> str:
        return _format(self._dt(), self.nanosecond(), layout)

    def UTC(self) -> GoTime:
        return GoTime(self.unix_ns, dt.UTC)

    def Local(self) -> GoTime:
        return GoTime(self.unix_ns, dt.UTC)

    def In(self, tz: dt.tzinfo) -> GoTime:
        return GoTime(self.unix_ns, tz)

    def Unix(self) -> int:
        return self.unix_ns // _NS

    def UnixMilli(self) -> int:
        return self.unix_ns // 1_000_000

    def UnixNano(self) -> int:
        return self.unix_ns

    def IsZero(self) -> bool:
        return self.unix_ns == _ZERO_NS

    def Sub(self, other: GoTime) -> GoDuration:
        return GoDuration(self.unix_ns - other.unix_ns)

    def Add(self, d: GoDuration) -> GoTime:
        return GoTime(self.unix_ns + d.ns, self.tz)

    def Before(self, other: GoTime) -> bool:
        return self.unix_ns < other.unix_ns

    def After(self, other: GoTime) -> bool:
        return self.unix_ns > other.unix_ns

    def Equal(self, other: GoTime) -> bool:
        return self.unix_ns == other.unix_ns

    def Year(self) -> int:
        return self._dt().year

    def Month(self) -> int:
        return self._dt().month

    def Day(self) -> int:
        return self._dt().day

    def Hour(self) -> int:
        return self._dt().hour

    def Minute(self) -> int:
        return self._dt().minute

    def Second(self) -> int:
        return self._dt().second

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and other.unix_ns == self.unix_ns and other.tz == self.tz

    def __hash__(self) -> int:
        return hash(self.unix_ns)

    def go_json(self) -> str:
        """encoding/json form: RFC 3339 with nanoseconds, trailing zeros trimmed."""
        return self.Format("2006-01-02T15:04:05.999999999Z07:00")


_ZERO_NS = -62135596800 * _NS  # 0001-01-01T00:00:00Z


def parse_rfc3339(s: str) -> GoTime:
    """Parse RFC 3339 with up to nanosecond fractions (the JSON form of Go times)."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)", s)
    if m is None:
        raise ValueError(f"parsing time {s!r}: not RFC 3339")
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    zone = m.group(8)
    tz: dt.tzinfo = dt.UTC
    if zone not in ("Z", "z", "+00:00", "-00:00"):
        sign = -1 if zone[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    base = dt.datetime(y, mo, d, h, mi, se, tzinfo=tz)
    t = GoTime.from_datetime(base)
    return GoTime(t.unix_ns + int(frac), tz)


def load_location(name: str) -> dt.tzinfo:
    """time.LoadLocation: "" and "UTC" are UTC, "Local" is the process zone (UTC here), else IANA."""
    if name in ("", "UTC", "Local"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name}") from None


def _zone(d: dt.datetime) -> tuple[str, int]:
    off = d.utcoffset() or dt.timedelta(0)
    secs = int(off.total_seconds())
    name = d.tzname() or ""
    if d.tzinfo is dt.UTC:
        name = "UTC"
    elif not isinstance(d.tzinfo, ZoneInfo):
        # a bare offset (e.g. parsed from "+01:00") has no zone name; Go prints -0700 style
        sign = "-" if secs < 0 else "+"
        a = abs(secs) // 60
        name = f"{sign}{a // 60:02d}{a % 60:02d}"
    return name, secs


def _format(d: dt.datetime, ns: int, layout: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _STD.finditer(layout):
        out.append(layout[pos : m.start()])
        pos = m.end()
        tok = m.group(0)
        out.append(_std(tok, d, ns, layout, m))
    out.append(layout[pos:])
    return "".join(out)


def _std(tok: str, d: dt.datetime, ns: int, layout: str, m: re.Match[str]) -> str:
    if tok == "2006":
        return f"{d.year:04d}"
    if tok == "06":
        return f"{d.year % 100:02d}"
    if tok == "January":
        return _MONTHS[d.month - 1]
    if tok == "Jan":
        return _MONTHS[d.month - 1][:3]
    if tok == "01":
        return f"{d.month:02d}"
    if tok == "1":
        return str(d.month)
    if tok == "Monday":
        return _DAYS[(d.weekday() + 1) % 7]
    if tok == "Mon":
        return _DAYS[(d.weekday() + 1) % 7][:3]
    if tok == "02":
        return f"{d.day:02d}"
    if tok == "_2":
        return f"{d.day:2d}"
    if tok == "2":
        return str(d.day)
    if tok == "002":
        return f"{d.timetuple().tm_yday:03d}"
    if tok == "__2":
        return f"{d.timetuple().tm_yday:3d}"
    if tok == "15":
        return f"{d.hour:02d}"
    if tok in ("03", "3"):
        h = d.hour % 12 or 12
        return f"{h:02d}" if tok == "03" else str(h)
    if tok == "04":
        return f"{d.minute:02d}"
    if tok == "4":
        return str(d.minute)
    if tok == "05":
        return f"{d.second:02d}"
    if tok == "5":
        return str(d.second)
    if tok == "PM":
        return "PM" if d.hour >= 12 else "AM"
    if tok == "pm":
        return "pm" if d.hour >= 12 else "am"
    name, secs = _zone(d)
    if tok == "MST":
        return name
    if tok[0] in ".,":
        n = len(tok) - 1
        digits = f"{ns:09d}"[:n]
        if tok[1] == "9":
            digits = digits.rstrip("0")
            return tok[0] + digits if digits else ""
        return tok[0] + digits
    # numeric zones
    if tok.startswith("Z") and secs == 0:
        return "Z"
    sign = "-" if secs < 0 else "+"
    a = abs(secs)
    hh, mm, ss = a // 3600, a % 3600 // 60, a % 60
    body = tok.lstrip("Z-")
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"
