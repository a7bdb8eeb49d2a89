"""Durations in alertmanager.yml, in seconds (the unit alerting works in), parsed by ``gocompat``."""

from __future__ import annotations

from ..gocompat import durations as _go

__all__ = ["parse_duration", "format_duration"]


def parse_duration(text: object) -> float:
    """Seconds in ``text``; raises ``ValueError`` with Prometheus' message if it is not a duration."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise ValueError(f'not a valid duration string: "{text}"')
    return _go.parse_duration(str(text)) / 1000.0


def format_duration(seconds: float) -> str:
    """Prometheus' canonical form (``4h``, ``1m30s``, ``0s``)."""
    return _go.format_duration(round(seconds * 1000))
