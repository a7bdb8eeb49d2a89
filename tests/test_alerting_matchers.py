"""Alertmanager matcher syntax."""

from __future__ import annotations

import pytest

from watchkeeper.alerting.matchers import MatcherParseError, matchers_from_maps, parse_matcher, parse_matchers
from watchkeeper.model.matchers import MatchType


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('foo="bar"', [("foo", "=", "bar")]),
        ("foo=bar", [("foo", "=", "bar")]),
        ('foo=~"b.*"', [("foo", "=~", "b.*")]),
        ('{a="b",c!="d"}', [("a", "=", "b"), ("c", "!=", "d")]),
        ('{a="b", c!~"d,e"}', [("a", "=", "b"), ("c", "!~", "d,e")]),
        ('a = "x y" , b=1,', [("a", "=", "x y"), ("b", "=", "1")]),
        ('a="q\\"uote\\\\ \\n"', [("a", "=", 'q"uote\\ \n')]),
        ('a=""', [("a", "=", "")]),
        ("{}", []),
        ('"utf8 name"="v"', [("utf8 name", "=", "v")]),
    ],
)
def test_parse(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(m.name, m.type.value, m.value) for m in parse_matchers(text)] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo", "bad matcher format: foo"),
        ('a="b', "unescaped double quote"),
        ('{a="b"', "bad matcher format"),
        ('a=~"("', "error parsing regexp"),
        ('a="b"c"', "unescaped double quote"),
        ("1a=b", "bad matcher format"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(MatcherParseError) as info:
        parse_matchers(text)
    assert message in str(info.value)


def test_semantics_anchored_and_missing_label() -> None:
    m = parse_matcher('team=~"front.*"')
    assert m.matches("frontend") and not m.matches("xfrontend")
    assert parse_matcher('env!="prod"').matches("")  # absent label is ""
    assert parse_matcher('service=""').matches("")
    assert not parse_matcher("team=db").matches("DB")


def test_old_maps() -> None:
    ms = matchers_from_maps({"a": "1"}, {"b": "^x$"})
    assert [(m.type, m.name, m.value) for m in ms] == [
        (MatchType.EQUAL, "a", "1"),
        (MatchType.REGEX, "b", "^(?:^x$)$"),
    ]
    assert ms[1].matches("x")
