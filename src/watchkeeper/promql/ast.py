"""PromQL abstract syntax tree, as produced by ``parser.parse`` and walked by the engine.

Mirrors Prometheus' ``promql/parser/ast.go``. Times and durations are integer
milliseconds. ``pos`` is the (start, end) character span in the query text, used
for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..model.matchers import Matcher

__all__ = [
    "ValueType", "Expr", "NumberLiteral", "StringLiteral", "VectorSelector", "MatrixSelector",
    "SubqueryExpr", "Call", "AggregateExpr", "BinaryExpr", "VectorMatching", "UnaryExpr", "ParenExpr",
    "StepInvariantExpr", "DurationExpr",
]

ValueType = Literal["scalar", "vector", "matrix", "string"]
Pos = tuple[int, int]
Cardinality = Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"]


@dataclass(eq=False)
class Expr:
    pos: Pos = field(default=(0, 0), kw_only=True)

    @property
    def type(self) -> ValueType:
        raise NotImplementedError


@dataclass(eq=False)
class NumberLiteral(Expr):
    val: float

    @property
    def type(self) -> ValueType:
        return "scalar"


@dataclass(eq=False)
class StringLiteral(Expr):
    val: str

    @property
    def type(self) -> ValueType:
        return "string"


@dataclass(eq=False)
class VectorSelector(Expr):
    """``name{matchers} offset X @ T``. ``matchers`` includes the ``__name__`` matcher if a name was given."""

    name: str | None
    matchers: list[Matcher]
    offset_ms: int = 0
    timestamp_ms: int | None = None  # from ``@ <number>``
    start_or_end: Literal["start", "end"] | None = None  # from ``@ start()`` / ``@ end()``
    # Experimental extensions (see ``parse(..., enable_experimental=True)``):
    anchored: bool = False  # ``x[5m] anchored``
    smoothed: bool = False  # ``x[5m] smoothed`` / ``x smoothed``
    offset_expr: DurationExpr | None = None  # offset known only per query (uses step()/range())

    @property
    def type(self) -> ValueType:
        return "vector"


@dataclass(eq=False)
class MatrixSelector(Expr):
    """``vector_selector[range]``; offset and @ live on the inner selector."""

    vector_selector: VectorSelector
    range_ms: int
    range_expr: DurationExpr | None = None  # range known only per query (uses step()/range())

    @property
    def type(self) -> ValueType:
        return "matrix"


@dataclass(eq=False)
class SubqueryExpr(Expr):
    """``expr[range:step] offset X @ T``; ``step_ms`` 0 means the default evaluation interval."""

    expr: Expr
    range_ms: int
    step_ms: int = 0
    offset_ms: int = 0
    timestamp_ms: int | None = None
    start_or_end: Literal["start", "end"] | None = None
    # Parts known only per query (duration expressions using step()/range()):
    range_expr: DurationExpr | None = None
    step_expr: DurationExpr | None = None
    offset_expr: DurationExpr | None = None

    @property
    def type(self) -> ValueType:
        return "matrix"


@dataclass(eq=False)
class Call(Expr):
    func: str
    args: list[Expr]
    return_type: ValueType = "vector"

    @property
    def type(self) -> ValueType:
        return self.return_type


@dataclass(eq=False)
class AggregateExpr(Expr):
    # sum avg count min max group stddev stdvar topk bottomk quantile count_values limitk limit_ratio
    op: str
    expr: Expr
    param: Expr | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False

    @property
    def type(self) -> ValueType:
        return "vector"


@dataclass(eq=False)
class VectorMatching:
    card: Cardinality = "one-to-one"
    matching_labels: list[str] = field(default_factory=list)
    on: bool = False  # True: ``on(...)``; False: ``ignoring(...)`` (or no clause)
    include: list[str] = field(default_factory=list)  # extra labels of group_left/group_right
    # Experimental ``fill(v)`` / ``fill_left(v)`` / ``fill_right(v)``: value for a missing side.
    fill_lhs: float | None = None
    fill_rhs: float | None = None


@dataclass(eq=False)
class BinaryExpr(Expr):
    op: str  # + - * / % ^ atan2 == != > < >= <= and or unless
    lhs: Expr
    rhs: Expr
    matching: VectorMatching | None = None  # set when both sides are vectors
    return_bool: bool = False

    @property
    def type(self) -> ValueType:
        # rhs first: operator chains are left-deep, so this stays O(1) for vector chains.
        if self.rhs.type == "scalar" and self.lhs.type == "scalar":
            return "scalar"
        return "vector"


@dataclass(eq=False)
class UnaryExpr(Expr):
    op: str  # '-' or '+'
    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(eq=False)
class ParenExpr(Expr):
    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(eq=False)
class StepInvariantExpr(Expr):
    """Engine-internal wrapper: ``expr`` gives the same value at every step (e.g. uses ``@``)."""

    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


@dataclass(eq=False)
class DurationExpr(Expr):
    """Experimental duration arithmetic that depends on the query (``[step() * 2]``).

    Only kept when the value needs ``step()`` or ``range()``; constant duration
    expressions are folded by the parser. Values are in seconds (floats).
    ``op``: ``number`` (``val``), ``step``, ``range``, ``min_of``/``max_of``
    (``lhs``, ``rhs``), a binary ``+ - * / % ^`` (``lhs``, ``rhs``) or ``neg``
    (unary minus, ``rhs`` only).
    """

    op: str
    lhs: DurationExpr | None = None
    rhs: DurationExpr | None = None
    val: float = 0.0

    @property
    def type(self) -> ValueType:
        return "scalar"
