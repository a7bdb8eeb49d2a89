"""PromQL parser: text -> ``ast.Expr``, with Prometheus' (3.x) syntax, type checks and error texts.

A hand-written precedence-climbing parser over the tokens of ``lexer.tokenize``.
It reproduces the behaviour of upstream's yacc grammar (``generated_parser.y``)
and type checker (``checkAST`` in ``parse.go``): which token is reported as
unexpected, in which context, and at which position. Like upstream, semantic
errors found while parsing are collected and parsing goes on; the first error
(in order of detection) is the one raised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import re2

from ..gocompat.durations import DurationError, parse_duration
from ..gocompat.quote import go_quote
from ..model.labels import METRIC_NAME, Labels
from ..model.matchers import Matcher, MatchType
from . import ast
from .durations import duration_seconds_to_ms, evaluate_duration_expr
from .errors import ParseError
from .lexer import (
    AGGREGATORS,
    KEYWORDS,
    Token,
    parse_go_float,
    parse_go_int,
    tokenize,
    unquote_string,
)
from .signatures import DURATION_FUNCTIONS, FUNCTIONS
from .typecheck import Checker

__all__ = ["parse", "parse_metric_selector", "parse_labels", "format_position", "unquote_string"]

# Binary operator precedence (higher binds tighter); ``^`` is right-associative.
_BIN_PREC = {
    "LOR": 1,
    "LAND": 2, "LUNLESS": 2,
    "EQLC": 3, "NEQ": 3, "LTE": 3, "LSS": 3, "GTE": 3, "GTR": 3,
    "ADD": 4, "SUB": 4,
    "MUL": 5, "DIV": 5, "MOD": 5, "ATAN2": 5, "TRIM_UPPER": 5, "TRIM_LOWER": 5,
    "POW": 6,
}
_PREC_POW = 6
_MATCH_OPS = {"EQL": MatchType.EQUAL, "NEQ": MatchType.NOT_EQUAL, "EQL_REGEX": MatchType.REGEX,
              "NEQ_REGEX": MatchType.NOT_REGEX}
_CLOSING = frozenset({"RIGHT_BRACE", "RIGHT_PAREN", "RIGHT_BRACKET", "DURATION", "NUMBER"})
_PARAM_AGGREGATORS = frozenset({"TOPK", "BOTTOMK", "COUNT_VALUES", "QUANTILE", "LIMITK", "LIMIT_RATIO"})
_EXPERIMENTAL_AGGREGATORS = frozenset({"LIMITK", "LIMIT_RATIO"})
# Keyword tokens that may still name a metric (upstream's ``metric_identifier``).
_METRIC_KEYWORDS = AGGREGATORS | {"BY", "LAND", "LOR", "LUNLESS", "OFFSET", "WITHOUT", "START", "END", "STEP",
                                  "ANCHORED", "SMOOTHED"}
# Tokens usable as label names in grouping lists (upstream's ``maybe_label``).
_LABEL_TOKENS = AGGREGATORS | KEYWORDS | {
    "IDENTIFIER", "METRIC_IDENTIFIER", "LAND", "LOR", "LUNLESS", "ATAN2", "START", "END", "STEP"}
_PREPROCESSORS = frozenset({"START", "END", "STEP"})
_DURATION_EXPECTED = "number, duration, step(), or range()"
# ``min(a, b)`` / ``max(a, b)`` inside a duration expression mean ``min_of`` / ``max_of``.
_DURATION_ALIASES = {"min": "min_of", "max": "max_of"}
_FILL_WORDS = frozenset({"fill", "fill_left", "fill_right"})
_MAX_INT64 = float(1 << 63)


def format_position(query: str, pos: int) -> str:
    """``line:column`` of character offset ``pos`` (1-based; column counted in UTF-8 bytes, as upstream)."""
    if pos < 0 or pos > len(query):
        return f"unknown position: {pos}"
    before = query[:pos]
    line = before.count("\n") + 1
    last = before.rfind("\n")
    col = len(before[last + 1:].encode("utf-8", "surrogateescape")) + 1
    return f"{line}:{col}"


def _is_legacy_label(name: str) -> bool:
    if not name or not (_ascii_alpha(name[0]) or name[0] == "_"):
        return False
    return all(_ascii_alpha(c) or c == "_" or c.isdigit() and c.isascii() for c in name)


def _ascii_alpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


# --------------------------------------------------------------------------- regex errors

# RE2 (C++) error texts -> Go regexp/syntax error codes, as Prometheus reports them.
_RE2_TO_GO = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "unexpected )": "unexpected )",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid repetition size": "invalid repeat count",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class range": "invalid character class range",
    "no argument for repetition operator": "missing argument to repetition operator",
    "trailing \\": "trailing backslash at end of expression",
    "invalid named capture group": "invalid named capture",
    "invalid character class": "invalid character class",
    "invalid UTF-8": "invalid UTF-8",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "bad named capture group": "invalid named capture",
}


def _has_any_byte_escape(pattern: str) -> bool:
    """Whether ``pattern`` contains the escape ``\\C`` (a backslash, not itself escaped, before ``C``)."""
    i = 0
    while i < len(pattern) - 1:
        if pattern[i] == "\\":
            if pattern[i + 1] == "C":
                return True
            i += 2
        else:
            i += 1
    return False


def _regex_error_text(pattern: str, err: Exception) -> str:
    arg = err.args[0] if err.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    code, _, detail = text.partition(": ")
    go_code = _RE2_TO_GO.get(code, code)
    anchored = f"^(?s:{pattern})$"
    if code in ("missing )", "unexpected )"):
        detail = anchored
    elif code == "missing ]":
        idx = anchored.rfind(detail) if detail else -1
        detail = anchored[idx:] if idx >= 0 else detail
    elif code == "trailing \\":
        detail = ""
    return f"error parsing regexp: {go_code}: `{detail}`"


# --------------------------------------------------------------------------- parser


class _Abort(Exception):
    """Stops parsing after a syntax error (the error is already recorded)."""


@dataclass
class _BinMods:
    return_bool: bool = False
    on: bool = False
    matching: list[str] | None = None
    card: ast.Cardinality = "one-to-one"
    include: list[str] | None = None
    fill_lhs: float | None = None
    fill_rhs: float | None = None


class _Parser:
    def __init__(self, text: str, experimental: bool) -> None:
        self.text = text
        self.experimental = experimental
        self.toks = [t for t in tokenize(text) if t.type != "COMMENT"]
        self.i = 0
        self.errors: list[tuple[str, int, int]] = []
        self.last_closing = 0
        self.dur_context = ""

    # -- errors
    def add_error(self, msg: str, start: int, end: int) -> None:
        self.errors.append((msg, start, end))

    def fail(self, msg: str, start: int, end: int) -> _Abort:
        self.add_error(msg, start, end)
        return _Abort()

    def unexpected(self, context: str = "", expected: str = "") -> _Abort:
        tok = self.peek()
        msg = "unexpected " + tok.desc()
        if context:
            msg += " in " + context
        if expected:
            msg += ", expected " + expected
        return self.fail(msg, tok.pos, tok.end)

    def raise_first(self) -> None:
        if self.errors:
            msg, start, end = self.errors[0]
            raise ParseError(f"{format_position(self.text, start)}: parse error: {msg}", start=start, end=end,
                             query=self.text)

    # -- token access
    def peek(self, k: int = 0) -> Token:
        idx = min(self.i + k, len(self.toks) - 1)
        tok = self.toks[idx]
        if tok.type == "ERROR" and k == 0:
            # A lexer error: upstream reports it from the error position to the end of input.
            raise self.fail(tok.val, tok.pos, len(self.text))
        return tok

    def peek_type(self, k: int) -> str:
        idx = min(self.i + k, len(self.toks) - 1)
        return self.toks[idx].type

    def advance(self) -> Token:
        tok = self.peek()
        self.i += 1
        if tok.type in _CLOSING:
            self.last_closing = tok.end
        return tok

    def expect(self, typ: str, context: str = "", expected: str = "") -> Token:
        if self.peek().type != typ:
            raise self.unexpected(context, expected)
        return self.advance()

    # -- entry points
    def parse_query(self) -> ast.Expr:
        if self.peek().type == "EOF":
            raise self.fail("no expression found in input", 0, 0)
        expr = self.parse_expr(0)
        if self.peek().type != "EOF":
            raise self.unexpected()
        return expr

    # -- expressions
    def parse_expr(self, min_prec: int) -> ast.Expr:
        lhs = self.parse_unary()
        while True:
            op = self.peek()
            prec = _BIN_PREC.get(op.type)
            if prec is None or prec < min_prec:
                return lhs
            self.advance()
            mods = self.parse_bin_modifiers()
            rhs = self.parse_expr(prec if op.type == "POW" else prec + 1)
            lhs = self.new_binary(lhs, op, mods, rhs)

    def parse_unary(self) -> ast.Expr:
        tok = self.peek()
        if tok.type in ("ADD", "SUB"):
            self.advance()
            operand = self.parse_expr(_PREC_POW)
            if isinstance(operand, ast.NumberLiteral):
                if tok.type == "SUB":
                    operand.val = -operand.val
                operand.pos = (tok.pos, operand.pos[1])
                return operand
            return ast.UnaryExpr(tok.val, operand, pos=(tok.pos, operand.pos[1]))
        return self.parse_postfix(self.parse_primary())

    def parse_primary(self) -> ast.Expr:
        tok = self.peek()
        t = tok.type
        if t == "NUMBER":
            self.advance()
            return ast.NumberLiteral(self.number(tok), pos=(tok.pos, tok.end))
        if t == "DURATION":
            self.advance()
            return ast.NumberLiteral(self.duration_seconds(tok), pos=(tok.pos, tok.end))
        if t == "STRING":
            self.advance()
            return ast.StringLiteral(self.unquote(tok), pos=(tok.pos, tok.end))
        if t == "LEFT_PAREN":
            self.advance()
            inner = self.parse_expr(0)
            close = self.expect("RIGHT_PAREN")
            return ast.ParenExpr(inner, pos=(tok.pos, close.end))
        if t == "LEFT_BRACE":
            return self.parse_vector_selector(None)
        nxt = self.peek_type(1)
        if t in AGGREGATORS and nxt in ("LEFT_PAREN", "BY", "WITHOUT"):
            return self.parse_aggregate()
        if nxt == "LEFT_PAREN" and (t == "IDENTIFIER" or (t in _PREPROCESSORS and self.experimental)):
            # Without the experimental flag ``start(`` is a metric followed by an unexpected "(", as upstream.
            return self.parse_call()
        if t in ("IDENTIFIER", "METRIC_IDENTIFIER") or t in _METRIC_KEYWORDS:
            self.advance()
            return self.parse_vector_selector(tok)
        raise self.unexpected()

    # -- postfix modifiers: ranges, subqueries, offset, @, anchored/smoothed
    def parse_postfix(self, expr: ast.Expr) -> ast.Expr:
        while True:
            t = self.peek().type
            if t == "LEFT_BRACKET":
                expr = self.parse_range(expr)
            elif t == "OFFSET":
                self.parse_offset(expr)
            elif t == "AT":
                self.parse_at(expr)
            elif t in ("ANCHORED", "SMOOTHED"):
                self.parse_extended_modifier(expr, self.advance())
            else:
                return expr

    def parse_range(self, expr: ast.Expr) -> ast.Expr:
        lb = self.advance()
        if not self.starts_duration():
            raise self.unexpected("subquery or range selector", _DURATION_EXPECTED)
        rng = self.parse_duration_operand(full=True, context="subquery or range selector")
        t = self.peek().type
        if t == "RIGHT_BRACKET":
            rb = self.advance()
            msg = ""
            if not isinstance(expr, ast.VectorSelector):
                msg = "ranges only allowed for vector selectors"
            elif expr.offset_ms != 0 or expr.offset_expr is not None:
                msg = "no offset modifiers allowed before range"
            elif expr.timestamp_ms is not None or expr.start_or_end is not None:
                msg = "no @ modifiers allowed before range"
            if msg:
                self.add_error(msg, lb.pos, rb.end)
            range_ms, range_expr = self.resolve_duration(rng, allow_negative=False)
            vs = expr if isinstance(expr, ast.VectorSelector) else ast.VectorSelector(None, [], pos=expr.pos)
            return ast.MatrixSelector(vs, range_ms, range_expr, pos=(expr.pos[0], rb.end))
        if t != "COLON":
            raise self.unexpected("subquery or range", '":" or "]"')
        self.advance()
        step: _DurNode | None = None
        if self.peek().type != "RIGHT_BRACKET":
            if not self.starts_duration():
                raise self.unexpected("subquery selector", 'number or duration or "]"')
            step = self.parse_duration_operand(full=True, context="subquery selector")
        rb = self.expect("RIGHT_BRACKET", "subquery selector", '"]"')
        range_ms, range_expr = self.resolve_duration(rng, allow_negative=False)
        step_ms, step_expr = (0, None) if step is None else self.resolve_duration(step, allow_negative=False)
        return ast.SubqueryExpr(expr, range_ms, step_ms, range_expr=range_expr, step_expr=step_expr,
                                pos=(expr.pos[0], rb.end))

    def parse_offset(self, expr: ast.Expr) -> None:
        self.advance()
        if not self.starts_duration():
            raise self.unexpected("offset", _DURATION_EXPECTED)
        node = self.parse_duration_operand(full=False, context="offset")
        offset_ms, offset_expr = self.resolve_duration(node, allow_negative=True)
        target = self.modifier_target(expr, "offset modifier must be preceded by an instant vector selector "
                                            "or range vector selector or a subquery")
        if target is None:
            return
        if target.offset_ms != 0 or target.offset_expr is not None:
            self.add_error("offset may not be set multiple times", *expr.pos)
        else:
            target.offset_ms = offset_ms
            target.offset_expr = offset_expr
        expr.pos = (expr.pos[0], self.last_closing)

    def parse_at(self, expr: ast.Expr) -> None:
        self.advance()
        tok = self.peek()
        start_or_end: str | None = None
        ts = 0.0
        if tok.type in ("START", "END"):
            self.advance()
            if self.peek().type != "LEFT_PAREN":
                raise self.unexpected("@", "timestamp")
            self.advance()
            if self.peek().type != "RIGHT_PAREN":
                raise self.unexpected("@", "timestamp")
            self.advance()
            start_or_end = tok.type.lower()
        else:
            sign = 1.0
            if tok.type in ("ADD", "SUB"):
                self.advance()
                sign = -1.0 if tok.type == "SUB" else 1.0
            num = self.peek()
            if num.type == "NUMBER":
                ts = sign * self.number(self.advance())
            elif num.type == "DURATION":
                ts = sign * self.duration_seconds(self.advance())
            else:
                raise self.unexpected("@", "timestamp")
            if math.isinf(ts) or math.isnan(ts) or ts >= _MAX_INT64 or ts <= -_MAX_INT64:
                self.add_error(f"timestamp out of bounds for @ modifier: {_go_float_f(ts)}", *expr.pos)
        target = self.modifier_target(expr, "@ modifier must be preceded by an instant vector selector or "
                                            "range vector selector or a subquery")
        if target is None:
            return
        if target.timestamp_ms is not None or target.start_or_end is not None:
            self.add_error("@ <timestamp> may not be set multiple times", *expr.pos)
            return
        if start_or_end is not None:
            target.start_or_end = start_or_end  # type: ignore[assignment]
        elif math.isfinite(ts) and abs(ts) < _MAX_INT64:
            target.timestamp_ms = int(round_half_away(ts * 1000.0))
        expr.pos = (expr.pos[0], self.last_closing)

    def modifier_target(self, expr: ast.Expr, wrong_msg: str) -> ast.VectorSelector | ast.SubqueryExpr | None:
        if isinstance(expr, ast.VectorSelector | ast.SubqueryExpr):
            return expr
        if isinstance(expr, ast.MatrixSelector):
            return expr.vector_selector
        self.add_error(wrong_msg, *expr.pos)
        return None

    def parse_extended_modifier(self, expr: ast.Expr, tok: Token) -> None:
        name = tok.val.lower()
        if not self.experimental:
            self.add_error(f"{name} modifier is experimental and not enabled", *expr.pos)
            return
        if isinstance(expr, ast.SubqueryExpr):
            self.add_error(f"{name} modifier is not supported for subqueries", *expr.pos)
            return
        if isinstance(expr, ast.MatrixSelector):
            vs = expr.vector_selector
        elif isinstance(expr, ast.VectorSelector):
            vs = expr
        else:
            self.add_error(f"{name} modifier not implemented", *expr.pos)
            return
        if name == "anchored":
            vs.anchored = True
        else:
            vs.smoothed = True
        if vs.anchored and vs.smoothed:
            self.add_error("anchored and smoothed modifiers cannot be used together", *expr.pos)

    # -- duration expressions (``[5m]``, ``[5m * 2]``, ``offset (1h + step())``)
    def starts_duration(self) -> bool:
        t = self.peek().type
        if t in ("NUMBER", "DURATION", "SUB", "ADD", "LEFT_PAREN", "STEP", "MIN", "MAX"):
            return True
        return t == "IDENTIFIER" and self.peek().val.lower() in DURATION_FUNCTIONS

    def dur_unexpected(self) -> _Abort:
        return self.unexpected(self.dur_context, _DURATION_EXPECTED)

    def parse_duration_operand(self, full: bool, context: str) -> _DurNode:
        """A range/step (``full``: any arithmetic) or an offset (one signed operand).

        Only a plain, optionally signed, number or duration is classic syntax;
        anything else is an experimental duration expression.
        """
        self.dur_context = context
        start_i = self.i
        node = self.parse_dur_expr(0) if full else self.parse_dur_unary(offset_operand=True)
        used = self.i - start_i
        signed = used == 2 and self.toks[start_i].type in ("ADD", "SUB")
        simple = node.op == "number" and (used == 1 or signed)
        if not simple and not self.experimental:
            self.add_error("experimental duration expression is not enabled", node.start, node.end)
        return node

    def parse_dur_expr(self, min_prec: int) -> _DurNode:
        lhs = self.parse_dur_unary(offset_operand=False)
        while True:
            op = self.peek()
            prec = _BIN_PREC.get(op.type)
            if prec is None or prec < min_prec or op.type not in _DUR_OPS:
                return lhs
            self.advance()
            if not self.starts_duration():
                raise self.dur_unexpected()
            rhs = self.parse_dur_expr(prec if op.type == "POW" else prec + 1)
            if op.type in ("DIV", "MOD") and not rhs.needs_query() and rhs.evaluate() == 0:
                self.add_error("division by zero" if op.type == "DIV" else "modulo by zero", op.pos, op.end)
            lhs = _DurNode(_DUR_OPS[op.type], lhs.start, rhs.end, lhs, rhs)

    def parse_dur_unary(self, offset_operand: bool) -> _DurNode:
        tok = self.peek()
        if tok.type in ("ADD", "SUB"):
            self.advance()
            if not self.starts_duration():
                raise self.dur_unexpected()
            if offset_operand:
                operand = self.parse_dur_unary(offset_operand)
            else:
                operand = self.parse_dur_expr(_PREC_POW)
            if tok.type == "ADD":
                return _DurNode(operand.op, tok.pos, operand.end, operand.lhs, operand.rhs, operand.val)
            if operand.op == "number":
                return _DurNode("number", tok.pos, operand.end, val=-operand.val)
            return _DurNode("neg", tok.pos, operand.end, None, operand)
        if tok.type == "NUMBER":
            self.advance()
            return _DurNode("number", tok.pos, tok.end, val=self.number(tok))
        if tok.type == "DURATION":
            self.advance()
            return _DurNode("number", tok.pos, tok.end, val=self.duration_seconds(tok))
        if tok.type == "LEFT_PAREN":
            self.advance()
            if not self.starts_duration():
                raise self.dur_unexpected()
            inner = self.parse_dur_expr(0)
            if self.peek().type != "RIGHT_PAREN":
                raise self.dur_unexpected()
            close = self.advance()
            return _DurNode(inner.op, tok.pos, close.end, inner.lhs, inner.rhs, inner.val)
        name = _DURATION_ALIASES.get(tok.val.lower(), tok.val.lower())
        if tok.type in ("STEP", "MIN", "MAX", "IDENTIFIER") and name in DURATION_FUNCTIONS:
            return self.parse_dur_call(self.advance(), name)
        raise self.dur_unexpected()

    def parse_dur_call(self, tok: Token, name: str) -> _DurNode:
        if self.peek().type != "LEFT_PAREN":
            raise self.dur_unexpected()
        self.advance()
        args: list[_DurNode] = []
        if self.peek().type != "RIGHT_PAREN":
            if not self.starts_duration():
                raise self.dur_unexpected()
            args.append(self.parse_dur_expr(0))
            while self.peek().type == "COMMA":
                self.advance()
                if not self.starts_duration():
                    raise self.dur_unexpected()
                args.append(self.parse_dur_expr(0))
        if self.peek().type != "RIGHT_PAREN":
            raise self.dur_unexpected()
        close = self.advance()
        want = DURATION_FUNCTIONS[name]
        if len(args) != want:
            self.add_error(f"expected {want} argument(s) in call to {go_quote(name)}, got {len(args)}",
                           tok.pos, close.end)
            args = [_DurNode("number", tok.pos, close.end)] * want
        return _DurNode(name, tok.pos, close.end, *(args or [None, None]))

    def resolve_duration(self, node: _DurNode, allow_negative: bool) -> tuple[int, ast.DurationExpr | None]:
        """Milliseconds of a range/step/offset, plus the expression if only the engine can evaluate it.

        A plain number or duration is checked here, as upstream does. Other
        expressions are folded when they are constant and valid; otherwise they
        are kept for ``durations.resolve_duration_exprs`` at query time, where
        upstream evaluates (and rejects) them too.
        """
        if node.op == "number":
            try:
                return duration_seconds_to_ms(node.val, allow_negative), None
            except ValueError as e:
                self.add_error(str(e), node.start, node.end)
                return 0, None
        if not node.needs_query():
            try:
                return duration_seconds_to_ms(node.evaluate(), allow_negative), None
            except ValueError:
                pass
        return 0, node.to_ast()

    # -- binary expressions
    def parse_bin_modifiers(self) -> _BinMods:
        mods = _BinMods()
        if self.peek().type == "BOOL":
            self.advance()
            mods.return_bool = True
        if self.peek().type in ("ON", "IGNORING"):
            mods.on = self.advance().type == "ON"
            mods.matching = self.parse_grouping_labels()
            if self.peek().type in ("GROUP_LEFT", "GROUP_RIGHT"):
                mods.card = "many-to-one" if self.advance().type == "GROUP_LEFT" else "one-to-many"
                mods.include = self.parse_grouping_labels() if self.peek().type == "LEFT_PAREN" else []
        while (tok := self.peek()).type == "IDENTIFIER" and tok.val in _FILL_WORDS \
                and self.peek_type(1) == "LEFT_PAREN":
            self.advance()
            self.advance()
            value = self.parse_fill_value()
            self.expect("RIGHT_PAREN", "fill modifier", '")"')
            if tok.val in ("fill", "fill_left"):
                mods.fill_lhs = value
            if tok.val in ("fill", "fill_right"):
                mods.fill_rhs = value
        return mods

    def parse_fill_value(self) -> float:
        sign = 1.0
        tok = self.peek()
        if tok.type in ("ADD", "SUB"):
            self.advance()
            sign = -1.0 if tok.type == "SUB" else 1.0
        num = self.peek()
        if num.type == "NUMBER":
            return sign * self.number(self.advance())
        if num.type == "DURATION":
            return sign * self.duration_seconds(self.advance())
        raise self.unexpected("fill modifier", "number")

    def new_binary(self, lhs: ast.Expr, op: Token, mods: _BinMods, rhs: ast.Expr) -> ast.BinaryExpr:
        matching = ast.VectorMatching(card=mods.card, matching_labels=mods.matching or [], on=mods.on,
                                      include=mods.include or [], fill_lhs=mods.fill_lhs,
                                      fill_rhs=mods.fill_rhs)
        node = ast.BinaryExpr(op.val.lower(), lhs, rhs, matching, mods.return_bool,
                              pos=(lhs.pos[0], rhs.pos[1]))
        if not self.experimental and (mods.fill_lhs is not None or mods.fill_rhs is not None):
            self.add_error("binop fill modifiers are experimental and not enabled", *node.pos)
        return node

    # -- grouping labels: ``by (a, b)``, ``on (a)``
    def parse_grouping_labels(self) -> list[str]:
        if self.peek().type != "LEFT_PAREN":
            raise self.unexpected("grouping opts", '"("')
        self.advance()
        labels: list[str] = []
        if self.peek().type == "RIGHT_PAREN":
            self.advance()
            return labels
        while True:
            tok = self.peek()
            if tok.type == "STRING":
                labels.append(self.unquote(self.advance()))
            elif tok.type in _LABEL_TOKENS:
                if not _is_legacy_label(tok.val):
                    raise self.unexpected("grouping opts", "label")
                labels.append(self.advance().val)
            else:
                raise self.unexpected("grouping opts", "label")
            t = self.peek().type
            if t == "RIGHT_PAREN":
                self.advance()
                return labels
            if t != "COMMA":
                raise self.unexpected("grouping opts", '"," or ")"')
            self.advance()
            if self.peek().type == "RIGHT_PAREN":
                self.advance()
                return labels

    # -- aggregations and calls
    def parse_aggregate(self) -> ast.AggregateExpr:
        op = self.advance()
        grouping: list[str] = []
        without = False
        if self.peek().type in ("BY", "WITHOUT"):
            without = self.advance().type == "WITHOUT"
            grouping = self.parse_grouping_labels()
            if self.peek().type != "LEFT_PAREN":
                raise self.unexpected("aggregation")
            args = self.parse_call_body()
        else:
            args = self.parse_call_body()
            if self.peek().type in ("BY", "WITHOUT"):
                without = self.advance().type == "WITHOUT"
                grouping = self.parse_grouping_labels()
        pos = (op.pos, self.last_closing)
        name = op.val.lower()
        node = ast.AggregateExpr(name, ast.NumberLiteral(0.0), None, grouping, without, pos=pos)
        if not args:
            self.add_error("no arguments for aggregate expression provided", *pos)
            return node
        desired = 1
        if op.type in _PARAM_AGGREGATORS:
            if not self.experimental and op.type in _EXPERIMENTAL_AGGREGATORS:
                self.add_error(f"{name}() is experimental and must be enabled with "
                               "--enable-feature=promql-experimental-functions", *pos)
                return node
            desired = 2
            node.param = args[0]
        if len(args) != desired:
            self.add_error("wrong number of arguments for aggregate expression provided, "
                           f"expected {desired}, got {len(args)}", *pos)
            return node
        node.expr = args[desired - 1]
        return node

    def parse_call_body(self) -> list[ast.Expr]:
        self.expect("LEFT_PAREN")
        args: list[ast.Expr] = []
        if self.peek().type == "RIGHT_PAREN":
            self.advance()
            return args
        args.append(self.parse_expr(0))
        while self.peek().type == "COMMA":
            comma = self.advance()
            if self.peek().type == "RIGHT_PAREN":
                self.add_error("trailing commas not allowed in function call args", comma.pos, comma.end)
                break
            args.append(self.parse_expr(0))
        self.expect("RIGHT_PAREN")
        return args

    def parse_call(self) -> ast.Call:
        name_tok = self.advance()
        name = name_tok.val if name_tok.type == "IDENTIFIER" else name_tok.val.lower()
        args = self.parse_call_body()
        sig = FUNCTIONS.get(name)
        if sig is None:
            self.add_error(f"unknown function with name {go_quote(name)}", name_tok.pos, name_tok.end)
        elif sig.experimental and not self.experimental:
            self.add_error(f"function {go_quote(name)} is not enabled", name_tok.pos, name_tok.end)
        ret = sig.return_type if sig is not None else "vector"
        return ast.Call(name, args, ret, pos=(name_tok.pos, self.last_closing))

    # -- vector selectors
    def parse_vector_selector(self, name_tok: Token | None) -> ast.VectorSelector:
        matchers: list[Matcher] = []
        start = name_tok.pos if name_tok is not None else self.peek().pos
        end = name_tok.end if name_tok is not None else start
        if self.peek().type == "LEFT_BRACE":
            matchers, end = self.parse_label_matchers()
        name = name_tok.val if name_tok is not None else None
        if name is not None:
            matchers.append(Matcher(MatchType.EQUAL, METRIC_NAME, name))
        return ast.VectorSelector(name, matchers, pos=(start, end))

    def parse_label_matchers(self) -> tuple[list[Matcher], int]:
        self.advance()  # '{'
        matchers: list[Matcher] = []
        if self.peek().type == "RIGHT_BRACE":
            return matchers, self.advance().end
        while True:
            m = self.parse_label_matcher()
            if m is not None:
                matchers.append(m)
            t = self.peek().type
            if t == "RIGHT_BRACE":
                return matchers, self.advance().end
            if t != "COMMA":
                raise self.unexpected("label matching", '"," or "}"')
            self.advance()
            if self.peek().type == "RIGHT_BRACE":
                return matchers, self.advance().end

    def parse_label_matcher(self) -> Matcher | None:
        tok = self.peek()
        if tok.type == "IDENTIFIER":
            self.advance()
            name = tok.val
            if self.peek().type not in _MATCH_OPS:
                raise self.unexpected("label matching", "label matching operator")
        elif tok.type == "STRING":
            self.advance()
            name = self.unquote(tok)
            if self.peek().type not in _MATCH_OPS:
                # A bare quoted string is the metric name: ``{"my.metric"}``.
                return Matcher(MatchType.EQUAL, METRIC_NAME, name)
        else:
            raise self.unexpected("label matching", 'identifier or "}"')
        op = self.advance()
        value_tok = self.peek()
        if value_tok.type != "STRING":
            raise self.unexpected("label matching", "string")
        self.advance()
        value = self.unquote(value_tok)
        match_type = _MATCH_OPS[op.type]
        if match_type in (MatchType.REGEX, MatchType.NOT_REGEX) and _has_any_byte_escape(value):
            # RE2 accepts ``\C`` (any byte); Go's regexp, and so Prometheus, rejects it.
            self.add_error("error parsing regexp: invalid escape sequence: `\\C`", tok.pos, value_tok.end)
            return None
        try:
            return Matcher(match_type, name, value)
        except re2.error as e:
            self.add_error(_regex_error_text(value, e), tok.pos, value_tok.end)
            return None

    # -- literals
    def number(self, tok: Token) -> float:
        v = parse_go_int(tok.val)
        if v is not None:
            return float(v)
        f = parse_go_float(tok.val)
        problem = "invalid syntax" if f is None else ""
        if f is not None and math.isinf(f) and "inf" not in tok.val.lower():
            problem = "value out of range"  # Go's ParseFloat rejects overflowing literals
        if problem:
            self.add_error("error parsing number: strconv.ParseFloat: parsing "
                           f"{go_quote(tok.val)}: {problem}", tok.pos, tok.end)
            return 0.0 if f is None else f
        assert f is not None
        return f

    def duration_seconds(self, tok: Token) -> float:
        try:
            return parse_duration(tok.val) / 1000.0
        except DurationError as e:
            self.add_error(str(e), tok.pos, tok.end)
            return 0.0

    def unquote(self, tok: Token) -> str:
        try:
            return unquote_string(tok.val)
        except ValueError as e:
            self.add_error(f"error unquoting string {go_quote(tok.val)}: {e}", tok.pos, tok.end)
            return ""


def round_half_away(x: float) -> float:
    """Go's ``math.Round``: halves away from zero."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _go_float_f(x: float) -> str:
    """Go's ``%f``."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x:.6f}"


_DUR_OPS = {"ADD": "+", "SUB": "-", "MUL": "*", "DIV": "/", "MOD": "%", "POW": "^"}


@dataclass
class _DurNode:
    """A duration expression while parsing (seconds as floats)."""

    op: str
    start: int
    end: int
    lhs: _DurNode | None = None
    rhs: _DurNode | None = None
    val: float = 0.0

    def needs_query(self) -> bool:
        if self.op in ("step", "range"):
            return True
        return any(c is not None and c.needs_query() for c in (self.lhs, self.rhs))

    def evaluate(self) -> float:
        return evaluate_duration_expr(self.to_ast(), step_ms=0, range_ms=0)

    def to_ast(self) -> ast.DurationExpr:
        return ast.DurationExpr(self.op, self.lhs.to_ast() if self.lhs else None,
                                self.rhs.to_ast() if self.rhs else None, self.val, pos=(self.start, self.end))


def parse(query: str, *, enable_experimental: bool = False) -> ast.Expr:
    """Parse and type-check a PromQL expression.

    ``enable_experimental`` turns on everything upstream puts behind feature
    flags: experimental functions and aggregations (``limitk``, ``sort_by_label``,
    ...), duration expressions (``[5m * 2]``, ``offset step()``), ``anchored`` /
    ``smoothed`` and the binary ``fill`` modifiers. Raises ``ParseError`` with
    upstream's text (``1:6: parse error: unexpected <op:*>``); the HTTP API adds
    the ``invalid parameter "query": `` prefix itself.
    """
    p = _Parser(query, enable_experimental)
    try:
        expr = p.parse_query()
        p.raise_first()
        Checker(p).check(expr)
    except _Abort:
        pass
    except RecursionError:
        # Only pathological nesting (hundreds of parentheses) gets here; chains of
        # binary operators are handled iteratively.
        raise ParseError("parse error: expression nested too deeply", query=query) from None
    p.raise_first()
    return expr


def parse_metric_selector(text: str) -> list[Matcher]:
    """Parse a series selector such as ``up{job="a"}`` or ``{__name__=~"x.*"}`` (the API's ``match[]``).

    Returns all matchers, including the ``__name__`` one for a leading metric
    name. Raises ``ParseError`` like ``parse``.
    """
    p = _Parser(text, experimental=False)
    try:
        tok = p.peek()
        if tok.type == "LEFT_BRACE":
            vs = p.parse_vector_selector(None)
        elif tok.type in ("IDENTIFIER", "METRIC_IDENTIFIER") or tok.type in _METRIC_KEYWORDS:
            p.advance()
            vs = p.parse_vector_selector(tok)
        else:
            raise p.unexpected()
        if p.peek().type != "EOF":
            raise p.unexpected()
    except _Abort:
        p.raise_first()
        raise AssertionError("unreachable") from None
    p.raise_first()
    Checker(p).check(vs)
    p.raise_first()
    return vs.matchers


def parse_labels(text: str) -> Labels:
    """Parse a series descriptor: ``name{a="b"}``, ``{__name__="x"}``, ``{"my.metric", "a.b"="x"}``.

    Only ``=`` is allowed. Returns the label set (with ``__name__`` for a name).
    """
    p = _Parser(text, experimental=False)
    pairs: dict[str, str] = {}
    try:
        tok = p.peek()
        if tok.type in ("IDENTIFIER", "METRIC_IDENTIFIER") or tok.type in _METRIC_KEYWORDS:
            pairs[METRIC_NAME] = p.advance().val
        if p.peek().type == "LEFT_BRACE":
            _parse_label_set(p, pairs)
        if p.peek().type != "EOF":
            raise p.unexpected()
    except _Abort:
        p.raise_first()
        raise AssertionError("unreachable") from None
    p.raise_first()
    return Labels(pairs)


def _parse_label_set(p: _Parser, pairs: dict[str, str]) -> None:
    p.advance()  # '{'
    if p.peek().type == "RIGHT_BRACE":
        p.advance()
        return
    while True:
        tok = p.peek()
        if tok.type not in ("IDENTIFIER", "STRING"):
            raise p.unexpected("label set", 'identifier or "}"')
        p.advance()
        name = tok.val if tok.type == "IDENTIFIER" else p.unquote(tok)
        if tok.type == "STRING" and p.peek().type in ("COMMA", "RIGHT_BRACE"):
            pairs[METRIC_NAME] = name
        else:
            if p.peek().type != "EQL":
                raise p.unexpected("label set", '"="' if tok.type == "IDENTIFIER" else '"," or "}"')
            p.advance()
            if p.peek().type != "STRING":
                raise p.unexpected("label set", "string")
            pairs[name] = p.unquote(p.advance())
        t = p.peek().type
        if t == "RIGHT_BRACE":
            p.advance()
            return
        if t != "COMMA":
            raise p.unexpected("label set", '"," or "}"')
        p.advance()
        if p.peek().type == "RIGHT_BRACE":
            p.advance()
            return
