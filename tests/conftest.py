"""Shared fixtures: free ports and real processes (watchkeeper server, Prometheus, node_exporter).

Every process a test starts is registered with a fixture that stops it at
teardown, so a failing test never leaves a server behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import cramjam
import httpx
import pytest
import uvicorn

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: object, port: int) -> AsyncIterator[None]:
    """Serve an ASGI app (a local stand-in for a remote service) on 127.0.0.1:port inside the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless system Chromium driven by Playwright, one per test module (the browser tests skip
    themselves when Playwright or Chromium is missing)."""
    from playwright import sync_api

    from watchkeeper.web.screenshots import CHROMIUM, CHROMIUM_ARGS

    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def pb_varint(n: int) -> bytes:
    """A protobuf varint (negative numbers as their 64-bit two's complement)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload


def encode_write_request(series: Sequence[tuple[dict[str, str], Sequence[tuple[int, float]]]]) -> bytes:
    """A snappy-compressed remote-write 1.0 ``WriteRequest`` (hand-encoded protobuf) for tests."""
    body = b""
    for labels, samples in series:
        ts = b""
        for k, v in sorted(labels.items()):
            ts += pb_field(1, pb_field(1, k.encode()) + pb_field(2, v.encode()))
        for t, v in samples:
            ts += pb_field(2, b"\x09" + struct.pack("<d", v) + b"\x10" + pb_varint(t))
        body += pb_field(1, ts)
    return bytes(cramjam.snappy.compress_raw(body))


REMOTE_WRITE_HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                        "X-Prometheus-Remote-Write-Version": "0.1.0"}


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was ready")
        try:
            r = httpx.get(url, timeout=2.0)
            if r.status_code == 200:
                return
            last = f"status {r.status_code}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s ({last})")


class Proc:
    """A started child process with its base URL and log file."""

    def __init__(self, argv: Sequence[str], url: str, log_path: Path,
                 env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.url = url
        self.log_path = log_path
        self._log = open(log_path, "ab")  # closed in stop()
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


def _wait_ready(p: Proc, path: str = "/-/ready") -> None:
    try:
        wait_http_ok(p.url + path, p.proc)
    except (RuntimeError, TimeoutError) as e:
        raise RuntimeError(f"{e}\n--- log of {p.argv[0]} ---\n{p.log()[-3000:]}") from None


_PORT_TAKEN = ("cannot listen", "address already in use")


class Processes:
    """Starts processes for one test and stops them all afterwards."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[Proc] = []

    def _start(self, make: Callable[[int], Proc], port: int | None, path: str = "/-/ready") -> Proc:
        """Start on ``port`` or a free one; another process may grab a free port first, so retry then."""
        for _ in range(3):
            p = make(port or free_port())
            self.started.append(p)
            try:
                _wait_ready(p, path)
                return p
            except RuntimeError as e:
                if port is not None or not any(t in str(e).lower() for t in _PORT_TAKEN):
                    raise
        raise RuntimeError("no free port found in 3 attempts")

    def watchkeeper(self, *args: str, data_dir: Path | None = None, config: Path | None = None,
                    port: int | None = None, wait: bool = True) -> Proc:
        """``watchkeeper server`` on 127.0.0.1; waits for /-/ready unless ``wait`` is False."""
        data_dir = data_dir or self.tmp / "wk-data"

        def make(port: int) -> Proc:
            argv = [sys.executable, "-m", "watchkeeper.cli.main", "server", "--listen", f"127.0.0.1:{port}",
                    "--data-dir", str(data_dir), *args]
            if config is not None:
                argv += ["--config", str(config)]
            return Proc(argv, f"http://127.0.0.1:{port}", self.tmp / f"watchkeeper-{port}.log",
                        env={**os.environ, "PYTHONUNBUFFERED": "1"})

        if not wait:
            p = make(port or free_port())
            self.started.append(p)
            return p
        return self._start(make, port)

    def prometheus(self, config_text: str, *args: str) -> Proc:
        if not os.access(PROMETHEUS, os.X_OK):
            pytest.skip("prometheus binary not installed")

        def make(port: int) -> Proc:
            d = self.tmp / f"prom-{port}"
            d.mkdir()
            cfg = d / "prometheus.yml"
            cfg.write_text(config_text)
            argv = [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={d / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn", *args]
            return Proc(argv, f"http://127.0.0.1:{port}", d / "prometheus.log")

        return self._start(make, None)

    def node_exporter(self) -> Proc:
        if not os.access(NODE_EXPORTER, os.X_OK):
            pytest.skip("prometheus-node-exporter not installed")

        def make(port: int) -> Proc:
            argv = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
            return Proc(argv, f"http://127.0.0.1:{port}", self.tmp / f"node-exporter-{port}.log")

        return self._start(make, None, "/metrics")

    def stop_all(self) -> None:
        for p in reversed(self.started):
            p.stop()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    """Start real processes in a test; all are stopped at teardown."""
    ps = Processes(tmp_path)
    try:
        yield ps
    finally:
        ps.stop_all()


@pytest.fixture
def promtool() -> str:
    if not os.access(PROMTOOL, os.X_OK):
        pytest.skip("promtool not installed")
    return PROMTOOL
