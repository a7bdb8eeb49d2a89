"""Dispatcher timing: the recorded Alertmanager 0.25 run (scenarios/timing-run-am0.25.json) replayed on a
fake clock must give the same notifications at the same ticks, plus the rules of BEHAVIOR.md section 11."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.config import load_config, load_config_file
from watchkeeper.alerting.dispatch import Dispatcher, sort_alerts
from watchkeeper.alerting.errors import ConfigError
from watchkeeper.alerting.matchers import parse_matchers
from watchkeeper.alerting.nflog import NotificationLog
from watchkeeper.alerting.silences import Silence, Silences

SCEN = CONFORMANCE / "alertmanager" / "scenarios"
S = 1_000_000_000
T0 = 1_800_000_000 * S


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def firing(name: str, **labels: str) -> Alert:
    return Alert(labels={"alertname": name, **labels}, annotations={"summary": "s"})


def resolved(name: str, now: int, **labels: str) -> Alert:
    return Alert(labels={"alertname": name, **labels}, ends_at=now)


class Harness:
    """Drives a dispatcher on a fake clock, delivering every notification successfully."""

    def __init__(self, config_text: str | None = None, path: Path | None = None) -> None:
        self.clock = Clock()
        cfg = load_config_file(path) if path else load_config(config_text or "")
        self.silences = Silences(clock=self.clock)
        self.disp = Dispatcher(cfg, silences=self.silences, nflog=NotificationLog(clock=self.clock))
        self.sent: list[tuple[float, str, str, list[tuple[str, str]]]] = []

    def advance_to(self, t: float) -> None:
        target = T0 + round(t * S)
        for _ in range(10_000):
            deadline = self.disp.next_deadline()
            if deadline is None or deadline > target:
                break
            self.clock.now = deadline
            for flush in self.disp.run_due(deadline):
                for n in flush.notifications:
                    if n.deliver:
                        status = [
                            (a.labels.get("instance", ""), "resolved" if a.ends_at else "firing")
                            for a in n.alerts
                        ]
                        self.sent.append(((deadline - T0) / S, n.receiver, n.group_key, status))
                flush.complete()
        self.clock.now = target

    def post(self, t: float, *alerts: Alert) -> None:
        self.advance_to(t)
        self.disp.put(alerts, self.clock.now)


@pytest.mark.skipif(not SCEN.is_dir(), reason="conformance data not present")
def test_recorded_timing_run() -> None:
    h = Harness(path=SCEN / "timing-config.yml")
    h.silences.set(Silence(tuple(parse_matchers('alertname="G5"')), T0 - S, T0 + 3600 * S))
    now = T0
    h.post(
        0,
        firing("G1", instance="a"),
        Alert(labels={"alertname": "G2", "instance": "old"}, starts_at=now - 60 * S),
        firing("G3", instance="flap"),
        firing("G4src", severity="critical", instance="x"),
        firing("G4", severity="warning", instance="x"),
        firing("G4", severity="warning", instance="y"),
        firing("G5", instance="s"),
        firing("G6", team="nores", instance="n"),
    )
    h.post(1, firing("G1", instance="b"), resolved("G3", T0 + 1 * S, instance="flap"))
    h.post(3, firing("G1", instance="c"), resolved("G6", T0 + 3 * S, team="nores", instance="n"))
    h.post(20, resolved("G1", T0 + 20 * S, instance="a"))
    h.advance_to(29)

    run = json.loads((SCEN / "timing-run-am0.25.json").read_text())
    receivers = {"/hook": "hook", "/noresolved": "hook-noresolved"}
    expected = sorted(
        (
            round(n["t_rel_s"]),
            receivers[n["path"]],
            n["payload"]["groupKey"],
            [(a["labels"].get("instance", ""), a["status"]) for a in n["payload"]["alerts"]],
        )
        for n in run["notifications"]
    )
    got = sorted((round(t), r, k, a) for t, r, k, a in h.sent)
    assert got == expected


BASIC = """
route:
  receiver: hook
  group_by: [alertname]
  {timers}
receivers:
  - name: hook
    webhook_configs: [{{url: 'http://127.0.0.1:9/'}}]
"""


def test_default_timers_batch_and_repeat_every_4h05m() -> None:
    h = Harness(BASIC.format(timers=""))
    # endsAt far ahead, as Prometheus keeps sending it; without it resolve_timeout (5m) would resolve them.
    until = T0 + 24 * 3600 * S
    h.post(0, Alert(labels={"alertname": "A", "instance": "1"}, ends_at=until))
    h.post(10, Alert(labels={"alertname": "A", "instance": "2"}, ends_at=until))
    h.advance_to(9 * 3600)
    times = [t for t, *_ in h.sent]
    assert times == [30, 30 + 4 * 3600 + 300, 30 + 2 * (4 * 3600 + 300)]
    assert h.sent[0][3] == [("1", "firing"), ("2", "firing")]


def test_flap_within_group_wait_sends_nothing_and_group_is_dropped() -> None:
    h = Harness(BASIC.format(timers="group_wait: 2s"))
    h.post(0, firing("A", instance="1"))
    h.post(1, resolved("A", T0 + S, instance="1"))
    h.advance_to(60)
    assert h.sent == [] and h.disp.groups() == []


def test_group_by_all_and_continue_make_separate_groups() -> None:
    h = Harness("""
route:
  receiver: a
  group_by: ['...']
  group_wait: 1s
  routes:
    - matchers: [x="1"]
      receiver: a
      continue: true
    - matchers: [x=~".+"]
      receiver: b
      group_by: [x]
receivers: [{name: a, webhook_configs: [{url: 'http://h/'}]}, {name: b, webhook_configs: [{url: 'http://h/'}]}]
""")
    h.post(0, firing("A", x="1", instance="i"), firing("B", x="1", instance="j"))
    h.advance_to(2)
    keys = sorted((r, k, len(a)) for _, r, k, a in h.sent)
    assert keys == [
        ("a", '{}/{x="1"}:{alertname="A", instance="i", x="1"}', 1),
        ("a", '{}/{x="1"}:{alertname="B", instance="j", x="1"}', 1),
        ("b", '{}/{x=~".+"}:{x="1"}', 2),
    ]


def test_mute_time_interval_holds_back_then_sends_current_state() -> None:
    # T0 is 2027-01-15T08:00:00Z (a Friday); mute 08:00-08:01 UTC.
    h = Harness("""
route:
  receiver: hook
  group_wait: 1s
  group_interval: 10s
  routes:
    - matchers: [team=x]
      mute_time_intervals: [minute]
receivers: [{name: hook, webhook_configs: [{url: 'http://h/'}]}]
time_intervals: [{name: minute, time_intervals: [{times: [{start_time: '08:00', end_time: '08:01'}]}]}]
""")
    h.post(0, firing("A", team="x"))
    h.advance_to(59)
    assert h.sent == []
    h.advance_to(62)
    assert [t for t, *_ in h.sent] == [61]


def test_sort_order() -> None:
    alerts = [
        Alert(labels=labels)
        for labels in (
            {"a": "1"},
            {"job": "b", "instance": "2"},
            {"job": "b"},
            {"job": "a", "instance": "9"},
            {"instance": "1"},
        )
    ]
    assert [dict(a.labels) for a in sort_alerts(alerts)] == [
        {"job": "a", "instance": "9"},
        {"job": "b", "instance": "2"},
        {"job": "b"},
        {"instance": "1"},
        {"a": "1"},
    ]


def test_resolve_timeout_resolves_unrefreshed_alerts() -> None:
    h = Harness(BASIC.format(timers="group_wait: 1s\n  group_interval: 10s"))
    h.post(0, firing("A", instance="1"))
    h.advance_to(400)
    assert [(t, a) for t, _, _, a in h.sent] == [(1, [("1", "firing")]), (301, [("1", "resolved")])]
    assert h.disp.groups() == []  # the resolved alert was delivered and dropped; the empty group is gone


def test_failed_delivery_is_retried_at_next_tick_and_keeps_resolved() -> None:
    h = Harness(BASIC.format(timers="group_wait: 1s\n  group_interval: 5s"))
    h.post(0, firing("A", instance="1"))
    h.clock.now = T0 + S
    (flush,) = h.disp.run_due(h.clock.now)
    assert len(flush.notifications) == 1
    flush.complete(succeeded=[])  # the webhook failed: nothing logged
    h.clock.now = T0 + 6 * S
    (flush,) = h.disp.run_due(h.clock.now)
    assert flush.notifications[0].reason == "first notification"


def test_alert_store_merge_and_gc() -> None:
    h = Harness(BASIC.format(timers="group_wait: 1s"))
    h.post(0, Alert(labels={"alertname": "A"}, starts_at=T0 - 5 * S, ends_at=T0 + 100 * S))
    h.post(2, Alert(labels={"alertname": "A"}, starts_at=T0 + S, ends_at=T0 + 200 * S))
    (stored,) = list(h.disp.alerts)
    assert stored.starts_at == T0 - 5 * S and stored.ends_at == T0 + 200 * S  # overlap: merged
    assert h.disp.gc(T0 + 150 * S) == 0
    assert h.disp.gc(T0 + 200 * S) == 1 and len(h.disp.alerts) == 0


def test_send_resolved_when_silenced_extension() -> None:
    h = Harness("""
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5s
  routes:
    - matchers: [team=x]
      send_resolved_when_silenced: true
    - matchers: [team=y]
receivers: [{name: hook, webhook_configs: [{url: 'http://h/'}]}]
""")
    until = T0 + 3600 * S
    h.post(
        0,
        Alert(labels={"alertname": "A", "team": "x", "instance": "a"}, ends_at=until),
        Alert(labels={"alertname": "B", "team": "y", "instance": "b"}, ends_at=until),
        Alert(labels={"alertname": "C", "team": "x", "instance": "c"}, starts_at=T0, ends_at=until),
    )
    h.advance_to(2)
    assert sorted(k for _, _, k, _ in h.sent) == [
        '{}/{team="x"}:{alertname="A"}',
        '{}/{team="x"}:{alertname="C"}',
        '{}/{team="y"}:{alertname="B"}',
    ]
    h.silences.set(Silence(tuple(parse_matchers('team=~"x|y"')), T0 + 2 * S, T0 + 3600 * S))
    h.sent.clear()
    h.post(
        3,
        resolved("A", T0 + 3 * S, team="x", instance="a"),
        resolved("B", T0 + 3 * S, team="y", instance="b"),
    )
    h.advance_to(30)
    # only the opted-in route tells the receiver, once; the plain route stays quiet like Alertmanager
    assert h.sent == [(6.0, "hook", '{}/{team="x"}:{alertname="A"}', [("a", "resolved")])]


def test_extension_key_validated() -> None:
    with pytest.raises(ConfigError, match="send_resolved_when_silenced must be a boolean"):
        load_config("route: {receiver: r, send_resolved_when_silenced: maybe}\nreceivers: [{name: r}]\n")
    cfg = load_config(
        "route:\n  receiver: r\n  send_resolved_when_silenced: true\n  routes: [{receiver: r}]\n"
        "receivers: [{name: r}]\n"
    )
    assert cfg.route.routes[0].opts.send_resolved_when_silenced  # inherited like the other options
