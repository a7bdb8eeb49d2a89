# ruff: noqa: E501  (one-line cases with Go error texts kept verbatim)
"""The text/template language: lexing, parsing, execution, variables, control flow, errors."""

from __future__ import annotations

from typing import Any

import pytest

from watchkeeper.template import NO_VALUE, TemplateError, TemplateSet, expand


class Obj:
    """A struct-like value: attributes are fields, methods are Go methods."""

    go_type = "main.Obj"

    def __init__(self) -> None:
        self.Name = "obj"
        self.Items = [1, 2]

    def Greet(self, who: str) -> str:
        return f"hi {who}"

    def Nil(self) -> None:
        return None


@pytest.mark.parametrize(
    ("text", "data", "want"),
    [
        ("plain", None, "plain"),
        ("a {{- 1 -}} b", None, "a1b"),
        ("a  {{- /* c */ -}}  b", None, "ab"),
        ("{{-3}}", None, "-3"),
        ("{{ .a.b }}", {"a": {"b": "x"}}, "x"),
        ("{{ .Name }} {{ .Greet \"you\" }} {{ .Items }}", Obj(), "obj hi you [1 2]"),
        ("{{ $x := .Items }}{{ index $x 1 }}", Obj(), "2"),
        ("{{ $ }}", 5, "5"),
        ("{{ .missing }}", {}, "<no value>"),
        ("{{ if .a }}y{{ else if .b }}b{{ else }}n{{ end }}", {"a": 0, "b": "x"}, "b"),
        ("{{ with .a }}{{ . }}{{ else with .b }}[{{ . }}]{{ else }}none{{ end }}", {"a": "", "b": [1]}, "[[1]]"),
        ("{{ with .a }}{{ . }}{{ else }}none{{ end }}", {"a": {}}, "none"),
        ("{{ range . }}{{ . }},{{ end }}", [3, 1, 2], "3,1,2,"),
        ("{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}", {"b": 2, "a": 1, "c": 3}, "a=1;b=2;c=3;"),
        ("{{ range $i, $v := . }}{{ $i }}{{ $v }}{{ end }}", ["x", "y"], "0x1y"),
        ("{{ range $v := . }}{{ $v }}{{ end }}", ["x", "y"], "xy"),
        ("{{ range . }}x{{ else }}empty{{ end }}", [], "empty"),
        ("{{ range .nope }}x{{ else }}empty{{ end }}", {}, "empty"),
        ("{{ range . }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}", [1, 2, 3, 4], "12"),
        ("{{ range . }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ . }}{{ end }}", [1, 2, 3], "13"),
        ("{{ range 3 }}{{ . }}{{ end }}", None, "012"),
        ("{{ $x := 1 }}{{ range . }}{{ $x = . }}{{ end }}{{ $x }}", [5, 6], "6"),
        ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ end }}{{ $x }}", None, "1"),
        ('{{ define "d" }}<{{ . }}>{{ end }}{{ template "d" 1 }}{{ template "d" }}', None, "<1><<no value>>"),
        ('{{ block "b" . }}[{{ . }}]{{ end }}', "x", "[x]"),
        ("{{ (len .) }}{{ (.) | len }}", "abc", "33"),
        ("{{ (index . 0).Name }}", [Obj()], "obj"),
        ("{{ and 1 0 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 3 }} {{ not nil }}", None, "0 2  3 true"),
        ("{{ and .a .a.b }}", {"a": None}, "<nil>"),
        ("{{ eq 1 2 1 }} {{ ne \"a\" \"b\" }} {{ lt 1.5 2.5 }} {{ ge \"b\" \"a\" }} {{ eq .x nil }}", {"x": None}, "true true true true true"),
        ("{{ printf \"%s=%d\" \"a\" 1 }} {{ print 1 2 }} {{ println \"x\" }}", None, "a=1 1 2 x\n"),
        ("{{ html \"<a&b>\" }} {{ js \"it's\" }} {{ urlquery \"a b\" }}", None, "&lt;a&amp;b&gt; it\\'s a+b"),
        ("{{ slice \"hello\" 1 3 }} {{ slice . 1 }} {{ len \"é\" }}", [1, 2, 3], "el [2 3] 2"),
        ("{{ call .f 2 }}", {"f": lambda x: x * 2}, "4"),
        ("{{ 'a' }} {{ 0x10 }} {{ 1e3 }} {{ 1_000 }} {{ \"\\u00e9\\t\" }} {{ `raw\\n` }}", None, "97 16 1000 1000 é\t raw\\n"),
        ("{{ .Nil }}", Obj(), "<nil>"),
        ("{{ .a }}", {"a": NO_VALUE}, "<no value>"),
    ],
)
def test_execute(text: str, data: Any, want: str) -> None:
    assert expand(text, data, name="t") == want


@pytest.mark.parametrize(
    ("text", "err"),
    [
        ("{{ if }}", "template: t:1: missing value for if"),
        ("{{ .a", "template: t:1: unclosed action"),
        ("{{ end }}", "template: t:1: unexpected {{end}}"),
        ("{{ foo }}", 'template: t:1: function "foo" not defined'),
        ("x\n{{ $x }}", 'template: t:2: undefined variable "$x"'),
        ("{{ break }}", "template: t:1: {{break}} outside {{range}}"),
        ("{{ if 1 }}", "template: t:1: unexpected EOF"),
        ("{{ 1 | 2 }}", "template: t:1: non executable command in pipeline stage 2"),
        ("{{/* x */ y }}", "template: t:1: comment ends before closing delimiter"),
        ("{{ 'ab' }}", "template: t:1: malformed character constant: 'ab'"),
        ('{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', 'template: t:1: template: multiple definition of template "a"'),
    ],
)
def test_parse_errors(text: str, err: str) -> None:
    with pytest.raises(TemplateError) as e:
        TemplateSet().parse(text, "t")
    assert str(e.value) == err


@pytest.mark.parametrize(
    ("text", "data", "err"),
    [
        ("{{ .a.b }}", {"a": 1}, 'template: t:1:5: executing "t" at <.a.b>: can\'t evaluate field b in type int'),
        ("x\n  {{ .Nope }}", Obj(), 'template: t:2:5: executing "t" at <.Nope>: can\'t evaluate field Nope in type main.Obj'),
        ("{{ index . 5 }}", [1], 'template: t:1:3: executing "t" at <index . 5>: error calling index: index out of range: 5'),
        ("{{ lt 1 \"a\" }}", None, 'template: t:1:3: executing "t" at <lt 1 "a">: error calling lt: incompatible types for comparison'),
        ('{{ template "no" }}', None, 'template: t:1:12: executing "t" at <{{template "no"}}>: template "no" not defined'),
        ("{{ .a | .b }}", {}, 'template: t:1:8: executing "t" at <.b>: b is not a method but has arguments'),
        ("{{ nil }}", None, 'template: t:1:3: executing "t" at <nil>: nil is not a command'),
        ("{{ .Greet }}", Obj(), 'template: t:1:3: executing "t" at <.Greet>: wrong number of args for Greet: want 1 got 0'),
        ("{{ .a.b }}", {"a": None}, 'template: t:1:5: executing "t" at <.a.b>: nil pointer evaluating interface {}.b'),
        ("{{ range . }}{{ end }}", "s", 'template: t:1:9: executing "t" at <.>: range can\'t iterate over s'),
    ],
)
def test_exec_errors(text: str, data: Any, err: str) -> None:
    with pytest.raises(TemplateError) as e:
        expand(text, data, name="t")
    assert str(e.value) == err


def test_missingkey_options() -> None:
    data = {"m": {"k": "v"}, "i": {"k": 1}}
    assert TemplateSet(missingkey="zero").parse("[{{ .m.x }}][{{ .i.x }}]", "t").execute("t", data) == "[][<no value>]"
    with pytest.raises(TemplateError, match='map has no entry for key "x"'):
        TemplateSet(missingkey="error").parse("{{ .m.x }}", "t").execute("t", data)
    with pytest.raises(ValueError):
        TemplateSet(missingkey="bogus")


def test_function_errors_and_overrides() -> None:
    def boom(x: str) -> str:
        raise ValueError(f"bad {x}")

    ts = TemplateSet({"boom": boom, "len": lambda x: "mine"}).parse('{{ boom "a" }}', "t")
    with pytest.raises(TemplateError, match='at <boom "a">: error calling boom: bad a'):
        ts.execute("t", None)
    assert ts.parse("{{ len 1 }}", "u").execute("u", None) == "mine"
    with pytest.raises(TemplateError, match="expected string; found 1"):
        ts.parse("{{ boom 1 }}", "v").execute("v", None)


def test_set_redefinition_and_lookup() -> None:
    ts = TemplateSet().parse('{{ define "a" }}1{{ end }}', "f1").parse('{{ define "a" }}2{{ end }}', "f2")
    assert ts.execute("a", None) == "2"
    ts.parse('{{ define "a" }}{{ end }}', "f3")  # an empty definition does not replace a non-empty one
    assert ts.execute("a", None) == "2"
    assert ts.names() == ["a", "f1", "f2", "f3"]
    with pytest.raises(TemplateError, match='no template "zz" associated'):
        ts.execute("zz", None)


def test_recursion_is_bounded() -> None:
    ts = TemplateSet().parse('{{ define "r" }}{{ template "r" . }}{{ end }}', "t")
    with pytest.raises(TemplateError, match="exceeded maximum template depth"):
        ts.execute("r", None)
