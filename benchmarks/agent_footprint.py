"""Footprint of ``watchkeeper agent`` beside a real node_exporter at a 15 s interval.

Starts, all on 127.0.0.1:
- /usr/bin/prometheus-node-exporter (default collectors), scraped every ``--interval``;
- the agent in pull mode (``--listen``), scraped every ``--interval``;
- the agent in push mode (``--remote-write-url`` to a sink in this process), collecting every ``--interval``.

and prints, per process, CPU% of one core over the run (after a warm-up scrape), mean and
peak resident memory. Targets for the agent: < 1% of one core, < 60 MB resident.

    python benchmarks/agent_footprint.py --duration 90
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Sink(BaseHTTPRequestHandler):
    requests = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return len(resp.read())


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=90.0, help="seconds to measure")
    ap.add_argument("--interval", type=float, default=15.0, help="scrape / collection interval")
    args = ap.parse_args()

    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="agent-footprint-")
    ports = {"node_exporter": _free_port(), "agent (pull)": _free_port()}
    interval = f"{int(args.interval * 1000)}ms"
    agent = [sys.executable, "-m", "watchkeeper.agent.main", "--log.level", "warn"]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    if os.path.exists(NODE_EXPORTER):
        procs["node_exporter"] = subprocess.Popen(
            [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ports['node_exporter']}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    else:
        del ports["node_exporter"]
    procs["agent (pull)"] = subprocess.Popen(
        [*agent, "--listen", f"127.0.0.1:{ports['agent (pull)']}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    procs["agent (push)"] = subprocess.Popen(
        [*agent, "--remote-write-url", f"http://127.0.0.1:{sink.server_address[1]}/api/v1/write",
         "--data-dir", tmp, "--interval", interval],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
        for url in urls.values():
            _wait_up(url)
        time.sleep(3)  # let the push agent finish its first round (imports, first collection)
        ps = {name: psutil.Process(p.pid) for name, p in procs.items()}
        cpu0 = {name: sum(p.cpu_times()[:2]) for name, p in ps.items()}
        rss: dict[str, list[int]] = {name: [] for name in ps}
        sizes: dict[str, int] = {}
        start = time.monotonic()
        next_scrape = start
        while time.monotonic() - start < args.duration:
            if time.monotonic() >= next_scrape:
                for name, url in urls.items():
                    sizes[name] = _get(url)
                next_scrape += args.interval
            for name, p in ps.items():
                rss[name].append(p.memory_info().rss)
            time.sleep(1.0)
        elapsed = time.monotonic() - start
        cpu1 = {name: sum(p.cpu_times()[:2]) for name, p in ps.items()}
        # Private (unshared) memory: RSS also counts library pages shared with other processes.
        uss = {name: p.memory_full_info().uss for name, p in ps.items()}
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
        sink.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"interval {args.interval:g}s, measured {elapsed:.0f}s, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.2f}; remote-write requests received: {_Sink.requests}")
    header = ("process", "CPU % of 1 core", "RSS mean MB", "RSS peak MB", "USS MB", "/metrics bytes")
    print(f"{header[0]:<16} {header[1]:>16} {header[2]:>12} {header[3]:>12} {header[4]:>7} {header[5]:>15}")
    for name in ps:
        cpu = 100 * (cpu1[name] - cpu0[name]) / elapsed
        mean = sum(rss[name]) / len(rss[name]) / 2**20
        peak = max(rss[name]) / 2**20
        size = str(sizes.get(name, "-"))
        private = uss[name] / 2**20
        print(f"{name:<16} {cpu:>16.3f} {mean:>12.1f} {peak:>12.1f} {private:>7.1f} {size:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
