"""Inhibition: equal labels, source/target sides, resolved sources, and no self-inhibition."""

from __future__ import annotations

from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.config import load_config
from watchkeeper.alerting.inhibit import Inhibitor

NOW = 1_000


def rules(text: str) -> Inhibitor:
    cfg = load_config("route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n" + text)
    return Inhibitor(cfg.inhibit_rules)


def alert(ends_at: int | None = None, **labels: str) -> Alert:
    return Alert(labels=labels, starts_at=1, ends_at=ends_at)


def test_behavior_scenario() -> None:
    ih = rules(
        "  - source_matchers: ['severity=\"critical\"']\n    target_matchers: ['severity=\"warning\"']\n"
        "    equal: [instance]\n"
    )
    s = alert(alertname="G4src", severity="critical", instance="x")
    t1 = alert(alertname="G4", severity="warning", instance="x")
    t2 = alert(alertname="G4", severity="warning", instance="y")
    for a in (s, t1, t2):
        ih.put(a)
    assert ih.mutes(t1.labels, NOW) == s.fingerprint
    assert ih.mutes(t2.labels, NOW) is None
    assert ih.mutes(s.labels, NOW) is None
    # once the source resolves, the target is free again
    ih.put(alert(ends_at=NOW, alertname="G4src", severity="critical", instance="x"))
    assert ih.mutes(t1.labels, NOW) is None
    assert ih.mutes(t1.labels, NOW - 1) == s.fingerprint  # not yet resolved then
    ih.delete(s.fingerprint)
    assert ih.mutes(t1.labels, NOW - 1) is None


def test_absent_equal_labels_count_as_equal_and_old_maps() -> None:
    ih = rules(
        "  - source_match: {severity: critical}\n    target_match_re: {severity: 'warn.*'}\n"
        "    equal: [cluster, service]\n"
    )
    ih.put(alert(alertname="A", severity="critical"))
    assert ih.mutes({"alertname": "B", "severity": "warning"}, NOW) is not None
    assert ih.mutes({"alertname": "B", "severity": "warning", "cluster": "c"}, NOW) is None
    assert ih.mutes({"alertname": "B", "severity": "info"}, NOW) is None


def test_alert_does_not_inhibit_itself() -> None:
    # Every alert with team=x matches both sides.
    ih = rules("  - source_matchers: [team=x]\n    target_matchers: [team=x]\n    equal: [cluster]\n")
    a = alert(team="x", cluster="c", alertname="A")
    ih.put(a)
    assert ih.mutes(a.labels, NOW) is None
    # a second two-sided alert does not inhibit it either
    ih.put(alert(team="x", cluster="c", alertname="B"))
    assert ih.mutes(a.labels, NOW) is None
    # a target-only alert is inhibited by a two-sided source
    ih2 = rules("  - source_matchers: [team=x]\n    target_matchers: [sev=warn]\n")
    ih2.put(alert(team="x", sev="warn", alertname="S"))
    assert ih2.mutes({"sev": "warn", "alertname": "T"}, NOW) is not None
    # ...but the two-sided source itself is not (its only source also matches the target side)
    assert ih2.mutes({"team": "x", "sev": "warn", "alertname": "S"}, NOW) is None
    # a one-sided source does inhibit a two-sided target
    ih2.put(alert(team="x", alertname="only-source"))
    assert ih2.mutes({"team": "x", "sev": "warn", "alertname": "S"}, NOW) is not None


def test_several_rules_different_equal_lists_and_regex_only_rules() -> None:
    ih = rules(
        "  - source_matchers: [alertname=NodeDown]\n    target_matchers: ['severity=~\"warning|info\"']\n"
        "    equal: [node]\n"
        "  - source_matchers: ['alertname=~\"Cluster.*\"']\n"
        "    target_matchers: ['alertname!=\"ClusterDown\"']\n"
        "    equal: [cluster]\n"
    )
    node_down = alert(alertname="NodeDown", node="n1", cluster="c1")
    ih.put(node_down)
    assert ih.mutes({"alertname": "Disk", "severity": "info", "node": "n1"}, NOW) == node_down.fingerprint
    assert ih.mutes({"alertname": "Disk", "severity": "critical", "node": "n1"}, NOW) is None
    assert ih.mutes({"alertname": "Disk", "severity": "info", "node": "n2"}, NOW) is None
    cluster_down = alert(alertname="ClusterDown", cluster="c2")
    ih.put(cluster_down)
    assert (
        ih.mutes({"alertname": "Disk", "severity": "critical", "cluster": "c2"}, NOW)
        == cluster_down.fingerprint
    )
    assert ih.mutes({"alertname": "ClusterDown", "cluster": "c2"}, NOW) is None
    # re-putting a source with an endsAt in the past replaces the old facts
    ih.put(alert(ends_at=NOW - 1, alertname="ClusterDown", cluster="c2"))
    assert ih.mutes({"alertname": "Disk", "cluster": "c2"}, NOW) is None
    ih.delete(node_down.fingerprint)
    assert ih.mutes({"alertname": "Disk", "severity": "info", "node": "n1"}, NOW) is None


def test_ten_thousand_targets_with_a_hundred_rules() -> None:
    # Correctness at scale only; the speed of this path is measured by benchmarks/ (alertmanager).
    text = "".join(
        f"  - source_matchers: ['alertname=\"Src{i}\"', severity=critical]\n"
        f"    target_matchers: ['severity=\"warning\"', 'service=~\"svc{i}|x\"']\n    equal: [instance]\n"
        for i in range(100)
    )
    ih = rules(text)
    for i in range(100):
        ih.put(alert(alertname=f"Src{i}", severity="critical", instance=f"i{i}"))
    targets = [
        {"alertname": "T", "severity": "warning", "service": f"svc{i % 100}", "instance": f"i{i % 200}"}
        for i in range(10_000)
    ]
    muted = sum(ih.mutes(t, NOW) is not None for t in targets)
    assert muted == 5_000  # instance i0..i99 have a source for their own service
