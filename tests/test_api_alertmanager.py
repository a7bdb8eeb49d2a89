"""Alertmanager API v2: JSON shapes, filters and status codes (in process), then the real peers:
amtool 0.25 and Prometheus 2.42 against the standalone ``watchkeeper alertmanager`` process."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():
    # Starlette nudges towards another HTTP client package; httpx is what this project uses.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from conftest import Proc, Processes
from watchkeeper.alerting.config import load_config, load_config_file
from watchkeeper.alerting.service import AlertmanagerService
from watchkeeper.api.alertmanager_v2 import EVENTS_PATH
from watchkeeper.cli.alertmanager import create_app

AMTOOL = shutil.which("amtool") or "/usr/bin/amtool"

CONFIG = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  routes:
    - matchers: [team="db"]
      receiver: db
receivers:
  - name: default
  - name: db
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [instance]
"""


@pytest.fixture
def client() -> Iterator[TestClient]:
    svc = AlertmanagerService(load_config(CONFIG), external_url="http://am.example")
    with TestClient(create_app(svc)) as c:
        yield c


def _post(c: TestClient, *alerts: dict[str, Any]) -> httpx.Response:
    return c.post("/api/v2/alerts", json=list(alerts))


def test_post_and_list_alerts_with_status_and_filters(client: TestClient) -> None:
    r = _post(
        client,
        {"labels": {"alertname": "Up", "instance": "a", "severity": "critical"}, "annotations": {"s": "x"},
         "generatorURL": "http://prom/g"},
        {"labels": {"alertname": "Up", "instance": "a", "severity": "warning", "team": "db"}},
        {"labels": {"alertname": "Old", "instance": "b"}, "startsAt": "2020-01-01T00:00:00Z",
         "endsAt": "2020-01-01T00:05:00Z"},
    )
    assert r.status_code == 200
    docs = client.get("/api/v2/alerts").json()
    assert len(docs) == 2  # the resolved one is not listed
    crit = next(d for d in docs if d["labels"]["severity"] == "critical")
    warn = next(d for d in docs if d["labels"]["severity"] == "warning")
    assert set(crit) == {"annotations", "endsAt", "fingerprint", "receivers", "startsAt", "status",
                         "updatedAt", "generatorURL", "labels"}
    assert crit["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
    assert crit["receivers"] == [{"name": "default"}] and warn["receivers"] == [{"name": "db"}]
    assert warn["status"] == {"inhibitedBy": [crit["fingerprint"]], "silencedBy": [], "state": "suppressed"}
    assert crit["generatorURL"] == "http://prom/g" and crit["annotations"] == {"s": "x"}

    def names(**params: Any) -> list[str]:
        return sorted(d["labels"]["severity"] for d in client.get("/api/v2/alerts", params=params).json())

    assert names(inhibited="false") == ["critical"]
    assert names(active="false") == ["warning"]
    assert names(filter='severity=~"warn.*"') == ["warning"]
    assert names(filter=["alertname=Up", "instance!=a"]) == []
    assert names(receiver="db") == ["warning"]
    assert names(receiver="d") == []  # anchored, as Alertmanager
    bad = client.get("/api/v2/alerts", params={"filter": "sev~~x"})
    assert bad.status_code == 400 and "bad matcher format" in bad.json()["message"]

    groups = client.get("/api/v2/alerts/groups").json()
    assert sorted((g["receiver"]["name"], g["labels"]["alertname"], len(g["alerts"])) for g in groups) == [
        ("db", "Up", 1), ("default", "Up", 1)]


def test_post_alerts_bad_input(client: TestClient) -> None:
    r = client.post("/api/v2/alerts", content=b"[{")
    assert r.status_code == 400 and r.json()["code"] == 400
    r = _post(client, {"labels": {}}, {"labels": {"0bad": "x"}}, {"labels": {"a": "b"},
              "startsAt": "2020-01-01T00:05:00Z", "endsAt": "2020-01-01T00:00:00Z"},
              {"labels": {"ok": "1"}})
    assert r.status_code == 400
    assert r.json() == ('at least one label pair required; invalid name "0bad"; '
                        "start time must be before end time")
    assert [d["labels"] for d in client.get("/api/v2/alerts").json()] == [{"ok": "1"}]  # valid ones kept


def test_silences_create_update_get_list_expire(client: TestClient) -> None:
    _post(client, {"labels": {"alertname": "Up", "instance": "a"}})
    now = time.time()
    body = {"matchers": [{"name": "alertname", "value": "Up", "isRegex": False, "isEqual": True}],
            "startsAt": _ts(now - 1), "endsAt": _ts(now + 3600), "createdBy": "me", "comment": "c"}
    r = client.post("/api/v2/silences", json=body)
    assert r.status_code == 200
    sid = r.json()["silenceID"]
    got = client.get(f"/api/v2/silence/{sid}").json()
    assert got["status"] == {"state": "active"} and got["createdBy"] == "me"
    assert got["matchers"] == body["matchers"]
    [alert] = client.get("/api/v2/alerts").json()
    assert alert["status"]["silencedBy"] == [sid] and alert["status"]["state"] == "suppressed"
    # Extending an active silence keeps its id; changing matchers replaces it.
    r = client.post("/api/v2/silences",
                    json={**body, "id": sid, "startsAt": got["startsAt"], "endsAt": _ts(now + 7200)})
    assert r.json()["silenceID"] == sid
    assert client.get("/api/v2/silences", params={"filter": "alertname=Up"}).json()[0]["id"] == sid
    assert client.get("/api/v2/silences", params={"filter": "alertname=Down"}).json() == []
    assert client.delete(f"/api/v2/silence/{sid}").status_code == 200
    assert client.get(f"/api/v2/silence/{sid}").json()["status"] == {"state": "expired"}
    assert client.delete(f"/api/v2/silence/{sid}").status_code == 500  # already expired
    assert client.get("/api/v2/silence/nope").status_code == 404
    assert client.delete("/api/v2/silence/nope").status_code == 404
    assert client.post("/api/v2/silences", json={**body, "id": "nope"}).status_code == 404


@pytest.mark.parametrize(("matchers", "message"), [
    ([], "at least one matcher required"),
    ([{"name": "a", "value": "", "isRegex": False}], "at least one matcher must not match the empty string"),
    ([{"name": "a", "value": "(", "isRegex": True}], "invalid regular expression"),
    ([{"name": "0a", "value": "x", "isRegex": False}], 'invalid label name "0a"'),
])
def test_invalid_silences_are_rejected(
    client: TestClient, matchers: list[dict[str, Any]], message: str
) -> None:
    now = time.time()
    r = client.post("/api/v2/silences", json={"matchers": matchers, "startsAt": _ts(now),
                                              "endsAt": _ts(now + 60), "createdBy": "x", "comment": "y"})
    assert r.status_code == 400 and message in r.json()


def test_event_log_endpoint(client: TestClient) -> None:
    _post(client, {"labels": {"alertname": "Up", "instance": "a"}})
    now = time.time()
    matchers = [{"name": "alertname", "value": "Up", "isRegex": False}]
    client.post("/api/v2/silences", json={"matchers": matchers, "startsAt": _ts(now), "endsAt": _ts(now + 60),
                                          "createdBy": "me", "comment": "c"})
    events = client.get(EVENTS_PATH).json()
    assert [(e["kind"], e.get("status") or e.get("action")) for e in events] == [
        ("alert", "firing"), ("silence", "created")]
    assert events[0]["time"].endswith("Z") and events[1]["createdBy"] == "me"
    assert client.get(EVENTS_PATH, params={"kind": "silence"}).json()[0]["action"] == "created"
    assert client.get(EVENTS_PATH, params={"filter": "instance=a"}).json()[0]["kind"] == "alert"
    assert client.get(EVENTS_PATH, params={"start": str(now + 3600)}).json() == []
    assert client.get(EVENTS_PATH, params={"end": "2000-01-01T00:00:00Z"}).json() == []
    assert client.get(EVENTS_PATH, params={"limit": "x"}).status_code == 400


def test_receivers_and_status(client: TestClient) -> None:
    assert client.get("/api/v2/receivers").json() == [{"name": "default"}, {"name": "db"}]
    st = client.get("/api/v2/status").json()
    assert st["cluster"]["status"] == "disabled" and "route:" in st["config"]["original"]
    assert set(st["versionInfo"]) == {"branch", "buildDate", "buildUser", "goVersion", "revision", "version"}


def test_status_masks_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = CONFIG.replace("  - name: db\n", "  - name: db\n    slack_configs:\n"
                          "      - api_url: https://hooks.example/T0/B0/s3cr3t\n        channel: '#db'\n")
    svc = AlertmanagerService(load_config(text), data_dir=tmp_path)
    with TestClient(create_app(svc)) as c:
        original = c.get("/api/v2/status").json()["config"]["original"]
    assert "s3cr3t" not in original and "<secret>" in original and "#db" in original


def _ts(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + "Z"


# -- real peers against the standalone process -------------------------------------------------------


def _standalone(procs: Processes, tmp: Path, config: str) -> Proc:
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(config)
    def make(port: int) -> Proc:
        argv = [sys.executable, "-m", "watchkeeper.cli.main", "alertmanager", "--config", str(cfg),
                "--data-dir", str(tmp / "am-data"), "--listen", f"127.0.0.1:{port}"]
        return Proc(argv, f"http://127.0.0.1:{port}", tmp / f"am-{port}.log")

    return procs._start(make, None)


def _amtool(url: str, *args: str) -> str:
    out = subprocess.run([AMTOOL, f"--alertmanager.url={url}", *args], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.peer
def test_amtool_alerts_and_silences(procs: Processes, tmp_path: Path) -> None:
    if not shutil.which(AMTOOL):
        pytest.skip("amtool not installed")
    am = _standalone(procs, tmp_path, CONFIG)
    _amtool(am.url, "alert", "add", "alertname=Disk", "instance=db1", "--annotation=summary=full")
    _amtool(am.url, "alert", "add", "alertname=Cpu", "instance=db2")
    listed = json.loads(_amtool(am.url, "alert", "query", "-o", "json"))
    assert sorted(a["labels"]["alertname"] for a in listed) == ["Cpu", "Disk"]
    only = json.loads(_amtool(am.url, "alert", "query", "alertname=Disk", "-o", "json"))
    assert [a["labels"]["instance"] for a in only] == ["db1"]
    sid = _amtool(am.url, "silence", "add", "alertname=Disk", "-c", "maint", "-a", "ops", "-d", "1h").strip()
    [sil] = json.loads(_amtool(am.url, "silence", "query", "-o", "json"))
    assert sil["id"] == sid and sil["status"]["state"] == "active" and sil["createdBy"] == "ops"
    assert _amtool(am.url, "silence", "query", "-q").split() == [sid]
    silenced = json.loads(_amtool(am.url, "alert", "query", "-s", "-o", "json"))
    assert [a["labels"]["alertname"] for a in silenced] == ["Disk"]
    _amtool(am.url, "silence", "expire", sid)
    assert _amtool(am.url, "silence", "query", "-q").split() == []
    assert _amtool(am.url, "silence", "query", "--expired", "-q").split() == [sid]
    imported = tmp_path / "silences.json"
    imported.write_text(json.dumps([sil]))
    _amtool(am.url, "silence", "import", str(imported))
    assert len(_amtool(am.url, "silence", "query", "-q").split()) == 1
    assert "receiver: default" in _amtool(am.url, "config", "show")


@pytest.mark.peer
def test_prometheus_delivers_its_alerts(procs: Processes, tmp_path: Path) -> None:
    am = _standalone(procs, tmp_path, CONFIG)
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n  - name: g\n    interval: 1s\n    rules:\n"
                     "      - alert: AlwaysOn\n        expr: vector(1)\n        labels: {team: db}\n")
    host = am.url.removeprefix("http://")
    procs.prometheus(f"""
global: {{evaluation_interval: 1s}}
rule_files: ['{rules}']
alerting:
  alertmanagers:
    - static_configs: [{{targets: ['{host}']}}]
      api_version: v2
""", "--rules.alert.resend-delay=1s")  # the first send races alertmanager discovery (5 s)
    for _ in range(300):
        alerts = httpx.get(am.url + "/api/v2/alerts").json()
        if alerts:
            break
        time.sleep(0.1)
    [alert] = alerts
    assert alert["labels"] == {"alertname": "AlwaysOn", "team": "db"}
    assert alert["receivers"] == [{"name": "db"}] and alert["generatorURL"].startswith("http")


def test_reload_applies_new_config_and_keeps_alerts(tmp_path: Path) -> None:
    path = tmp_path / "am.yml"
    path.write_text(CONFIG)
    svc = AlertmanagerService(load_config_file(path))
    with TestClient(create_app(svc, str(path))) as c:
        _post(c, {"labels": {"alertname": "Up", "team": "db"}})
        path.write_text(CONFIG.replace("receiver: db", "receiver: dba").replace("name: db", "name: dba"))
        assert c.post("/-/reload").status_code == 200
        assert c.get("/api/v2/receivers").json() == [{"name": "default"}, {"name": "dba"}]
        assert [a["receivers"] for a in c.get("/api/v2/alerts").json()] == [[{"name": "dba"}]]
        path.write_text("route: {receiver: nope}\n")
        r = c.post("/-/reload")
        assert r.status_code == 500 and "nope" in r.text
        assert c.get("/api/v2/receivers").json() == [{"name": "default"}, {"name": "dba"}]


class _Hook:
    """A threaded local webhook receiver recording the bodies it gets."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []
        self.bodies = bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.peer
def test_kill_9_restart_sends_no_duplicate_and_loses_no_resolve(procs: Processes, tmp_path: Path) -> None:
    hook = _Hook()
    try:
        cfg = (f"route: {{receiver: h, group_by: [alertname], group_wait: 1s, group_interval: 1s}}\n"
               f"receivers: [{{name: h, webhook_configs: [{{url: '{hook.url}', send_resolved: true}}]}}]\n")
        am = _standalone(procs, tmp_path, cfg)
        r = httpx.post(am.url + "/api/v2/alerts", json=[{"labels": {"alertname": "A", "i": "1"}},
                                                         {"labels": {"alertname": "A", "i": "2"}}])
        assert r.status_code == 200
        assert len(hook.wait(1)) == 1
        time.sleep(2.5)  # alerts.json is written 2 s after intake
        am.kill()
        am = _standalone(procs, tmp_path, cfg)
        assert len(httpx.get(am.url + "/api/v2/alerts").json()) == 2
        time.sleep(3)  # group_wait and two group_intervals: nothing new, so nothing is sent
        assert len(hook.bodies) == 1
        httpx.post(am.url + "/api/v2/alerts", json=[{"labels": {"alertname": "A", "i": "1"},
                                                     "endsAt": _ts(time.time() - 1)}])
        bodies = hook.wait(2)
        assert [[a["status"] for a in b["alerts"]] for b in bodies[1:]] == [["resolved", "firing"]]
    finally:
        hook.close()


@pytest.mark.peer
def test_server_serves_alertmanager_api_on_its_port(procs: Processes, tmp_path: Path) -> None:
    if not shutil.which(AMTOOL):
        pytest.skip("amtool not installed")
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(CONFIG)
    wk = procs.watchkeeper("--alertmanager.config", str(cfg), data_dir=tmp_path / "wk")
    _amtool(wk.url, "alert", "add", "alertname=Disk", "team=db")
    [alert] = json.loads(_amtool(wk.url, "alert", "query", "-o", "json"))
    assert alert["receivers"] == [{"name": "db"}]
    assert httpx.get(wk.url + "/api/v1/query", params={"query": "1"}).json()["status"] == "success"
    assert 'alertmanager_notifications_total{integration="webhook"} 0' in httpx.get(wk.url + "/metrics").text
