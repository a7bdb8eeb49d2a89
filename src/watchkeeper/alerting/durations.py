"""Prometheus duration strings (``1d2h30m``), as Alertmanager's config accepts them."""

from __future__ import annotations

import re

__all__ = ["parse_duration", "format_duration"]

_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNITS_MS = (365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1)
_NAMES = ("y", "w", "d", "h", "m", "s", "ms")


def parse_duration(text: object) -> float:
    """Seconds in ``text``; raises ``ValueError`` with Prometheus' message if it is not a duration."""
    s = str(text) if isinstance(text, (str, int)) and not isinstance(text, bool) else None
    if s == "0":
        return 0.0
    m = _RE.match(s) if s else None
    if not s or m is None or not any(m.groups()):
        raise ValueError(f"not a valid duration string: {text!r}".replace("'", '"'))
    ms = sum(int(g) * u for g, u in zip(m.groups(), _UNITS_MS, strict=True) if g)
    return ms / 1000.0


def format_duration(seconds: float) -> str:
    """Prometheus' canonical form (``4h``, ``1m30s``, ``0s``)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, name in zip(_UNITS_MS, _NAMES, strict=True):
        q, ms = divmod(ms, unit)
        if q:
            out.append(f"{q}{name}")
    return "".join(out)
