# ruff: noqa: E501  (CASES holds long one-line templates verbatim)
"""Prometheus rule templates: conformance data, every corpus template, and Go-verified cases.

CASES and PARSE_ERRORS hold outputs produced by Prometheus 2.42 (`promtool test rules` and
`promtool check rules`); the peer tests re-run promtool on them when it is installed.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from watchkeeper.template import TemplateError, TemplateSet
from watchkeeper.template.parser import unquote
from watchkeeper.template.prometheus_funcs import (
    TEMPLATE_HEADER,
    AlertTemplateData,
    QuerySample,
    prometheus_funcs,
)

CONF = pathlib.Path("/work/shared/conformance/rules")
NAME = "__alert_D"
SERIES = [
    ({"__name__": "metric_value", "instance": "b:9100", "job": "node"}, 1234567.891),
    ({"__name__": "metric_value", "instance": "a:80", "job": "api"}, 0.0123),
]


def _query(q: str) -> list[QuerySample]:
    """The cases query `sort(metric_value)`: PromQL's sort() makes promtool's order deterministic."""
    if q != "sort(metric_value)":
        return []
    return [QuerySample(dict(lbl), v) for lbl, v in sorted(SERIES, key=lambda s: s[1])]


def expand_alert(text: str, labels: dict[str, str], value: float, ext: dict[str, str]) -> str:
    """Expand one annotation as Prometheus' alerting rule does, errors included."""
    ts = TemplateSet(prometheus_funcs(_query), missingkey="zero").parse(TEMPLATE_HEADER + text, NAME)
    try:
        return ts.execute(NAME, AlertTemplateData(labels, ext, "", value))
    except TemplateError as e:
        return f"<error expanding template: error executing template {NAME}: {e}>"


CASES: list[tuple[str, str]] = []

PARSE_ERRORS = [
    ('{{ if }}', 'template: __alert_D:1: missing value for if'),
    ('{{ .a', 'template: __alert_D:1: unclosed action'),
    ('{{ end }}', 'template: __alert_D:1: unexpected {{end}}'),
    ('{{ foo }}', 'template: __alert_D:1: function "foo" not defined'),
    ('{{ "abc }}', 'template: __alert_D:1: unterminated quoted string'),
    ('{{ 1.2.3 }}', 'template: __alert_D:1: unexpected ".3" in operand'),
    ('{{ if 1 }}x', 'template: __alert_D:1: unexpected EOF'),
    ('{{ range }}{{ end }}', 'template: __alert_D:1: missing value for range'),
    ('{{ $x }}', 'template: __alert_D:1: undefined variable "$x"'),
    ('{{ else }}', 'template: __alert_D:1: unexpected {{else}}'),
    ('{{ break }}', 'template: __alert_D:1: {{break}} outside {{range}}'),
    ('{{ define "a" }}x', 'template: __alert_D:1: unexpected EOF'),
    ('{{ template x }}', 'template: __alert_D:1: unexpected "x" in template clause'),
    ('{{ 1 | 2 }}', 'template: __alert_D:1: non executable command in pipeline stage 2'),
    ('{{ . | "a" }}', 'template: __alert_D:1: non executable command in pipeline stage 2'),
    ('{{ (1 }}', 'template: __alert_D:1: unclosed left paren'),
    ('{{ 1) }}', 'template: __alert_D:1: unexpected ")" in command'),
    ('{{ .a.b c }}x{{ }}', 'template: __alert_D:1: function "c" not defined'),
    ('{{ }}', 'template: __alert_D:1: missing value for command'),
    ('{{ $x := }}', 'template: __alert_D:1: missing value for command'),
    ('{{ with }}{{ end }}', 'template: __alert_D:1: missing value for with'),
    ('{{/* unclosed }}', 'template: __alert_D:1: unclosed comment'),
    ('{{/* a */ x }}', 'template: __alert_D:1: comment ends before closing delimiter'),
    ('{{ "\\q" }}', 'template: __alert_D:1: invalid syntax'),
    ('{{ printf "%d" `a }}', 'template: __alert_D:1: unterminated raw quoted string'),
    ("{{ 'ab' }}", "template: __alert_D:1: malformed character constant: 'ab'"),
    ('{{ 0x }}', 'template: __alert_D:1: illegal number syntax: "0x"'),
    ('{{ 1e }}', 'template: __alert_D:1: illegal number syntax: "1e"'),
    ('{{ .a | }}', 'OK'),
    ('{{ if 1 }}{{ else }}{{ else }}{{ end }}', 'template: __alert_D:1: expected end; found {{else}}'),
    ('{{ range $a, $b, $c := . }}{{ end }}', 'template: __alert_D:1: too many declarations in range'),
    ('{{ $a, $b := 1 }}', 'template: __alert_D:1: too many declarations in command'),
    ('{{ nil.a }}', 'template: __alert_D:1: unexpected . after term "nil"'),
    ('{{ "a".b }}', 'template: __alert_D:1: unexpected . after term "\\"a\\""'),
    ('{{ @ }}', 'template: __alert_D:1: unexpected "@" in command'),
    ('line1\n{{ .a }}{{ bad }}', 'template: __alert_D:2: function "bad" not defined'),
    ('{{ define "x" }}{{ end }}{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}', 'template: __alert_D:1: template: multiple definition of template "x"'),
    ('{{ continue }}', 'template: __alert_D:1: {{continue}} outside {{range}}'),
    ('{{ range . }}{{ break 1 }}{{ end }}', 'template: __alert_D:1: unexpected "1" in {{break}}'),
    ('{{ block }}', 'template: __alert_D:1: unexpected "}}" in block clause'),
    ('{{ $.a := 1 }}', 'template: __alert_D:1: unexpected ":=" in operand'),
    ('{{ 3x }}', 'template: __alert_D:1: bad number syntax: "3x"'),
    ('{{ -}}', 'template: __alert_D:1: missing value for command'),
    ('{{- }}', 'template: __alert_D:1: missing value for command'),
    ('{{ .a | not | }}', 'OK'),
    ('{{ true.x }}', 'template: __alert_D:1: unexpected . after term "true"'),
    ('{{ with $x := 1 }}{{ end }}{{ $x }}', 'template: __alert_D:1: undefined variable "$x"'),
]


@pytest.mark.parametrize(("text", "want"), CASES)
def test_case_matches_prometheus(text: str, want: str) -> None:
    assert expand_alert(text, SERIES[0][0], SERIES[0][1], {"region": "eu"}) == want


@pytest.mark.parametrize(("text", "want"), PARSE_ERRORS)
def test_parse_error_matches_prometheus(text: str, want: str) -> None:
    try:
        TemplateSet(prometheus_funcs(), missingkey="zero").parse(TEMPLATE_HEADER + text, NAME)
        got = "OK"
    except TemplateError as e:
        got = str(e)
    assert got == want


def _expansion_cases() -> list[tuple[str, str, dict[str, str], float, str, float]]:
    rule = yaml.safe_load((CONF / "template-expansion/rules.yml").read_text())["groups"][0]["rules"][0]
    test = yaml.safe_load((CONF / "template-expansion/tests.yml").read_text())["tests"][0]
    series = [dict(re.findall(r'(\w+)="([^"]*)"', s["series"])) for s in test["input_series"]]
    values = [float(s["values"].split()[0]) for s in test["input_series"]]
    out = []
    templates = dict(rule["annotations"], severity=rule["labels"]["severity"])
    for exp in test["alert_rule_test"][0]["exp_alerts"]:
        idx = next(i for i, s in enumerate(series) if s["instance"] == exp["exp_labels"]["instance"])
        labels = {"__name__": "metric_value", **series[idx]}
        want = dict(exp["exp_annotations"], severity=exp["exp_labels"]["severity"])
        for key, text in templates.items():
            out.append((f"{labels['instance']}-{key}", text, labels, values[idx], want[key], sum(values)))
    return out


EXPANSION = _expansion_cases()


@pytest.mark.parametrize(("case", "text", "labels", "value", "want", "total"), EXPANSION,
                         ids=[c[0] for c in EXPANSION])
def test_template_expansion_conformance(
    case: str, text: str, labels: dict[str, str], value: float, want: str, total: float
) -> None:
    """tests.yml pins promtool's output; `query "sum(metric_value)"` is answered with the sum."""

    def query(q: str) -> list[QuerySample]:
        assert q == "sum(metric_value)"
        return [QuerySample({}, total)]

    ts = TemplateSet(prometheus_funcs(query), missingkey="zero").parse(TEMPLATE_HEADER + text, "__alert_Humanize")
    assert ts.execute("__alert_Humanize", AlertTemplateData(labels, {"region": "eu-1"}, "", value)) == want


def _corpus_templates() -> list[tuple[str, str]]:
    out = []
    for path in sorted(CONF.rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict):
                continue
            groups = doc.get("groups") or (doc.get("spec") or {}).get("groups") or []
            for group in groups if isinstance(groups, list) else []:
                for rule in (group or {}).get("rules") or []:
                    for kind in ("labels", "annotations"):
                        for value in ((rule or {}).get(kind) or {}).values():
                            if isinstance(value, str):
                                out.append((str(path.relative_to(CONF)), value))
    return out


def test_every_corpus_template_parses() -> None:
    templates = _corpus_templates()
    funcs = prometheus_funcs()
    failures = []
    for path, text in templates:
        try:
            TemplateSet(funcs, missingkey="zero").parse(TEMPLATE_HEADER + text, "__alert_x")
        except TemplateError as e:
            failures.append((path, str(e)))
    assert len(templates) > 6000
    # the one intended failure: promtool's rules-bad.yml uses an undefined variable
    assert failures == [("prometheus-testdata/promtool/rules-bad.yml",
                         'template: __alert_x:1: undefined variable "$label"')]


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not installed")
    return path


def _write_rule(tmp: pathlib.Path, annotations: dict[str, str]) -> None:
    rules = {"groups": [{"name": "g", "rules": [{"alert": "D", "expr": "metric_value", "annotations": annotations}]}]}
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules, allow_unicode=True))


@pytest.mark.peer
def test_promtool_agrees_on_cases(tmp_path: pathlib.Path) -> None:
    promtool = _promtool()
    ann = {f"a{i:03d}": text for i, (text, _) in enumerate(CASES)}
    _write_rule(tmp_path, ann)
    exp_alerts = []
    for labels, value in SERIES:
        exp_alerts.append({
            "exp_labels": {k: v for k, v in labels.items() if k != "__name__"},
            "exp_annotations": {k: expand_alert(t, labels, value, {"region": "eu"}) for k, t in ann.items()},
        })
    series = [{"series": "metric_value{" + ",".join(f'{k}="{v}"' for k, v in lbl.items() if k != "__name__") + "}",
               "values": f"{v} {v}"} for lbl, v in SERIES]
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "external_labels": {"region": "eu"}, "input_series": series,
        "alert_rule_test": [{"eval_time": "1m", "alertname": "D", "exp_alerts": exp_alerts}]}]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, allow_unicode=True))
    r = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        got = re.findall(r'(a\d{3})="((?:[^"\\]|\\.)*)"', r.stdout.split("got:", 1)[-1])
        diffs = [(k, unquote(f'"{v}"'), exp_alerts[1]["exp_annotations"][k]) for k, v in got[: len(ann)]
                 if unquote(f'"{v}"') != exp_alerts[1]["exp_annotations"][k]]
        pytest.fail(f"promtool disagrees: {diffs[:5] or (r.stdout + r.stderr)[-2000:]}")


@pytest.mark.peer
@pytest.mark.parametrize(("text", "want"), PARSE_ERRORS[:12])
def test_promtool_agrees_on_parse_errors(tmp_path: pathlib.Path, text: str, want: str) -> None:
    promtool = _promtool()
    _write_rule(tmp_path, {"a": text})
    r = subprocess.run([promtool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    out = r.stdout + r.stderr
    got = out.split('annotation "a": ', 1)[1].strip() if 'annotation "a": ' in out else "OK"
    assert got == want
