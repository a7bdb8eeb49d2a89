"""The agent process: supervised collection, ``/metrics`` for pull, queue + sender for push.

Threads, not asyncio: collectors block in file reads and subprocesses, the sender blocks in
one HTTP request at a time, and the whole process must stay small (no event loop, no ASGI
stack). Three kinds of thread run: the collection loop (push mode), the HTTP server (pull
mode), the queue sender (push mode); collectors each get a short-lived thread per round.
"""

from __future__ import annotations

import copy
import logging
import os
import resource
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..support.backoff import Backoff
from .collectors import Collector, MetricFamily, default_collectors, render_families
from .collectors.process import ProcessCollector, ProcessGroup
from .collectors.script import ScriptCollector
from .collectors.systemd import SystemdCollector, systemd_running
from .config import AgentConfig
from .diskqueue import DiskQueue
from .remote_write_client import RemoteWriteClient, TLSOptions, WriteRequestEncoder
from .supervise import SupervisedCollectors

__all__ = ["Agent", "QueueSender", "build_collector_factories", "remote_write_client", "serve_metrics"]

log = logging.getLogger(__name__)

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def build_collector_factories(cfg: AgentConfig) -> tuple[list[Callable[[], Collector]], dict[str, float]]:
    """Collector factories selected by the config, and per-collector timeouts (seconds) that differ.

    ``collectors.enabled``/``disabled`` choose among node_exporter's default collectors; the
    process, systemd and script collectors run whenever their own sections configure them.
    """
    builtin = list(default_collectors(textfile_directory=cfg.textfile_directory or None))
    known = {c.name for c in builtin}
    wanted = set(cfg.collectors.enabled) if cfg.collectors.enabled is not None else known
    unknown = (wanted | set(cfg.collectors.disabled)) - known
    if unknown:
        raise ValueError(f"unknown collectors {sorted(unknown)}; known: {sorted(known)}")
    templates: list[Collector] = [c for c in builtin if c.name in wanted - set(cfg.collectors.disabled)]
    if cfg.processes:
        templates.append(ProcessCollector([ProcessGroup(p.name, p.pattern) for p in cfg.processes]))
    if cfg.systemd.enabled or (cfg.systemd.enabled is None and systemd_running()):
        templates.append(SystemdCollector(include=cfg.systemd.unit_include, exclude=cfg.systemd.unit_exclude))
    timeouts: dict[str, float] = {}
    for script in cfg.scripts:
        sc = ScriptCollector(script.name, script.command, timeout=script.timeout / 1000)
        templates.append(sc)
        timeouts[sc.name] = script.timeout / 1000 + 2.0  # the script is killed first, then reported
    # A restart builds a fresh copy of the pristine template, never of the instance that failed.
    return [lambda t=t: copy.copy(t) for t in templates], timeouts


def _read_secret(value: str, path: str) -> str:
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return value


def remote_write_client(cfg: AgentConfig) -> RemoteWriteClient:
    """A client for the configured URL (``server`` + ``/api/v1/write`` when only a server is given)."""
    rw = cfg.remote_write
    url = rw.url or cfg.server.rstrip("/") + "/api/v1/write"
    basic = None
    if rw.basic_auth is not None:
        basic = (
            _read_secret(rw.basic_auth.username, rw.basic_auth.username_file),
            _read_secret(rw.basic_auth.password, rw.basic_auth.password_file),
        )
    tls = rw.tls_config
    return RemoteWriteClient(
        url,
        timeout=rw.timeout / 1000,
        basic_auth=basic,
        bearer_token=_read_secret(rw.bearer_token, rw.bearer_token_file),
        tls=TLSOptions(tls.ca_file, tls.cert_file, tls.key_file, tls.server_name, tls.insecure_skip_verify),
    )


class QueueSender:
    """Drains the disk queue in order; retries 5xx/429/transport errors with backoff, drops other 4xx."""

    def __init__(
        self,
        queue: DiskQueue,
        client: RemoteWriteClient,
        *,
        stop: threading.Event,
        backoff: Backoff | None = None,
    ) -> None:
        self.queue = queue
        self.client = client
        self.stop = stop
        self.backoff = backoff or Backoff(initial=0.5, maximum=30.0)
        self.sent = 0
        self.retries = 0
        self.rejected = 0
        self.last_error = ""

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.queue.wait(1.0):
                continue
            item = self.queue.peek()
            if item is None:
                continue
            token, body = item
            result = self.client.send(body)
            if result.ok:
                self.queue.ack(token)
                self.sent += 1
                self.backoff.reset()
            elif result.retryable:
                self.retries += 1
                self.last_error = f"{result.status} {result.message}"
                delay = self.backoff.next_delay()
                log.warning("remote write failed (%s); retrying in %.1fs", self.last_error, delay)
                self.stop.wait(delay)
            else:
                # The receiver will never accept this batch (bad labels, out of order...): skip it.
                self.queue.ack(token)
                self.rejected += 1
                self.last_error = f"{result.status} {result.message}"
                log.error("remote write rejected a batch (%s); dropped it", self.last_error)
        self.client.close()


class Agent:
    """Everything one ``watchkeeper agent`` process runs, built from a resolved config."""

    def __init__(self, cfg: AgentConfig, *, push: bool, clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.clock = clock
        self.started = clock()
        factories, timeouts = build_collector_factories(cfg)
        self.collectors = SupervisedCollectors(
            factories, timeout=cfg.collectors.timeout / 1000, timeouts=timeouts
        )
        self.labels = dict(cfg.labels)
        self.labels.setdefault("job", "node")
        self.labels.setdefault("instance", socket.gethostname())
        self.stop = threading.Event()
        self._collect_lock = threading.Lock()
        self.queue: DiskQueue | None = None
        self.sender: QueueSender | None = None
        self.rounds = 0
        self.round_errors = 0
        if push:
            data_dir = cfg.data_dir or "data-agent"
            self.queue = DiskQueue(os.path.join(data_dir, "queue"), max_bytes=cfg.queue.max_bytes)
            self.sender = QueueSender(self.queue, remote_write_client(cfg), stop=self.stop)
            self.encoder = WriteRequestEncoder(extra_labels=self.labels)

    # -- what is collected ---------------------------------------------------------------
    def self_families(self, now: float) -> list[MetricFamily]:
        fams = [
            MetricFamily(
                "watchkeeper_agent_heartbeat_timestamp_seconds",
                "Unix time of the agent's latest collection; the server alerts when it stops advancing.",
                "gauge",
            ).add(now),
            MetricFamily(
                "watchkeeper_agent_interval_seconds", "The agent's collection interval.", "gauge"
            ).add(self.cfg.interval / 1000),
            MetricFamily(
                "watchkeeper_agent_collection_rounds_total", "Collection rounds run in push mode.", "counter"
            ).add(self.rounds),
        ]
        fams += _process_families(self.started)
        if self.queue is not None and self.sender is not None:
            st = self.queue.stats
            fams += [
                MetricFamily(
                    "watchkeeper_agent_queue_pending_bytes", "Bytes queued on disk and not yet sent.", "gauge"
                ).add(self.queue.pending_bytes()),
                MetricFamily(
                    "watchkeeper_agent_queue_max_bytes", "Bound on the on-disk queue's size.", "gauge"
                ).add(self.queue.max_bytes),
                MetricFamily(
                    "watchkeeper_agent_queue_dropped_records_total",
                    "Collected batches deleted unsent because the queue was full.",
                    "counter",
                ).add(st.dropped_records),
                MetricFamily(
                    "watchkeeper_agent_queue_dropped_bytes_total",
                    "Bytes deleted unsent because the queue was full.",
                    "counter",
                ).add(st.dropped_bytes),
                MetricFamily(
                    "watchkeeper_agent_queue_corrupt_records_total",
                    "Queue records skipped because their checksum did not match.",
                    "counter",
                ).add(st.corrupt_records),
                MetricFamily(
                    "watchkeeper_agent_remote_write_requests_total",
                    "Remote-write requests by outcome (ok, retried, rejected).",
                    "counter",
                )
                .add(self.sender.sent, {"outcome": "ok"})
                .add(self.sender.retries, {"outcome": "retried"})
                .add(self.sender.rejected, {"outcome": "rejected"}),
            ]
        return fams

    def collect(self) -> list[MetricFamily]:
        with self._collect_lock:
            families = self.collectors.collect()
            return families + self.self_families(self.clock())

    def render(self) -> bytes:
        return render_families(self.collect()).encode("utf-8")

    def push_round(self) -> None:
        """Collect once and queue the batch (with ``up`` = 1, as a scrape of this host would record)."""
        assert self.queue is not None
        now = self.clock()
        self.rounds += 1
        families = self.collect()
        families.append(MetricFamily("up", "1 while the agent is collecting and pushing.", "gauge").add(1))
        self.queue.append(self.encoder.encode(families, int(now * 1000)))

    # -- lifecycle -----------------------------------------------------------------------
    def run_push_loop(self) -> None:
        """Collect every interval until ``stop``; a slow round skips ticks rather than bunching up."""
        interval = self.cfg.interval / 1000
        next_tick = time.monotonic()
        while not self.stop.is_set():
            try:
                self.push_round()
            except Exception:  # noqa: BLE001 - a failed round (e.g. disk full) must not end the agent
                self.round_errors += 1
                log.exception("collection round failed")
            next_tick += interval
            now = time.monotonic()
            if next_tick < now:
                next_tick = now + interval - ((now - next_tick) % interval)
            self.stop.wait(next_tick - now)

    def start_sender(self) -> threading.Thread:
        assert self.sender is not None
        thread = threading.Thread(target=self.sender.run, name="remote-write-sender", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.stop.set()
        if self.queue is not None:
            self.queue.wake()


def _process_families(started: float) -> list[MetricFamily]:
    """The standard ``process_*`` self-metrics every Prometheus exporter exposes (from /proc/self)."""
    times = os.times()
    fams = [
        MetricFamily(
            "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter"
        ).add(times.user + times.system),
        MetricFamily("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                     "gauge").add(started),
        MetricFamily("process_max_fds", "Maximum number of open file descriptors.", "gauge")
        .add(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
    ]
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            fields = f.read().split()
        fams.append(MetricFamily("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge")
                    .add(int(fields[1]) * _PAGE))
        fams.append(MetricFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge")
                    .add(int(fields[0]) * _PAGE))
        fams.append(MetricFamily("process_open_fds", "Number of open file descriptors.", "gauge")
                    .add(len(os.listdir("/proc/self/fd"))))
    except OSError:
        pass
    return fams


class _Handler(BaseHTTPRequestHandler):
    server_version = "watchkeeper-agent"
    agent: Agent

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body = self.agent.render()
            except Exception as err:  # noqa: BLE001 - report on the wire, keep serving
                log.exception("rendering /metrics failed")
                self._reply(500, f"collection failed: {err}\n".encode(), "text/plain; charset=utf-8")
                return
            self._reply(200, body, "text/plain; version=0.0.4; charset=utf-8")
        elif path in ("/-/healthy", "/-/ready"):
            self._reply(200, b"OK\n", "text/plain; charset=utf-8")
        elif path == "/":
            page = b"<html><head><title>watchkeeper agent</title></head><body><h1>watchkeeper agent</h1>" \
                   b'<p><a href="/metrics">Metrics</a></p></body></html>\n'
            self._reply(200, page, "text/html; charset=utf-8")
        else:
            self._reply(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _reply(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        log.debug("http: " + format, *args)


def serve_metrics(agent: Agent, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving ``/metrics`` on a daemon thread; the caller calls ``shutdown()``."""
    handler = type("AgentHandler", (_Handler,), {"agent": agent})
    server_cls = type("AgentHTTPServer", (ThreadingHTTPServer,), {
        "address_family": socket.AF_INET6 if ":" in host else socket.AF_INET,
    })
    server = server_cls((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
