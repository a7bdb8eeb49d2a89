"""PromQL parser: ASTs, precedence, positions and Prometheus' exact error texts.

Expected error texts come from Prometheus' own ``promql/parser/parse_test.go``
and from running Prometheus on the same queries.
"""

from __future__ import annotations

import math
import re

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.gocompat.durations import DurationError, format_duration, parse_duration
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.promql import ast
from watchkeeper.promql.durations import resolve_duration_exprs
from watchkeeper.promql.errors import ParseError
from watchkeeper.promql.parser import (
    format_position,
    parse,
    parse_labels,
    parse_metric_selector,
    unquote_string,
)
from watchkeeper.promql.signatures import FUNCTIONS

CORPUS = CONFORMANCE / "promql"


def err(query: str, *, experimental: bool = False) -> str:
    """The error text without the constant ``parse error: `` part (keeps the tables short)."""
    with pytest.raises(ParseError) as info:
        parse(query, enable_experimental=experimental)
    text = str(info.value)
    assert ": parse error: " in text
    return text.replace(": parse error: ", ": ", 1)


def sexpr(e: ast.Expr) -> str:
    """A compact rendering of the tree shape, for precedence tests."""
    if isinstance(e, ast.BinaryExpr):
        return f"({sexpr(e.lhs)} {e.op} {sexpr(e.rhs)})"
    if isinstance(e, ast.UnaryExpr):
        return f"({e.op}{sexpr(e.expr)})"
    if isinstance(e, ast.ParenExpr):
        return f"[{sexpr(e.expr)}]"
    if isinstance(e, ast.NumberLiteral):
        return repr(e.val)
    if isinstance(e, ast.VectorSelector):
        return e.name or "{}"
    if isinstance(e, ast.MatrixSelector):
        return f"{sexpr(e.vector_selector)}[{e.range_ms}]"
    if isinstance(e, ast.SubqueryExpr):
        return f"{sexpr(e.expr)}[{e.range_ms}:{e.step_ms}]"
    if isinstance(e, ast.Call):
        return f"{e.func}({', '.join(sexpr(a) for a in e.args)})"
    if isinstance(e, ast.AggregateExpr):
        return f"{e.op}({sexpr(e.expr)})"
    if isinstance(e, ast.StringLiteral):
        return repr(e.val)
    raise AssertionError(type(e))


# --------------------------------------------------------------------------- precedence and shapes


@pytest.mark.parametrize(("query", "shape"), [
    ("1 + 2 * 3", "(1.0 + (2.0 * 3.0))"),
    ("1 * 2 + 3", "((1.0 * 2.0) + 3.0)"),
    ("2 ^ 3 ^ 2", "(2.0 ^ (3.0 ^ 2.0))"),
    ("1 - 2 - 3", "((1.0 - 2.0) - 3.0)"),
    ("-1^2", "(-(1.0 ^ 2.0))"),
    ("-1*2", "(-1.0 * 2.0)"),
    ("-1^-2", "(-(1.0 ^ -2.0))"),
    ("+1 + -2 * 1", "(1.0 + (-2.0 * 1.0))"),
    ("1 + 2/(3*1)", "(1.0 + (2.0 / [(3.0 * 1.0)]))"),
    ("1 < bool 2 - 1 * 2", "(1.0 < (2.0 - (1.0 * 2.0)))"),
    ("foo + bar or bla and blub", "((foo + bar) or (bla and blub))"),
    ("foo and bar unless baz or qux", "(((foo and bar) unless baz) or qux)"),
    ("a atan2 b * c", "((a atan2 b) * c)"),
    ("a == b + c", "(a == (b + c))"),
    ("- - 1", "1.0"),
    ("-some_metric", "(-some_metric)"),
    ("a + b offset 5m", "(a + b)"),
    ("foo offset 5s-8", "(foo - 8.0)"),
    ("foo offset -1^1", "(foo ^ 1.0)"),
    ("sum(sum)", "sum(sum)"),
    ("a + sum", "(a + sum)"),
    ("rate(x[5m])[1h:]", "rate(x[300000])[3600000:0]"),
    ("0x1f + 010 + .5 + 5. + 1e3", "((((31.0 + 8.0) + 0.5) + 5.0) + 1000.0)"),
    ("1m + 1h30m", "(60.0 + 5400.0)"),
    ("by + offset", "(by + offset)"),
])
def test_shapes(query: str, shape: str) -> None:
    assert sexpr(parse(query)) == shape


def test_number_literals() -> None:
    assert math.isnan(parse("NaN").val)  # type: ignore[attr-defined]
    assert parse("-Inf").val == -math.inf  # type: ignore[attr-defined]
    assert parse("0755").val == 493  # type: ignore[attr-defined]
    assert parse("1_000").val == 1000  # type: ignore[attr-defined]
    neg = parse("-0755")
    assert isinstance(neg, ast.NumberLiteral) and neg.val == -493 and neg.pos == (0, 5)


def test_vector_selector_matchers_and_positions() -> None:
    vs = parse('foo{a="b", c!="d", e=~"f.*", g!~"h"}')
    assert isinstance(vs, ast.VectorSelector)
    assert vs.name == "foo"
    assert vs.pos == (0, 36)
    assert [(m.type, m.name, m.value) for m in vs.matchers] == [
        (MatchType.EQUAL, "a", "b"), (MatchType.NOT_EQUAL, "c", "d"), (MatchType.REGEX, "e", "f.*"),
        (MatchType.NOT_REGEX, "g", "h"), (MatchType.EQUAL, "__name__", "foo")]


def test_quoted_utf8_names() -> None:
    vs = parse('{"my.metric", "a.b"="x"}')
    assert isinstance(vs, ast.VectorSelector)
    assert vs.name is None
    assert [(m.name, m.value) for m in vs.matchers] == [("__name__", "my.metric"), ("a.b", "x")]
    agg = parse('sum by ("foo bar", baz, \'q\') ({"some.metric"})')
    assert isinstance(agg, ast.AggregateExpr)
    assert agg.grouping == ["foo bar", "baz", "q"]


def test_keywords_as_names() -> None:
    agg = parse("sum without(and, by, avg, count, alert, annotations)(some_metric)")
    assert isinstance(agg, ast.AggregateExpr) and agg.without
    assert agg.grouping == ["and", "by", "avg", "count", "alert", "annotations"]
    for name in ("offset", "step", "anchored", "smoothed", "start", "end", "min", "by"):
        vs = parse(f'{name}{{job="x"}}')
        assert isinstance(vs, ast.VectorSelector) and vs.name == name
    vs = parse('foo{NaN="bc", offset="1"}')
    assert isinstance(vs, ast.VectorSelector) and vs.matchers[0].name == "NaN"


def test_matrix_subquery_offset_at() -> None:
    m = parse('test{a="b"}[5y] OFFSET 3d')
    assert isinstance(m, ast.MatrixSelector)
    assert m.range_ms == 5 * 365 * 86400_000
    assert m.vector_selector.offset_ms == 3 * 86400_000
    assert m.pos == (0, 25)
    assert parse("foo[4.018] @ 2.345").vector_selector.timestamp_ms == 2345  # type: ignore[attr-defined]
    assert parse("test[5]").range_ms == 5000  # type: ignore[attr-defined]
    for text, ms in (("1001ms", 1001), ("1003ms", 1003), ("2001ms", 2001), ("4.018", 4018), ("4s18ms", 4018)):
        assert parse(f"foo[{text}]").range_ms == ms  # type: ignore[attr-defined]
    assert parse("foo @ 3.3335").timestamp_ms == 3334  # type: ignore[attr-defined]
    assert parse("foo @ -3.3e1").timestamp_ms == -33000  # type: ignore[attr-defined]
    assert parse("foo offset -7m").offset_ms == -420000  # type: ignore[attr-defined]
    assert parse("foo offset 3600").offset_ms == 3600_000  # type: ignore[attr-defined]
    sq = parse("some_metric[10m:5s] offset 1m @ 123")
    assert isinstance(sq, ast.SubqueryExpr)
    assert (sq.range_ms, sq.step_ms, sq.offset_ms, sq.timestamp_ms) == (600000, 5000, 60000, 123000)
    assert sq.pos == (0, 35)
    sq = parse("foo[10m:]")
    assert isinstance(sq, ast.SubqueryExpr) and sq.step_ms == 0 and sq.pos == (0, 9)
    inner = parse("some_metric offset 1m @ 123 [10m:5s]")
    assert isinstance(inner, ast.SubqueryExpr) and inner.expr.pos == (0, 27)
    assert parse("foo[10m:6s] @ start()").start_or_end == "start"  # type: ignore[attr-defined]
    assert parse("test[5y] @ end()").vector_selector.start_or_end == "end"  # type: ignore[attr-defined]


def test_binary_matching() -> None:
    b = parse("bar + on(foo) bla / on(baz, buz) group_right(test) blub")
    assert isinstance(b, ast.BinaryExpr) and isinstance(b.rhs, ast.BinaryExpr)
    assert b.matching is not None
    assert (b.matching.card, b.matching.matching_labels, b.matching.on) == ("one-to-one", ["foo"], True)
    m = b.rhs.matching
    assert m is not None and (m.card, m.matching_labels, m.on, m.include) == (
        "one-to-many", ["baz", "buz"], True, ["test"])
    s = parse("foo and ignoring() bar")
    assert isinstance(s, ast.BinaryExpr) and s.matching is not None and s.matching.card == "many-to-many"
    scalar = parse("foo == bool 1")
    assert isinstance(scalar, ast.BinaryExpr) and scalar.matching is None and scalar.return_bool


def test_calls_and_aggregations() -> None:
    c = parse("round(some_metric, 5)")
    assert isinstance(c, ast.Call) and c.func == "round" and c.pos == (0, 21) and c.return_type == "vector"
    assert parse("time()").type == "scalar"
    t = parse("topk(5, some_metric)")
    assert isinstance(t, ast.AggregateExpr) and isinstance(t.param, ast.NumberLiteral) and t.pos == (0, 20)
    cv = parse('count_values("value", some_metric)')
    assert isinstance(cv, ast.AggregateExpr) and isinstance(cv.param, ast.StringLiteral)
    a = parse("sum (some_metric) without (foo)")
    assert isinstance(a, ast.AggregateExpr) and a.without and a.pos == (0, 31)
    p = parse("(sum(foo) by (bar))")
    assert isinstance(p, ast.ParenExpr) and p.expr.pos == (1, 18)


@pytest.mark.parametrize(("literal", "value"), [
    (r'"double-quoted string \" with escaped quote"', 'double-quoted string " with escaped quote'),
    (r"'single-quoted string \' with escaped quote'", "single-quoted string ' with escaped quote"),
    (r'"\a\b\f\n\r\t\v\\\" - \u1234\U00010111☺"', "\a\b\f\n\r\t\v\\\" - \u1234\U00010111☺"),
    (r"`raw \n string`", r"raw \n string"),
])
def test_strings(literal: str, value: str) -> None:
    s = parse(literal)
    assert isinstance(s, ast.StringLiteral) and s.val == value


def test_raw_bytes_in_strings() -> None:
    assert unquote_string(r'"\xFF\377"').encode("utf-8", "surrogateescape") == b"\xff\xff"


def test_comments_and_whitespace() -> None:
    assert sexpr(parse("foo # comment\n + bar")) == "(foo + bar)"
    assert sexpr(parse('foo{a="b" # c\n}')) == "foo"


# --------------------------------------------------------------------------- errors (upstream texts)


@pytest.mark.parametrize(("query", "message"), [
    ("", "1:1: no expression found in input"),
    ("# just a comment\n\n", "1:1: no expression found in input"),
    ("1+", "1:3: unexpected end of input"),
    (".", "1:1: unexpected character: '.'"),
    ("2.5.", '1:1: bad number or duration syntax: "2.5."'),
    ("100..4", '1:1: bad number or duration syntax: "100.."'),
    ("0deadbeef", '1:1: bad number or duration syntax: "0de"'),
    ("1 /", "1:4: unexpected end of input"),
    ("*1", "1:1: unexpected <op:*>"),
    ("(1))", "1:5: unexpected right parenthesis ')'"),
    ("((1)", "1:5: unclosed left parenthesis"),
    ("(", "1:2: unclosed left parenthesis"),
    ("1 and 1", '1:1: set operator "and" not allowed in binary scalar expression'),
    ("1 == 1", "1:3: comparisons between scalars must use BOOL modifier"),
    ("1 !~ 1", "1:3: unexpected character after '!': '~'"),
    ("1 =~ 1", "1:3: unexpected character after '=': '~'"),
    ('-"string"', '1:1: unary expression only allowed on expressions of type scalar or instant '
                  'vector, got "string"'),
    ("-test[5m]", '1:1: unary expression only allowed on expressions of type scalar or instant '
                  'vector, got "range vector"'),
    ("@@", "1:1: unexpected <op:@>"),
    ("1 offset 1d", "1:1: offset modifier must be preceded by an instant vector selector or range "
                    "vector selector or a subquery"),
    ("foo offset 1s offset 2s", "1:1: offset may not be set multiple times"),
    ("a - on(b) ignoring(c) d", "1:11: unexpected <ignoring>"),
    ("foo and 1", '1:1: set operator "and" not allowed in binary scalar expression'),
    ("1 or on(bar) foo", "1:1: vector matching only allowed between instant vectors"),
    ("foo == on(bar) 10", "1:1: vector matching only allowed between instant vectors"),
    ("foo + group_left(baz) bar", "1:7: unexpected <group_left>"),
    ("foo and on(bar) group_left(baz) bar", '1:1: no grouping allowed for "and" operation'),
    ('http_requests{group="production"} + on(instance) group_left(job,instance) cpu_count{type="smp"}',
     '1:35: label "instance" must not occur in ON and GROUP clause at once'),
    ("foo + bool bar", "1:5: bool modifier can only be used on comparison operators"),
    ("foo and bool 10", "1:5: bool modifier can only be used on comparison operators"),
    ("foo @ +Inf", "1:1: timestamp out of bounds for @ modifier: +Inf"),
    ("foo @ NaN", "1:1: timestamp out of bounds for @ modifier: NaN"),
    ("foo @ 1e30", "1:1: timestamp out of bounds for @ modifier: "
                   "1000000000000000019884624838656.000000"),
    ("{", "1:2: unexpected end of input inside braces"),
    ("}", "1:1: unexpected character: '}'"),
    ("some}", "1:5: unexpected character: '}'"),
    ("some_metric{a=b}", '1:15: unexpected identifier "b" in label matching, expected string'),
    ('some_metric{a:b="b"}', "1:14: unexpected character inside braces: ':'"),
    ('foo{a*"b"}', "1:6: unexpected character inside braces: '*'"),
    ('foo{a>="b"}', "1:6: unexpected character inside braces: '>'"),
    ("foo{gibberish}", '1:14: unexpected "}" in label matching, expected label matching operator'),
    ("foo{1}", "1:5: unexpected character inside braces: '1'"),
    ("{}", "1:1: vector selector must contain at least one non-empty matcher"),
    ('{x=""}', "1:1: vector selector must contain at least one non-empty matcher"),
    ('{x=~".*"}', "1:1: vector selector must contain at least one non-empty matcher"),
    ('{x!~".+"}', "1:1: vector selector must contain at least one non-empty matcher"),
    ('{x!="a"}', "1:1: vector selector must contain at least one non-empty matcher"),
    ('foo{__name__="bar"}', '1:1: metric name must not be set twice: "foo" or "bar"'),
    ("foo{__name__= =}", '1:15: unexpected "=" in label matching, expected string'),
    ("foo{,}", '1:5: unexpected "," in label matching, expected identifier or "}"'),
    ('foo{__name__ == "bar"}', '1:15: unexpected "=" in label matching, expected string'),
    ('foo{__name__="bar" lol}', '1:20: unexpected identifier "lol" in label matching, '
                                'expected "," or "}"'),
    ('foo{"a"=}', '1:9: unexpected "}" in label matching, expected string'),
    ("foo[5mm]", '1:5: bad number or duration syntax: "5mm"'),
    ("foo[5m1]", '1:5: bad number or duration syntax: "5m1"'),
    ("foo[5m:1m1]", '1:8: bad number or duration syntax: "1m1"'),
    ("foo[5y1hs]", '1:5: unknown unit "hs" in duration "5y1hs"'),
    ("foo[5m1h]", '1:5: not a valid duration string: "5m1h"'),
    ("foo[0m]", "1:5: duration must be greater than 0"),
    ('foo["5m"]', "1:5: unexpected character in duration expression: '\"'"),
    ("foo[]", '1:5: unexpected "]" in subquery or range selector, expected number, duration, '
              'step(), or range()'),
    ("foo[-1]", "1:5: duration must be greater than 0"),
    ("some_metric[5m] OFFSET 1mm", '1:24: bad number or duration syntax: "1mm"'),
    ("some_metric[5m] OFFSET", "1:23: unexpected end of input in offset, expected number, "
                               "duration, step(), or range()"),
    ("some_metric OFFSET 1m[5m]", "1:22: no offset modifiers allowed before range"),
    ("some_metric[5m] @", "1:18: unexpected end of input in @, expected timestamp"),
    ("some_metric @ 1234 [5m]", "1:20: no @ modifiers allowed before range"),
    ("(foo + bar)[5m]", "1:12: ranges only allowed for vector selectors"),
    ('sum by ("foo)(some_metric{})', "1:9: unterminated quoted string"),
    ("sum without(==)(some_metric)", "1:13: unexpected <op:==> in grouping opts, expected label"),
    ("sum without(,)(some_metric)", '1:13: unexpected "," in grouping opts, expected label'),
    ("sum without(foo,,)(some_metric)", '1:17: unexpected "," in grouping opts, expected label'),
    ("sum some_metric by (test)", '1:5: unexpected identifier "some_metric"'),
    ("sum (some_metric) by test", '1:22: unexpected identifier "test" in grouping opts, '
                                  'expected "("'),
    ("sum () by (test)", "1:1: no arguments for aggregate expression provided"),
    ("MIN keep_common (some_metric)", '1:5: unexpected identifier "keep_common"'),
    ("MIN (some_metric) keep_common", '1:19: unexpected identifier "keep_common"'),
    ("sum (some_metric) without (test) by (test)", "1:34: unexpected <by>"),
    ("sum without (test) (some_metric) by (test)", "1:34: unexpected <by>"),
    ("topk(some_metric)", "1:1: wrong number of arguments for aggregate expression provided, "
                          "expected 2, got 1"),
    ("topk(some_metric,)", "1:17: trailing commas not allowed in function call args"),
    ("topk(some_metric, other_metric)", "1:6: expected type scalar in aggregation parameter, "
                                        "got instant vector"),
    ("count_values(5, other_metric)", "1:14: expected type string in aggregation parameter, "
                                      "got scalar"),
    ("rate(some_metric[5m]) @ 1234", "1:1: @ modifier must be preceded by an instant vector "
                                     "selector or range vector selector or a subquery"),
    ("floor()", '1:1: expected 1 argument(s) in call to "floor", got 0'),
    ("floor(some_metric, 1)", '1:1: expected 1 argument(s) in call to "floor", got 2'),
    ("floor(1)", '1:7: expected type instant vector in call to function "floor", got scalar'),
    ("hour(some_metric, some_metric, some_metric)",
     '1:1: expected at most 1 argument(s) in call to "hour", got 3'),
    ('label_join(x, "a")', '1:1: expected at least 3 argument(s) in call to "label_join", got 2'),
    ("time(some_metric)", '1:1: expected 0 argument(s) in call to "time", got 1'),
    ("non_existent_function_far_bar()",
     '1:1: unknown function with name "non_existent_function_far_bar"'),
    ("rate(some_metric)", '1:6: expected type range vector in call to function "rate", '
                          'got instant vector'),
    ("-=", '1:2: unexpected "="'),
    ("++-++-+-+-<", "1:11: unexpected <op:<>"),
    ("e-+=/(0)", '1:4: unexpected "="'),
    ("a>b()", '1:3: unknown function with name "b"'),
    ("rate(avg)", '1:6: expected type range vector in call to function "rate", got instant vector'),
    ("`\\``", "1:4: unterminated raw string"),
    ('"\\', "1:1: escape sequence not terminated"),
    ('"\\c"', "1:1: unknown escape sequence U+0063 'c'"),
    ('"\\x."', "1:1: illegal character U+002E '.' in escape sequence"),
    ('foo{bar="baz"}[', "1:16: unexpected end of input in duration expression"),
    ("test[5d] OFFSET 10s [10m:5s]", "1:1: subquery is only allowed on instant vector, "
                                     "got matrix instead"),
    ("rate(food[1m])[1h] offset 1h", "1:15: ranges only allowed for vector selectors"),
    ("start()", '1:6: unexpected "("'),
    ("end()", '1:4: unexpected "("'),
    ('info(rate(http_request_counter_total{}[5m]), target_info{foo="bar"})',
     '1:1: function "info" is not enabled'),
    ("sum(", "1:5: unclosed left parenthesis"),
    ("foo[5s x 5s]", "1:8: unexpected character: 'x', expected ':'"),
    ("foo[5s s 5s]", "1:8: unexpected character: 's', expected ':'"),
    ("x[5m:1m:]", "1:8: unexpected colon ':'"),
    ("foo[5m 1m]", '1:8: unexpected duration "1m" in subquery or range, expected ":" or "]"'),
    ('{a=~"("}', "1:2: error parsing regexp: missing closing ): `^(?s:()$`"),
    ('x{a=~"a**"}', "1:3: error parsing regexp: invalid nested repetition operator: `**`"),
    ('x{a=~"x{2,1}"}', "1:3: error parsing regexp: invalid repeat count: `{2,1}`"),
    ('x{a=~"*"}', "1:3: error parsing regexp: missing argument to repetition operator: `*`"),
    ('x{y=~"\\\\C"}', "1:3: error parsing regexp: invalid escape sequence: `\\C`"),
    ("sum by (foo:bar) (x)", '1:9: unexpected metric identifier "foo:bar" in grouping opts, '
                             "expected label"),
    ("sum by (a) 1", '1:12: unexpected number "1" in aggregation'),
    ("foo @ start x", '1:13: unexpected identifier "x" in @, expected timestamp'),
    ("foo bar", '1:5: unexpected identifier "bar"'),
    ('"a" + 1', "1:1: binary expression must contain only scalar and instant vector types"),
    ("a\n  + b c", '2:7: unexpected identifier "c"'),
    ("12345678901234 foo", '1:16: unexpected identifier "foo"'),
    ("foo 12345678901234", '1:5: unexpected number "1234567890"...'),
])
def test_error_messages(query: str, message: str) -> None:
    assert err(query) == message


@pytest.mark.parametrize(("query", "message"), [
    ('info(rate(http_request_counter_total{}[5m]), target_info{foo="bar"})',
     "1:46: expected label selectors only, got vector selector instead"),
    ('info(http_request_counter_total{namespace="zzz"}, {foo="bar"} == 1)',
     "1:51: expected label selectors only"),
    ("foo[step]", '1:9: unexpected "]" in subquery or range selector, expected number, duration, '
                  'step(), or range()'),
    ("foo[5s/0d]", "1:7: division by zero"),
    ("foo[step()/0d]", "1:11: division by zero"),
    ("foo offset (4d/0)", "1:15: division by zero"),
    ("foo[5s%0d]", "1:7: modulo by zero"),
    ("foo offset 9.5e10", "1:12: duration out of range"),
    ("foo[9.5e10]", "1:5: duration out of range"),
    ("foo[5m] anchored smoothed", "1:1: anchored and smoothed modifiers cannot be used together"),
    ("foo[5m:1m] anchored", "1:1: anchored modifier is not supported for subqueries"),
    ("a and fill(0) b", "1:1: filling in missing series not allowed for set operators"),
    ("a + fill(0) 1", "1:1: filling in missing series only allowed between instant vectors"),
])
def test_experimental_error_messages(query: str, message: str) -> None:
    assert err(query, experimental=True) == message


@pytest.mark.parametrize(("query", "message"), [
    ("foo[5m*2]", "1:5: experimental duration expression is not enabled"),
    ("foo offset (1h+1m)", "1:12: experimental duration expression is not enabled"),
    ("foo[step()]", "1:5: experimental duration expression is not enabled"),
    ("x[1h:step()]", "1:6: experimental duration expression is not enabled"),
    ("a + fill(0) b", "1:1: binop fill modifiers are experimental and not enabled"),
    ("foo[5m] anchored", "1:1: anchored modifier is experimental and not enabled"),
    ("foo smoothed", "1:1: smoothed modifier is experimental and not enabled"),
    ("limitk(1, x)", "1:1: limitk() is experimental and must be enabled with "
                     "--enable-feature=promql-experimental-functions"),
    ('sort_by_label(x, "a")', '1:1: function "sort_by_label" is not enabled'),
    ("mad_over_time(x[5m])", '1:1: function "mad_over_time" is not enabled'),
])
def test_experimental_syntax_is_gated(query: str, message: str) -> None:
    assert err(query) == message
    parse(query, enable_experimental=True)


def test_long_operator_chains_and_deep_nesting() -> None:
    chain = parse(" or ".join(f"m{i}" for i in range(3000)))
    assert isinstance(chain, ast.BinaryExpr) and chain.op == "or"
    empty = "1:1: vector selector must contain at least one non-empty matcher"
    assert err(" + ".join(["{}"] * 2000)) == empty
    with pytest.raises(ParseError, match="nested too deeply"):
        parse("(" * 5000 + "1" + ")" * 5000)


def test_error_carries_offsets() -> None:
    with pytest.raises(ParseError) as info:
        parse("foo + bool bar")
    assert (info.value.start, info.value.query) == (4, "foo + bool bar")
    assert info.value.error_type == "bad_data"


def test_format_position_counts_bytes() -> None:
    assert format_position("a\nbc", 3) == "2:2"
    assert format_position("é x", 2) == "1:4"


# --------------------------------------------------------------------------- experimental syntax


def test_duration_expressions() -> None:
    m = parse("foo[11s+10s-5*2^2]", enable_experimental=True)
    assert isinstance(m, ast.MatrixSelector) and m.range_ms == 1000 and m.range_expr is None
    assert parse("foo[(9m30s+30s)*3]", enable_experimental=True).range_ms == 1800_000  # type: ignore[attr-defined]
    assert parse("foo[1h30m % 1h]", enable_experimental=True).range_ms == 1800_000  # type: ignore[attr-defined]
    b = parse("metric1_total offset 100 + 2", enable_experimental=True)
    assert sexpr(b) == "(metric1_total + 2.0)"
    assert b.lhs.offset_ms == 100_000  # type: ignore[attr-defined]
    v = parse("foo offset -(1^2)", enable_experimental=True)
    assert isinstance(v, ast.VectorSelector) and v.offset_ms == -1000 and v.pos == (0, 17)
    q = parse("sum_over_time(m[29s+1s:20*500ms] offset (20*(((((8 - 2) / 3) * 7s) % 4) + 8000ms)))",
              enable_experimental=True)
    sq = q.args[0]  # type: ignore[attr-defined]
    assert (sq.range_ms, sq.step_ms, sq.offset_ms) == (30_000, 10_000, 200_000)


def test_query_dependent_durations_are_resolved_per_query() -> None:
    e = parse("count_over_time(m[max_of(min_of(step()+1,1h),1ms)]) + (m offset -(min_of(step(), 2s)-5)+8000)",
              enable_experimental=True)
    assert isinstance(e, ast.BinaryExpr)
    rng = e.lhs.args[0]  # type: ignore[attr-defined]
    assert rng.range_expr is not None and rng.range_ms == 0
    resolve_duration_exprs(e, step_ms=5000, range_ms=10_000)
    assert rng.range_ms == 6000
    assert e.rhs.expr.lhs.offset_ms == 3000  # type: ignore[attr-defined]
    r = parse("foo[max(range(),5s)] offset step()", enable_experimental=True)
    resolve_duration_exprs(r, step_ms=1000, range_ms=60_000)
    assert r.range_ms == 60_000 and r.vector_selector.offset_ms == 1000  # type: ignore[attr-defined]
    bad = parse("foo[step() - 10s]", enable_experimental=True)
    with pytest.raises(ParseError, match="duration must be greater than 0"):
        resolve_duration_exprs(bad, step_ms=1000, range_ms=0)


def test_fill_modifiers_and_trim_operators() -> None:
    b = parse("a + fill_left(5) fill_right(-Inf) b", enable_experimental=True)
    assert isinstance(b, ast.BinaryExpr) and b.matching is not None
    assert (b.matching.fill_lhs, b.matching.fill_rhs) == (5.0, -math.inf)
    b = parse("a == bool on(x) group_left fill(NaN) b", enable_experimental=True)
    assert isinstance(b, ast.BinaryExpr) and b.matching is not None and math.isnan(b.matching.fill_lhs or 0)
    assert sexpr(parse("other + fill(0) fill", enable_experimental=True)) == "(other + fill)"
    assert sexpr(parse("h </ 2 * 3")) == "((h </ 2.0) * 3.0)"


def test_anchored_smoothed_and_step_functions() -> None:
    m = parse("increase(metric[1m] anchored)", enable_experimental=True)
    assert m.args[0].vector_selector.anchored  # type: ignore[attr-defined]
    assert parse("foo smoothed", enable_experimental=True).smoothed  # type: ignore[attr-defined]
    for fn in ("step()", "start()", "end()", "range()", "min_of(3, 5)"):
        c = parse(fn, enable_experimental=True)
        assert isinstance(c, ast.Call) and c.type == "scalar"


# --------------------------------------------------------------------------- helpers for other packages


def test_parse_metric_selector() -> None:
    assert parse_metric_selector('up{job="a"}') == [Matcher.eq("job", "a"), Matcher.eq("__name__", "up")]
    assert parse_metric_selector('{__name__=~"x.*"}')[0].type is MatchType.REGEX
    with pytest.raises(ParseError, match="at least one non-empty matcher"):
        parse_metric_selector("{}")
    with pytest.raises(ParseError, match=re.escape("1:4: parse error: unexpected <op:+>")):
        parse_metric_selector("up + 1")


def test_parse_labels() -> None:
    assert parse_labels('http_requests{job="api", instance="0"}') == Labels(
        {"__name__": "http_requests", "job": "api", "instance": "0"})
    assert parse_labels("{}") == Labels()
    assert parse_labels('{"http.requests", "service.name"="api"}') == Labels(
        {"__name__": "http.requests", "service.name": "api"})
    msg = 'unexpected identifier "xx" in label set, expected "," or "}"'
    with pytest.raises(ParseError, match=re.escape(msg)):
        parse_labels('{"http.requests"xx}')
    with pytest.raises(ParseError, match=re.escape('unexpected "," in label set, expected string')):
        parse_labels('{"http.requests"=, x="y"}')


@pytest.mark.parametrize(("text", "ms"), [
    ("0", 0), ("5m", 300_000), ("1h30m", 5_400_000), ("1y2w3d4h5m6s7ms", 33_019_506_007), ("100ms", 100),
])
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty duration string"),
    ("5", 'not a valid duration string: "5"'),
    ("5m1h", 'not a valid duration string: "5m1h"'),
    ("5y1hs", 'unknown unit "hs" in duration "5y1hs"'),
    ("300y", "duration out of range"),
])
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(("ms", "text"), [
    (0, "0s"), (3_900_000, "1h5m"), (86_400_000, "1d"), (31_536_000_000, "1y"), (604_800_000, "1w"),
    (90_061_001, "1d1h1m1s1ms"), (8 * 86_400_000, "8d"), (-300_000, "-5m"),
])
def test_format_duration(ms: int, text: str) -> None:
    assert format_duration(ms) == text


def test_signature_table() -> None:
    assert FUNCTIONS["label_join"].variadic == -1
    assert FUNCTIONS["round"].arg_types == ("vector", "scalar")
    assert FUNCTIONS["histogram_quantile"].arg_types == ("scalar", "vector")
    assert FUNCTIONS["sort_by_label"].experimental and not FUNCTIONS["sort"].experimental
    assert FUNCTIONS["scalar"].return_type == "scalar"


# --------------------------------------------------------------------------- conformance corpus

_EVAL = re.compile(r"^\s*eval(?:_fail|_ordered|_warn|_info)?\s+(?:instant\s+(?:at\s+\S+\s+)?|"
                   r"range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+\s+)(.*)$")


def _corpus_queries(version: str) -> list[tuple[str, int, str]]:
    out = []
    for path in sorted((CORPUS / version).glob("*.test")):
        for lineno, line in enumerate(path.read_text().split("\n"), 1):
            m = _EVAL.match(line)
            if m:
                out.append((path.name, lineno, m.group(1)))
    return out


@pytest.mark.skipif(not CORPUS.exists(), reason="conformance corpus not available")
def test_every_corpus_query_parses() -> None:
    """Every eval query of the current corpus parses (its expected failures all happen at run time)."""
    queries = _corpus_queries("latest")
    assert len(queries) > 2000
    failures = []
    for name, lineno, query in queries:
        try:
            parse(query, enable_experimental=True)
        except ParseError as e:
            failures.append(f"{name}:{lineno}: {query}: {e}")
    assert failures == []


@pytest.mark.skipif(not CORPUS.exists(), reason="conformance corpus not available")
def test_v242_corpus_parses_except_removed_function() -> None:
    failures = []
    for name, lineno, query in _corpus_queries("v2.42"):
        try:
            parse(query)
        except ParseError as e:
            failures.append((name, lineno, str(e)))
    # holt_winters was renamed double_exponential_smoothing in Prometheus 3.
    assert [f[2] for f in failures] == ['1:1: parse error: unknown function with name "holt_winters"'] * 2
