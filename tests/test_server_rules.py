"""The rule engine inside ``watchkeeper server``: evaluation, API, reload, kill -9, Alertmanager."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import Proc, Processes, free_port
from watchkeeper.config import load_config_text
from watchkeeper.model.labels import Labels
from watchkeeper.rules.alert import Alert, AlertState
from watchkeeper.server.notifier import AlertmanagerSender, rules_notify
from watchkeeper.server.rulesvc import default_rule_files

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"

RULES = """\
groups:
  - name: demo
    rules:
      - record: job:demo_value:max
        expr: max by (job) (demo_value)
      - alert: DemoHigh
        expr: job:demo_value:max > 5
        for: 3s
        labels: {severity: page}
        annotations: {summary: "value is {{ $value }}"}
"""

CONFIG = """\
global:
  evaluation_interval: 1s
  external_labels: {site: test}
rule_files: [rules.yml]
"""


def _get(url: str, path: str, **params: object) -> dict:
    r = httpx.get(url + path, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _wait_for(check, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _push(url: str, value: float) -> None:
    r = httpx.post(url + "/api/v1/import/prometheus", content=f'demo_value{{job="j"}} {value}\n', timeout=10)
    assert r.status_code == 204, r.text


def _alerts(url: str) -> list[dict]:
    return _get(url, "/api/v1/alerts")["alerts"]


def _write(tmp_path: Path, config: str = CONFIG, rules: str = RULES) -> Path:
    (tmp_path / "rules.yml").write_text(rules)
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config)
    return cfg


def _states(url: str, name: str) -> list[tuple[str, str]]:
    return [(a["state"], a["activeAt"]) for a in _alerts(url) if a["labels"]["alertname"] == name]


def test_rules_evaluate_alert_fires_and_survives_kill(procs: Processes, tmp_path: Path) -> None:
    slow_group = "  - name: slow\n    rules:\n      - {alert: DemoSlow, expr: demo_value > 5, for: 1h}\n"
    cfg = _write(tmp_path, rules=RULES + slow_group)
    port = free_port()
    wk = procs.watchkeeper(config=cfg, port=port)
    _push(wk.url, 10)
    pending = _wait_for(lambda: [a for a in _alerts(wk.url) if a["state"] == "pending"
                                 and a["labels"]["alertname"] == "DemoHigh"], 20, "pending alert")
    assert pending[0]["labels"] == {"alertname": "DemoHigh", "job": "j", "severity": "page"}
    firing = _wait_for(lambda: [a for a in _alerts(wk.url) if a["state"] == "firing"], 20, "firing alert")
    active_at = firing[0]["activeAt"]
    assert firing[0]["annotations"] == {"summary": "value is 10"}
    slow = _states(wk.url, "DemoSlow")
    assert [s for s, _ in slow] == ["pending"]

    groups = _get(wk.url, "/api/v1/rules")["groups"]
    assert [g["name"] for g in groups] == ["demo", "slow"] and groups[0]["interval"] == 1
    assert [(r["type"], r["health"]) for r in groups[0]["rules"]] == [("recording", "ok"), ("alerting", "ok")]
    recording = _get(wk.url, "/api/v1/rules", type="record")["groups"][0]["rules"]
    assert [r["name"] for r in recording] == ["job:demo_value:max"]
    alerting = _get(wk.url, "/api/v1/rules", type="alert", exclude_alerts="true")["groups"][0]["rules"]
    assert [r["name"] for r in alerting] == ["DemoHigh"] and "alerts" not in alerting[0]
    only_slow = _get(wk.url, "/api/v1/rules", **{"rule_group[]": "slow"})["groups"]
    assert [g["name"] for g in only_slow] == ["slow"]
    assert _get(wk.url, "/api/v1/rules", **{"rule_group[]": "nope"})["groups"] == []
    r = httpx.get(wk.url + "/api/v1/rules", params={"type": "bogus"})
    assert r.status_code == 400 and r.json()["errorType"] == "bad_data"

    q = _get(wk.url, "/api/v1/query", query='ALERTS{alertstate="firing"}')["result"]
    assert q and q[0]["metric"]["alertname"] == "DemoHigh"
    assert _get(wk.url, "/api/v1/query", query="job:demo_value:max")["result"][0]["value"][1] == "10"
    metrics = httpx.get(wk.url + "/metrics").text
    assert "prometheus_rule_group_iterations_total" in metrics
    assert "prometheus_notifications_queue_capacity 10000" in metrics

    assert httpx.post(wk.url + "/-/reload", timeout=10).status_code == 200
    # Unchanged rules keep their alerts across a reload.
    assert _states(wk.url, "DemoHigh") == [("firing", active_at)] and _states(wk.url, "DemoSlow") == slow

    wk.kill()  # SIGKILL: no shutdown hook runs
    wk2 = procs.watchkeeper(config=cfg, port=port, data_dir=tmp_path / "wk-data")
    again = _wait_for(lambda: _states(wk2.url, "DemoHigh"), 20, "restored alert")
    assert again == [("firing", active_at)]  # not lost, not new
    assert _states(wk2.url, "DemoSlow") == slow  # pending keeps its progress


def test_reload_rejects_broken_rule_file_and_keeps_old_rules(procs: Processes, tmp_path: Path) -> None:
    cfg = _write(tmp_path)
    wk = procs.watchkeeper(config=cfg)
    _wait_for(lambda: _get(wk.url, "/api/v1/rules")["groups"][0]["rules"][0]["health"] == "ok", 20, "eval")
    (tmp_path / "rules.yml").write_text("groups:\n- name: demo\n  rules:\n  - record: x\n    expr: sum(\n")
    r = httpx.post(wk.url + "/-/reload", timeout=10)
    assert r.status_code == 500 and "rules.yml" in r.text
    assert [g["name"] for g in _get(wk.url, "/api/v1/rules")["groups"]] == ["demo"]
    (tmp_path / "rules.yml").write_text(RULES.replace("name: demo", "name: demo2"))
    wk.signal(signal.SIGHUP)
    _wait_for(lambda: [g["name"] for g in _get(wk.url, "/api/v1/rules")["groups"]] == ["demo2"], 10, "reload")

    group = "name: api\nrules:\n- record: one\n  expr: vector(1)\n"
    r = httpx.post(wk.url + "/api/v1/rules-api/mine", content=group)
    assert r.status_code == 202, r.text
    assert [g["name"] for g in _get(wk.url, "/api/v1/rules")["groups"]] == ["demo2", "api"]  # by file
    assert (tmp_path / "wk-data" / "rules-api" / "mine.yml").exists()
    _wait_for(lambda: _get(wk.url, "/api/v1/query", query="one")["result"], 10, "API group evaluated")


def test_broken_rule_file_at_start_is_fatal(procs: Processes, tmp_path: Path) -> None:
    cfg = _write(tmp_path, rules="groups:\n  - name: g\n    rules:\n      - alert: A\n")
    p = procs.watchkeeper(config=cfg, wait=False)
    assert p.proc.wait(timeout=30) == 1
    assert "error loading rules" in p.log() and "rules.yml" in p.log()


def test_default_config_loads_the_agent_host_rules(procs: Processes) -> None:
    files = default_rule_files()
    if not files:
        pytest.skip("this build ships no agent rules")
    wk = procs.watchkeeper()
    groups = _get(wk.url, "/api/v1/rules")["groups"]
    assert {g["file"] for g in groups} == set(files)
    assert "HostDown" in [r["name"] for g in groups for r in g["rules"]]


# ---- sending to Alertmanagers -----------------------------------------------------------------------


def _alert(name: str, t_ms: int = 1_700_000_000_000) -> Alert:
    a = Alert(labels=Labels({"alertname": name}), annotations=Labels(), value=1.0, active_at=t_ms,
              state=AlertState.FIRING)
    a.fired_at = t_ms
    a.valid_until = t_ms + 240_000
    return a


def _sender(alerting_yaml: str) -> AlertmanagerSender:
    loaded = load_config_text(f"alerting:\n{alerting_yaml}")
    s = AlertmanagerSender(capacity=5)
    s.apply_config(loaded.config.alerting)
    return s


def test_sender_queue_drops_oldest_and_relabels() -> None:
    s = _sender("""  alert_relabel_configs:
    - {source_labels: [alertname], regex: Drop.*, action: drop}
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:1"]}]
      path_prefix: /am
""")
    assert [t.url for t in s.targets] == ["http://127.0.0.1:1/am/api/v2/alerts"]
    notify = rules_notify([s.send], external_url=lambda: "http://wk:9090",
                          external_labels=lambda: Labels({"x": "y"}))
    notify([_alert(f"A{i}") for i in range(4)] + [_alert("DropMe")], "up == 0")
    assert s.queue_length() == 4 and s.dropped == 0
    notify([_alert("B1"), _alert("B2")], "up == 0")
    assert s.queue_length() == 5 and s.dropped == 1
    batch = s._next_batch()
    assert [a["labels"]["alertname"] for a in batch] == ["A1", "A2", "A3", "B1", "B2"]
    assert batch[0]["labels"]["x"] == "y"
    assert batch[0]["generatorURL"].startswith("http://wk:9090/graph?g0.expr=up+%3D%3D+0")
    assert "prometheus_notifications_dropped_total 1" in s.metrics_text().decode()


def test_alertmanager_urls_relabelling_and_dedup() -> None:
    s = _sender("""  alertmanagers:
    - static_configs: [{targets: ["a:9093", "a:9093", "b:9093"]}]
      path_prefix: am/
      scheme: https
      relabel_configs:
        - {source_labels: [__address__], regex: "b:.*", action: drop}
""")
    assert s.alertmanagers() == {"activeAlertmanagers": [{"url": "https://a:9093/am/api/v2/alerts"}],
                                 "droppedAlertmanagers": [{"url": "https://b:9093/am/api/v2/alerts"}]}


class _Receiver(http.server.BaseHTTPRequestHandler):
    posts: list[tuple[str, list[dict]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append((self.headers.get("Authorization", ""), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_sender_batches_authenticates_and_counts_failures() -> None:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        dead = free_port()
        s = _sender(f"""  alertmanagers:
    - static_configs: [{{targets: ["127.0.0.1:{srv.server_port}"]}}]
      basic_auth: {{username: u, password: p}}
      alert_relabel_configs: [{{target_label: am, replacement: one}}]
    - static_configs: [{{targets: ["127.0.0.1:{dead}"]}}]
      timeout: 2s
""")
        s.capacity = 10_000

        async def scenario() -> None:
            task = asyncio.create_task(s.run())
            await asyncio.sleep(0.05)
            s.send([{"labels": {"alertname": f"A{i}"}} for i in range(600)])
            for _ in range(200):
                if s.queue_length() == 0 and s.dropped == 600:
                    break
                await asyncio.sleep(0.05)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(scenario())
    finally:
        srv.shutdown()
        srv.server_close()
    posts = _Receiver.posts
    assert [len(b) for _, b in posts] == [256, 256, 88]
    assert {auth for auth, _ in posts} == {"Basic dTpw"}
    assert posts[0][1][0]["labels"] == {"alertname": "A0", "am": "one"}
    # The second set never accepted a batch: every batch counts as dropped, its errors per URL.
    assert s.dropped == 600 and [(t.sent, t.errors) for t in s.targets] == [(600, 0), (0, 600)]


def test_notify_reaches_every_sink_even_if_one_fails() -> None:
    got: list[list[dict]] = []

    def broken(alerts: list[dict]) -> None:
        raise RuntimeError("receiver down")

    sinks = [broken]
    notify = rules_notify(sinks, external_url=lambda: "", external_labels=Labels)
    sinks.append(got.append)  # added after the notify function was made
    with pytest.raises(RuntimeError, match="receiver down"):
        notify([_alert("A")], "vector(1)")
    assert [[a["labels"] for a in batch] for batch in got] == [[{"alertname": "A"}]]
    assert got[0][0]["startsAt"] == "2023-11-14T22:13:20Z" and got[0][0]["endsAt"] == "2023-11-14T22:17:20Z"


def test_sender_without_alertmanagers_discards() -> None:
    s = AlertmanagerSender()
    s.send([{"labels": {"alertname": "A"}}])
    assert s.queue_length() == 0


def _start_alertmanager(procs: Processes, tmp_path: Path) -> Proc:
    if not os.access(ALERTMANAGER, os.X_OK):
        pytest.skip("prometheus-alertmanager not installed")
    am_dir = tmp_path / "am"
    am_dir.mkdir(parents=True)
    (am_dir / "am.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")

    def make(port: int) -> Proc:
        argv = [ALERTMANAGER, f"--config.file={am_dir / 'am.yml'}", f"--storage.path={am_dir}",
                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]
        return Proc(argv, f"http://127.0.0.1:{port}", am_dir / f"am-{port}.log")

    return procs._start(make, None)


@pytest.mark.peer
def test_firing_alert_reaches_real_alertmanager(procs: Processes, tmp_path: Path) -> None:
    am = _start_alertmanager(procs, tmp_path)
    am_addr = am.url.removeprefix("http://")
    config = CONFIG + f"""alerting:
  alert_relabel_configs:
    - {{target_label: relabelled, replacement: "yes"}}
  alertmanagers:
    - static_configs: [{{targets: ["{am_addr}"]}}]
"""
    cfg = _write(tmp_path, config=config, rules=RULES.replace("for: 3s", "for: 0s"))
    wk = procs.watchkeeper("--web.external-url=http://wk.example:9090/", config=cfg)
    _push(wk.url, 10)

    def received() -> list[dict]:
        return httpx.get(am.url + "/api/v2/alerts", timeout=5).json()

    got = _wait_for(received, 20, "alert in Alertmanager")
    a = got[0]
    assert a["labels"] == {"alertname": "DemoHigh", "job": "j", "severity": "page", "site": "test",
                           "relabelled": "yes"}
    assert a["annotations"] == {"summary": "value is 10"}
    assert a["status"]["state"] == "active"
    assert a["generatorURL"] == "http://wk.example:9090/graph?g0.expr=job%3Ademo_value%3Amax+%3E+5&g0.tab=1"
    assert f'alertmanager="http://{am_addr}/api/v2/alerts"' in httpx.get(wk.url + "/metrics").text


class _Exporter(http.server.BaseHTTPRequestHandler):
    value = 10.0

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = f"# TYPE demo_value gauge\ndemo_value {self.value}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _seconds(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@pytest.mark.peer
def test_alertmanager_gets_what_prometheus_sends(procs: Processes, tmp_path: Path) -> None:
    """Same rules, same scraped data: watchkeeper's and Prometheus 2.42's alerts match in Alertmanager."""
    exporter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    try:
        (tmp_path / "rules.yml").write_text(RULES.replace("for: 3s", "for: 0s"))
        ams = [_start_alertmanager(procs, tmp_path / name) for name in ("wk", "prom")]

        def config(am: Proc) -> str:
            return f"""global: {{scrape_interval: 1s, evaluation_interval: 1s, external_labels: {{site: t}}}}
rule_files: ["{tmp_path / 'rules.yml'}"]
scrape_configs:
  - job_name: exp
    static_configs: [{{targets: ["127.0.0.1:{exporter.server_port}"]}}]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{am.url.removeprefix('http://')}"]}}]
"""
        cfg = tmp_path / "wk.yml"
        cfg.write_text(config(ams[0]))
        procs.watchkeeper(config=cfg)
        procs.prometheus(config(ams[1]))

        def received(am: Proc) -> list[dict]:
            return httpx.get(am.url + "/api/v2/alerts", timeout=5).json()

        ours, theirs = (_wait_for(lambda am=am: received(am), 30, f"alert in {am.url}")[0] for am in ams)
        for key in ("labels", "annotations", "status", "receivers"):
            assert ours[key] == theirs[key], key
        assert ours["labels"] == {"alertname": "DemoHigh", "job": "exp", "severity": "page", "site": "t"}
        assert ours["annotations"] == {"summary": "value is 10"}
        # Valid for four resend delays from the first send, as Prometheus sends it.
        for a in (ours, theirs):
            assert _seconds(a["endsAt"]) - _seconds(a["startsAt"]) == pytest.approx(240, abs=2)
        assert ours["generatorURL"].split("/graph?", 1)[1] == theirs["generatorURL"].split("/graph?", 1)[1]

        _Exporter.value = 1.0  # resolved: both send endsAt = the resolution time, Alertmanager drops them
        for am in ams:
            _wait_for(lambda am=am: not [a for a in received(am) if a["status"]["state"] == "active"
                                         and _seconds(a["endsAt"]) > time.time()], 30, "resolved")
    finally:
        exporter.shutdown()
        exporter.server_close()


def test_rule_alerts_reach_the_built_in_notification_engine(procs: Processes, tmp_path: Path) -> None:
    """With --alertmanager.config and no `alerting:` section, firing rules notify in-process."""
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        am = tmp_path / "alertmanager.yml"
        am.write_text(
            "route: {receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 1s}\n"
            "receivers:\n"
            f"  - name: hook\n    webhook_configs: [{{url: 'http://127.0.0.1:{hook.server_port}/'}}]\n")
        cfg = _write(tmp_path)
        wk = procs.watchkeeper("--alertmanager.config", str(am), config=cfg, data_dir=tmp_path / "wk")
        _push(wk.url, 10)
        firing = _wait_for(lambda: [m for m in received if m["status"] == "firing"], 30, "notification")
        msg = firing[0]
        assert msg["receiver"] == "hook" and msg["groupLabels"] == {"alertname": "DemoHigh"}
        assert msg["alerts"][0]["labels"] == {"alertname": "DemoHigh", "job": "j", "severity": "page",
                                              "site": "test"}
        assert msg["alerts"][0]["annotations"] == {"summary": "value is 10"}
    finally:
        hook.shutdown()
