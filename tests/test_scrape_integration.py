"""End to end: scrape a real node_exporter and a prometheus_client app into an in-memory TSDB,
and exercise the HTTP side (headers, auth, gzip, limits, timeouts) against a local server."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import numpy as np
import pytest

from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig
from watchkeeper.scrape.manager import ScrapeManager
from watchkeeper.storage.db import TSDB

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"

APP = """
import sys, time
from prometheus_client import Counter, Gauge, start_http_server
c = Counter("app_requests", "Requests served.", ["path"])
c.labels("/a").inc(5)
Gauge("app_temperature_celsius", "Temperature.").set(21.5)
start_http_server(int(sys.argv[1]), addr="127.0.0.1")
while True:
    time.sleep(1)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, "process exited early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never came up")


@pytest.fixture
def exporters() -> Iterator[tuple[int, int]]:
    if not shutil.which(NODE_EXPORTER):
        pytest.skip("prometheus-node-exporter not installed")
    ne_port, app_port = free_port(), free_port()
    procs = [
        subprocess.Popen(
            [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ne_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "-c", APP, str(app_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ),
    ]
    try:
        wait_http(f"http://127.0.0.1:{ne_port}/metrics", procs[0])
        wait_http(f"http://127.0.0.1:{app_port}/metrics", procs[1])
        yield ne_port, app_port
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.peer
def test_scrape_node_exporter_and_python_app(exporters: tuple[int, int]) -> None:
    ne_port, app_port = exporters
    db = TSDB(None)
    cfgs = [
        ScrapeConfig.model_validate(
            {
                "job_name": "node",
                "scrape_interval": "500ms",
                "scrape_timeout": "500ms",
                "static_configs": [{"targets": [f"127.0.0.1:{ne_port}"]}],
            }
        ),
        ScrapeConfig.model_validate(
            {
                "job_name": "app",
                "scrape_interval": "500ms",
                "scrape_timeout": "500ms",
                "static_configs": [{"targets": [f"127.0.0.1:{app_port}"]}],
                "metric_relabel_configs": [
                    {"source_labels": ["__name__"], "regex": "python_gc_.*", "action": "drop"}
                ],
            }
        ),
    ]

    async def main() -> dict[str, Any]:
        m = ScrapeManager(db)
        await m.apply_config(cfgs, GlobalScrapeDefaults())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ups = db.select([Matcher.eq("__name__", "up")], 0, 2**62)
            if len(ups) == 2 and all(len(ups.series(i)[1]) >= 2 for i in range(2)):
                break
            await asyncio.sleep(0.1)
        targets = m.targets()
        await m.stop()
        return targets

    targets = asyncio.run(main())
    assert {t["health"] for t in targets["activeTargets"]} == {"up"}, targets
    ups = db.select([Matcher.eq("__name__", "up")], 0, 2**62)
    assert sorted(lb.get("job") for lb in ups.labels) == ["app", "node"]
    assert all(np.all(ups.series(i)[2] == 1) for i in range(2))

    cpu = db.select([Matcher.eq("__name__", "node_cpu_seconds_total")], 0, 2**62)
    assert len(cpu) > 0 and cpu.labels[0].get("job") == "node"
    assert cpu.labels[0].get("instance") == f"127.0.0.1:{ne_port}"

    # prometheus_client answers in OpenMetrics (negotiated by the Accept header).
    req = db.select([Matcher.eq("__name__", "app_requests_total")], 0, 2**62)
    assert [lb.get("path") for lb in req.labels] == ["/a"] and req.series(0)[2][0] == 5
    created = db.select([Matcher.eq("__name__", "app_requests_created")], 0, 2**62)
    assert len(created) == 1
    temp = db.select([Matcher.eq("__name__", "app_temperature_celsius")], 0, 2**62)
    assert temp.series(0)[2][0] == 21.5
    assert len(db.select([Matcher(MatchType.REGEX, "__name__", "python_gc_.*")], 0, 2**62)) == 0
    post = db.select(
        [Matcher.eq("__name__", "scrape_samples_post_metric_relabeling"), Matcher.eq("job", "app")], 0, 2**62
    )
    scraped = db.select(
        [Matcher.eq("__name__", "scrape_samples_scraped"), Matcher.eq("job", "app")], 0, 2**62
    )
    assert post.series(0)[2][-1] < scraped.series(0)[2][-1]


# -- HTTP behaviour against a local server ---------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append({"path": self.path, **dict(self.headers)})
        body = b"# TYPE m gauge\nm 1\n" + b"".join(b'pad{i="%d"} 1\n' % i for i in range(100))
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        if self.path.startswith("/missing"):
            self.send_response(404)
            self.end_headers()
            return
        if self.path.startswith("/auth") and self.headers.get("Authorization") != "Basic dTpw":
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the scraper gave up (timeout test)
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {"seen": []})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", handler
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(timeout=5)


def _scrape_all(cfgs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    async def main() -> dict[str, dict[str, Any]]:
        db = TSDB(None)
        m = ScrapeManager(db)
        await m.apply_config([ScrapeConfig.model_validate(c) for c in cfgs], GlobalScrapeDefaults())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ts = m.targets()["activeTargets"]
            if all(t["health"] != "unknown" for t in ts):
                break
            await asyncio.sleep(0.05)
        await m.stop()
        return {t["scrapePool"]: t for t in ts}

    return asyncio.run(main())


def test_http_headers_auth_gzip_and_errors(server: tuple[str, type[_Handler]]) -> None:
    addr, handler = server
    base = {"scrape_interval": "2s", "scrape_timeout": "500ms", "static_configs": [{"targets": [addr]}]}
    res = _scrape_all(
        [
            {**base, "job_name": "ok", "params": {"x": ["1"]}},
            {
                **base,
                "job_name": "auth",
                "metrics_path": "/auth",
                "basic_auth": {"username": "u", "password": "p"},
            },
            {**base, "job_name": "noauth", "metrics_path": "/auth"},
            {**base, "job_name": "missing", "metrics_path": "/missing"},
            {**base, "job_name": "slow", "metrics_path": "/slow"},
            {**base, "job_name": "big", "body_size_limit": "1KB", "enable_compression": False},
            {**base, "job_name": "limit", "sample_limit": 10},
        ]
    )
    assert res["ok"]["health"] == "up" and res["ok"]["scrapeUrl"] == f"http://{addr}/metrics?x=1"
    assert res["auth"]["health"] == "up"
    assert res["noauth"]["lastError"] == "server returned HTTP status 401 Unauthorized"
    assert res["missing"]["lastError"] == "server returned HTTP status 404 Not Found"
    assert res["slow"]["lastError"] == f'Get "http://{addr}/slow": context deadline exceeded'
    assert res["big"]["lastError"] == "body size limit exceeded (limit: 1024 bytes)"
    assert res["limit"]["lastError"] == "sample limit exceeded"
    req = next(h for h in handler.seen if h["path"] == "/metrics?x=1")
    assert req["Accept"].startswith("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,")
    assert req["Accept-Encoding"] == "gzip"
    assert req["X-Prometheus-Scrape-Timeout-Seconds"] == "0.5"
    assert req["User-Agent"].startswith("Prometheus/")
    big = next(h for h in handler.seen if h["path"] == "/metrics" and h["Accept-Encoding"] == "identity")
    assert big
