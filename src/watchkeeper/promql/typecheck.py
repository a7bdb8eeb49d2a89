"""PromQL type rules applied after a successful parse (upstream's ``checkAST``).

Kept apart from the grammar in ``parser.py``: the parser builds the tree, this
module decides whether its operand types, function arguments and modifiers are
allowed, with upstream's messages.
"""

from __future__ import annotations

from typing import Protocol

from ..gocompat.quote import go_quote
from ..model.labels import METRIC_NAME
from . import ast
from .signatures import FUNCTIONS

__all__ = ["Checker", "ErrorSink", "documented_type", "COMPARISONS", "SET_OPS"]

COMPARISONS = frozenset({"==", "!=", "<=", "<", ">=", ">"})
SET_OPS = frozenset({"and", "or", "unless"})


class ErrorSink(Protocol):
    """What the checker needs of the parser: the query text and a place to put errors."""

    text: str

    def add_error(self, msg: str, start: int, end: int) -> None: ...


def documented_type(t: str) -> str:
    """Upstream's ``DocumentedType``: the type names used in error messages."""
    return {"vector": "instant vector", "matrix": "range vector"}.get(t, t)



class Checker:
    """Upstream's ``checkAST``: the type rules applied after a successful parse."""

    def __init__(self, p: ErrorSink) -> None:
        self.p = p
        self.bypass_empty_check: set[int] = set()

    def err(self, msg: str, pos: tuple[int, int]) -> None:
        self.p.add_error(msg, *pos)

    def expect_type(self, node: ast.Expr, want: str, context: str) -> None:
        t = self.check(node)
        if t != want:
            self.err(f"expected type {documented_type(want)} in {context}, got {documented_type(t)}",
                     node.pos)

    def op_range(self, n: ast.BinaryExpr) -> tuple[int, int]:
        text = self.p.text
        start = n.lhs.pos[1]
        while start < len(text) and text[start] in " \t\n\r":
            start += 1
        end = n.rhs.pos[0] - 1
        while end > start and text[end] in " \t\n\r":
            end -= 1
        return start, end

    def check(self, node: ast.Expr) -> str:
        """Check ``node`` and its children; returns its type (computed bottom-up, without
        re-walking subtrees as ``BinaryExpr.type`` would)."""
        if isinstance(node, ast.BinaryExpr):
            return self.check_binary_chain(node)
        if isinstance(node, ast.ParenExpr):
            return self.check(node.expr)
        if isinstance(node, ast.UnaryExpr):
            t = self.check(node.expr)
            if t not in ("scalar", "vector"):
                self.err("unary expression only allowed on expressions of type scalar or instant vector, "
                         f"got {go_quote(documented_type(t))}", node.pos)
            return t
        if isinstance(node, ast.AggregateExpr):
            self.expect_type(node.expr, "vector", "aggregation expression")
            if node.op in ("topk", "bottomk", "quantile", "limitk", "limit_ratio") and node.param is not None:
                self.expect_type(node.param, "scalar", "aggregation parameter")
            if node.op == "count_values" and node.param is not None:
                self.expect_type(node.param, "string", "aggregation parameter")
        elif isinstance(node, ast.Call):
            self.check_call(node)
        elif isinstance(node, ast.SubqueryExpr):
            t = self.check(node.expr)
            if t != "vector":
                self.err(f"subquery is only allowed on instant vector, got {t} instead", node.pos)
        elif isinstance(node, ast.MatrixSelector):
            self.check(node.vector_selector)
        elif isinstance(node, ast.VectorSelector):
            self.check_selector(node)
        return node.type

    def check_binary_chain(self, top: ast.BinaryExpr) -> str:
        """Check a left-deep chain (``a or b or c ...``) iteratively, in the same order as recursion would."""
        spine = [top]
        while isinstance(spine[-1].lhs, ast.BinaryExpr):
            spine.append(spine[-1].lhs)  # type: ignore[arg-type]
        lt = self.check(spine[-1].lhs)
        for n in reversed(spine):
            rt = self.check(n.rhs)
            self.check_binary(n, lt, rt)
            lt = "scalar" if lt == "scalar" and rt == "scalar" else "vector"
        return lt

    def check_binary(self, n: ast.BinaryExpr, lt: str, rt: str) -> None:
        op_type = n.op
        m = n.matching
        assert m is not None
        if n.return_bool and op_type not in COMPARISONS:
            self.err("bool modifier can only be used on comparison operators", self.op_range(n))
        if op_type in COMPARISONS and not n.return_bool and lt == "scalar" and rt == "scalar":
            self.err("comparisons between scalars must use BOOL modifier", self.op_range(n))
        if op_type in SET_OPS and m.card == "one-to-one":
            m.card = "many-to-many"
        if m.on:
            for label in m.matching_labels:
                if label in m.include:
                    self.err(f"label {go_quote(label)} must not occur in ON and GROUP clause at once",
                             self.op_range(n))
        if lt not in ("scalar", "vector"):
            self.err("binary expression must contain only scalar and instant vector types", n.lhs.pos)
        if rt not in ("scalar", "vector"):
            self.err("binary expression must contain only scalar and instant vector types", n.rhs.pos)
        has_fill = m.fill_lhs is not None or m.fill_rhs is not None
        if lt != "vector" or rt != "vector":
            if m.matching_labels:
                self.err("vector matching only allowed between instant vectors", n.pos)
            if has_fill:
                self.err("filling in missing series only allowed between instant vectors", n.pos)
            n.matching = None
        elif op_type in SET_OPS:
            if m.card in ("one-to-many", "many-to-one"):
                self.err(f"no grouping allowed for {go_quote(n.op)} operation", n.pos)
            if m.card != "many-to-many":
                self.err("set operations must always be many-to-many", n.pos)
            if has_fill:
                self.err("filling in missing series not allowed for set operators", n.pos)
        if (lt == "scalar" or rt == "scalar") and op_type in SET_OPS:
            self.err(f"set operator {go_quote(n.op)} not allowed in binary scalar expression", n.pos)

    def check_call(self, n: ast.Call) -> None:
        sig = FUNCTIONS[n.func]
        nargs = len(sig.arg_types)
        name, got = go_quote(n.func), len(n.args)
        if sig.variadic == 0:
            if nargs != got:
                self.err(f"expected {nargs} argument(s) in call to {name}, got {got}", n.pos)
        else:
            na = nargs - 1
            if na > got:
                self.err(f"expected at least {na} argument(s) in call to {name}, got {got}", n.pos)
            elif sig.variadic > 0 and na + sig.variadic < got:
                most = na + sig.variadic
                self.err(f"expected at most {most} argument(s) in call to {name}, got {got}", n.pos)
        if n.func == "info" and len(n.args) > 1:
            second = n.args[1]
            if second.type != "vector":
                self.err(f"expected type instant vector in call to function {go_quote(n.func)}, "
                         f"got {documented_type(second.type)}", n.pos)
            if isinstance(second, ast.VectorSelector):
                if second.name is not None:
                    self.err("expected label selectors only, got vector selector instead", second.pos)
                else:
                    # info()'s data-label selector may match everything, e.g. ``{k=~".*"}``.
                    self.bypass_empty_check.add(id(second))
            else:
                self.err("expected label selectors only", second.pos)
        for i, arg in enumerate(n.args):
            if i >= nargs:
                if sig.variadic == 0:
                    break
                i = nargs - 1
            t = self.check(arg)
            if t != sig.arg_types[i]:
                self.err(f"expected type {documented_type(sig.arg_types[i])} in call to function "
                         f"{go_quote(n.func)}, got {documented_type(t)}", arg.pos)

    def check_selector(self, n: ast.VectorSelector) -> None:
        if n.name is not None:
            for m in n.matchers[:-1]:
                if m.name == METRIC_NAME:
                    self.err(f"metric name must not be set twice: {go_quote(n.name)} or {go_quote(m.value)}",
                             n.pos)
            return
        if id(n) in self.bypass_empty_check:
            return
        if not any(not m.matches("") for m in n.matchers):
            self.err("vector selector must contain at least one non-empty matcher", n.pos)


# --------------------------------------------------------------------------- public API
