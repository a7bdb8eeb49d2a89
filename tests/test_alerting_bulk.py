"""Bulk status of the alert store: the label index's selections, ``Inhibitor.mutes_all`` and
``AlertmanagerService.statuses`` give exactly the per-alert answers, and their caches follow changes."""

from __future__ import annotations

import itertools

from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.config import load_config
from watchkeeper.alerting.inhibit import Inhibitor
from watchkeeper.alerting.labelindex import LabelIndex
from watchkeeper.alerting.matchers import parse_matchers
from watchkeeper.alerting.service import AlertmanagerService
from watchkeeper.alerting.silences import Silence

S = 1_000_000_000
NOW = 1_800_000_000 * S

RULES = """
  - source_matchers: ['alertname="Down"']
    target_matchers: ['severity=~"warn|info"']
    equal: [cluster]
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity!="critical"', 'team=~"a|"']
    equal: [cluster, zone]
  - source_matchers: ['team="b"']
    target_matchers: ['team="b"']
    equal: [zone]
"""


def population() -> list[Alert]:
    """Alerts over every combination of a few label values (some labels missing), with sources that
    fire, are resolved or match both sides of a rule."""
    out = []
    values = itertools.product(("Down", "Disk", "Cpu"), ("critical", "warn", "info", ""), ("c1", "c2"),
                               ("z1", ""), ("a", "b", ""))
    for k, (name, sev, cluster, zone, team) in enumerate(values):
        labels = {"alertname": name, "cluster": cluster, "severity": sev, "zone": zone, "team": team,
                  "n": str(k)}
        ends = NOW - S if k % 7 == 0 else NOW + 60 * S * (1 + k % 5)
        out.append(Alert(labels={k2: v for k2, v in labels.items() if v}, starts_at=NOW - 600 * S,
                         ends_at=ends))
    return out


def test_select_agrees_with_matching_each_label_set() -> None:
    index = LabelIndex()
    alerts = population()
    for a in alerts:
        index.add(a.fingerprint, a.labels)
    cases = ['severity="warn"', 'severity!="warn"', 'team=~"a|"', 'team!~"b"', 'zone=""', 'zone!=""',
             'alertname=~"D.*", severity!~"crit.*"', 'nope=""', 'nope="x"',
             'cluster="c1", team="b", zone=~"z.*"']
    for text in cases:
        ms = parse_matchers(text)
        want = {a.fingerprint for a in alerts if all(m.matches(a.labels.get(m.name, "")) for m in ms)}
        assert index.select(ms) == want, text
    index.remove(alerts[0].fingerprint)
    assert alerts[0].fingerprint not in index.select(parse_matchers('cluster=~".+"'))


def test_mutes_all_gives_the_per_alert_answers_at_every_time() -> None:
    cfg = load_config("route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n" + RULES)
    ih, index = Inhibitor(cfg.inhibit_rules), LabelIndex()
    alerts = population()
    for a in alerts:
        ih.put(a)
        index.add(a.fingerprint, a.labels)
    for now in (NOW - 2 * S, NOW, NOW + 90 * S, NOW + 400 * S):
        got, change = ih.mutes_all(index, now)
        want = {a.fingerprint: fp for a in alerts if (fp := ih.mutes(a.labels, now)) is not None}
        assert got == want
        if now < NOW + 300 * S:  # some source still fires
            assert want and change is not None and change > now
        else:
            assert not want and change is None
    ih.delete(alerts[0].fingerprint)
    index.remove(alerts[0].fingerprint)
    got, _ = ih.mutes_all(index, NOW)
    assert got == {a.fingerprint: fp for a in alerts[1:] if (fp := ih.mutes(a.labels, NOW)) is not None}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def test_service_statuses_follow_alerts_silences_and_time() -> None:
    clock = Clock()
    cfg = load_config("route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n" + RULES)
    svc = AlertmanagerService(cfg, clock=clock)
    alerts = population()
    svc.put_alerts(a for a in alerts if a.ends_at is not None and a.ends_at > NOW)

    def check() -> tuple[dict, dict]:
        now = clock.now
        silenced, inhibited = svc.statuses(now)
        for a in svc.dispatcher.alerts:
            ids = svc.silences.mutes(a.labels, now)
            assert silenced.get(a.fingerprint, ()) == tuple(ids)
            assert inhibited.get(a.fingerprint) == svc.dispatcher.inhibitor.mutes(a.labels, now)
        return dict(silenced), dict(inhibited)

    _, inhibited = check()
    assert inhibited
    sid = svc.set_silence(Silence(matchers=tuple(parse_matchers('team="a"')), starts_at=NOW,
                                  ends_at=NOW + 100 * S))
    silenced, _ = check()
    assert silenced and all(ids == (sid,) for ids in silenced.values())
    clock.now = NOW + 150 * S  # the silence has ended and some sources have resolved
    silenced, later = check()
    assert not silenced and later != inhibited
    svc.put_alerts([Alert(labels={"alertname": "Down", "cluster": "c2"}, starts_at=NOW)])  # a new source
    check()
