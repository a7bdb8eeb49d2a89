"""Prometheus duration strings (``1h30m``, ``5m``, ``0``) as integer milliseconds.

Same grammar as Prometheus' ``model.ParseDuration``: optional parts in the fixed
order y, w, d, h, m, s, ms, each a non-negative integer; ``y`` is 365 days.
"""

from __future__ import annotations

import re

from .quote import go_quote

__all__ = ["parse_duration", "format_duration", "DurationError"]

_PART_RE = re.compile(r"([0-9]*)([^0-9]*)")
_UNITS_MS = {
    "y": 365 * 24 * 3600_000,
    "w": 7 * 24 * 3600_000,
    "d": 24 * 3600_000,
    "h": 3600_000,
    "m": 60_000,
    "s": 1000,
    "ms": 1,
}

_ORDER = ("y", "w", "d", "h", "m", "s", "ms")
_MAX_NS = (1 << 63) - 1  # model.Duration is a Go time.Duration: int64 nanoseconds (~292 years)


class DurationError(ValueError):
    """An invalid duration string; ``str()`` is Prometheus' message."""


def parse_duration(s: str) -> int:
    """Parse a Prometheus duration to milliseconds (``"1m30s"`` -> 90000, ``"0"`` -> 0).

    Units must appear at most once each and in decreasing order, as in
    Prometheus' ``model.ParseDuration``; the error texts are upstream's.
    """
    if s == "":
        raise DurationError("empty duration string")
    if s == "0":
        return 0
    total = 0
    last_unit = -1
    rest = s
    while rest:
        m = _PART_RE.match(rest)
        if m is None or not m.group(1) or not m.group(2):
            raise DurationError(f"not a valid duration string: {go_quote(s)}")
        digits, unit = m.group(1), m.group(2)
        rest = rest[m.end():]
        if unit not in _UNITS_MS:
            raise DurationError(f"unknown unit {go_quote(unit)} in duration {go_quote(s)}")
        idx = _ORDER.index(unit)
        if idx <= last_unit:
            raise DurationError(f"not a valid duration string: {go_quote(s)}")
        last_unit = idx
        mult = _UNITS_MS[unit]
        v = int(digits)
        if v > (1 << 63) // (mult * 1_000_000):
            raise DurationError("duration out of range")
        total += v * mult
        if total * 1_000_000 > _MAX_NS:
            raise DurationError("duration out of range")
    return total


def format_duration(ms: int) -> str:
    """Prometheus' ``model.Duration`` text form: ``1h5m``, ``1d``, ``0s``.

    Years and weeks are used only when they divide the value exactly, as
    upstream does. Negative values get a leading ``-`` (upstream prints those
    via the same route, e.g. ``offset -5m``).
    """
    if ms == 0:
        return "0s"
    if ms < 0:
        return "-" + format_duration(-ms)
    out = []
    for unit in _ORDER:
        mult = _UNITS_MS[unit]
        if unit in ("y", "w") and ms % mult != 0:
            continue
        v = ms // mult
        if v > 0:
            out.append(f"{v}{unit}")
            ms -= v * mult
    return "".join(out)
