"""Prometheus duration strings (``1h30m``, ``5m``, ``0``) as integer milliseconds.

Same grammar as Prometheus' ``model.ParseDuration``: optional parts in the fixed
order y, w, d, h, m, s, ms, each a non-negative integer; ``y`` is 365 days.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from . import ast
from .errors import ParseError
from .lexer import go_quote

__all__ = ["parse_duration", "format_duration", "DurationError", "evaluate_duration_expr",
           "duration_seconds_to_ms", "resolve_duration_exprs"]

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



_MAX_SECONDS = float(1 << 63) / 1e9


def duration_seconds_to_ms(seconds: float, allow_negative: bool) -> int:
    """Upstream's conversion of a duration in (float) seconds to whole milliseconds.

    Raises ``ValueError`` with upstream's messages for non-positive ranges/steps
    and values a Go ``time.Duration`` cannot hold.
    """
    if math.isnan(seconds) or math.isinf(seconds) or abs(seconds) > _MAX_SECONDS:
        raise ValueError("duration out of range")
    if seconds <= 0 and not allow_negative:
        raise ValueError("duration must be greater than 0")
    # Rounded, not truncated: 1.001 s * 1000 is 1000.9999999999999 in binary
    # floating point, and upstream gives ``foo[1001ms]`` / ``foo[4.018]`` exact ranges.
    ms = seconds * 1000.0
    return int(math.floor(ms + 0.5)) if ms >= 0 else -int(math.floor(-ms + 0.5))


_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "^": lambda a, b: _pow(a, b),
    "min_of": min,
    "max_of": max,
}


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        return math.inf if a > 1 else math.nan


def evaluate_duration_expr(node: ast.DurationExpr, *, step_ms: int, range_ms: int) -> float:
    """Seconds value of an experimental duration expression, given the query's step and range (end - start).

    Raises ``ValueError`` with upstream's messages (``division by zero``, ``modulo by zero``).
    """
    op = node.op
    if op == "number":
        return node.val
    if op == "step":
        return step_ms / 1000.0
    if op == "range":
        return range_ms / 1000.0
    assert node.rhs is not None
    rhs = evaluate_duration_expr(node.rhs, step_ms=step_ms, range_ms=range_ms)
    if op == "neg":
        return -rhs
    assert node.lhs is not None
    lhs = evaluate_duration_expr(node.lhs, step_ms=step_ms, range_ms=range_ms)
    if op in _BINARY:
        return _BINARY[op](lhs, rhs)
    if op == "/":
        if rhs == 0:
            raise ValueError("division by zero")
        return lhs / rhs
    if op == "%":
        if rhs == 0:
            raise ValueError("modulo by zero")
        return math.fmod(lhs, rhs)
    raise ValueError(f"unexpected duration expression operator {go_quote(op)}")


def resolve_duration_exprs(expr: ast.Expr, *, step_ms: int, range_ms: int) -> None:
    """Fill in ranges, steps and offsets that depend on the query (``step()``, ``range()``), in place.

    The engine calls this once per query before evaluation (upstream's
    ``durationVisitor``); ``range_ms`` is end - start (0 for instant queries).
    Raises ``ParseError`` (``bad_data``) with upstream's message, e.g.
    ``duration must be greater than 0``.
    """

    def value(d: ast.DurationExpr, allow_negative: bool) -> int:
        try:
            secs = evaluate_duration_expr(d, step_ms=step_ms, range_ms=range_ms)
            return duration_seconds_to_ms(secs, allow_negative)
        except ValueError as e:
            raise ParseError(str(e), start=d.pos[0], end=d.pos[1]) from None

    for node in _walk(expr):
        if isinstance(node, ast.VectorSelector) and node.offset_expr is not None:
            node.offset_ms = value(node.offset_expr, True)
        elif isinstance(node, ast.MatrixSelector) and node.range_expr is not None:
            node.range_ms = value(node.range_expr, False)
        elif isinstance(node, ast.SubqueryExpr):
            if node.offset_expr is not None:
                node.offset_ms = value(node.offset_expr, True)
            if node.step_expr is not None:
                node.step_ms = value(node.step_expr, False)
            if node.range_expr is not None:
                node.range_ms = value(node.range_expr, False)


def _walk(expr: ast.Expr) -> list[ast.Expr]:
    out: list[ast.Expr] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, ast.MatrixSelector):
            stack.append(node.vector_selector)
        elif isinstance(node, ast.SubqueryExpr | ast.ParenExpr | ast.UnaryExpr | ast.StepInvariantExpr):
            stack.append(node.expr)
        elif isinstance(node, ast.AggregateExpr):
            stack.append(node.expr)
            if node.param is not None:
                stack.append(node.param)
        elif isinstance(node, ast.BinaryExpr):
            stack.extend((node.lhs, node.rhs))
        elif isinstance(node, ast.Call):
            stack.extend(node.args)
    return out
