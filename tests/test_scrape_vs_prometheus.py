"""Differential test: the same scrape config and exposition through Prometheus and through watchkeeper.

Prometheus 2.42 (the installed peer) and watchkeeper scrape one local HTTP
server; the stored series label sets and the target views must agree. The
body avoids what changed between 2.42 and 3.x (``le``/``quantile``
normalisation, port defaulting).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import yaml

from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig
from watchkeeper.scrape.manager import ScrapeManager
from watchkeeper.storage.db import TSDB

BODY = b"""# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",job="app",instance="pod-1"} 10
http_requests_total{code="500",job="app",exported_job="x"} 2
temperature{room="a b",path="C:\\\\dir",quote="say \\"hi\\""} 21.5
tmp_scratch{x="1"} 1
weird_value NaN
empty_label{a=""} 3
"""

CONFIG = """
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plain
    static_configs:
      - targets: ['{addr}']
        labels: {{env: prod}}
  - job_name: honor
    honor_labels: true
    static_configs:
      - targets: ['{addr}']
  - job_name: relabel
    metrics_path: /custom
    params: {{module: [m1]}}
    static_configs:
      - targets: ['{addr}']
        labels: {{__meta_role: web, team: core}}
    relabel_configs:
      - source_labels: [__meta_role]
        target_label: role
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [team]
        regex: (.*)
        target_label: team_hash
        modulus: 8
        action: hashmod
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: tmp_.*
        action: drop
      - regex: (room|code)
        replacement: my_$1
        action: labelmap
      - regex: room
        action: labeldrop
      - source_labels: [quote]
        target_label: upper_quote
        action: uppercase
"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(timeout=5)


def _prometheus_view(url: str) -> tuple[set[tuple[tuple[str, str], ...]], list[dict[str, Any]]]:
    deadline = time.monotonic() + 30
    while True:
        targets = httpx.get(url + "/api/v1/targets").json()["data"]["activeTargets"]
        ready = len(targets) == 3 and all(t["health"] == "up" for t in targets)
        if ready:
            # Two scrapes done for every job: all series are in the head.
            time.sleep(1.5)
            break
        assert time.monotonic() < deadline, targets
        time.sleep(0.2)
    series = httpx.get(url + "/api/v1/series", params={"match[]": '{__name__=~".+"}'}).json()["data"]
    targets = httpx.get(url + "/api/v1/targets").json()["data"]["activeTargets"]
    return {tuple(sorted(s.items())) for s in series}, targets


def _watchkeeper_view(cfg: dict[str, Any]) -> tuple[set[tuple[tuple[str, str], ...]], list[dict[str, Any]]]:
    db = TSDB(None)
    glob = GlobalScrapeDefaults.model_validate(cfg["global"])
    configs = [ScrapeConfig.model_validate(c) for c in cfg["scrape_configs"]]

    async def main() -> list[dict[str, Any]]:
        m = ScrapeManager(db)
        await m.apply_config(configs, glob)
        deadline = time.monotonic() + 10
        while not all(t["health"] == "up" for t in m.targets()["activeTargets"]):
            assert time.monotonic() < deadline, m.targets()
            await asyncio.sleep(0.1)
        targets = m.targets()["activeTargets"]
        await m.stop()
        return targets

    targets = asyncio.run(main())
    ss = db.select([Matcher(MatchType.REGEX, "__name__", ".+")], 0, 2**62)
    return {lb.items for lb in ss.labels}, targets


@pytest.mark.peer
def test_series_and_targets_match_prometheus(procs: Any, server: str) -> None:
    text = CONFIG.replace("{addr}", server).replace("{{", "{").replace("}}", "}")
    prom = procs.prometheus(text)
    want_series, want_targets = _prometheus_view(prom.url)
    got_series, got_targets = _watchkeeper_view(yaml.safe_load(text))

    def scraped(series: set[tuple[tuple[str, str], ...]]) -> set[tuple[tuple[str, str], ...]]:
        # Exposed series and `up` must match exactly; scrape_* report series are compared by name and job.
        return {s for s in series if not dict(s)["__name__"].startswith("scrape_")}

    assert scraped(got_series) == scraped(want_series)
    names = {dict(s)["__name__"] for s in want_series}
    assert {"http_requests_total", "temperature", "weird_value", "empty_label", "up"} <= names
    assert len(scraped(want_series)) == 20
    honored = {s for s in got_series if dict(s).get("instance") == "pod-1"}
    assert honored and all(dict(s)["job"] == "app" for s in honored)
    relabeled = {
        s for s in got_series if dict(s)["job"] == "relabel" and dict(s)["__name__"] == "temperature"
    }
    assert [dict(s).get("my_room") for s in relabeled] == ["a b"]
    report = {
        (dict(s)["__name__"], dict(s)["job"])
        for s in want_series
        if dict(s)["__name__"].startswith("scrape_")
    }
    assert report <= {(dict(s)["__name__"], dict(s)["job"]) for s in got_series}

    def view(ts: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {
            t["scrapePool"]: (
                t["labels"],
                t["discoveredLabels"],
                t["scrapeUrl"],
                t["scrapeInterval"],
                t["health"],
            )
            for t in ts
        }

    assert view(got_targets) == view(want_targets)
