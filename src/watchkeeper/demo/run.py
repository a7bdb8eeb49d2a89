"""``watchkeeper demo``: a normal server plus the simulated fleet, its history, rules, routing and dashboards.

Order of start: bind the simulator's loopback port, write the config files, backfill the history
straight into the data directory's TSDB (before the server opens it, so there is no race with live
scrapes; always at the normal 15 s resolution, whatever the speed), then run the server and the
simulator's HTTP target side by side until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path

import uvicorn

from ..server.options import ServerOptions, parse_listen
from ..server.server import Server
from ..storage.db import TSDB
from .backfill import history, resume_after
from .catalog import Job, jobs
from .files import NORMAL_INTERVAL_S, write_files
from .fleet import Fleet
from .target import target_app

__all__ = ["DemoOptions", "run_demo", "backfill"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    speed: float = 1.0  # failure schedule, scrape/evaluation intervals and alert timers run this much faster
    history_s: float = 6 * 3600.0  # history backfilled before the start


class _QuietUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the server owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


def backfill(data_dir: Path, fleet: Fleet, demo_jobs: tuple[Job, ...], *, now: float, history_s: float,
             step_s: float) -> int:
    """Write the history up to ``now`` into the TSDB at ``data_dir``; only the gap after earlier runs."""
    with TSDB(data_dir) as db:
        start = now - history_s
        last_ms = resume_after(db, mint_ms=int(start * 1000), maxt_ms=int(now * 1000))
        if last_ms is not None:
            start = max(start, last_ms / 1000 + step_s)
        batch = history(fleet, demo_jobs, start_s=start, end_s=now, interval_s=step_s,
                        first_ever=last_ms is None)
        return db.append(batch) if len(batch) else 0


def _self_target(listen: str) -> str:
    host, port = parse_listen(listen)
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def run_demo(server_opts: ServerOptions, demo: DemoOptions | None = None) -> None:
    """Run the demo until the server is asked to stop; ``server_opts.config_file`` is merged in."""
    demo = demo or DemoOptions()
    data_dir = Path(server_opts.data_dir)
    now = time.time()
    fleet = Fleet(t0=now, speed=demo.speed)
    demo_jobs = jobs(fleet)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    try:
        port = sock.getsockname()[1]
        files = write_files(
            data_dir, jobs=demo_jobs, target=f"127.0.0.1:{port}",
            self_target=_self_target(server_opts.listen),
            speed=demo.speed, user_config=Path(server_opts.config_file) if server_opts.config_file else None,
            dashboards_dir=Path(server_opts.dashboards_dir or data_dir / "dashboards"))
        started = time.perf_counter()
        n = await asyncio.to_thread(backfill, data_dir, fleet, demo_jobs, now=now, history_s=demo.history_s,
                                    step_s=NORMAL_INTERVAL_S)
        log.info("demo: backfilled %d samples of %d hosts in %.1fs", n, len(fleet.hosts),
                 time.perf_counter() - started)
        log.info("demo: simulated targets on 127.0.0.1:%d; config in %s", port, files.prometheus.parent)
        for line in fleet.schedule.describe():
            log.info("demo: incident: %s", line)
        log.info("demo: notifications go to %s and to standard output", files.notifications)
        opts = replace(server_opts, config_file=str(files.prometheus),
                       alertmanager_config=str(files.alertmanager))
        sim = _QuietUvicorn(uvicorn.Config(target_app(fleet, demo_jobs), lifespan="off", log_level="warning",
                                           access_log=False))
        sim_task = asyncio.create_task(sim.serve(sockets=[sock]), name="demo-targets")
        try:
            await Server(opts).run()
        finally:
            sim.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sim_task, timeout=5)
    finally:
        sock.close()
