"""``/api/v1/rules``, ``/api/v1/alerts`` and the rule-group CRUD API, in-process over a real rule manager."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from watchkeeper.api.app import create_app
from watchkeeper.api.context import ApiContext
from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine
from watchkeeper.rules.manager import RuleLoadError, RuleManager
from watchkeeper.rules.store import RuleGroupStore
from watchkeeper.storage.db import TSDB

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

T0 = 1_700_000_000_000
RULES = """\
groups:
  - name: cpu
    interval: 15s
    rules:
      - record: instance:cpu:max
        expr: max by (instance) (cpu)
      - alert: CpuHigh
        expr: cpu > 0.9
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} at {{ $value }}"}
"""
GROUP = """\
name: extra
rules:
  - alert: Always
    expr: vector(1)
"""


@dataclass
class Env:
    client: TestClient
    manager: RuleManager
    store: RuleGroupStore
    rule_file: str
    fail_reload: list[bool]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    db = TSDB(None)
    series = [Labels({"__name__": "cpu", "instance": i}) for i in ("a", "b")]
    db.append(SampleBatch(series, np.array([0, 1]), np.array([T0, T0]), np.array([0.95, 0.2])))
    engine = Engine(timeout_s=10)
    manager = RuleManager(query=lambda e, t: engine.instant_query(db, e, t), appendable=db.append,
                          notify=lambda alerts, expr: None, clock=lambda: T0 / 1000)
    rule_file = str(tmp_path / "cpu.yml")
    Path(rule_file).write_text(RULES)
    store = RuleGroupStore(tmp_path / "rules-api")
    fail_reload = [False]

    async def reload_rules() -> None:
        if fail_reload[0]:
            raise RuleLoadError(["other.yml: broken"])
        manager.update([rule_file, *store.files()])

    manager.update([rule_file])
    for g in manager.groups:
        g.evaluate(T0)
    with ThreadPoolExecutor(2) as pool:
        ctx = ApiContext(
            storage=db, engine=engine, executor=pool, lookback_ms=lambda: 300_000, external_labels=dict,
            config_yaml=str, flags={}, runtime_info=dict, scrape_manager=lambda: None, reload=reload_rules,
            is_ready=lambda: True, own_metrics=bytes, rules=lambda: manager, rule_store=lambda: store,
            reload_rules=reload_rules)
        with TestClient(create_app(ctx)) as client:
            yield Env(client, manager, store, rule_file, fail_reload)
    db.close()


def _data(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_rules_lists_groups_like_prometheus(env: Env) -> None:
    groups = _data(env.client.get("/api/v1/rules"))["groups"]
    assert len(groups) == 1
    g = groups[0]
    assert (g["name"], g["file"], g["interval"], g["limit"]) == ("cpu", env.rule_file, 15, 0)
    rec, alert = g["rules"]
    assert rec == {**rec, "name": "instance:cpu:max", "type": "recording", "health": "ok", "lastError": ""}
    assert alert["type"] == "alerting" and alert["state"] == "firing" and alert["duration"] == 0
    assert alert["alerts"] == [{"labels": {"alertname": "CpuHigh", "instance": "a", "severity": "page"},
                                "annotations": {"summary": "a at 0.95"}, "state": "firing",
                                "activeAt": "2023-11-14T22:13:20Z", "value": "9.5e-01"}]


@pytest.mark.parametrize(("params", "names"), [
    ({"type": "alert"}, ["CpuHigh"]),
    ({"type": "record"}, ["instance:cpu:max"]),
    ({"rule_name[]": ["CpuHigh", "nope"]}, ["CpuHigh"]),
    ({"rule_group[]": "cpu"}, ["instance:cpu:max", "CpuHigh"]),
    ({"rule_group[]": "other"}, []),
    ({"file[]": "/elsewhere.yml"}, []),
])
def test_rules_filters(env: Env, params: dict[str, Any], names: list[str]) -> None:
    groups = _data(env.client.get("/api/v1/rules", params=params))["groups"]
    assert [r["name"] for g in groups for r in g["rules"]] == names


def test_rules_bad_parameters(env: Env) -> None:
    r = env.client.get("/api/v1/rules", params={"type": "x"})
    assert r.status_code == 400 and r.json()["error"] == 'unsupported type "x"'
    r = env.client.get("/api/v1/rules", params={"exclude_alerts": "maybe"})
    assert r.status_code == 400 and "exclude_alerts" in r.json()["error"]
    rules = _data(env.client.get("/api/v1/rules", params={"exclude_alerts": "1"}))["groups"][0]["rules"]
    assert all("alerts" not in r for r in rules)


def test_alerts(env: Env) -> None:
    alerts = _data(env.client.get("/api/v1/alerts"))["alerts"]
    assert [(a["labels"]["instance"], a["state"]) for a in alerts] == [("a", "firing")]


def test_ruler_create_list_get_delete(env: Env) -> None:
    c = env.client
    assert yaml.safe_load(c.get("/api/v1/rules-api").text) == {}
    r = c.post("/api/v1/rules-api/team a", content=GROUP, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 202, r.text
    assert [g.name for g in env.manager.groups] == ["cpu", "extra"]
    assert yaml.safe_load(c.get("/api/v1/rules-api").text) == {"team a": [yaml.safe_load(GROUP)]}
    assert yaml.safe_load(c.get("/api/v1/rules-api/team a").text) == {"team a": [yaml.safe_load(GROUP)]}
    assert yaml.safe_load(c.get("/api/v1/rules-api/team a/extra").text)["rules"][0]["alert"] == "Always"
    # Replacing a group of the same name keeps one group.
    r = c.post("/api/v1/rules-api/team a", content=GROUP.replace("vector(1)", "vector(2)"))
    assert r.status_code == 202
    assert [r.expr for g in env.manager.groups if g.name == "extra" for r in g.rules] == ["vector(2)"]
    assert c.delete("/api/v1/rules-api/team a/extra").status_code == 202
    assert [g.name for g in env.manager.groups] == ["cpu"]
    assert c.get("/api/v1/rules-api/team a/extra").status_code == 404
    assert c.delete("/api/v1/rules-api/team a/extra").status_code == 404
    assert c.get("/api/v1/rules-api/team a").status_code == 404


def test_ruler_rejects_invalid_groups(env: Env) -> None:
    c = env.client
    r = c.post("/api/v1/rules-api/ns", content=GROUP.replace("vector(1)", "sum("))
    assert r.status_code == 400 and r.json()["errorType"] == "bad_data"
    assert "unclosed left parenthesis" in r.json()["error"] or "parse error" in r.json()["error"]
    r = c.post("/api/v1/rules-api/ns", content="rules: []\n")
    assert r.status_code == 400 and "non-empty name" in r.json()["error"]
    r = c.post("/api/v1/rules-api/ns", content="name: [\n")
    assert r.status_code == 400 and "invalid rule group YAML" in r.json()["error"]
    assert env.store.files() == [] and [g.name for g in env.manager.groups] == ["cpu"]


def test_ruler_rolls_back_when_reload_fails(env: Env) -> None:
    c = env.client
    assert c.post("/api/v1/rules-api/ns", content=GROUP).status_code == 202
    env.fail_reload[0] = True
    r = c.post("/api/v1/rules-api/ns", content=GROUP.replace("extra", "second"))
    assert r.status_code == 400 and "other.yml: broken" in r.json()["error"]
    assert [g["name"] for g in env.store.groups("ns")] == ["extra"]
    r = c.delete("/api/v1/rules-api/ns")
    assert r.status_code == 400 and [g["name"] for g in env.store.groups("ns")] == ["extra"]
    env.fail_reload[0] = False
    assert c.delete("/api/v1/rules-api/ns").status_code == 202 and env.store.files() == []
