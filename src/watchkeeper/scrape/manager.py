"""Scrape manager: one pool per job, discovery → targets → loops, reloads, API views.

``apply_config`` keeps a job's pool untouched when its resolved config did not
change; a changed job gets a new pool whose loops inherit the old loops'
staleness state (so series that vanish across a reload are still staled) and
are started without end-of-run stale markers, as Prometheus' reload does. A
removed job or target gets stale markers at the time its next scrape would
have happened, written one interval later (Prometheus' ``endOfRunStaleness``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import ipaddress
import logging
import socket
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from ..gocompat.durations import format_duration
from ..model.labels import Labels
from ..model.matchers import Matcher
from ..storage.api import Appender
from .config import GlobalScrapeDefaults, ScrapeConfig, check_unique_jobs
from .discovery import Provider
from .discovery.file_sd import FileSDProvider
from .discovery.http_sd import HTTPSDProvider
from .discovery.static import StaticProvider
from .httpclient import ScrapeError, accept_header, fetch_body, make_scrape_session
from .loop import Fetch, ScrapeLoop
from .target import Target, TargetGroup, fnv64a, targets_from_group

__all__ = ["ScrapeManager", "ScrapePool", "ConfigError"]

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """The set of scrape configs is inconsistent (e.g. duplicate job names)."""


def _rfc3339(ts: float) -> str:
    if ts <= 0:
        return "0001-01-01T00:00:00Z"
    d = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{d.microsecond:06d}".rstrip("0")
    return f"{s}.{frac}Z" if frac else f"{s}Z"


def _global_url(url: str, hostname: str) -> str:
    """Replace a loopback host with this machine's name, like Prometheus' globalURL."""
    u = urllib.parse.urlsplit(url)
    host = u.hostname or ""
    loop = host == "localhost"
    if not loop:
        with contextlib.suppress(ValueError):
            loop = ipaddress.ip_address(host).is_loopback
    if not loop:
        return url
    netloc = hostname + (f":{u.port}" if u.port else "")
    if u.username:
        netloc = f"{u.username}{':' + u.password if u.password else ''}@{netloc}"
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


class _Active:
    __slots__ = ("target", "loop", "task")

    def __init__(self, target: Target, loop: ScrapeLoop, task: asyncio.Task[None] | None) -> None:
        self.target = target
        self.loop = loop
        self.task = task


class ScrapePool:
    """All targets of one job: discovery tasks, scrape loops, dropped targets."""

    def __init__(
        self,
        cfg: ScrapeConfig,
        appender: Appender,
        *,
        now: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        offset_seed: int,
        fetch: Fetch | None,
        background: set[asyncio.Task[None]],
        inherit: dict[tuple[Labels, str], ScrapeLoop] | None = None,
        offload: bool = True,
    ) -> None:
        self.cfg = cfg
        self.offload = offload
        self.appender = appender
        self.now = now
        self.sleep = sleep
        self.offset_seed = offset_seed
        self._session: aiohttp.ClientSession | None = None  # made on first scrape, in the event loop
        self.fetch: Fetch = fetch or self._http_fetch
        self._accept = accept_header(cfg.scrape_protocols or [])
        self._background = background
        self._inherit = inherit or {}
        self.active: dict[tuple[Labels, str], _Active] = {}
        self.dropped: list[dict[str, str]] = []  # at most keep_dropped_targets of them (0: all)
        self.dropped_count = 0
        self.target_errors: list[str] = []
        self._groups: dict[int, list[TargetGroup]] = {}
        self._disc_tasks: list[asyncio.Task[None]] = []
        self.forced_error = ""
        self._n_providers = 0

    def providers(self) -> list[Provider]:
        c = self.cfg
        out: list[Provider] = []
        if c.static_configs:
            out.append(StaticProvider(c.static_configs))
        out.extend(FileSDProvider(f, sleep=self.sleep) for f in c.file_sd_configs)
        out.extend(HTTPSDProvider(h, sleep=self.sleep) for h in c.http_sd_configs)
        return out

    def start(self) -> None:
        """Start discovery; static targets are synced at once so the API shows them immediately."""
        providers = self.providers()
        self._n_providers = len(providers)
        for i, p in enumerate(providers):
            if isinstance(p, StaticProvider):
                self._groups[i] = list(p.groups)
            else:
                self._disc_tasks.append(asyncio.create_task(self._run_provider(i, p)))
        self.sync()

    async def _run_provider(self, i: int, p: Provider) -> None:
        def update(groups: list[TargetGroup]) -> None:
            self._groups[i] = list(groups)
            self.sync()

        try:
            await p.run(update)
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken provider must not take the pool down; its last groups stay
            log.exception("discovery provider %d of job %s failed", i, self.cfg.job_name)

    async def _http_fetch(self, target: Target) -> tuple[bytes, str]:
        if self._session is None:
            self._session = make_scrape_session(self.cfg)
        return await fetch_body(
            self._session,
            self.cfg,
            target.url,
            accept=self._accept,
            timeout_ms=target.timeout_ms,
            body_size_limit=self.cfg.body_size_limit or 0,
            gzip=self.cfg.enable_compression,
            server_name=self.cfg.tls_config.server_name,
        )

    def sync(self) -> None:
        """Turn the current target groups into running loops; stop loops of vanished targets."""
        wanted: dict[tuple[Labels, str], Target] = {}
        dropped: list[dict[str, str]] = []
        errors: list[str] = []
        for i in sorted(self._groups):
            for g in self._groups[i]:
                for labels, disc, err in targets_from_group(g, self.cfg):
                    if err:
                        errors.append(err)
                        log.warning("job %s: %s", self.cfg.job_name, err)
                    elif labels is None:
                        dropped.append(disc)
                    else:
                        t = Target(labels, disc, self.cfg)
                        wanted.setdefault(t.key, t)
        self.dropped_count = len(dropped)
        keep = self.cfg.keep_dropped_targets
        self.dropped = dropped[:keep] if keep else dropped
        self.target_errors = errors
        for key in [k for k in self.active if k not in wanted]:
            self._stop_loop(self.active.pop(key), stale=True)
        for key, t in wanted.items():
            if key in self.active:
                self.active[key].target.discovered_labels = t.discovered_labels
                continue
            loop = ScrapeLoop(
                t,
                self.cfg,
                self.appender,
                self._fetch_checked,
                now=self.now,
                sleep=self.sleep,
                offset_seed=self.offset_seed,
                offload=self.offload,
            )
            old = self._inherit.pop(key, None)
            if old is not None:
                loop.inherit(old)
            self.active[key] = _Active(t, loop, asyncio.create_task(loop.run()))
        if self._inherit and len(self._groups) >= self._n_providers:
            # Every provider has reported: inherited loops with no target left are gone for good.
            for old in self._inherit.values():
                self._stop_loop(_Active(old.target, old, None), stale=True)
            self._inherit = {}
        limit = self.cfg.target_limit or 0
        if limit and len(self.active) > limit:
            self.forced_error = (
                f"target_limit exceeded (number of targets: {len(self.active)}, limit: {limit})"
            )
        else:
            self.forced_error = ""

    async def _fetch_checked(self, target: Target) -> tuple[bytes, str]:
        if self.forced_error:
            raise ScrapeError(self.forced_error)
        return await self.fetch(target)

    def _stop_loop(self, a: _Active, *, stale: bool) -> None:
        if a.task is not None:
            a.task.cancel()
        if not stale or a.loop.last_ts_ms is None:
            return
        interval = a.target.interval_ms
        stale_ts = a.loop.next_ts_ms or 0
        if stale_ts <= a.loop.last_ts_ms:
            stale_ts = a.loop.last_ts_ms + interval

        async def later() -> None:
            delay = (stale_ts + interval) / 1000 - self.now()
            if delay > 0:
                await self.sleep(delay)
            if self.offload:
                await asyncio.to_thread(a.loop.stale_all, stale_ts)
            else:
                a.loop.stale_all(stale_ts)

        task = asyncio.create_task(later())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self, *, stale: bool) -> dict[tuple[Labels, str], ScrapeLoop]:
        """Stop discovery and loops; returns the loops (for a reloaded pool to inherit)."""
        for t in self._disc_tasks:
            t.cancel()
        tasks = [a.task for a in self.active.values() if a.task is not None]
        loops = {k: a.loop for k, a in self.active.items()}
        for a in self.active.values():
            self._stop_loop(a, stale=stale)
        for t in [*self._disc_tasks, *tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self.active = {}
        if self._session is not None:
            await self._session.close()
            self._session = None
        return loops


class ScrapeManager:
    """Runs every scrape job and answers the targets/metadata API questions."""

    def __init__(
        self,
        appender: Appender,
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hostname: str | None = None,
        fetch: Fetch | None = None,
        offload: bool = True,
    ) -> None:
        """``fetch`` replaces HTTP scraping (tests); ``offload=False`` parses on the event loop
        instead of a worker thread (deterministic, for fake-clock tests)."""
        self.appender = appender
        self.now = now
        self.sleep = sleep
        self.hostname = hostname or socket.gethostname()
        self._fetch = fetch
        self._offload = offload
        self.pools: dict[str, ScrapePool] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def apply_config(
        self, configs: Sequence[ScrapeConfig], global_defaults: GlobalScrapeDefaults
    ) -> None:
        """Start, restart or stop pools so that they match ``configs``. Raises ConfigError/ValueError."""
        try:
            check_unique_jobs(configs)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        resolved = {c.job_name: c.resolve(global_defaults) for c in configs}
        seed_src = self.hostname + "".join(
            f"\xff{k}\xff{v}" for k, v in sorted(global_defaults.external_labels.items())
        )
        seed = fnv64a(seed_src.encode())
        for job in [j for j in self.pools if j not in resolved]:
            await self.pools.pop(job).stop(stale=True)
        for job, cfg in resolved.items():
            old = self.pools.get(job)
            if old is not None and old.cfg == cfg and old.offset_seed == seed:
                continue
            inherit = await old.stop(stale=False) if old is not None else None
            pool = ScrapePool(
                cfg,
                self.appender,
                now=self.now,
                sleep=self.sleep,
                offset_seed=seed,
                fetch=self._fetch,
                background=self._background,
                inherit=inherit,
                offload=self._offload,
            )
            self.pools[job] = pool
            pool.start()

    async def stop(self) -> None:
        """Shut down: stop every pool without stale markers (like Prometheus on exit)."""
        for pool in self.pools.values():
            await pool.stop(stale=False)
        self.pools = {}
        for t in list(self._background):
            t.cancel()
        for t in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def wait_background(self) -> None:
        """Wait for pending end-of-run stale-marker writes (tests, orderly reloads)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- API views -------------------------------------------------------------------------

    def targets(self, state: str = "any", scrape_pool: str = "") -> dict[str, Any]:
        """The ``data`` object of /api/v1/targets."""
        active: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        for job in sorted(self.pools):
            if scrape_pool and job != scrape_pool:
                continue
            pool = self.pools[job]
            counts[job] = pool.dropped_count
            if state in ("any", "active"):
                for a in sorted(pool.active.values(), key=lambda a: a.target.labels):
                    active.append(self._target_json(a.target))
            if state in ("any", "dropped"):
                dropped.extend({"discoveredLabels": d, "scrapePool": job} for d in pool.dropped)
        out: dict[str, Any] = {}
        if state in ("any", "active"):
            out["activeTargets"] = active
        if state in ("any", "dropped"):
            out["droppedTargets"] = dropped
            out["droppedTargetCounts"] = counts
        return out

    def _target_json(self, t: Target) -> dict[str, Any]:
        return {
            "discoveredLabels": dict(t.discovered_labels),
            "labels": t.labels.to_dict(),
            "scrapePool": t.scrape_pool,
            "scrapeUrl": t.url,
            "globalUrl": _global_url(t.url, self.hostname),
            "lastError": t.last_error,
            "lastScrape": _rfc3339(t.last_scrape),
            "lastScrapeDuration": t.last_scrape_duration,
            "health": t.health,
            "scrapeInterval": format_duration(t.interval_ms),
            "scrapeTimeout": format_duration(t.timeout_ms),
        }

    def _loops(self) -> list[ScrapeLoop]:
        return [a.loop for job in sorted(self.pools) for a in self.pools[job].active.values()]

    def target_metadata(
        self, match_target: Sequence[Matcher] = (), metric: str = "", limit: int = -1
    ) -> list[dict[str, Any]]:
        """The ``data`` list of /api/v1/targets/metadata."""
        out: list[dict[str, Any]] = []
        for loop in self._loops():
            tl = loop.target.labels
            if not all(m.matches_labels(tl) for m in match_target):
                continue
            for name, meta in loop.metadata.items():
                if metric and name != metric:
                    continue
                out.append(
                    {
                        "target": tl.to_dict(),
                        "metric": name,
                        "type": meta.type,
                        "help": meta.help,
                        "unit": meta.unit,
                    }
                )
                if 0 <= limit <= len(out):
                    return out
        return out

    def metadata(
        self, metric: str = "", limit: int = -1, limit_per_metric: int = -1
    ) -> dict[str, list[dict[str, str]]]:
        """The ``data`` object of /api/v1/metadata (distinct type/help/unit per metric)."""
        out: dict[str, list[dict[str, str]]] = {}
        for loop in self._loops():
            for name, meta in loop.metadata.items():
                if metric and name != metric:
                    continue
                entry = {"type": meta.type, "help": meta.help, "unit": meta.unit}
                lst = out.get(name)
                if lst is None:
                    if 0 <= limit <= len(out):
                        continue
                    lst = out[name] = []
                if entry not in lst and (limit_per_metric < 0 or len(lst) < limit_per_metric):
                    lst.append(entry)
        return out
