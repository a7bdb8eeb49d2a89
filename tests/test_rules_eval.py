"""Rule evaluation: Prometheus' alerting state machine, recording rules, stale markers, sending.

Groups are driven directly with ``group.evaluate(ts)`` on a fake timeline; storage is the
in-memory TSDB and queries run through the real PromQL engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from watchkeeper.model.batch import SampleBatch, is_stale
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.promql.engine import Engine
from watchkeeper.rules.alert import Alert, AlertState
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.group import Group, GroupOptions, group_offset_ns, next_eval
from watchkeeper.rules.recording_rule import RecordingRule
from watchkeeper.storage.db import TSDB

M = 60_000


def plain_templater(text: str, **kw: object) -> str:
    """A stand-in expander that marks the text and shows the alert's series and value."""
    return f"{text}|{kw['labels']}|{kw['value']}"


class Env:
    def __init__(self) -> None:
        self.db = TSDB(None)
        self.engine = Engine()
        self.sent: list[tuple[list[Alert], str]] = []
        self.opts = GroupOptions(
            query=lambda e, t: self.engine.instant_query(self.db, e, t),
            appendable=self.db.append,
            notify=lambda a, e: self.sent.append((a, e)),
        )

    def put(self, labels: dict[str, str], t: int, v: float) -> None:
        self.db.append(SampleBatch([Labels(labels)], np.array([0]), np.array([t]), np.array([float(v)])))

    def group(self, *rules: AlertingRule | RecordingRule, interval: int = M, **kw: int) -> Group:
        return Group("g", "rules.yml", interval, list(rules), opts=self.opts, **kw)

    def raw(self, name: str, t: int) -> dict[Labels, list[tuple[int, float]]]:
        """Every stored sample of the metric up to ``t``, stale markers included."""
        ss = self.db.select([Matcher(MatchType.EQUAL, "__name__", name)], 0, t)
        out = {}
        for i in range(len(ss)):
            lbls, ts, vs = ss.series(i)
            out[lbls] = list(zip(ts.tolist(), vs.tolist(), strict=True))
        return out

    def instant(self, q: str, t: int) -> dict[str, float]:
        ss = self.engine.instant_query(self.db, q, t).series
        return {str(lbls): float(ss.v[i]) for i, lbls in enumerate(ss.labels)}


def alert_rule(name: str = "HighLatency", expr: str = "latency > 1", **kw: object) -> AlertingRule:
    return AlertingRule(name, expr, templater=plain_templater, **kw)  # type: ignore[arg-type]


@pytest.fixture
def env() -> Env:
    return Env()


def states(rule: AlertingRule) -> dict[str, str]:
    return {str(a.labels): a.state.value for a in rule.active.values()}


def test_pending_then_firing_after_for(env: Env) -> None:
    r = alert_rule(for_ms=2 * M, labels=Labels({"severity": "page"}))
    g = env.group(r)
    lbls = '{alertname="HighLatency", instance="a", severity="page"}'
    for i in range(4):
        env.put({"__name__": "latency", "instance": "a"}, i * M, 5)
        g.evaluate(i * M)
        want = "pending" if i < 2 else "firing"
        assert states(r) == {lbls: want}
        assert env.instant("ALERTS", i * M) == {
            f'ALERTS{{alertname="HighLatency", alertstate="{want}", instance="a", severity="page"}}': 1.0
        }
        assert env.instant("ALERTS_FOR_STATE", i * M) == {
            'ALERTS_FOR_STATE{alertname="HighLatency", instance="a", severity="page"}': 0.0
        }
    a = next(iter(r.active.values()))
    assert (a.active_at, a.fired_at, a.resolved_at) == (0, 2 * M, 0)
    assert r.state() == AlertState.FIRING


def test_for_zero_fires_at_once_and_is_sent(env: Env) -> None:
    r = alert_rule()
    g = env.group(r)
    env.put({"__name__": "latency", "job": "j"}, 0, 5)
    g.evaluate(4 * M)
    assert states(r) == {'{alertname="HighLatency", job="j"}': "firing"}
    assert len(env.sent) == 1
    alerts, expr = env.sent[0]
    assert expr == "latency > 1"
    assert alerts[0].fired_at == 4 * M and alerts[0].last_sent_at == 4 * M
    # Valid for four times max(resend delay, interval).
    assert alerts[0].valid_until == 4 * M + 4 * M


def test_alert_labels_drop_name_rule_labels_override_series(env: Env) -> None:
    r = alert_rule(labels=Labels({"instance": "overridden", "team": "db"}))
    env.put({"__name__": "latency", "instance": "a"}, 0, 5)
    env.group(r).evaluate(0)
    a = next(iter(r.active.values()))
    assert a.labels == Labels({"alertname": "HighLatency", "instance": "overridden", "team": "db"})


def test_templater_gets_series_labels_with_name_and_value(env: Env) -> None:
    r = alert_rule(annotations=Labels({"summary": "{{ $value }}", "plain": "no template"}))
    env.put({"__name__": "latency", "instance": "a"}, 0, 2.5)
    env.group(r).evaluate(0)
    a = next(iter(r.active.values()))
    assert a.annotations.get("summary") == '{{ $value }}|latency{instance="a"}|2.5'
    assert a.annotations.get("plain") == "no template"


def test_pending_alert_that_clears_is_dropped_without_notification(env: Env) -> None:
    r = alert_rule(for_ms=5 * M)
    g = env.group(r)
    env.put({"__name__": "latency"}, 0, 5)
    g.evaluate(0)
    env.put({"__name__": "latency"}, M, 0)
    g.evaluate(M)
    assert r.active == {}
    assert env.sent == []
    # ALERTS got a stale marker when the pending alert went away.
    (samples,) = env.raw("ALERTS", M).values()
    assert samples[0] == (0, 1.0) and samples[1][0] == M and is_stale(np.array([samples[1][1]]))[0]


def test_resolved_alert_kept_and_resent_for_15_minutes(env: Env) -> None:
    r = alert_rule()
    g = env.group(r)
    env.put({"__name__": "latency"}, 0, 5)
    g.evaluate(0)
    env.put({"__name__": "latency"}, M, 0)
    g.evaluate(M)
    a = next(iter(r.active.values()))
    assert a.state == AlertState.INACTIVE and a.resolved_at == M
    # Resolution is sent at once, then every resend delay (strictly after it) while retained.
    sends = [len(env.sent)]
    for i in range(2, 18):
        env.put({"__name__": "latency"}, i * M, 0)
        g.evaluate(i * M)
        sends.append(len(env.sent))
    assert sends[0] == 2  # firing at 0, resolved at 1m
    assert env.sent[1][0][0].resolved_at == M
    # 1m < 2m is not "before" + delay: next resend at 3m (last_sent 1m + 1m < 3m), then every 2 evaluations.
    assert sends[1:4] == [2, 3, 3]
    # Deleted once more than 15 minutes past resolution.
    assert r.active == {}


def test_reactivated_after_resolution_is_a_new_alert(env: Env) -> None:
    r = alert_rule(for_ms=M)
    g = env.group(r)
    for i, v in enumerate([5, 5, 0, 5]):
        env.put({"__name__": "latency"}, i * M, v)
        g.evaluate(i * M)
    a = next(iter(r.active.values()))
    assert (a.state, a.active_at, a.fired_at) == (AlertState.PENDING, 3 * M, 0)


def test_keep_firing_for(env: Env) -> None:
    r = alert_rule(keep_firing_for_ms=2 * M)
    g = env.group(r)
    seq = [5, 0, 0, 5, 0, 0, 0]
    got = []
    for i, v in enumerate(seq):
        env.put({"__name__": "latency"}, i * M, v)
        g.evaluate(i * M)
        a = next(iter(r.active.values()))
        got.append((a.state.value, a.keep_firing_since))
    assert got == [
        ("firing", 0),
        ("firing", M),
        ("firing", M),
        ("firing", 0),
        ("firing", 4 * M),
        ("firing", 4 * M),
        ("inactive", 4 * M),
    ]
    assert next(iter(r.active.values())).resolved_at == 6 * M


def test_recording_rule_labels_and_chaining(env: Env) -> None:
    rec = RecordingRule("job:req:sum", "sum by (job) (req)", labels=Labels({"env": "prod"}))
    alert = alert_rule("TooMany", "job:req:sum > 10")
    g = env.group(rec, alert)
    env.put({"__name__": "req", "job": "api", "i": "1"}, 0, 7)
    env.put({"__name__": "req", "job": "api", "i": "2"}, 0, 8)
    g.evaluate(0)
    assert env.instant("job:req:sum", 0) == {'job:req:sum{env="prod", job="api"}': 15.0}
    # The alerting rule saw the recording rule's result of this very evaluation.
    assert states(alert) == {'{alertname="TooMany", env="prod", job="api"}': "firing"}


def test_recording_rule_scalar_result(env: Env) -> None:
    g = env.group(RecordingRule("answer", "42"))
    g.evaluate(M)
    assert env.instant("answer", M) == {"answer": 42.0}


def test_stale_markers_for_disappearing_recording_series(env: Env) -> None:
    rec = RecordingRule("x:copy", "x")
    g = env.group(rec)
    env.put({"__name__": "x", "i": "1"}, 0, 1)
    env.put({"__name__": "x", "i": "2"}, 0, 2)
    g.evaluate(0)
    env.put({"__name__": "x", "i": "1"}, M, 1)
    env.put({"__name__": "x", "i": "2"}, M, math.nan)  # not stale, still a sample
    g.evaluate(M)
    env.put({"__name__": "x", "i": "1"}, 2 * M, 1)
    g.evaluate(6 * M + 1)  # x{i="2"} left the lookback window
    raw = env.raw("x:copy", 6 * M + 1)
    s2 = raw[Labels({"__name__": "x:copy", "i": "2"})]
    assert [t for t, _ in s2] == [0, M, 6 * M + 1]
    assert is_stale(np.array([s2[-1][1]]))[0] and not is_stale(np.array([s2[1][1]]))[0]
    s1 = raw[Labels({"__name__": "x:copy", "i": "1"})]
    assert not is_stale(np.array([v for _, v in s1])).any()


def test_errors_mark_rule_unhealthy_and_group_continues(env: Env) -> None:
    bad = RecordingRule("dup", "x", labels=Labels({"i": "same"}))
    good = RecordingRule("ok", "vector(1)")
    g = env.group(bad, good)
    env.put({"__name__": "x", "i": "1"}, 0, 1)
    env.put({"__name__": "x", "i": "2"}, 0, 1)
    g.evaluate(0)
    assert bad.health == "err"
    assert bad.last_error == "vector contains metrics with the same labelset after applying rule labels"
    assert good.health == "ok" and good.last_error == ""
    assert env.instant("ok", 0) == {"ok": 1.0}
    assert (g.metrics.evaluations, g.metrics.evaluation_failures, g.metrics.iterations) == (2, 1, 1)


def test_duplicate_alert_labelsets_fail(env: Env) -> None:
    r = alert_rule(expr="latency", labels=Labels({"instance": "x"}))
    env.put({"__name__": "latency", "instance": "a"}, 0, 1)
    env.put({"__name__": "latency", "instance": "b"}, 0, 1)
    env.group(r).evaluate(0)
    assert r.last_error == "vector contains metrics with the same labelset after applying alert labels"


def test_non_vector_result_is_an_error(env: Env) -> None:
    r = RecordingRule("s", '"text"')
    env.group(r).evaluate(0)
    assert r.last_error == "rule result is not a vector or scalar"


@pytest.mark.parametrize(("limit", "err"), [(0, ""), (3, ""), (2, "exceeded limit of 2 with 3 series")])
def test_recording_limit(env: Env, limit: int, err: str) -> None:
    r = RecordingRule("c", "x")
    for i in range(3):
        env.put({"__name__": "x", "i": str(i)}, 0, 1)
    env.group(r, limit=limit).evaluate(0)
    assert r.last_error == err


def test_alerting_limit_clears_alerts(env: Env) -> None:
    r = alert_rule(expr="x > 0")
    for i in range(3):
        env.put({"__name__": "x", "i": str(i)}, 0, 1)
    env.group(r, limit=2).evaluate(0)
    assert r.last_error == "exceeded limit of 2 with 3 alerts"
    assert r.active == {}


def test_query_offset_shifts_query_and_sample_time(env: Env) -> None:
    rec = RecordingRule("y", "x")
    g = env.group(rec, query_offset_ms=M)
    env.put({"__name__": "x"}, 0, 1)
    env.put({"__name__": "x"}, 2 * M, 2)
    g.evaluate(2 * M)
    # Queried at 1m (sees the sample at 0), written at 1m.
    assert env.raw("y", 3 * M) == {Labels({"__name__": "y"}): [(M, 1.0)]}


def test_group_offset_is_within_interval_and_stable() -> None:
    off = group_offset_ns("rules.yml", "g", M)
    assert 0 <= off < M * 1_000_000
    assert off == group_offset_ns("rules.yml", "g", M)
    assert off != group_offset_ns("rules.yml", "h", M)


def test_eval_timestamp_aligns_with_offset(env: Env) -> None:
    g = env.group(RecordingRule("y", "x"))
    off_ms = group_offset_ns(g.file, g.name, M) // 1_000_000
    for now in (0, 1, 59_999, 10**12 + 12345):
        ts = g.eval_timestamp(now)
        assert now - M < ts <= now
        assert (ts - off_ms) % M in (0, M - 1)  # ns offset floored to ms


@pytest.mark.parametrize(
    ("last", "now", "want"),
    [
        (0, 0, (M, 0)),
        (0, M - 1, (M, 0)),
        (0, M, (M, 0)),
        (0, 2 * M + 5, (2 * M, 1)),
        (0, 10 * M, (10 * M, 9)),
    ],
)
def test_next_eval_counts_missed_iterations(last: int, now: int, want: tuple[int, int]) -> None:
    assert next_eval(last, now, M) == want


def test_copy_state_keeps_alerts_and_marks_removed_rule_series_stale(env: Env) -> None:
    old_alert, old_rec = alert_rule(), RecordingRule("gone", "vector(1)")
    old = env.group(old_alert, old_rec)
    env.put({"__name__": "latency"}, 0, 5)
    old.evaluate(0)
    new_alert = alert_rule(annotations=Labels({"summary": "changed"}))
    new = env.group(new_alert)
    new.copy_state(old)
    assert new_alert.active == old_alert.active
    env.put({"__name__": "latency"}, M, 5)
    new.evaluate(M)
    (gone,) = env.raw("gone", M).values()
    assert gone[0] == (0, 1.0) and gone[1][0] == M and is_stale(np.array([gone[1][1]]))[0]
    assert next(iter(new_alert.active.values())).annotations.get("summary").startswith("changed")


def test_mark_all_stale(env: Env) -> None:
    g = env.group(RecordingRule("one", "vector(1)"))
    g.evaluate(0)
    g.mark_all_stale(M)
    (samples,) = env.raw("one", M).values()
    assert samples[1][0] == M and is_stale(np.array([samples[1][1]]))[0]


def test_append_failures_are_counted_not_raised(env: Env) -> None:
    def refuse(batch: SampleBatch) -> int:
        raise RuntimeError("disk full")

    env.opts.appendable = refuse
    g = env.group(RecordingRule("one", "vector(1)"))
    g.evaluate(0)
    assert g.metrics.append_errors == {"RuntimeError": 1}
    assert g.rules[0].health == "ok"


def test_levels_one_alert_per_level_higher_suppresses_lower(env: Env) -> None:
    from watchkeeper.rules.alerting_rule import Level

    levels = (Level(Labels({"severity": "critical"}), 95), Level(Labels({"severity": "warning"}), 80))
    r = alert_rule("Disk", "disk", levels=levels)
    g = env.group(r)
    got = []
    for i, v in enumerate([50, 85, 97, 85, 50]):
        env.put({"__name__": "disk", "dev": "sda"}, i * M, v)
        g.evaluate(i * M)
        got.append(sorted((a.labels.get("severity"), a.state.value) for a in r.active.values()))
    assert got == [
        [],
        [("warning", "firing")],
        [("critical", "firing"), ("warning", "inactive")],
        [("critical", "inactive"), ("warning", "firing")],
        [("critical", "inactive"), ("warning", "inactive")],
    ]


def test_level_recovery_threshold(env: Env) -> None:
    from watchkeeper.rules.alerting_rule import Level

    r = alert_rule("Hot", "temp", levels=(Level(Labels({"severity": "page"}), 90, recover=80),))
    g = env.group(r)
    states_seen = []
    for i, v in enumerate([85, 91, 85, 80, 79.9, 85]):
        env.put({"__name__": "temp"}, i * M, v)
        g.evaluate(i * M)
        states_seen.append(r.state().value)
    # Fires above 90, stays firing down to 80, resolves below 80, does not re-fire at 85.
    assert states_seen == ["inactive", "firing", "firing", "firing", "inactive", "inactive"]


def test_levels_below(env: Env) -> None:
    from watchkeeper.rules.alerting_rule import Level

    r = alert_rule(
        "Low", "free", levels=(Level(Labels({"severity": "warning"}), 10, above=False, recover=20),)
    )
    g = env.group(r)
    seen = []
    for i, v in enumerate([15, 5, 15, 25]):
        env.put({"__name__": "free"}, i * M, v)
        g.evaluate(i * M)
        seen.append(r.state().value)
    assert seen == ["inactive", "firing", "firing", "inactive"]


def test_backtest_reports_transitions(env: Env) -> None:
    from watchkeeper.rules.backtest import backtest, format_report

    rec = RecordingRule("lat:max", "max(latency)")
    r = alert_rule("Slow", "lat:max > 1", for_ms=2 * M)
    g = env.group(rec, r)
    # High from 10m to 20m, then low.
    for i in range(40):
        env.put({"__name__": "latency"}, i * M, 5 if 10 <= i < 20 else 0)
    off = g.eval_timestamp(0) + M  # first evaluation instant after 0
    got = backtest([g], 0, 40 * M)
    assert [(t.state, t.alertname) for t in got] == [
        ("pending", "Slow"),
        ("firing", "Slow"),
        ("resolved", "Slow"),
    ]
    pending, firing, resolved = (t.at_ms for t in got)
    assert (pending - off) % M == 0 and 9 * M < pending <= 11 * M
    assert firing == pending + 2 * M
    assert 19 * M < resolved <= 21 * M
    report = format_report(got)
    assert report.count("\n") == 3 and "  firing    Slow{}  value=5\n" in report


def test_backtest_pending_that_clears(env: Env) -> None:
    from watchkeeper.rules.backtest import backtest

    g = env.group(alert_rule("Blip", "latency > 1", for_ms=10 * M))
    for i in range(10):
        env.put({"__name__": "latency"}, i * M, 5 if i == 3 else 0)
    assert [t.state for t in backtest([g], 0, 10 * M)] == ["pending", "resolved"]


def test_notify_failure_is_counted_not_raised(env: Env) -> None:
    def broken(alerts: list[Alert], expr: str) -> None:
        raise RuntimeError("receiver down")

    env.opts.notify = broken
    r = alert_rule()
    g = env.group(r)
    env.put({"__name__": "latency"}, 0, 5)
    g.evaluate(0)
    assert g.metrics.notify_errors == 1 and r.health == "ok"
    assert env.instant("ALERTS", 0) != {}
