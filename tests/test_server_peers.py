"""watchkeeper next to real peers: node_exporter, Prometheus 2.42 remote write, promtool, Grafana-style calls.

These start real binaries (Debian's ``prometheus`` and ``prometheus-node-exporter``)
and are skipped when those are not installed.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from conftest import Processes

pytestmark = pytest.mark.peer


def _result(url: str, path: str, **params: str) -> object:
    r = httpx.get(url + path, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_node_exporter_is_scraped_and_queryable(procs: Processes, tmp_path: Path) -> None:
    node = procs.node_exporter()
    target = node.url.removeprefix("http://")
    cfg = tmp_path / "p.yml"
    cfg.write_text(f"global: {{scrape_interval: 1s}}\nscrape_configs:\n"
                   f"  - job_name: node\n    static_configs: [{{targets: ['{target}']}}]\n")
    wk = procs.watchkeeper(config=cfg)

    def loaded() -> list:
        return _result(wk.url, "/api/v1/query", query='node_memory_MemTotal_bytes{job="node"}')["result"]

    [sample] = _wait_for(loaded, 20, "node_exporter sample")
    assert sample["metric"]["instance"] == target
    assert float(sample["value"][1]) > 0
    targets = _result(wk.url, "/api/v1/targets")["activeTargets"]
    assert [t["health"] for t in targets] == ["up"]
    meta = _result(wk.url, "/api/v1/metadata", metric="node_memory_MemTotal_bytes")
    assert meta["node_memory_MemTotal_bytes"][0]["type"] == "gauge"
    # rate() over a real counter works once a few scrapes are in.
    _wait_for(lambda: _result(wk.url, "/api/v1/query", query="rate(node_cpu_seconds_total[5s])")["result"],
              20, "rate over node_cpu_seconds_total")


def test_prometheus_remote_write_arrives_intact(procs: Processes, tmp_path: Path) -> None:
    wk = procs.watchkeeper(config=_empty(tmp_path))
    prom = procs.prometheus(f"""\
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: prom
    static_configs: [{{targets: ['PROM_SELF']}}]
remote_write:
  - url: {wk.url}/api/v1/write
    queue_config: {{batch_send_deadline: 1s, max_samples_per_send: 500}}
""".replace("PROM_SELF", "127.0.0.1:9"), "--web.enable-remote-write-receiver")
    # Prometheus scrapes a closed port: its own `up` and scrape_* series are remote-written.
    _wait_for(lambda: _result(wk.url, "/api/v1/query", query='up{job="prom"}')["result"], 30, "remote write")
    time.sleep(3)
    at = str(time.time() - 2)
    q = '{job="prom"}[30s]'
    ours = _result(wk.url, "/api/v1/query", query=q, time=at)["result"]
    theirs = _result(prom.url, "/api/v1/query", query=q, time=at)["result"]
    assert ours == theirs and len(ours) >= 5


def _empty(tmp_path: Path) -> Path:
    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    return cfg
