"""Rule file parsing/validation (Prometheus' rulefmt) and ``check rules`` (promtool's output)."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.rules.check import EXIT_FAILURE, EXIT_LINT, EXIT_OK, check_rules, check_rules_split
from watchkeeper.rules.rulefmt import parse_rule_file, parse_rules
from watchkeeper.rules.templating import check_template

CONF = CONFORMANCE / "rules"
RULEFMT = CONF / "prometheus-testdata" / "rulefmt"
PROMTOOL = "/usr/bin/promtool"

pytestmark = pytest.mark.skipif(not CONF.is_dir(), reason="conformance data not present")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("duplicate_grp.bad.yaml", '3:5: groupname: "yolo" is repeated in the same file'),
        (
            "bad_expr.bad.yaml",
            '5:15: group "yolo", rule 1, "yolo": could not parse expression: 1:6: parse error: '
            'expected type range vector in call to function "rate", got instant vector',
        ),
        (
            "record_and_alert.bad.yaml",
            "4:17: 5:16: group \"yolo\", rule 1, \"Hello\": only one of 'record' and 'alert' must be set",
        ),
        (
            "no_rec_alert.bad.yaml",
            "0:0: 0:0: group \"yolo\", rule 1, \"\": one of 'record' or 'alert' must be set",
        ),
        ("noexpr.bad.yaml", '0:0: group "yolo", rule 1, "ylo": field \'expr\' must be set in rule'),
        (
            "invalid_record_name.bad.yaml",
            '4:17: group "yolo", rule 1, "strawberry{flavor=\\"sweet\\"}": braces '
            "present in the recording rule name; should it be in expr?: "
            'strawberry{flavor="sweet"}',
        ),
        (
            "bad_field.bad.yaml",
            "yaml: unmarshal errors:\n  line 8: field annotation not found in type rulefmt.Rule",
        ),
        ("invalid_label_name.bad.yaml", 'group "yolo", rule 1, "hola": invalid label name: __name__'),
        (
            "record_and_for.bad.yaml",
            '4:17: group "yolo", rule 1, "Hello": invalid field \'for\' in recording rule',
        ),
        (
            "record_and_keep_firing_for.bad.yaml",
            '4:17: group "yolo", rule 1, "Hello": invalid field \'keep_firing_for\' in recording rule',
        ),
    ],
)
def test_bad_files_fail_with_prometheus_message(name: str, message: str) -> None:
    _, errs = parse_rule_file(RULEFMT / name)
    assert errs and errs[0] == f"{RULEFMT / name}: {message}"


def test_legacy_name_validation() -> None:
    _, errs = parse_rule_file(RULEFMT / "legacy_validation_annotation.bad.yaml", name_validation="legacy")
    assert [e.split(": ", 1)[1] for e in errs] == [
        'group "yolo", rule 1, "hola": invalid annotation name: ins-tance'
    ]
    _, errs = parse_rule_file(RULEFMT / "invalid_record_name.bad.yaml", name_validation="legacy")
    assert 'invalid recording rule name: strawberry{flavor="sweet"}' in errs[0]


@pytest.mark.parametrize(
    "name",
    [
        "test.yaml",
        "test_aliases.yaml",
        "utf-8_lname.good.yaml",
        "utf-8_annotation.good.yaml",
        "legacy_validation_annotation.good.yaml",
    ],
)
def test_good_files(name: str) -> None:
    rf, errs = parse_rule_file(RULEFMT / name, check_template=check_template)
    assert errs == [] and rf is not None and rf.groups


def test_aliases_and_merge_keys() -> None:
    rf, errs = parse_rule_file(RULEFMT / "test_aliases.yaml")
    assert not errs and rf is not None
    expr = (
        "sum without(instance) (rate(errors_total[5m]))\n/\n"
        "sum without(instance) (rate(requests_total[5m]))\n"
    )
    for g in rf.groups:
        assert [r.name for r in g.rules] == ["HighAlert", "new_metric", "HighAlert", "HighAlert2"]
        assert g.rules[3].labels == {"severity": "critical"} and g.rules[3].for_ms == 300_000
        assert all(r.expr == expr for r in g.rules)


def corpus_files() -> list[str]:
    return sorted(
        glob.glob(str(CONF / "awesome-prometheus-alerts/dist/rules/**/*.yml"), recursive=True)
        + [str(CONF / "awesome-prometheus-alerts/rendered-from-_data.yml")]
        + glob.glob(str(CONF / "kube-prometheus/*.yaml"))
        + glob.glob(str(CONF / "template-expansion/rules.yml"))
    )


def test_whole_corpus_loads() -> None:
    rules = 0
    failures = []
    for f in corpus_files():
        rf, errs = parse_rule_file(f, check_template=check_template)
        failures.extend(errs)
        if rf is not None:
            rules += sum(len(g.rules) for g in rf.groups)
    # The one upstream-broken rule: an invalid "\." escape in a double-quoted PromQL string.
    assert len(failures) == 1
    assert (
        '"KubernetesVersionMismatch": could not parse expression: 1:104: parse error: unknown escape '
        "sequence U+002E '.'" in failures[0]
    )
    # README counts: awesome dist 954 + rendered 1155 + kube-prometheus 234, plus template-expansion.
    assert rules == 954 + 1155 + 234 + 1


def test_prometheus_rule_resource_and_null_rules() -> None:
    doc = """
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: x}
spec:
  groups:
  - name: a
    interval: 3m
    rules:
    - record: r
      expr: vector(1)
  - name: b
    rules: null
"""
    rf, errs = parse_rules(doc)
    assert errs == [] and rf is not None
    assert [(g.name, g.interval_ms, len(g.rules)) for g in rf.groups] == [("a", 180_000, 1), ("b", None, 0)]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("groups:\n- name: a\n  interval: 5x\n", 'unknown unit "x" in duration "5x"'),
        (
            "groups:\n- name: a\n  foo: 1\n",
            "yaml: unmarshal errors:\n  line 3: field foo not found in type rulefmt.RuleGroup",
        ),
        (
            "grups: []\n",
            "yaml: unmarshal errors:\n  line 1: field grups not found in type rulefmt.RuleGroups",
        ),
        ("groups:\n- name: ''\n", "2:3: Groupname must not be empty"),
        ("groups:\n- name: a\n  labels: {__name__: x}\n", "invalid label name: __name__"),
        (
            "groups:\n- name: a\n  rules:\n  - record: a\n    expr: '1'\n    annotations: {a: b}\n",
            '4:13: group "a", rule 1, "a": invalid field \'annotations\' in recording rule',
        ),
    ],
)
def test_validation_messages(doc: str, message: str) -> None:
    _, errs = parse_rules(doc)
    assert errs[0] == message


def test_yaml_syntax_error_has_line() -> None:
    rf, errs = parse_rules("groups: [\n")
    assert rf is None and errs[0].startswith("yaml: line 2: ")


def test_empty_file_has_no_groups() -> None:
    rf, errs = parse_rules("")
    assert errs == [] and rf is not None and rf.groups == []


def test_group_fields() -> None:
    rf, errs = parse_rules(
        "groups:\n- name: a\n  interval: 30s\n  query_offset: 1m\n  limit: 7\n"
        "  labels: {team: x}\n  rules: []\n"
    )
    assert not errs and rf is not None
    g = rf.groups[0]
    assert (g.interval_ms, g.query_offset_ms, g.limit, g.labels) == (30_000, 60_000, 7, {"team": "x"})


# ---- check rules ------------------------------------------------------------------------------------------


def test_check_success_output(tmp_path: Path) -> None:
    f = tmp_path / "r.yml"
    f.write_text("groups:\n- name: a\n  rules:\n  - record: r\n    expr: vector(1)\n")
    assert check_rules([f]) == (EXIT_OK, f"Checking {f}\n  SUCCESS: 1 rules found\n\n")


def test_check_duplicate_lint_is_reported_but_not_fatal() -> None:
    f = RULEFMT / "test.yaml"
    code, out, err = check_rules_split([f])
    assert code == EXIT_OK
    assert out == f"Checking {f}\n\n"
    assert err == (
        "  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: HighErrors\nLabel(s):\n"
        "\tseverity: critical\nMight cause inconsistency while recording expressions\n"
    )
    assert check_rules([f], lint_fatal=True)[0] == EXIT_LINT
    assert check_rules([f], lint="none")[1] == f"Checking {f}\n  SUCCESS: 6 rules found\n\n"


def test_check_errors_exit_1() -> None:
    f = RULEFMT / "bad_expr.bad.yaml"
    code, out = check_rules([f, RULEFMT / "legacy_validation_annotation.good.yaml"])
    assert code == EXIT_FAILURE
    assert out.startswith(f'Checking {f}\n  FAILED:\n{f}: 5:15: group "yolo"')
    assert out.endswith("  SUCCESS: 1 rules found\n\n")


def test_template_errors_are_reported() -> None:
    doc = (
        "groups:\n- name: example\n  rules:\n  - alert: InstanceDown\n    expr: up == 0\n"
        "    annotations:\n      summary: 'Instance {{ $label.instance }} down'\n"
    )
    _, errs = parse_rules(doc, check_template=check_template)
    assert errs == [
        'group "example", rule 1, "InstanceDown": annotation "summary": template: '
        '__alert_InstanceDown:1: undefined variable "$label"'
    ]


def peer_files() -> list[str]:
    files = sorted(glob.glob(str(CONF / "awesome-prometheus-alerts/dist/rules/**/*.yml"), recursive=True))
    files.append(str(CONF / "awesome-prometheus-alerts/rendered-from-_data.yml"))
    # Left out where current Prometheus (our reference) changed since 2.42: the type name in unknown-field
    # errors (RuleNode -> Rule), the "0:0: 0:0:" position pair, the braces-in-record-name message; and
    # test_aliases.yaml, where 2.42's lint names alias nodes by their anchor.
    changed = {
        "bad_field.bad.yaml",
        "no_rec_alert.bad.yaml",
        "invalid_record_name.bad.yaml",
        "test_aliases.yaml",
    }
    files += [str(p) for p in sorted(RULEFMT.glob("*.yaml")) if p.name not in changed]
    return files


@pytest.mark.peer
@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool not installed")
def test_check_matches_promtool() -> None:
    """Same stdout, stderr and exit code as promtool 2.42 (which validates names the legacy way)."""
    files = peer_files()
    # One file at a time: promtool stops printing nothing differently, but exit codes are per run.
    for f in files:
        p = subprocess.run([PROMTOOL, "check", "rules", f], capture_output=True, text=True, timeout=60)
        code, out, err = check_rules_split([f], name_validation="legacy")
        assert (code, out, err) == (p.returncode, p.stdout, p.stderr), f


LEVELS_RULE = """
groups:
- name: g
  rules:
  - alert: DiskFull
    expr: disk_used_percent
    watchkeeper:
      levels:
      - labels: {severity: critical}
        above: 95
      - labels: {severity: warning}
        above: 80
        recover_below: 70
"""


def test_levels_extension_parses() -> None:
    rf, errs = parse_rules(LEVELS_RULE)
    assert errs == [] and rf is not None
    assert rf.groups[0].rules[0].levels == (
        {"labels": {"severity": "critical"}, "above": "95"},
        {"labels": {"severity": "warning"}, "above": "80", "recover_below": "70"},
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("above: 95", "above: 95\n        below: 3"),
        ("above: 95", "above: x"),
        ("recover_below: 70", "recover_above: 70"),
        ("{severity: critical}", "{__name__: critical}"),
    ],
)
def test_levels_extension_validation(change: str, message: str) -> None:
    _, errs = parse_rules(LEVELS_RULE.replace(change, message))
    assert len(errs) == 1 and errs[0].startswith('group "g", rule 1, "DiskFull": level ')
