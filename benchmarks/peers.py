"""The processes a benchmark talks to: Prometheus 2.42, a watchkeeper server, node_exporter.

Each runs on a free 127.0.0.1 port, is waited for until it answers, and is always stopped
(SIGTERM, then SIGKILL) when its ``with`` block ends. A server configured here scrapes nothing,
so only the benchmark's own traffic costs it CPU.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx
import psutil
import pycurl

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
QUIET_CONFIG = "global:\n  scrape_interval: 15s\n  evaluation_interval: 1h\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Peer:
    """A server process on ``127.0.0.1:port``; ``client`` is an httpx client for it."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log: Path, ready_path: str,
                 timeout_s: float = 120.0) -> None:
        self.name = name
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        self.ps = psutil.Process(self.proc.pid)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        self._curl: pycurl.Curl | None = None
        try:
            self._wait(ready_path, timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait(self, path: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.client.get(path, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} did not become ready on port {self.port}:\n{tail}")
            time.sleep(0.2)

    def get(self, path: str, params: dict[str, str]) -> bytes:
        """GET ``path?params`` with libcurl over one kept-alive connection; the body.

        Used for latency figures: httpx spends about 0.8 ms and http.client about 0.5 ms of
        Python per request on this machine (libcurl: under 0.1 ms), the same for every peer,
        which would blur the servers' own difference.
        """
        if self._curl is None:
            self._curl = pycurl.Curl()
            self._curl.setopt(pycurl.TIMEOUT, 600)
        buf = io.BytesIO()
        self._curl.setopt(pycurl.URL, f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}")
        self._curl.setopt(pycurl.WRITEDATA, buf)
        self._curl.perform()
        status = self._curl.getinfo(pycurl.RESPONSE_CODE)
        if status != 200:
            raise RuntimeError(f"{self.name}: GET {path} answered {status}: {buf.getvalue()[:500]!r}")
        return buf.getvalue()

    def cpu_seconds(self) -> float:
        """User + system CPU the process (and any children) used so far."""
        t = self.ps.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def rss_bytes(self) -> int:
        return int(self.ps.memory_info().rss)

    def stop(self) -> None:
        self.client.close()
        if self._curl is not None:
            self._curl.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def prometheus(work: Path, data_dir: Path, *extra: str, config: str = QUIET_CONFIG) -> Peer:
    """Prometheus 2.42 on ``data_dir`` with 100 years of retention (benchmark data is old)."""
    cfg = work / "prometheus.yml"
    cfg.write_text(config)
    port = free_port()
    return Peer("prometheus", [
        PROMETHEUS, f"--storage.tsdb.path={data_dir}", f"--web.listen-address=127.0.0.1:{port}",
        f"--config.file={cfg}", "--storage.tsdb.retention.time=100y", *extra,
    ], port, work / "prometheus.log", "/-/ready")


def watchkeeper(work: Path, data_dir: Path, config: str = QUIET_CONFIG) -> Peer:
    """``watchkeeper server`` on ``data_dir``, run by this Python interpreter."""
    cfg = work / "watchkeeper.yml"
    cfg.write_text(config)
    port = free_port()
    return Peer("watchkeeper", [
        sys.executable, "-m", "watchkeeper.cli.main", "server", "--config", str(cfg),
        "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}",
        "--storage.tsdb.retention.time", "100y", "--log.level", "warn",
    ], port, work / "watchkeeper.log", "/-/ready")


def node_exporter_payload(work: Path) -> bytes:
    """One ``/metrics`` body from a real prometheus-node-exporter (started and stopped here)."""
    port = free_port()
    with Peer("node_exporter", [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"], port,
              work / "node_exporter.log", "/metrics", timeout_s=30) as peer:
        return peer.client.get("/metrics").content


def promtool_blocks(openmetrics: Path, out: Path, max_block: str = "24h") -> None:
    """Backfill OpenMetrics into Prometheus blocks (``--max-block-duration`` is hidden in 2.42)."""
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q",
                    f"--max-block-duration={max_block}", str(openmetrics), str(out)],
                   check=True, capture_output=True, timeout=1800)


def block_samples(block: Path) -> int:
    """``stats.numSamples`` from a Prometheus block's meta.json."""
    return int(json.loads((block / "meta.json").read_text())["stats"]["numSamples"])


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
