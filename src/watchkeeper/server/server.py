"""The composition root: builds storage, engine, scrape manager and HTTP API from config and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn

from .. import __version__
from ..agent.registry import render_host_metrics
from ..alerting.alert import parse_postable_alert
from ..alerting.config import AlertmanagerConfig as NotificationConfig
from ..alerting.config import load_config_file as load_alertmanager_config
from ..alerting.service import AlertmanagerService
from ..api.alertmanager_v2 import alertmanager_v2_routes
from ..api.app import create_app
from ..api.context import ApiContext
from ..config import ConfigError, LoadedConfig, load_config_file, load_config_text, redacted_yaml
from ..config.default import default_config_text
from ..dashboards import DashboardLibrary, dashboard_routes
from ..gocompat.durations import format_duration
from ..model.labels import Labels
from ..promql.engine import Engine
from ..scrape.manager import ScrapeManager
from ..storage.db import TSDB
from ..support.supervise import Supervisor
from .options import ServerOptions, parse_listen
from .rulesvc import RuleService
from .selfmetrics import SelfMetrics

__all__ = ["Server"]

log = logging.getLogger(__name__)


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the server owns SIGTERM/SIGINT/SIGHUP."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


class Server:
    """One watchkeeper server process: ``await Server(opts).run()`` serves until SIGTERM/SIGINT."""

    def __init__(self, opts: ServerOptions) -> None:
        self.opts = opts
        self.supervisor = Supervisor()
        self.loaded: LoadedConfig | None = None
        self.engine: Engine | None = None
        self.storage: TSDB | None = None
        self.scrape: ScrapeManager | None = None
        self.rules: RuleService | None = None
        self.alertmanager: AlertmanagerService | None = None
        self._ready = False
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._reload_state: dict[str, float] = {"success": 0.0, "timestamp": 0.0}
        self._start_time = time.time()

    # -- config -------------------------------------------------------------------------

    def _load(self) -> LoadedConfig:
        if self.opts.config_file:
            return load_config_file(self.opts.config_file)
        return load_config_text(default_config_text(self.opts.listen), filename="<default config>")

    def _warn_unacted(self, loaded: LoadedConfig) -> None:
        cfg = loaded.config
        for section, present in (("remote_write", cfg.remote_write), ("remote_read", cfg.remote_read)):
            if present:
                log.warning("config section %s is validated but not acted on by this version", section)

    async def reload(self) -> None:
        """Load the config again and apply it; on error the running config stays and the error is raised."""
        async with self._reload_lock:
            try:
                loaded = await asyncio.to_thread(self._load)
                await self._apply(loaded)
            except Exception as e:
                self._reload_state["success"] = 0.0
                log.error("config reload failed, keeping the previous config: %s", e)
                raise
            self._reload_state.update(success=1.0, timestamp=time.time())
            log.info("config reloaded from %s", loaded.filename)

    async def _apply(self, loaded: LoadedConfig) -> None:
        assert self.scrape is not None and self.rules is not None
        # Rule files first: a broken one rejects the whole reload before anything changed.
        defaults = not self.opts.config_file
        rule_files, groups = await asyncio.to_thread(self.rules.prepare, loaded, defaults=defaults)
        am_config = await asyncio.to_thread(self._alertmanager_config, loaded)
        if am_config is None and self.alertmanager is not None:
            raise ConfigError([f"{loaded.filename}: the notification engine is running but its config (the "
                               "alertmanager: section) is gone; put it back, or restart without it"])
        if am_config is not None and self.alertmanager is None:
            log.warning("the alertmanager: section is new: the notification engine starts at the next "
                        "restart")
        await self.scrape.apply_config(loaded.config.scrape_configs, loaded.config.global_)
        self.rules.commit(loaded, rule_files, groups)
        if self.alertmanager is not None and am_config is not None:
            self.alertmanager.reload(am_config)
        self.loaded = loaded
        if self.engine is not None:
            # Prometheus uses the global evaluation interval as the step of `x[1h:]` subqueries.
            self.engine.no_step_subquery_interval_ms = loaded.config.global_.evaluation_interval
        self._warn_unacted(loaded)

    def _alertmanager_config(self, loaded: LoadedConfig) -> NotificationConfig | None:
        """The notification engine's config: the server config's ``alertmanager:`` section (already
        validated by the loader) or the --alertmanager.config file; never both."""
        if loaded.alertmanager is not None and self.opts.alertmanager_config:
            raise ConfigError([f"{loaded.filename}: an alertmanager: section and --alertmanager.config "
                               f"{self.opts.alertmanager_config} are both given; use one of them"])
        if self.opts.alertmanager_config:
            return load_alertmanager_config(self.opts.alertmanager_config)
        return loaded.alertmanager

    @staticmethod
    def _in_process_sink(loop: asyncio.AbstractEventLoop,
                         service: AlertmanagerService) -> Callable[[list[dict[str, Any]]], None]:
        """Rule alerts straight into the built-in notification engine, as if POSTed to /api/v2/alerts."""
        def sink(docs: list[dict[str, Any]]) -> None:
            alerts = [parse_postable_alert(d) for d in docs]  # rules only build valid alerts
            loop.call_soon_threadsafe(service.put_alerts, alerts)  # the service lives on the event loop
        return sink

    async def reload_rules(self) -> None:
        """Reload rule files with the running config (after the rules API changed a group)."""
        async with self._reload_lock:
            assert self.rules is not None and self.loaded is not None
            await self.rules.reload_rules(self.loaded, defaults=not self.opts.config_file)

    async def _reload_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self.reload()

    # -- components ---------------------------------------------------------------------

    async def _scrape_component(self) -> None:
        """Keeps the scrape pools matching the config; after a crash the pools are rebuilt."""
        assert self.scrape is not None and self.loaded is not None
        await self.scrape.stop()
        await self.scrape.apply_config(self.loaded.config.scrape_configs, self.loaded.config.global_)
        await asyncio.Event().wait()

    async def _maintenance_component(self) -> None:
        """Periodically cuts head data into blocks, compacts them and applies retention."""
        assert self.storage is not None
        while True:
            await asyncio.sleep(self.opts.maintenance_interval_s)
            result = await asyncio.to_thread(self.storage.maintain)
            if any(result.values()):
                log.info("storage maintenance: %s", result)

    # -- lifecycle ----------------------------------------------------------------------

    def _context(self, executor: ThreadPoolExecutor, engine: Engine) -> ApiContext:
        assert self.storage is not None
        storage = self.storage
        ctx = ApiContext(
            storage=storage,
            engine=engine,
            executor=executor,
            lookback_ms=lambda: self.opts.lookback_delta_ms,
            external_labels=lambda: dict(self.loaded.config.global_.external_labels) if self.loaded else {},
            config_yaml=lambda: redacted_yaml(self.loaded.config) if self.loaded else "",
            flags=self.opts.flags,
            runtime_info=self._runtime_info,
            scrape_manager=lambda: self.scrape,
            reload=self.reload,
            rules=lambda: self.rules.manager if self.rules else None,
            rule_store=lambda: self.rules.store if self.rules else None,
            reload_rules=self.reload_rules,
            alertmanagers=lambda: self.rules.sender.alertmanagers() if self.rules else {},
            alertmanager=lambda: self.alertmanager,
            is_ready=lambda: self._ready,
            own_metrics=lambda: b"",
            host_metrics=render_host_metrics,
            max_body_bytes=self.opts.max_push_body_bytes,
            admin_api=self.opts.enable_admin_api,
            build_info={"version": __version__, "revision": "", "branch": "", "buildUser": "",
                        "buildDate": "", "goVersion": f"python{'.'.join(map(str, sys.version_info[:3]))}"},
        )
        metrics = SelfMetrics(version=__version__, restarts=self.supervisor.restarts, ingest=ctx.ingest,
                              storage_stats=storage.stats, reload_state=self._reload_state)
        rules = self.rules
        ctx.own_metrics = (lambda: metrics.render() + rules.metrics_text()) if rules else metrics.render
        if self.alertmanager is not None:
            own, am = ctx.own_metrics, self.alertmanager
            ctx.own_metrics = lambda: own() + am.metrics_text().encode()
        return ctx

    def _scrape_interval_ms(self) -> int:
        """The global scrape interval: dashboards' ``$__rate_interval`` is computed from it."""
        return self.loaded.config.global_.scrape_interval if self.loaded else 60_000

    def _runtime_info(self) -> dict[str, Any]:
        return {
            "startTime": _rfc3339(self._start_time),
            "CWD": os.getcwd(),
            "reloadConfigSuccess": bool(self._reload_state["success"]),
            "lastConfigTime": _rfc3339(self._reload_state["timestamp"]),
            "corruptionCount": getattr(self.storage, "wal_corruptions", 0) if self.storage else 0,
            "goroutineCount": threading.active_count(),
            "GOMAXPROCS": os.cpu_count() or 1,
            "GOMEMLIMIT": 0,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": self._retention_text(),
        }

    def _retention_text(self) -> str:
        parts = []
        if self.opts.retention_ms:
            parts.append(format_duration(self.opts.retention_ms))
        if self.opts.retention_bytes:
            parts.append(f"{self.opts.retention_bytes}B")
        return " or ".join(parts)

    def _external_url(self) -> str:
        """Where users reach this server (alerts' generatorURL): Prometheus' default, http://host:port."""
        if self.opts.external_url:
            return self.opts.external_url.rstrip("/")
        host, port = parse_listen(self.opts.listen)
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        return f"http://{host}:{port}"

    def _bind(self) -> socket.socket:
        host, port = parse_listen(self.opts.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then,
        # and without it every response costs a 40 ms delayed-ACK stall.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            sock.close()
            raise OSError(f"cannot listen on {self.opts.listen}: {e.strerror}") from None
        sock.listen(128)
        return sock

    async def run(self) -> None:
        """Start everything, serve until asked to stop, then shut down in order."""
        loop = asyncio.get_running_loop()
        self.loaded = self._load()  # a bad config at start is fatal (ConfigError)
        self._warn_unacted(self.loaded)
        am_config = self._alertmanager_config(self.loaded)
        sock = self._bind()  # before the WAL replay, so a busy port is reported at once
        log.info("opening storage in %s", self.opts.data_dir)
        try:
            self.storage = await asyncio.to_thread(
                TSDB, self.opts.data_dir, retention_ms=self.opts.retention_ms,
                retention_bytes=self.opts.retention_bytes)
        except BaseException:
            sock.close()
            raise
        executor = ThreadPoolExecutor(self.opts.query_max_concurrency, thread_name_prefix="query")
        engine = Engine(lookback_delta_ms=self.opts.lookback_delta_ms, timeout_s=self.opts.query_timeout_s,
                        max_samples=self.opts.query_max_samples,
                        max_concurrent=self.opts.query_max_concurrency,
                        no_step_subquery_interval_ms=self.loaded.config.global_.evaluation_interval)
        self.engine = engine
        self.scrape = ScrapeManager(self.storage)
        self.rules = RuleService(
            storage=self.storage, engine=engine, data_dir=self.opts.data_dir,
            external_url=self._external_url(),
            external_labels=lambda: Labels(self.loaded.config.global_.external_labels if self.loaded else {}),
            clock=time.time, resend_delay_ms=self.opts.resend_delay_ms,
            queue_capacity=self.opts.notification_queue_capacity)
        try:
            files, groups = self.rules.prepare(self.loaded, defaults=not self.opts.config_file)
        except BaseException:
            sock.close()
            await asyncio.to_thread(self.storage.close)
            raise
        self.rules.commit(self.loaded, files, groups)
        if am_config is not None:
            self.alertmanager = AlertmanagerService(
                am_config,
                data_dir=os.path.join(self.opts.data_dir, "alertmanager"), external_url=self._external_url(),
                event_retention_ns=self.opts.events_retention_ms * 1_000_000)
            self.rules.add_sink(self._in_process_sink(loop, self.alertmanager))
        app = create_app(self._context(executor, engine))
        dashboards_dir = self.opts.dashboards_dir or os.path.join(self.opts.data_dir, "dashboards")
        dashboards = DashboardLibrary(dashboards_dir)
        app.router.routes.extend(dashboard_routes(dashboards, scrape_interval_ms=self._scrape_interval_ms))
        if self.alertmanager is not None:
            app.router.routes.extend(alertmanager_v2_routes(self.alertmanager))
            await self.alertmanager.start()
        http = _Uvicorn(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
        http_task = asyncio.create_task(http.serve(sockets=[sock]), name="http")
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self._reload_quietly()))
        try:
            self.supervisor.start("scrape", self._scrape_component)
            self.supervisor.start("storage-maintenance", self._maintenance_component)
            self.supervisor.start("rules", self.rules.run_rules)
            self.supervisor.start("alertmanager-sender", self.rules.run_sender)
            self._reload_state.update(success=1.0, timestamp=time.time())
            self._ready = True
            log.info("watchkeeper %s ready on http://%s", __version__, self.opts.listen)
            stop_task = asyncio.create_task(self._stop.wait())
            await asyncio.wait({http_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
            stop_task.cancel()
            if http_task.done() and http_task.exception() is not None:
                raise http_task.exception()  # type: ignore[misc]
        finally:
            log.info("shutting down")
            self._ready = False
            http.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(http_task, timeout=10)
            await self.supervisor.stop_all()
            if self.alertmanager is not None:
                await self.alertmanager.stop()
            await self.scrape.stop()
            executor.shutdown(wait=False, cancel_futures=True)
            await asyncio.to_thread(self.storage.close)
            sock.close()
            log.info("storage closed; bye")
