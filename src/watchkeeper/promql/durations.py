"""PromQL duration expressions (``[5m * 2]``, ``offset step()``) and their conversion to milliseconds.

Plain duration strings (``1h30m``) are parsed by ``gocompat.durations``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..gocompat.quote import go_quote
from . import ast
from .errors import ParseError

__all__ = ["evaluate_duration_expr", "duration_seconds_to_ms", "resolve_duration_exprs"]

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
