"""Routing tree: the amtool-verified cases read in place, inheritance, group keys and fingerprints."""

from __future__ import annotations

import pytest
import yaml

from conformance_data import CONFORMANCE
from watchkeeper.alerting.config import load_config, load_config_file
from watchkeeper.alerting.keys import fingerprint, format_labelset, go_quote

SCEN = CONFORMANCE / "alertmanager" / "scenarios"
pytestmark = pytest.mark.skipif(not SCEN.is_dir(), reason="conformance data not present")


def _cases() -> list[tuple[str, dict[str, str], list[str]]]:
    if not SCEN.is_dir():
        return []
    doc = yaml.safe_load((SCEN / "routing-cases.yml").read_text())
    out = [(doc["config"], c["labels"], c["receivers"]) for c in doc["cases"]]
    out += [(c["config"], c["labels"], c["receivers"]) for c in doc["upstream_cases"]]
    return out


@pytest.mark.parametrize(("config", "labels", "receivers"), _cases(), ids=lambda x: str(x))
def test_routing_cases(config: str, labels: dict[str, str], receivers: list[str]) -> None:
    cfg = load_config_file(SCEN / config)
    labels = {k: str(v) for k, v in labels.items()}
    assert [r.opts.receiver for r in cfg.route.match(labels)] == receivers


def test_case_count() -> None:
    assert len(_cases()) == 14


TREE = """
route:
  receiver: root
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['team="db"']
      receiver: db
      group_by: [alertname, env]
      repeat_interval: 1h
      mute_time_intervals: [nights]
      routes:
        - match: {severity: critical}
          group_interval: 1m
          active_time_intervals: [days]
        - match_re: {severity: warn.*}
          group_by: []
    - matchers: ['x=~"a|b"', 'a="1"']
      receiver: all
      group_by: ['...']
      routes:
        - matchers: [y="2"]
receivers: [{name: root}, {name: db}, {name: all}]
time_intervals: [{name: nights}, {name: days}]
"""


def test_inheritance() -> None:
    root = load_config(TREE).route
    db, alls = root.routes
    crit, warn = db.routes
    assert (root.opts.group_wait, root.opts.group_interval, root.opts.repeat_interval) == (10, 300, 14400)
    assert root.opts.group_by == {"alertname"}
    assert db.opts.group_by == {"alertname", "env"} and db.opts.repeat_interval == 3600
    assert db.opts.mute_time_intervals == ("nights",)
    # children inherit receiver, group_by, timers; not time intervals
    assert crit.opts.receiver == "db" and crit.opts.group_by == {"alertname", "env"}
    assert (crit.opts.group_wait, crit.opts.group_interval, crit.opts.repeat_interval) == (10, 60, 3600)
    assert crit.opts.mute_time_intervals == () and crit.opts.active_time_intervals == ("days",)
    assert warn.opts.group_by == {"alertname", "env"}  # explicit [] inherits
    assert alls.routes[0].opts.group_by_all and alls.routes[0].opts.receiver == "all"
    assert crit.opts.to_dict()["group_interval"] == "1m"
    assert alls.opts.to_dict()["group_by"] == ["..."]


def test_default_timers() -> None:
    root = load_config("route: {receiver: r}\nreceivers: [{name: r}]\n").route
    assert (root.opts.group_wait, root.opts.group_interval, root.opts.repeat_interval) == (30, 300, 4 * 3600)
    assert root.opts.group_by == frozenset() and not root.opts.group_by_all


def test_route_and_group_keys() -> None:
    root = load_config(TREE).route
    db, alls = root.routes
    labels = {"alertname": "X", "env": "prod", "team": "db", "severity": "critical", "instance": "i"}
    assert root.key == "{}"
    assert db.key == '{}/{team="db"}'
    assert db.routes[0].key == '{}/{team="db"}/{severity="critical"}'
    assert db.routes[1].key == '{}/{team="db"}/{severity=~"^(?:warn.*)$"}'  # match_re is kept anchored
    assert alls.key == '{}/{a="1",x=~"a|b"}'  # sorted by name
    assert db.group_key(labels) == '{}/{team="db"}:{alertname="X", env="prod"}'
    assert root.group_key({"alertname": "G1", "instance": "a"}) == '{}:{alertname="G1"}'
    assert alls.group_key({"b": "2", "a": "1"}) == '{}/{a="1",x=~"a|b"}:{a="1", b="2"}'
    assert root.group_key({"x": "1"}) == "{}:{}"  # missing group_by labels are simply absent
    assert [r.opts.receiver for r in root.match(labels)] == ["db"]
    assert [r.key for r in root.walk()][:3] == [
        "{}",
        '{}/{team="db"}',
        '{}/{team="db"}/{severity="critical"}',
    ]


def test_fingerprint_and_quoting() -> None:
    assert fingerprint({"alertname": "G1", "instance": "a"}) == "89ebaa99bbf4f944"
    assert fingerprint({"alertname": "G1", "instance": "b"}) == "89efaa99bbf8e21b"
    assert fingerprint({}) == "cbf29ce484222325"
    assert go_quote('a"b\\c\nd\x01é') == '"a\\"b\\\\c\\nd\\x01é"'
    assert format_labelset({"b": "2", "a": 'x"y'}) == '{a="x\\"y", b="2"}'
