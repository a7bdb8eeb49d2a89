"""The agent as a process: pull ``/metrics``, push through outages, SIGKILL and restart, 4xx drops."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from watchkeeper.ingest.remote_write import decode_remote_write


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Receiver:
    """A remote-write endpoint on 127.0.0.1 that decodes and keeps every accepted sample."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.status = 204  # what to answer; anything but 2xx leaves the samples out
        self.samples: list[tuple[dict[str, str], int, float]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/write"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.status
                if 200 <= status < 300:
                    batch = decode_remote_write(
                        body,
                        content_type=self.headers["Content-Type"],
                        content_encoding=self.headers["Content-Encoding"],
                    )
                    with receiver.lock:
                        receiver.headers.append(dict(self.headers))
                        rows = zip(batch.series.tolist(), batch.t.tolist(), batch.v.tolist(), strict=True)
                        for s, t, v in rows:
                            receiver.samples.append((batch.labels[s].to_dict(), t, v))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def rounds(self, run: str) -> list[int]:
        """``watchkeeper_agent_collection_rounds_total`` values of one agent run, in arrival order."""
        with self.lock:
            return [
                int(v) for lb, _t, v in self.samples
                if lb["__name__"] == "watchkeeper_agent_collection_rounds_total" and lb.get("run") == run
            ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    if r.server is not None:
        r.stop()


def _agent(tmp_path: Path, *args: str, capture: bool = False) -> subprocess.Popen[bytes]:
    """Start an agent; its log goes to a file in ``tmp_path`` (a pipe nobody reads could fill up)."""
    cfg = tmp_path / "agent.yml"
    if not cfg.exists():
        cfg.write_text("collectors:\n  enabled: [loadavg, meminfo]\n")
    argv = [sys.executable, "-m", "watchkeeper.agent.main", "--config", str(cfg), *args]
    if capture:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(tmp_path / "agent.log", "ab") as log:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def _contiguous(rounds: list[int]) -> bool:
    return bool(rounds) and sorted(set(rounds)) == list(range(1, max(rounds) + 1))


def test_pull_mode_serves_metrics(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "agent.yml").write_text("")  # all default collectors
    proc = _agent(tmp_path, "--listen", f"127.0.0.1:{port}")
    try:
        def fetch() -> tuple[str, str] | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    return resp.headers["Content-Type"], resp.read().decode()
            except OSError:
                return None

        _wait(lambda: fetch() is not None, 30, "the agent to listen")
        ctype, text = fetch()  # type: ignore[misc]
        assert ctype.startswith("text/plain; version=0.0.4")
        assert "# TYPE node_cpu_seconds_total counter" in text
        assert 'node_cpu_seconds_total{cpu="0",mode="idle"}' in text
        assert "# TYPE node_load1 gauge" in text
        assert 'watchkeeper_agent_collector_up{collector="cpu"} 1' in text
        assert "process_resident_memory_bytes" in text
    finally:
        assert _stop(proc) == 0


def test_push_survives_receiver_outage(tmp_path: Path, receiver: Receiver) -> None:
    proc = _agent(tmp_path, "--remote-write-url", receiver.url, "--data-dir", str(tmp_path / "d"),
                  "--interval", "200ms", "--label", "run=a")
    try:
        _wait(lambda: len(receiver.rounds("a")) >= 3, 30, "first pushes")
        hdr = receiver.headers[0]
        assert hdr["Content-Encoding"] == "snappy" and hdr["Content-Type"] == "application/x-protobuf"
        assert hdr["X-Prometheus-Remote-Write-Version"] == "0.1.0"
        receiver.stop()  # connection refused for a while
        before = max(receiver.rounds("a"))
        time.sleep(2.0)
        receiver.start()
        _wait(lambda: max(receiver.rounds("a")) >= before + 8, 30, "the backlog to arrive")
        rounds = receiver.rounds("a")
        assert _contiguous(rounds), rounds  # nothing collected during the outage was lost
        assert rounds == sorted(rounds)  # and it arrived in order
        beats = [t for lb, t, _v in receiver.samples
                 if lb["__name__"] == "watchkeeper_agent_heartbeat_timestamp_seconds"]
        assert beats == sorted(beats)
    finally:
        assert _stop(proc) == 0


def test_sigkill_resumes_from_queue(tmp_path: Path, receiver: Receiver) -> None:
    data = str(tmp_path / "d")
    first = _agent(tmp_path, "--remote-write-url", receiver.url, "--data-dir", data,
                   "--interval", "200ms", "--label", "run=1")
    try:
        _wait(lambda: len(receiver.rounds("1")) >= 3, 30, "first pushes")
        receiver.status = 503  # server overloaded: the agent queues and retries
        before = max(receiver.rounds("1"))
        time.sleep(2.0)
    finally:
        first.kill()
        first.wait(timeout=20)
    receiver.status = 204
    second = _agent(tmp_path, "--remote-write-url", receiver.url, "--data-dir", data,
                    "--interval", "200ms", "--label", "run=2")
    try:
        _wait(lambda: len(receiver.rounds("2")) >= 2, 30, "the restarted agent's own pushes")
        run1 = receiver.rounds("1")
        assert _contiguous(run1), run1
        assert max(run1) >= before + 5  # what was queued before the kill was delivered after it
        assert len(run1) - len(set(run1)) <= 1  # at most the batch in flight is sent twice
        assert receiver.rounds("2")[0] == 1  # run 1's queue drained first, in order
    finally:
        assert _stop(second) == 0


def test_rejected_batches_are_dropped_and_counted(tmp_path: Path, receiver: Receiver) -> None:
    port = _free_port()
    receiver.status = 400
    proc = _agent(tmp_path, "--remote-write-url", receiver.url, "--data-dir", str(tmp_path / "d"),
                  "--interval", "200ms", "--label", "run=x", "--listen", f"127.0.0.1:{port}")

    def metrics() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            return ""

    try:
        _wait(lambda: metrics() != "", 30, "the agent to start")
        time.sleep(0.6)
        receiver.status = 204
        _wait(lambda: len(receiver.rounds("x")) >= 2, 30, "pushes after the rejections")
        text = metrics()
        line = next(x for x in text.splitlines()
                    if x.startswith('watchkeeper_agent_remote_write_requests_total{outcome="rejected"}'))
        assert float(line.split()[-1]) >= 1
        assert min(receiver.rounds("x")) > 1  # the rejected first rounds were not retried
    finally:
        assert _stop(proc) == 0


def test_bad_config_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "agent.yml").write_text("interval: 15s\nlabels:\n  9bad: x\n")
    proc = _agent(tmp_path, "--listen", f"127.0.0.1:{_free_port()}", capture=True)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"{tmp_path / 'agent.yml'}:3: " in err.decode()


def _query(base: str, expr: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?query={urllib.parse.quote(expr)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())["data"]["result"]  # type: ignore[no-any-return]


@pytest.mark.peer
@pytest.mark.skipif(not Path("/usr/bin/prometheus").exists(), reason="needs /usr/bin/prometheus")
def test_push_into_real_prometheus(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "prometheus.yml").write_text("global: {}\n")
    prom = subprocess.Popen(
        ["/usr/bin/prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
         "--web.enable-remote-write-receiver"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    agent = None
    try:
        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        _wait(ready, 60, "prometheus to start")
        agent = _agent(tmp_path, "--remote-write-url", f"{base}/api/v1/write", "--data-dir",
                       str(tmp_path / "d"), "--interval", "200ms", "--label", "instance=host-a")

        def rounds() -> float:
            res = _query(base, 'watchkeeper_agent_collection_rounds_total{job="node",instance="host-a"}')
            return float(res[0]["value"][1]) if res else 0.0  # type: ignore[index]

        _wait(lambda: rounds() >= 3, 60, "pushed samples to be queryable")
        assert _query(base, 'node_memory_MemTotal_bytes{job="node",instance="host-a"}')
        assert _query(base, 'up{job="node",instance="host-a"} == 1')
    finally:
        if agent is not None:
            assert _stop(agent) == 0
        _stop(prom)


def test_hanging_script_does_not_stop_pull(tmp_path: Path) -> None:
    (tmp_path / "agent.yml").write_text(
        "collectors: {enabled: [loadavg]}\n"
        "scripts:\n"
        "  - {name: hang, command: [sleep, '30'], timeout: 300ms}\n"
        "  - {name: ok, command: [echo, 'my_metric 42'], timeout: 5s}\n"
    )
    port = _free_port()
    proc = _agent(tmp_path, "--listen", f"127.0.0.1:{port}")
    try:
        def fetch() -> str:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                    return resp.read().decode()
            except OSError:
                return ""

        _wait(lambda: fetch() != "", 30, "the agent to listen")
        start = time.monotonic()
        text = fetch()
        assert time.monotonic() - start < 5
        assert 'watchkeeper_agent_script_success{script="hang"} 0' in text
        assert "my_metric 42" in text and "node_load1 " in text
    finally:
        assert _stop(proc) == 0


_NODE_RULES = Path("/work/shared/conformance/rules/kube-prometheus/nodeExporter-prometheusRule.yaml")


@pytest.mark.peer
@pytest.mark.skipif(not (Path("/usr/bin/prometheus").exists() and _NODE_RULES.exists()),
                    reason="needs /usr/bin/prometheus and the kube-prometheus node rules")
def test_kube_prometheus_node_rules_work_on_pushed_data(tmp_path: Path) -> None:
    import yaml

    spec = yaml.safe_load(_NODE_RULES.read_text())["spec"]
    groups = [{**g, "interval": "1s"} for g in spec["groups"]]
    records = [r["record"] for g in groups for r in g["rules"] if "record" in r]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": groups}))
    (tmp_path / "prometheus.yml").write_text(
        f"global: {{evaluation_interval: 1s}}\nrule_files: [{tmp_path / 'rules.yml'}]\n"
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    prom = subprocess.Popen(
        ["/usr/bin/prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
         "--web.enable-remote-write-receiver"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    agent = None
    (tmp_path / "agent.yml").write_text("")  # all default collectors
    try:
        def missing() -> list[str]:
            try:
                return [r for r in records if not _query(base, r)]
            except OSError:
                return records

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        _wait(ready, 60, "prometheus to start")
        # The rules select job="node-exporter", kube-prometheus' job name for node_exporter.
        agent = _agent(tmp_path, "--remote-write-url", f"{base}/api/v1/write", "--data-dir",
                       str(tmp_path / "d"), "--interval", "500ms", "--label", "job=node-exporter")
        deadline = time.monotonic() + 60
        while missing() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert missing() == []  # every recording rule has a result from the agent's series
        assert len(records) == 15
    finally:
        if agent is not None:
            assert _stop(agent) == 0
        _stop(prom)
