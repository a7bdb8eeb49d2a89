"""``watchkeeper demo``: the simulated fleet's data, its scrape target, backfill, config files, the log
receiver, and the whole command end to end (20 hosts scraped, an alert firing, a notification logged)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from conftest import Proc, _wait_ready, free_port
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.channels import logfile
from watchkeeper.alerting.config import load_config
from watchkeeper.alerting.dispatch import Notification
from watchkeeper.alerting.notify import Notifier
from watchkeeper.alerting.rendering import Templates
from watchkeeper.config import load_config_file
from watchkeeper.demo.backfill import history, resume_after
from watchkeeper.demo.catalog import jobs
from watchkeeper.demo.files import DemoConfigError, write_files
from watchkeeper.demo.fleet import LATENCY_BUCKETS, Fleet
from watchkeeper.demo.scenarios import CYCLE_S, INCIDENTS
from watchkeeper.exposition.textparse import parse_series_key, parse_text
from watchkeeper.model.batch import is_stale
from watchkeeper.model.matchers import Matcher
from watchkeeper.storage.db import TSDB
from watchkeeper.web.screenshots import prepare_demo

T0 = 1_800_000_000.0  # a fixed start: 2027-01-15T08:00:00Z
STEP = 15.0


def _incident(kind: str):  # type: ignore[no-untyped-def]
    return next(i for i in INCIDENTS if i.kind == kind)


@pytest.fixture(scope="module")
def day() -> tuple[Fleet, object]:
    """Two incident cycles before and after T0 at 15 s resolution."""
    fleet = Fleet(t0=T0)
    return fleet, fleet.advance(np.arange(T0 - 2 * CYCLE_S, T0 + 2 * CYCLE_S, STEP))


def _rows(snap, kind: str, lo: float, hi: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Rows of the first cycle after T0 that are ``lo``..``hi`` of the way through the incident."""
    inc = _incident(kind)
    a, b = T0 + inc.start + lo * (inc.end - inc.start), T0 + inc.start + hi * (inc.end - inc.start)
    return np.flatnonzero((snap.t >= a) & (snap.t < b))


def test_counters_only_fall_when_a_host_reboots(day) -> None:  # type: ignore[no-untyped-def]
    fleet, snap = day
    drops = np.diff(snap.cpu, axis=0).min(axis=(2, 3)) < 0  # (T-1, H)
    reboots = ~snap.up[:-1] & snap.up[1:]
    assert drops.any()
    assert not (drops & ~reboots).any()
    assert (np.diff(snap.buckets, axis=2) >= 0).all()  # cumulative buckets grow with le
    assert np.array_equal(snap.buckets[:, :, -1], np.floor(snap.buckets[:, :, -1]))


def test_each_incident_shows_in_its_metrics(day) -> None:  # type: ignore[no-untyped-def]
    fleet, snap = day
    kinds = ("host_down", "cpu_spike", "memory_leak", "disk_fill")
    host = {k: fleet.hosts.index(_incident(k).candidates[0]) for k in kinds}
    down = _rows(snap, "host_down", 0.0, 1.0)
    assert not snap.up[down, host["host_down"]].any() and snap.up[down].sum(axis=1).min() == 19
    spike = _rows(snap, "cpu_spike", 0.1, 0.9)
    idle = np.diff(snap.cpu[:, host["cpu_spike"], :, 0], axis=0)[spike].mean(axis=1) / STEP
    assert (1 - idle > 0.9).all()
    leak = _rows(snap, "memory_leak", 0.7, 0.99)
    assert (snap.mem[leak, host["memory_leak"], 0] / snap.mem_total[host["memory_leak"]] < 0.1).all()
    fill = _rows(snap, "disk_fill", 0.85, 0.99)
    assert (snap.fs[fill, host["disk_fill"], 0] / snap.fs_size[host["disk_fill"]] < 0.05).all()
    # Latency: p99 from the bucket increases of the regressed instance crosses 0.5 s, others stay below.
    slow = list(fleet.app_hosts).index(_incident("latency").candidates[0])
    rows = _rows(snap, "latency", 0.3, 0.9)
    inc = np.diff(snap.buckets, axis=0)[rows - 1]  # (n, A, buckets)
    share = inc / inc[:, :, -1:]
    les = np.array([*LATENCY_BUCKETS, np.inf])
    p99 = les[np.argmax(share >= 0.99, axis=2)]
    assert (p99[:, slow] > 0.5).all()
    assert (np.delete(p99, slow, axis=1) <= 0.5).all()


def test_live_exposition_parses_and_matches_backfilled_series() -> None:
    fleet = Fleet(t0=T0)
    node, app = jobs(fleet)
    batch = history(fleet, (node, app), start_s=T0 - 600, end_s=T0, interval_s=STEP)
    snap = fleet.advance(np.array([T0 + 1.0]))
    for job, host in ((node, "web-01"), (app, "api-02")):
        parsed = parse_text(job.render(snap, host).decode())
        assert "# TYPE" in job.render(snap, host).decode()
        scraped = {(dict(k for k in _pairs(key))["__name__"], frozenset(
            (a, b) for a, b in _pairs(key) if a != "__name__")) for key in parsed.keys}
        stored = {(lab.get("__name__"), frozenset((a, b) for a, b in lab.items
                                                 if a not in ("__name__", "job", "instance")))
                  for lab in batch.labels if lab.get("instance") == job.instance(host)
                  and not lab.get("__name__").startswith(("up", "scrape_"))}
        assert scraped == stored
        assert np.isfinite(parsed.values).all()
    assert {lab.get("instance") for lab in batch.labels if lab.get("job") == "node"} == {
        f"{h}:9100" for h in fleet.hosts}
    assert len(fleet.hosts) == 20


def _pairs(key: str) -> list[tuple[str, str]]:
    return parse_series_key(key)


def test_backfill_marks_a_down_host_stale_and_reports_up_zero(tmp_path: Path) -> None:
    fleet = Fleet(t0=T0)
    node, app = jobs(fleet)
    batch = history(fleet, (node, app), start_s=T0, end_s=T0 + 200, interval_s=STEP)  # ends while down
    inst = _incident("host_down").candidates[0] + ":9100"
    with TSDB(tmp_path / "db") as db:
        assert db.append(batch) == len(batch)
        up = db.select([Matcher.eq("__name__", "up"), Matcher.eq("instance", inst)], 0, 2**62)
        load = db.select([Matcher.eq("__name__", "node_load1"), Matcher.eq("instance", inst)], 0, 2**62)
        last = resume_after(db, mint_ms=0, maxt_ms=2**62)
        assert last is not None and (T0 + 200 - 2 * STEP) * 1000 <= last < (T0 + 200) * 1000
        assert resume_after(db, mint_ms=0, maxt_ms=int((T0 - STEP) * 1000)) is None
    down_from = T0 + _incident("host_down").start
    assert set(up.v[up.t >= (down_from + STEP) * 1000].tolist()) == {0.0}
    assert set(up.v[up.t < (down_from - STEP) * 1000].tolist()) == {1.0}  # scrape offsets are < STEP
    last_t, last_v = load.t[-1], load.v[-1]
    # A staleness marker at the first failed scrape, then nothing until the host is back.
    assert is_stale(np.array([last_v]))[0] and last_t >= (down_from - STEP) * 1000
    assert not is_stale(load.v[:-1]).any()


def test_files_scale_timers_and_merge_a_user_config(tmp_path: Path) -> None:
    fleet = Fleet(t0=T0)
    demo_jobs = jobs(fleet)
    user = tmp_path / "user" / "prometheus.yml"
    user.parent.mkdir()
    user.write_text("global: {scrape_interval: 30s}\nrule_files: [mine.yml]\nscrape_configs:\n"
                    "  - job_name: other\n    static_configs: [{targets: ['127.0.0.1:1']}]\n")
    files = write_files(tmp_path / "data", jobs=demo_jobs, target="127.0.0.1:5555",
                        self_target="127.0.0.1:9090", speed=20, user_config=user,
                        dashboards_dir=tmp_path / "dash")
    rules = yaml.safe_load(files.rules.read_text())
    assert {r["for"] for g in rules["groups"] for r in g["rules"] if "for" in r} == {"3s"}
    load_config(files.alertmanager.read_text())  # valid for the notification engine
    am_doc = yaml.safe_load(files.alertmanager.read_text())
    assert am_doc["route"]["group_wait"] == "1s" and am_doc["route"]["group_interval"] == "2s"
    assert am_doc["receivers"][0]["file_configs"][0]["path"] == str(files.notifications)
    loaded = load_config_file(str(files.prometheus)).config
    assert [c.job_name for c in loaded.scrape_configs] == ["watchkeeper", "other", "node", "app"]
    assert loaded.rule_files[0].endswith("user/mine.yml") and loaded.rule_files[1] == str(files.rules)
    node_doc = yaml.safe_load(files.prometheus.read_text())["scrape_configs"][2]
    assert [g["labels"]["instance"] for g in node_doc["static_configs"]] == [f"{h}:9100" for h in fleet.hosts]
    assert {g["targets"][0] for g in node_doc["static_configs"]} == {"127.0.0.1:5555"}
    clash = tmp_path / "clash.yml"
    clash.write_text("scrape_configs:\n"
                     "  - job_name: node\n    static_configs: [{targets: ['127.0.0.1:1']}]\n")
    with pytest.raises(DemoConfigError, match="job_name 'node'"):
        write_files(tmp_path / "d2", jobs=demo_jobs, target="127.0.0.1:5555", self_target="127.0.0.1:9090",
                    speed=1, user_config=clash, dashboards_dir=tmp_path / "dash2")


def test_file_receiver_writes_json_lines_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "n.log"
    cfg = load_config(f"""
route: {{receiver: log}}
receivers:
  - name: log
    file_configs:
      - path: {log}
      - path: "-"
        format: text
""")
    integrations = cfg.receivers["log"].all_integrations()
    assert [(k, i) for k, i, _ in integrations] == [("file", 0), ("file", 1)]
    now = 1_800_000_000 * 10**9
    alert = Alert(labels={"alertname": "HostDown", "instance": "h:9100"},
                  annotations={"summary": "h is down"}, starts_at=now - 60 * 10**9, ends_at=None, generator_url="http://wk/graph")

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            notifier = Notifier(Templates(), external_url="http://wk", client=client)
            for kind, index, conf in integrations:
                n = Notification("log", kind, index, conf, '{}:{alertname="HostDown"}',
                                 {"alertname": "HostDown"}, [alert], "first", now)
                await logfile.send(conf, notifier.context(n))

    asyncio.run(go())
    body = json.loads(log.read_text().splitlines()[0])
    assert body["status"] == "firing" and body["version"] == "4" and body["time"] == "2027-01-15T08:00:00Z"
    assert body["alerts"][0]["labels"] == {"alertname": "HostDown", "instance": "h:9100"}
    out = capsys.readouterr().out
    assert out == "2027-01-15T08:00:00Z [FIRING] HostDown instance=h:9100 receiver=log - h is down\n"
    with pytest.raises(Exception, match="missing path"):
        load_config("route: {receiver: r}\nreceivers: [{name: r, file_configs: [{format: text}]}]\n")


def _query(url: str, expr: str) -> list[dict]:  # type: ignore[type-arg]
    r = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=10)
    r.raise_for_status()
    return r.json()["data"]["result"]


def test_demo_command_fires_and_notifies(tmp_path: Path) -> None:
    """The command at speed 20: 20 hosts scraped, history present, an alert fires and is logged."""
    data = tmp_path / "data"
    port = free_port()
    p = Proc([sys.executable, "-m", "watchkeeper.cli.main", "demo", "--listen", f"127.0.0.1:{port}",
              "--data-dir", str(data), "--demo.speed", "20", "--demo.history", "30m"],
             f"http://127.0.0.1:{port}", tmp_path / "demo.log", env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        _wait_ready(p)
        url = p.url
        assert len(_query(url, 'up{job="node"}')) == 20
        assert len(_query(url, 'count by (instance) (node_cpu_seconds_total{mode="idle"})')) == 20
        assert len(_query(url, 'up{job="app"}')) == 10
        assert len(_query(url, "count_over_time(node_load1[30m]) > 100")) >= 19  # the backfilled history
        notifications = data / "demo" / "notifications.log"
        firing: list[dict] = []  # type: ignore[type-arg]
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not (firing and notifications.exists()
                                                   and '"status":"firing"' in notifications.read_text()):
            r = httpx.get(url + "/api/v1/alerts", timeout=10).json()
            firing = [a for a in r["data"]["alerts"] if a["state"] == "firing"]
            time.sleep(0.5)
        assert firing, p.log()[-2000:]
        lines = [json.loads(x) for x in notifications.read_text().splitlines()]
        assert any(x["status"] == "firing" for x in lines)
        assert "[FIRING]" in p.log()  # the text copy on stdout
        dash = httpx.get(url + "/api/watchkeeper/v1/dashboards", timeout=10).json()["data"]
        assert {"demo-fleet", "demo-service"} <= {d["uid"] for d in dash["dashboards"]} and not dash["errors"]
        prepare_demo(url, firing=1, timeout_s=30)  # what the screenshot command does before photographing
        silences = [s for s in httpx.get(url + "/api/v2/silences", timeout=10).json()
                    if s["status"]["state"] == "active"]
        assert len(silences) == 1
        assert {m["name"] for m in silences[0]["matchers"]} == {"alertname", "instance"}
    finally:
        assert p.stop() == 0
