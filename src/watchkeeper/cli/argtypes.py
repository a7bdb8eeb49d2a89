"""Argument types shared by the CLI's commands: Go-style durations, byte sizes, positive counts."""

from __future__ import annotations

import argparse

__all__ = ["duration_ms", "byte_size", "positive_int"]


def duration_ms(text: str) -> int:
    """A Prometheus duration (``90s``, ``1h30m``, ``7d``) in milliseconds."""
    from ..gocompat.durations import DurationError, parse_duration

    try:
        return parse_duration(text)
    except DurationError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def byte_size(text: str) -> int:
    """A Prometheus byte size (``512MB``, ``1GiB``) in bytes."""
    from ..scrape.config import parse_byte_size

    try:
        return parse_byte_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return n
