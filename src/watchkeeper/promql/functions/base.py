"""What every PromQL function implementation receives, and helpers they share.

A function is called once per query node with all series and all steps at
once (see ``values.py``); it returns one value covering every step. Argument
accessors, annotation texts with Prometheus' position suffix, and Go-compatible
number formatting live here so that each family module stays about semantics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ...gocompat.quote import go_quote
from ...model.labels import Labels
from ...storage.api import Querier
from .. import ast
from ..errors import ExecutionError
from ..values import Annotations, InstantVectors, RangeWindows, Scalar, String, Value

__all__ = [
    "FuncCall", "FunctionImpl", "format_position", "go_format_g", "go_format_f", "go_quote",
    "empty_vectors", "unwrap_expr", "single_series", "range_result", "compact", "compiled",
]


def format_position(query: str, pos: tuple[int, int]) -> str:
    """Prometheus' ``PositionRange.StartPosInput``: ``line:column`` of ``pos[0]``, both 1-based.

    Without the query text the expression is taken to be on one line.
    """
    start = pos[0]
    if not query:
        return f"1:{start + 1}"
    if start < 0 or start > len(query):
        return "invalid position"
    before = query[:start]
    last_break = before.rfind("\n")
    return f"{before.count(chr(10)) + 1}:{start - last_break}"


@dataclass
class FuncCall:
    """One function call node, evaluated for all steps.

    ``args`` are the evaluated arguments (matrix arguments, including subqueries,
    arrive as ``RangeWindows``); ``exprs`` their ASTs. ``query`` is the query
    text, used only to turn positions into Prometheus' ``line:column`` form.
    """

    name: str
    args: list[Value]
    exprs: list[ast.Expr]
    eval_ts: np.ndarray  # int64 (S,) evaluation timestamps (ms)
    annotations: Annotations
    querier: Querier | None
    lookback_ms: int
    pos: tuple[int, int]
    query: str = ""
    # The query's own (start, end, step) in ms, step 0 for instant queries; ``start()``, ``end()``,
    # ``step()`` and ``range()`` report it even inside subqueries.
    query_range: tuple[int, int, int] | None = None

    @property
    def num_steps(self) -> int:
        return int(self.eval_ts.shape[0])

    def position(self, pos: tuple[int, int]) -> str:
        return format_position(self.query, pos)

    def warn(self, text: str, pos: tuple[int, int]) -> None:
        """Add ``PromQL warning: <text> (L:C)``."""
        self.annotations.warn(f"PromQL warning: {text} ({self.position(pos)})")

    def info(self, text: str, pos: tuple[int, int]) -> None:
        """Add ``PromQL info: <text> (L:C)``."""
        self.annotations.info(f"PromQL info: {text} ({self.position(pos)})")

    def scalar(self, i: int) -> np.ndarray:
        """Argument ``i`` as a float64 (S,) array (a scalar is a value per step)."""
        arg = self.args[i]
        if isinstance(arg, Scalar):
            return np.broadcast_to(np.asarray(arg.values, dtype=np.float64), (self.num_steps,))
        raise ExecutionError(f"{self.name}(): argument {i + 1} is not a scalar")

    def vector(self, i: int) -> InstantVectors:
        arg = self.args[i]
        if isinstance(arg, InstantVectors):
            return arg
        raise ExecutionError(f"{self.name}(): argument {i + 1} is not an instant vector")

    def windows(self, i: int) -> RangeWindows:
        arg = self.args[i]
        if isinstance(arg, RangeWindows):
            return arg
        raise ExecutionError(f"{self.name}(): argument {i + 1} is not a range vector")

    def string(self, i: int) -> str:
        arg = self.args[i]
        if isinstance(arg, String):
            return arg.value
        expr = unwrap_expr(self.exprs[i])
        if isinstance(expr, ast.StringLiteral):
            return expr.val
        raise ExecutionError(f"{self.name}(): argument {i + 1} is not a string")


FunctionImpl = Callable[[FuncCall], Value]


def unwrap_expr(expr: ast.Expr) -> ast.Expr:
    """Strip the engine's ``StepInvariantExpr`` and any parentheses around an argument."""
    while isinstance(expr, ast.StepInvariantExpr | ast.ParenExpr):
        expr = expr.expr
    return expr


def empty_vectors(num_steps: int) -> InstantVectors:
    return InstantVectors([], np.zeros((0, num_steps)), np.zeros((0, num_steps), dtype=bool))


def single_series(labels: Labels, values: np.ndarray, present: np.ndarray,
                  drop_name: bool = False) -> InstantVectors:
    """A vector of one series (e.g. ``vector()``, ``absent()``)."""
    return InstantVectors([labels], values.reshape(1, -1).astype(np.float64),
                          present.reshape(1, -1).astype(bool), np.array([drop_name]))


def go_format_g(x: float) -> str:
    """Go's ``fmt.Sprintf("%g", x)``: shortest round-trip digits, exponent form when the decimal
    exponent is below -4 or at least 6 (``1e+06``), ``+Inf``/``-Inf``/``NaN`` for specials."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0"
    digits, exp = _shortest_digits(abs(x))
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if exp + 1 >= len(digits):
        return f"{sign}{digits}{'0' * (exp + 1 - len(digits))}"
    return f"{sign}{digits[:exp + 1]}.{digits[exp + 1:]}"


def _shortest_digits(x: float) -> tuple[str, int]:
    """The shortest round-trip decimal digits of positive finite ``x`` and its decimal exponent."""
    mant, _, e = f"{x!r}".partition("e")
    exp = int(e) if e else 0
    int_part, _, frac = mant.partition(".")
    digits = (int_part + frac).lstrip("0")
    exp += len(int_part.lstrip("0")) - 1 if int_part.lstrip("0") else -(len(frac) - len(frac.lstrip("0"))) - 1
    return digits.rstrip("0") or "0", exp


def go_format_f(x: float) -> str:
    """Go's ``fmt.Sprintf("%f", x)``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x:f}"


def range_result(rw: RangeWindows, values: np.ndarray, present: np.ndarray,
                 keep_name: bool = False) -> InstantVectors:
    """The output of a range-vector function: one row per input series that has any result.

    Range functions drop the metric name (delayed, via ``drop_name``) except
    ``last_over_time``/``first_over_time``, which act like an offset.
    """
    rows = np.flatnonzero(present.any(axis=1))
    if keep_name:
        drop = rw.drop_name[rows] if rw.drop_name is not None else np.zeros(rows.shape[0], dtype=bool)
    else:
        drop = np.ones(rows.shape[0], dtype=bool)
    return InstantVectors([rw.labels[i] for i in rows], values[rows], present[rows], drop)


def compact(vec: InstantVectors) -> InstantVectors:
    """Drop series that have no sample at any step."""
    rows = np.flatnonzero(vec.present.any(axis=1))
    if rows.shape[0] == len(vec.labels):
        return vec
    drop = vec.drop_name[rows] if vec.drop_name is not None else None
    ts = vec.timestamps[rows] if vec.timestamps is not None else None
    return InstantVectors([vec.labels[i] for i in rows], vec.values[rows], vec.present[rows], drop, ts)


def compiled() -> ModuleType:
    """The numba kernels module; imported on first use so that loading numba only costs queries
    that need it."""
    from . import kernels

    return kernels
