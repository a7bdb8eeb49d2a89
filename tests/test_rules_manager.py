"""Rule manager: loading, reload semantics, templates, persisted alert state, metrics, unit tests."""

from __future__ import annotations

import asyncio
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conformance_data import CONFORMANCE
from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine
from watchkeeper.rules.alert import Alert, AlertState
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.manager import RuleLoadError, RuleManager
from watchkeeper.rules.notify import format_time, generator_url, to_api_alert
from watchkeeper.rules.unittest import go_duration, run_rule_test_file, run_rule_tests
from watchkeeper.storage.db import TSDB

M = 60_000
CONF = CONFORMANCE / "rules"
PROMTOOL_DATA = CONF / "prometheus-testdata" / "promtool"
PROMTOOL = "/usr/bin/promtool"

RULES = """
groups:
- name: node
  interval: 1m
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: JobDown
    expr: job:up:sum == 0
    for: 2m
    labels:
      severity: '{{ if eq $labels.job "db" }}page{{ else }}ticket{{ end }}'
    annotations:
      summary: 'Job {{ $labels.job }} down, value {{ $value }}, {{ $externalLabels.region }}'
      link: '{{ $externalURL }}/alerts'
      broken: '{{ humanize "abc" }}'
"""


class Env:
    def __init__(self, tmp: Path, state: bool = True) -> None:
        self.tmp = tmp
        self.db = TSDB(None)
        self.engine = Engine()
        self.sent: list[tuple[list[Alert], str]] = []
        self.now = 0.0
        self.rule_file = tmp / "rules.yml"
        if not self.rule_file.exists():
            self.rule_file.write_text(RULES)
        self.mgr = self.manager(state)

    def manager(self, state: bool = True) -> RuleManager:
        return RuleManager(
            query=lambda e, t: self.engine.instant_query(self.db, e, t),
            appendable=self.db.append,
            notify=lambda a, e: self.sent.append((a, e)),
            clock=lambda: self.now,
            external_labels=Labels({"region": "eu"}),
            external_url="http://wk:9090",
            state_dir=self.tmp / "state" if state else None,
        )

    def put(self, labels: dict[str, str], t: int, v: float) -> None:
        self.db.append(SampleBatch([Labels(labels)], np.array([0]), np.array([t]), np.array([float(v)])))

    def instant(self, q: str, t: int) -> dict[str, float]:
        ss = self.engine.instant_query(self.db, q, t).series
        return {str(lbls): float(ss.v[i]) for i, lbls in enumerate(ss.labels)}

    def step(self, t: int, up: float, mgr: RuleManager | None = None) -> None:
        self.now = t / 1000
        self.put({"__name__": "up", "job": "db", "instance": "1"}, t, up)
        for g in (mgr or self.mgr).groups:
            g.evaluate(t)


def job_down(mgr: RuleManager) -> AlertingRule:
    rule = next(r for r in mgr.rules() if isinstance(r, AlertingRule))
    return rule


def test_load_evaluate_and_template(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.mgr.update([str(env.rule_file)])
    for i in range(3):
        env.step(i * M, 0)
    (a,) = job_down(env.mgr).active.values()
    assert a.state == AlertState.FIRING
    assert a.labels == Labels({"alertname": "JobDown", "job": "db", "severity": "page"})
    assert a.annotations.get("summary") == "Job db down, value 0, eu"
    assert a.annotations.get("link") == "http://wk:9090/alerts"
    # A broken template shows its error; the rule keeps working.
    assert a.annotations.get("broken").startswith("<error expanding template: template: __alert_JobDown:1:")
    assert job_down(env.mgr).health == "ok"
    assert [r for r, _ in env.mgr.active_alerts()] == [job_down(env.mgr)]


def test_template_query_function(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("""
groups:
- name: q
  rules:
  - alert: Q
    expr: vector(1)
    annotations:
      total: '{{ with query "sum(up)" }}{{ . | first | value }}{{ end }}'
      sorted: '{{ range query "up" | sortByLabel "instance" }}{{ .Labels.instance }} {{ end }}'
""")
    env = Env(tmp_path)
    env.mgr.update([str(env.rule_file)])
    env.put({"__name__": "up", "instance": "b"}, 0, 2)
    env.put({"__name__": "up", "instance": "a"}, 0, 3)
    env.mgr.groups[0].evaluate(0)
    (a,) = job_down(env.mgr).active.values()
    assert a.annotations.to_dict() == {"total": "5", "sorted": "a b "}


def test_load_errors_change_nothing(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.mgr.update([str(env.rule_file)])
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - record: r\n    expr: rate(x)\n")
    with pytest.raises(RuleLoadError) as e:
        env.mgr.update([str(env.rule_file), str(bad)])
    assert "could not parse expression" in e.value.errors[0]
    assert [g.name for g in env.mgr.groups] == ["node"]


def test_glob_and_group_labels_and_query_offset(tmp_path: Path) -> None:
    (tmp_path / "a.rules.yml").write_text("""
groups:
- name: a
  query_offset: 1m
  labels: {team: x, env: prod}
  rules:
  - record: r
    expr: vector(1)
    labels: {env: dev}
""")
    env = Env(tmp_path)
    env.mgr.update([str(tmp_path / "*.rules.yml")])
    (g,) = env.mgr.groups
    assert (g.query_offset_ms, g.interval_ms, g.rules[0].labels) == (
        M,
        M,
        Labels({"team": "x", "env": "dev"}),
    )


def test_reload_keeps_unchanged_group_and_state_of_changed(tmp_path: Path) -> None:
    env = Env(tmp_path, state=False)
    env.mgr.update([str(env.rule_file)])
    before = env.mgr.groups[0]
    env.mgr.update([str(env.rule_file)])
    assert env.mgr.groups[0] is before
    for i in range(3):
        env.step(i * M, 0)
    env.rule_file.write_text(RULES.replace("Job {{", "Changed: job {{"))
    env.mgr.update([str(env.rule_file)])
    after = env.mgr.groups[0]
    assert after is not before
    (a,) = job_down(env.mgr).active.values()
    assert (a.state, a.active_at, a.fired_at) == (AlertState.FIRING, 0, 2 * M)
    env.step(3 * M, 0)
    assert a.annotations.get("summary").startswith("Changed: job db")


def test_removed_group_series_marked_stale(tmp_path: Path) -> None:
    env = Env(tmp_path, state=False)
    env.mgr.update([str(env.rule_file)])
    env.step(0, 1)
    env.now = 30
    env.mgr.replace_groups([])
    res = env.engine.instant_query(env.db, "job:up:sum", 30_000)
    assert len(res.series) == 0


def test_restart_restores_pending_progress_and_does_not_repage(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.mgr.update([str(env.rule_file)])
    for i in range(3):
        env.step(i * M, 0)
    assert len(env.sent) == 1
    # "Restart": a new manager on the same state dir and store.
    mgr2 = env.manager()
    mgr2.update([str(env.rule_file)])
    (a,) = job_down(mgr2).active.values()
    assert (a.state, a.active_at, a.fired_at, a.last_sent_at) == (AlertState.FIRING, 0, 2 * M, 2 * M)
    env.step(3 * M, 0, mgr2)
    assert len(env.sent) == 1  # not re-sent as new: the resend delay has not passed
    env.step(4 * M, 0, mgr2)
    assert len(env.sent) == 2 and env.sent[1][0][0].fired_at == 2 * M  # same startsAt


def test_restart_keeps_for_progress_of_pending_alert(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.mgr.update([str(env.rule_file)])
    env.step(0, 0)
    env.step(M, 0)
    mgr2 = env.manager()
    mgr2.update([str(env.rule_file)])
    env.step(2 * M, 0, mgr2)
    (a,) = job_down(mgr2).active.values()
    assert (a.state, a.active_at, a.fired_at) == (AlertState.FIRING, 0, 2 * M)


def test_changed_rule_or_old_state_is_not_restored(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.mgr.update([str(env.rule_file)])
    env.step(0, 0)
    env.rule_file.write_text(RULES.replace("== 0", "< 1"))
    mgr2 = env.manager()
    mgr2.update([str(env.rule_file)])
    assert job_down(mgr2).active == {}
    env.rule_file.write_text(RULES)
    env.now = 2 * 3600.0  # beyond the outage tolerance
    mgr3 = env.manager()
    mgr3.update([str(env.rule_file)])
    assert job_down(mgr3).active == {}


def test_metrics_text(tmp_path: Path) -> None:
    env = Env(tmp_path, state=False)
    env.mgr.update([str(env.rule_file)])
    env.step(0, 0)
    text = env.mgr.metrics_text()
    key = f'rule_group="{env.rule_file};node"'
    assert f"prometheus_rule_evaluations_total{{{key}}} 2\n" in text
    assert f"prometheus_rule_evaluation_failures_total{{{key}}} 0\n" in text
    assert f"prometheus_rule_group_rules{{{key}}} 2\n" in text
    assert "# TYPE prometheus_rule_group_iterations_missed_total counter\n" in text


def test_run_loop_evaluates_on_schedule(tmp_path: Path) -> None:
    """The asyncio loop with a real clock and a 100 ms group interval (bounded: 1.5 s)."""
    import time

    (tmp_path / "rules.yml").write_text(
        "groups:\n- name: fast\n  interval: 100ms\n  rules:\n  - record: one\n    expr: vector(1)\n"
    )
    env = Env(tmp_path, state=False)
    env.mgr.clock = time.time
    env.mgr.update([str(env.rule_file)])

    async def main() -> None:
        task = asyncio.create_task(env.mgr.run())
        for _ in range(30):
            await asyncio.sleep(0.05)
            if env.mgr.groups[0].metrics.iterations >= 3:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    g = env.mgr.groups[0]
    assert g.metrics.iterations >= 3
    assert g.metrics.last_evaluation_ms % 100 == (g.eval_timestamp(0) % 100)


def test_api_alert_shape() -> None:
    a = Alert(
        Labels({"alertname": "X"}),
        Labels({"s": "y"}),
        AlertState.FIRING,
        active_at=0,
        value=1.0,
        fired_at=1_700_000_000_500,
        valid_until=1_700_000_240_500,
    )
    doc = to_api_alert(
        a,
        "up == 0",
        external_url="http://p:9090",
        external_labels=Labels({"region": "eu", "alertname": "no"}),
    )
    assert doc == {
        "labels": {"alertname": "X", "region": "eu"},
        "annotations": {"s": "y"},
        "startsAt": "2023-11-14T22:13:20.5Z",
        "endsAt": "2023-11-14T22:17:20.5Z",
        "generatorURL": "http://p:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
    }
    assert format_time(0) == "1970-01-01T00:00:00Z"
    assert generator_url("", "a") == "/graph?g0.expr=a&g0.tab=1"


# ---- promtool test rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "passes"),
    [
        ("at-modifier-test.yml", True),
        ("long-period.yml", True),
        ("negative-offset-test.yml", True),
        ("no-test-group-interval.yml", True),
        ("start-time-test.yml", True),
        ("bad-input-series.yml", False),
        ("bad-promql.yml", False),
        ("bad-rules-error-test.yml", False),
        ("bad-rules-syntax-test.yml", False),
        ("failing.yml", False),
        ("rules_run.yml", False),
        ("rules_run_no_fuzzy.yml", False),
    ],
)
def test_promtool_testdata_verdicts(name: str, passes: bool) -> None:
    errs = run_rule_test_file(PROMTOOL_DATA / name)
    assert (errs == []) == passes, errs


def test_rules_run_filter_and_fuzzy(tmp_path: Path) -> None:
    assert run_rule_test_file(PROMTOOL_DATA / "rules_run.yml", run=lambda n: n == "correct test") == []
    fuzzy = PROMTOOL_DATA / "rules_run_fuzzy.yml"
    assert run_rule_test_file(fuzzy, run=lambda n: n == "correct fuzzy match") == []
    assert len(run_rule_test_file(fuzzy)) == 2  # "wrong fuzzy match" is beyond one ulp


def test_template_expansion_conformance() -> None:
    """Every annotation pinned by promtool 2.42 in template-expansion/tests.yml."""
    code, out, err = run_rule_tests([CONF / "template-expansion" / "tests.yml"])
    assert (code, err) == (0, ""), err
    assert out.endswith("  SUCCESS\n\n")


def test_failure_report_format() -> None:
    code, out, err = run_rule_tests([PROMTOOL_DATA / "rules_run_no_fuzzy.yml"])
    assert code == 1
    assert err.startswith("  FAILED:\n")
    assert (
        '    expr: "test_low", time: 0s,\n        exp: {__name__="test_low"} 3E+00\n'
        '        got: {__name__="test_low"} 2.9999999999999996E+00\n' in err
    )


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (500, "500ms"),
        (1500, "1.5s"),
        (60_000, "1m0s"),
        (3_600_000, "1h0m0s"),
        (86_400_000, "24h0m0s"),
    ],
)
def test_go_duration(ms: int, text: str) -> None:
    assert go_duration(ms) == text


@pytest.mark.peer
@pytest.mark.skipif(not Path(PROMTOOL).exists(), reason="promtool not installed")
@pytest.mark.parametrize(
    "name",
    [
        "failing.yml",
        "long-period.yml",
        "bad-rules-syntax-test.yml",
        "bad-input-series.yml",
        "at-modifier-test.yml",
        "negative-offset-test.yml",
    ],
)
def test_unit_test_output_matches_promtool(name: str) -> None:
    """Files whose verdict 2.42 shares with current promtool: identical output and exit code."""
    f = str(PROMTOOL_DATA / name)
    p = subprocess.run([PROMTOOL, "test", "rules", f], capture_output=True, text=True, timeout=60)
    assert run_rule_tests([f]) == (p.returncode, p.stdout, p.stderr)


def test_go_float_exp_formatting() -> None:
    from watchkeeper.rules.api import go_float_exp

    values = (60.0, 0.1, -2.5, 0.0, math.inf, 1e21, 2.9999999999999996, math.nan)
    assert [go_float_exp(v, "E") for v in values] == [
        "6E+01",
        "1E-01",
        "-2.5E+00",
        "0E+00",
        "+Inf",
        "1E+21",
        "2.9999999999999996E+00",
        "NaN",
    ]
    assert go_float_exp(1.0) == "1e+00"


def test_rules_and_alerts_api_data(tmp_path: Path) -> None:
    from watchkeeper.rules.api import alerts_data, rules_data

    env = Env(tmp_path, state=False)
    env.mgr.update([str(env.rule_file)])
    env.step(0, 0)
    data = rules_data(env.mgr)
    (g,) = data["groups"]
    assert (g["name"], g["file"], g["interval"], g["limit"]) == ("node", str(env.rule_file), 60.0, 0)
    rec, alert = g["rules"]
    assert rec["type"] == "recording" and rec["health"] == "ok" and rec["query"] == "sum by (job) (up)"
    assert alert["type"] == "alerting" and alert["state"] == "pending" and alert["duration"] == 120.0
    assert alert["alerts"] == [
        {
            "labels": {"alertname": "JobDown", "job": "db", "severity": "page"},
            "annotations": alert["alerts"][0]["annotations"],
            "state": "pending",
            "activeAt": "1970-01-01T00:00:00Z",
            "value": "0e+00",
        }
    ]
    assert rules_data(env.mgr, rule_type="record")["groups"][0]["rules"] == [rec]
    assert rules_data(env.mgr, rule_names=["nope"]) == {"groups": []}
    assert "alerts" not in rules_data(env.mgr, exclude_alerts=True)["groups"][0]["rules"][1]
    with pytest.raises(ValueError):
        rules_data(env.mgr, rule_type="bogus")
    assert [a["state"] for a in alerts_data(env.mgr)["alerts"]] == ["pending"]


@pytest.mark.peer
def test_group_phase_matches_prometheus(procs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Prometheus evaluates each group at offset xxhash({file, name}) mod interval: same instants here."""
    import time

    import httpx

    from watchkeeper.rules.group import group_offset_ns

    rules = tmp_path / "phase.yml"
    rules.write_text(
        "groups:\n"
        + "".join(
            f"- name: {n}\n  interval: {i}\n  rules:\n  - record: r_{n}\n    expr: vector(1)\n"
            for n, i in (("alpha", "1s"), ("beta", "2s"), ("gamma", "3s"))
        )
    )
    prom = procs.prometheus(f"global: {{evaluation_interval: 1s}}\nrule_files: ['{rules}']\n")
    intervals = {"alpha": 1000, "beta": 2000, "gamma": 3000}
    stamps: dict[str, list[int]] = {}
    for _ in range(100):
        for name in intervals:
            res = httpx.get(prom.url + "/api/v1/query", params={"query": f"r_{name}[20s]"}, timeout=5).json()
            values = res["data"]["result"][0]["values"] if res["data"]["result"] else []
            # Sample timestamps are the evaluation instants truncated to milliseconds.
            stamps[name] = [round(float(t) * 1000) for t, _ in values]
        if all(len(v) >= 2 for v in stamps.values()):
            break
        time.sleep(0.2)
    for name, ms_list in stamps.items():
        assert len(ms_list) >= 2, name
        off_ns = group_offset_ns(str(rules), name, intervals[name])
        for ms in ms_list:
            # The true instant is ms + (offset's sub-millisecond part): within the next millisecond.
            assert (off_ns - ms * 1_000_000) % (intervals[name] * 1_000_000) < 1_000_000, (name, ms)
            assert group_ts(str(rules), name, intervals[name], ms + 1) == ms, (name, ms)


def group_ts(file: str, name: str, interval_ms: int, now_ms: int) -> int:
    from watchkeeper.rules.group import Group, GroupOptions

    opts = GroupOptions(query=lambda e, t: None, appendable=lambda b: 0, notify=lambda a, e: None)
    return Group(name, file, interval_ms, [], opts=opts).eval_timestamp(now_ms)


def test_corpus_evaluates_and_renders(tmp_path: Path) -> None:
    """Every corpus rule evaluates without error and every annotation renders without a template error."""
    from test_rules_rulefmt import corpus_files

    env = Env(tmp_path, state=False)
    files = [f for f in corpus_files() if not f.endswith("rendered-from-_data.yml")]
    groups = env.mgr.load_groups(files)
    env.put({"__name__": "up", "job": "node", "instance": "host:9100"}, 0, 0)
    # The one corpus template that queries: it needs this series (else first() fails, as in Prometheus).
    env.put(
        {
            "__name__": "prometheus_remote_storage_shards_max",
            "instance": "host:9100",
            "job": "prometheus-k8s",
            "namespace": "monitoring",
        },
        0,
        4,
    )
    failures = []
    series = Labels({"__name__": "x", "instance": "host:9100", "job": "node", "namespace": "ns", "pod": "p"})
    for g in groups:
        g.evaluate(M)
        failures += [(r.name, r.last_error) for r in g.rules if r.health != "ok"]
        for r in g.rules:
            if isinstance(r, AlertingRule):
                for k, text in r.annotations.items + r.labels.items:
                    out = r.templater(
                        text, alert_name=r.name, labels=series, value=0.25, ts_ms=M, query=env.mgr.opts.query
                    )
                    if "<error expanding template" in out:
                        failures.append((r.name, k, out))
    assert failures == []
    assert sum(len(g.rules) for g in groups) == 954 + 234 + 1


def test_rule_group_store_crud_and_reload(tmp_path: Path) -> None:
    from watchkeeper.rules.store import RuleGroupStore, RuleStoreError

    env = Env(tmp_path, state=False)
    store = RuleGroupStore(tmp_path / "api-rules")
    store.put("team/a", {"name": "g1", "rules": [{"record": "one", "expr": "vector(1)"}]})
    store.put("team/a", "name: g2\ninterval: 30s\nrules:\n- alert: A\n  expr: vector(1)\n")
    store.put("team/a", {"name": "g1", "rules": [{"record": "two", "expr": "vector(2)"}]})  # replaces g1
    assert [g["name"] for g in store.groups("team/a")] == ["g2", "g1"]
    assert store.group("team/a", "g1")["rules"][0]["record"] == "two"
    assert list(store.namespaces()) == ["team/a"]
    with pytest.raises(RuleStoreError) as e:
        store.put("team/a", {"name": "bad", "rules": [{"record": "x", "expr": "rate(x)"}]})
    assert "could not parse expression" in e.value.errors[0]
    assert [g["name"] for g in store.groups("team/a")] == ["g2", "g1"]  # unchanged
    env.mgr.update([str(env.rule_file), *store.files()])
    assert sorted(g.name for g in env.mgr.groups) == ["g1", "g2", "node"]
    assert store.delete("team/a", "g2") and not store.delete("team/a", "g2")
    assert store.delete("team/a") and store.files() == []


def test_levels_from_rule_file(tmp_path: Path) -> None:
    from test_rules_rulefmt import LEVELS_RULE
    from watchkeeper.rules.alerting_rule import Level

    (tmp_path / "rules.yml").write_text(LEVELS_RULE)
    env = Env(tmp_path, state=False)
    env.mgr.update([str(env.rule_file)])
    rule = job_down(env.mgr)
    assert rule.levels == (
        Level(Labels({"severity": "critical"}), 95.0),
        Level(Labels({"severity": "warning"}), 80.0, recover=70.0),
    )
    env.put({"__name__": "disk_used_percent", "dev": "a"}, 0, 90)
    env.mgr.groups[0].evaluate(0)
    assert [a.labels.get("severity") for a in rule.active.values()] == ["warning"]


@pytest.mark.parametrize(("stale", "want_active_at"), [(False, 570_000), (True, 600_000)])
def test_alerts_for_state_restore_fallback(tmp_path: Path, stale: bool, want_active_at: int) -> None:
    """No state file: Prometheus' restore from the last ALERTS_FOR_STATE sample before the restart."""
    from watchkeeper.model.batch import STALE_NAN

    env = Env(tmp_path, state=False)
    series = {"__name__": "ALERTS_FOR_STATE", "alertname": "JobDown", "job": "db", "severity": "page"}
    env.put(series, 0, 0.0)
    env.put(series, 90_000, 0.0)  # pending since 0 when the previous process went down at 90 s
    if stale:
        env.put(series, 100_000, STALE_NAN)  # ... or the alert had ended before that
    mgr = RuleManager(
        query=env.mgr.opts.query,
        appendable=env.db.append,
        notify=lambda a, e: None,
        clock=lambda: env.now,
        external_labels=Labels({"region": "eu"}),
        select=env.db.select,
        for_grace_period_ms=10_000,
    )
    mgr.update([str(env.rule_file)])
    env.step(10 * M, 0, mgr)
    rule = job_down(mgr)
    assert not rule.restored
    assert env.instant('ALERTS_FOR_STATE{alertname="JobDown"}', 10 * M + 1) == {}  # not written yet
    env.step(11 * M, 0, mgr)
    (a,) = rule.active.values()
    assert rule.restored and a.active_at == want_active_at
    # Restored at 11m: the 90 s pending before count, the downtime (90 s .. 11m) does not.
    assert env.instant('ALERTS_FOR_STATE{alertname="JobDown"}', 12 * M) == {}
    env.step(12 * M, 0, mgr)
    assert list(env.instant('ALERTS_FOR_STATE{alertname="JobDown"}', 12 * M).values()) == [
        want_active_at / 1000
    ]
