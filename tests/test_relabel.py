"""Relabeling: cases modelled on Prometheus' model/relabel/relabel_test.go, plus Go Expand rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from watchkeeper.gocompat.regexp import expand
from watchkeeper.model.matchers import compile_anchored
from watchkeeper.scrape.relabel import RelabelConfig, relabel

S3 = {"a": "foo", "b": "bar", "c": "baz"}
PORTS = {"__tmp_port": "1234", "__port1": "1234", "__port2": "5678"}

# (input labels, rules as YAML-shaped dicts, expected output or None for "dropped")
CASES = [
    (
        S3,
        [dict(source_labels=["a"], regex="f(.*)", target_label="d", replacement="ch${1}-ch${1}")],
        {**S3, "d": "choo-choo"},
    ),
    (
        S3,
        [
            dict(source_labels=["a", "b"], regex="f(.*);(.*)r", target_label="a", replacement="b${1}${2}m"),
            dict(
                source_labels=["c", "a"], regex="(b).*b(.*)ba(.*)", target_label="d", replacement="$1$2$2$3"
            ),
        ],
        {"a": "boobam", "b": "bar", "c": "baz", "d": "boooom"},
    ),
    (
        {"a": "foo"},
        [
            dict(source_labels=["a"], regex=".*o.*", action="drop"),
            dict(source_labels=["a"], regex="f(.*)", target_label="d", replacement="ch$1-ch$1"),
        ],
        None,
    ),
    ({"a": "foo", "b": "bar"}, [dict(source_labels=["a"], regex=".*o.*", action="drop")], None),
    ({"a": "abc"}, [dict(source_labels=["a"], regex=".*(b).*", target_label="d")], {"a": "abc", "d": "b"}),
    ({"a": "foo"}, [dict(source_labels=["a"], regex="no-match", action="drop")], {"a": "foo"}),
    ({"a": "foo"}, [dict(source_labels=["a"], regex="f|o", action="drop")], {"a": "foo"}),
    ({"a": "foo"}, [dict(source_labels=["a"], regex="no-match", action="keep")], None),
    ({"a": "foo"}, [dict(source_labels=["a"], regex="f.*", action="keep")], {"a": "foo"}),
    ({"a": "boo"}, [dict(source_labels=["a"], regex="f", target_label="b", replacement="bar")], {"a": "boo"}),
    (S3, [dict(source_labels=["c"], target_label="d", action="hashmod", modulus=1000)], {**S3, "d": "976"}),
    (
        {"a": "foo\nbar"},
        [dict(source_labels=["a"], target_label="b", action="hashmod", modulus=1000)],
        {"a": "foo\nbar", "b": "734"},
    ),
    (
        {"a": "foo", "b1": "bar", "b2": "baz"},
        [dict(regex="(b.*)", replacement="bar_${1}", action="labelmap")],
        {"a": "foo", "b1": "bar", "b2": "baz", "bar_b1": "bar", "bar_b2": "baz"},
    ),
    (
        {"a": "foo", "__meta_my_bar": "aaa", "__meta_my_baz": "bbb", "__meta_other": "ccc"},
        [dict(regex="__meta_(my.*)", replacement="${1}", action="labelmap")],
        {
            "a": "foo",
            "__meta_my_bar": "aaa",
            "__meta_my_baz": "bbb",
            "__meta_other": "ccc",
            "my_bar": "aaa",
            "my_baz": "bbb",
        },
    ),
    (
        {"a": "some-name-value"},
        [dict(source_labels=["a"], regex="some-([^-]+)-([^,]+)", replacement="${2}", target_label="${1}")],
        {"a": "some-name-value", "name": "value"},
    ),
    (
        {"a": "some-name-value"},
        [dict(source_labels=["a"], regex="some-([^-]+)-([^,]+)", replacement="${3}", target_label="${1}")],
        {"a": "some-name-value"},
    ),
    (
        {"a": "some-name-0"},
        [
            dict(source_labels=["a"], regex="some-([^-]+)-([^,]+)", replacement="${1}", target_label="${3}"),
            dict(source_labels=["a"], regex="some-([^-]+)(-[^,]+)", replacement="${1}", target_label="${3}"),
        ],
        {"a": "some-name-0"},
    ),
    (
        {"__meta_sd_tags": "path:/secret,job:some-job,label:foo=bar"},
        [
            dict(
                source_labels=["__meta_sd_tags"],
                regex="(?:.+,|^)path:(/[^,]+).*",
                replacement="${1}",
                target_label="__metrics_path__",
            ),
            dict(
                source_labels=["__meta_sd_tags"],
                regex="(?:.+,|^)job:([^,]+).*",
                replacement="${1}",
                target_label="job",
            ),
            dict(
                source_labels=["__meta_sd_tags"],
                regex="(?:.+,|^)label:([^=]+)=([^,]+).*",
                replacement="${2}",
                target_label="${1}",
            ),
        ],
        {
            "__meta_sd_tags": "path:/secret,job:some-job,label:foo=bar",
            "__metrics_path__": "/secret",
            "job": "some-job",
            "foo": "bar",
        },
    ),
    (
        {
            "__meta_kubernetes_pod_container_port_name": "foo",
            "__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091",
        },
        [
            dict(regex="^__meta_kubernetes_pod_container_port_name$", action="labeldrop"),
            dict(
                source_labels=["__meta_kubernetes_pod_annotation_XXX_metrics_port"],
                regex="(.+)",
                replacement="metrics",
                target_label="__meta_kubernetes_pod_container_port_name",
            ),
            dict(
                source_labels=["__meta_kubernetes_pod_container_port_name"], regex="^metrics$", action="keep"
            ),
        ],
        {
            "__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091",
            "__meta_kubernetes_pod_container_port_name": "metrics",
        },
    ),
    (
        {"a": "foo", "b1": "bar", "b2": "baz"},
        [dict(regex="(b.*)", action="labelkeep")],
        {"b1": "bar", "b2": "baz"},
    ),
    ({"a": "foo", "b1": "bar", "b2": "baz"}, [dict(regex="(b.*)", action="labeldrop")], {"a": "foo"}),
    (
        {"foo": "bAr123Foo"},
        [
            dict(source_labels=["foo"], action="uppercase", target_label="foo_uppercase"),
            dict(source_labels=["foo"], action="lowercase", target_label="foo_lowercase"),
        ],
        {"foo": "bAr123Foo", "foo_lowercase": "bar123foo", "foo_uppercase": "BAR123FOO"},
    ),
    (PORTS, [dict(source_labels=["__tmp_port"], action="keepequal", target_label="__port1")], PORTS),
    (PORTS, [dict(source_labels=["__tmp_port"], action="dropequal", target_label="__port1")], None),
    (PORTS, [dict(source_labels=["__tmp_port"], action="dropequal", target_label="__port2")], PORTS),
    (PORTS, [dict(source_labels=["__tmp_port"], action="keepequal", target_label="__port2")], None),
    # An empty replacement result deletes the target label.
    ({"a": "x", "b": "y"}, [dict(source_labels=["a"], target_label="b", replacement="")], {"a": "x"}),
    # Missing source labels join as empty strings; the default regex matches them.
    ({"a": "x"}, [dict(source_labels=["a", "nope"], target_label="c")], {"a": "x", "c": "x;"}),
    # Regexes are fully anchored.
    ({"a": "xfoox"}, [dict(source_labels=["a"], regex="foo", action="keep")], None),
    # `.` matches a newline (Prometheus wraps the regex in (?s:...)).
    ({"a": "x\ny"}, [dict(source_labels=["a"], regex="x.y", action="keep")], {"a": "x\ny"}),
]


@pytest.mark.parametrize(("inp", "rules", "want"), CASES)
def test_relabel_cases(inp: dict[str, str], rules: list[dict], want: dict[str, str] | None) -> None:
    cfgs = [RelabelConfig.model_validate(r) for r in rules]
    assert relabel(inp, cfgs) == want


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (dict(action="replace"), "requires 'target_label' value"),
        (dict(action="lowercase"), "requires 'target_label' value"),
        (dict(action="lowercase", target_label="${3}"), "\"${3}\" is invalid 'target_label'"),
        (
            dict(action="uppercase", target_label="x", replacement="y"),
            "'replacement' can not be set for uppercase",
        ),
        (
            dict(action="hashmod", target_label="x"),
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (dict(action="labeldrop", regex="a", target_label="x"), "labeldrop action requires only 'regex'"),
        (dict(action="labelkeep", regex="a", separator=","), "labelkeep action requires only 'regex'"),
        (
            dict(action="keepequal", source_labels=["a"], target_label="b", regex="x"),
            "keepequal action requires only 'source_labels' and `target_label`",
        ),
        (dict(action="bogus"), 'unknown relabel action "bogus"'),
        (dict(regex="(", target_label="x"), "error parsing regexp"),
        (dict(target_label="x", unknown_field=1), "Extra inputs are not permitted"),
    ],
)
def test_relabel_validation(rule: dict, message: str) -> None:
    with pytest.raises(
        ValidationError, match=message.replace("$", r"\$").replace("{", r"\{").replace("(", r"\(")
    ):
        RelabelConfig.model_validate(rule)


def test_defaults_and_case_insensitive_action() -> None:
    c = RelabelConfig.model_validate({"target_label": "x", "action": "Replace"})
    assert (c.separator, c.regex, c.replacement, c.action.value) == (";", "(.*)", "$1", "replace")
    assert c.model_dump(mode="json")["action"] == "replace"
    assert c == RelabelConfig.model_validate({"target_label": "x"})


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("$1", "b"),
        ("${1}x", "bx"),
        ("$1x", ""),  # Go reads the name "1x", which is no group
        ("$name-", "b-"),
        ("${name}", "b"),
        ("$$1", "$1"),
        ("$", "$"),
        ("${", "${"),
        ("${}", "${}"),
        ("a$-b", "a$-b"),
        ("$0", "abc"),
        ("$01", ""),  # a leading zero makes it a name, not a number
        ("$9", ""),
        ("$nosuch", ""),
    ],
)
def test_expand_go_semantics(template: str, want: str) -> None:
    rx = compile_anchored("a(?P<name>b)c")
    m = rx.match("abc")
    assert expand(template, m, rx.groupindex) == want
