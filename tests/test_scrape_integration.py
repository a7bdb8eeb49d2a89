"""End to end: scrape a real node_exporter and a prometheus_client app into an in-memory TSDB,
and exercise the HTTP side (headers, auth, gzip, limits, timeouts) against a local server."""

from __future__ import annotations

import asyncio
import gzip
import math
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
                "job_name": "nodepb",
                "scrape_interval": "500ms",
                "scrape_timeout": "500ms",
                "scrape_protocols": ["PrometheusProto"],
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
            if len(ups) == 3 and all(len(ups.series(i)[1]) >= 2 for i in range(3)):
                break
            await asyncio.sleep(0.1)
        targets = m.targets()
        await m.stop()
        return targets

    targets = asyncio.run(main())
    assert {t["health"] for t in targets["activeTargets"]} == {"up"}, targets
    ups = db.select([Matcher.eq("__name__", "up")], 0, 2**62)
    assert sorted(lb.get("job") for lb in ups.labels) == ["app", "node", "nodepb"]
    assert all(np.all(ups.series(i)[2] == 1) for i in range(3))

    cpu = db.select([Matcher.eq("__name__", "node_cpu_seconds_total")], 0, 2**62)
    by_job: dict[str, set[Any]] = {}
    for lb in cpu.labels:
        by_job.setdefault(lb.get("job"), set()).add(lb.without("job"))
    assert by_job["node"] and by_job["node"] == by_job["nodepb"]  # protobuf and text agree
    assert cpu.labels[0].get("instance") == f"127.0.0.1:{ne_port}"

    # Prometheus 3 writes summary quantiles in OpenMetrics float form.
    gc = db.select([Matcher.eq("__name__", "go_gc_duration_seconds"), Matcher.eq("job", "node")], 0, 2**62)
    assert {lb.get("quantile") for lb in gc.labels} >= {"0.0", "1.0", "0.5"}

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
            {**base, "job_name": "refused", "static_configs": [{"targets": [f"127.0.0.1:{free_port()}"]}]},
        ]
    )
    assert res["ok"]["health"] == "up" and res["ok"]["scrapeUrl"] == f"http://{addr}/metrics?x=1"
    assert res["auth"]["health"] == "up"
    assert res["noauth"]["lastError"] == "server returned HTTP status 401 Unauthorized"
    assert res["missing"]["lastError"] == "server returned HTTP status 404 Not Found"
    assert res["slow"]["lastError"] == f'Get "http://{addr}/slow": context deadline exceeded'
    assert res["big"]["lastError"] == "body size limit exceeded"
    assert res["limit"]["lastError"] == "sample limit exceeded"
    refused = res["refused"]
    assert refused["lastError"] == (
        f'Get "{refused["scrapeUrl"]}": dial tcp {refused["labels"]["instance"]}: connect: connection refused'
    )
    req = next(h for h in handler.seen if h["path"] == "/metrics?x=1")
    assert req["Accept"].startswith("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,")
    assert req["Accept-Encoding"] == "gzip"
    assert req["X-Prometheus-Scrape-Timeout-Seconds"] == "0.5"
    assert req["User-Agent"].startswith("Prometheus/")
    big = next(h for h in handler.seen if h["path"] == "/metrics" and h["Accept-Encoding"] == "identity")
    assert big


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[str, str]]:
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=example.org",
            "-addext",
            "subjectAltName=DNS:example.org",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    import ssl

    handler = type("H", (_Handler,), {"seen": []})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"127.0.0.1:{srv.server_address[1]}", str(cert)
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(timeout=5)


def test_https_with_ca_server_name_and_skip_verify(tls_server: tuple[str, str]) -> None:
    addr, ca = tls_server
    base = {
        "scheme": "https",
        "scrape_interval": "2s",
        "scrape_timeout": "1s",
        "static_configs": [{"targets": [addr]}],
    }
    res = _scrape_all(
        [
            {**base, "job_name": "named", "tls_config": {"ca_file": ca, "server_name": "example.org"}},
            {**base, "job_name": "mismatch", "tls_config": {"ca_file": ca}},
            {**base, "job_name": "skip", "tls_config": {"insecure_skip_verify": True}},
        ]
    )
    assert res["named"]["health"] == "up", res["named"]["lastError"]
    assert res["skip"]["health"] == "up", res["skip"]["lastError"]
    assert res["mismatch"]["health"] == "down" and "certificate" in res["mismatch"]["lastError"].lower()


@pytest.mark.peer
def test_protobuf_matches_text_from_node_exporter(procs: Any) -> None:
    from watchkeeper.exposition.protoparse import parse_protobuf
    from watchkeeper.exposition.textparse import normalize_float_labels, parse_series_key, parse_text

    ne = procs.node_exporter()
    proto_accept = (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
    )
    r = httpx.get(ne.url + "/metrics", headers={"Accept": proto_accept})
    assert r.headers["Content-Type"].startswith("application/vnd.google.protobuf")
    pb = parse_protobuf(r.content)
    txt = parse_text(httpx.get(ne.url + "/metrics", headers={"Accept": "text/plain;version=0.0.4"}).text)

    def series(p: Any) -> dict[tuple[tuple[str, str], ...], float]:
        return {
            tuple(sorted(normalize_float_labels(parse_series_key(k), p.metadata))): float(v)
            for k, v in zip(p.keys, p.values, strict=True)
        }

    a, b = series(pb), series(txt)
    assert len(a) > 200
    # Self-metrics of the exporter (request counters, memory) may differ between the two requests.
    drop = (
        "promhttp_",
        "go_",
        "process_",
        "node_scrape_collector_duration",
        "node_cpu",
        "node_time",
        "node_memory",
        "node_disk",
        "node_network",
        "node_intr",
        "node_context",
        "node_forks",
        "node_procs",
        "node_load",
        "node_schedstat",
        "node_softnet",
        "node_pressure",
        "node_vmstat",
        "node_netstat",
        "node_sockstat",
        "node_filefd",
        "node_entropy",
        "node_timex",
        "node_filesystem",
        "node_nf_conntrack",
        "node_udp",
        "node_arp",
        "node_boot",
    )
    assert set(a) == set(b)
    stable = {k for k in a if not dict(k)["__name__"].startswith(drop)}
    assert stable and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in stable)
    assert {m: pb.metadata[m].type for m in ("go_gc_duration_seconds", "node_cpu_seconds_total")} == {
        "go_gc_duration_seconds": "summary",
        "node_cpu_seconds_total": "counter",
    }
    assert pb.metadata["go_gc_duration_seconds"].help == txt.metadata["go_gc_duration_seconds"].help
