"""Sending rule alerts to the Alertmanagers of the ``alerting:`` section, like Prometheus' notifier.

Alerts are queued (capacity 10,000; on overflow the oldest are dropped and counted)
and a supervised task posts them in batches of up to 256 as JSON to every configured
Alertmanager's ``/api/v2/alerts``, concurrently. ``alerting.alert_relabel_configs``
apply when alerts are queued, each Alertmanager set's own ``alert_relabel_configs``
when that set is sent to; an alert relabelled to nothing is dropped. A batch that
fails for one Alertmanager is not retried: rules re-send firing alerts every resend
delay, which is how Prometheus recovers from a failed send too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import posixpath
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..api.textfmt import MetricFamily, render_families
from ..config.model import AlertingConfig, AlertmanagerConfig
from ..model.labels import Labels
from ..rules.alert import Alert
from ..rules.notify import to_api_alert
from ..scrape.httpclient import auth_headers, make_client
from ..scrape.relabel import RelabelConfig, relabel

__all__ = ["AlertmanagerSender", "AlertmanagerTarget", "rules_notify", "MAX_BATCH", "QUEUE_CAPACITY"]

log = logging.getLogger(__name__)

MAX_BATCH = 256
QUEUE_CAPACITY = 10_000
_ALERTS_PATH = "/api/v2/alerts"


@dataclass
class AlertmanagerTarget:
    """One Alertmanager to post to, with the options of the set it came from."""

    url: str
    cfg: AlertmanagerConfig
    sent: int = 0
    errors: int = 0
    latency_s: float = 0.0


@dataclass
class _Set:
    cfg: AlertmanagerConfig
    targets: list[AlertmanagerTarget] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # URLs of targets relabelling dropped
    client: httpx.AsyncClient | None = None  # made by the sender task on first use


def _url(lbls: dict[str, str]) -> str:
    return f"{lbls.get('__scheme__', '')}://{lbls.get('__address__', '')}{lbls.get('__alerts_path__', '')}"


def _alertmanager_set(cfg: AlertmanagerConfig) -> _Set:
    """Prometheus' ``AlertmanagerFromGroup``: static targets, relabelled, into URLs (deduplicated)."""
    out = _Set(cfg)
    # Go's path.Join("/", prefix, "/api/v2/alerts"): one leading slash, no doubled or trailing ones.
    parts = (p.strip("/") for p in (cfg.path_prefix, _ALERTS_PATH))
    alerts_path = posixpath.normpath("/" + "/".join(p for p in parts if p))
    seen = set()
    for sc in cfg.static_configs:
        for addr in sc.targets:
            lbls = {**sc.labels, "__address__": addr, "__scheme__": cfg.scheme,
                    "__alerts_path__": alerts_path}
            got = relabel(lbls, cfg.relabel_configs)
            if got is None or not got.get("__address__"):
                out.dropped.append(_url(lbls))
                continue
            url = _url(got)
            if url not in seen:
                seen.add(url)
                out.targets.append(AlertmanagerTarget(url, cfg))
    if cfg.file_sd_configs:
        log.warning("alertmanager file_sd_configs are not supported; only static_configs are used")
    return out


def _relabel_alert(alert: dict[str, Any], configs: Sequence[RelabelConfig]) -> dict[str, Any] | None:
    if not configs:
        return alert
    got = relabel(alert["labels"], configs)
    if not got:
        return None
    return {**alert, "labels": got}


class AlertmanagerSender:
    """Queue plus sender task. ``send`` is thread-safe (rules evaluate in worker threads)."""

    def __init__(self, *, capacity: int = QUEUE_CAPACITY, max_batch: int = MAX_BATCH) -> None:
        self.capacity = capacity
        self.max_batch = max_batch
        self._queue: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._relabel: list[RelabelConfig] = []
        self._sets: list[_Set] = []
        self._retired: list[httpx.AsyncClient] = []  # clients of replaced sets, closed by the sender task
        self.dropped = 0

    def apply_config(self, alerting: AlertingConfig) -> None:
        """Use this ``alerting:`` section from now on (sender counters restart with new targets)."""
        with self._lock:
            self._relabel = list(alerting.alert_relabel_configs)
            self._retired.extend(s.client for s in self._sets if s.client is not None)
            self._sets = [_alertmanager_set(cfg) for cfg in alerting.alertmanagers]

    @property
    def targets(self) -> list[AlertmanagerTarget]:
        return [t for s in self._sets for t in s.targets]

    def alertmanagers(self) -> dict[str, list[dict[str, str]]]:
        """``/api/v1/alertmanagers`` data: active and relabelling-dropped Alertmanager URLs."""
        return {"activeAlertmanagers": [{"url": t.url} for t in self.targets],
                "droppedAlertmanagers": [{"url": u} for s in self._sets for u in s.dropped]}

    def queue_length(self) -> int:
        return len(self._queue)

    def send(self, alerts: list[dict[str, Any]]) -> None:
        """Queue API v2 alert dicts; without Alertmanagers they are discarded, as in Prometheus."""
        with self._lock:
            if not self._sets:
                return
            relabelled = [a for a in (_relabel_alert(a, self._relabel) for a in alerts) if a is not None]
            if len(relabelled) > self.capacity:
                self.dropped += len(relabelled) - self.capacity
                relabelled = relabelled[-self.capacity:]
            overflow = len(self._queue) + len(relabelled) - self.capacity
            if overflow > 0:
                for _ in range(overflow):
                    self._queue.popleft()
                self.dropped += overflow
                log.warning("alert notification queue full, dropped %d oldest alerts", overflow)
            self._queue.extend(relabelled)
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
                loop.call_soon_threadsafe(wake.set)

    def _next_batch(self) -> list[dict[str, Any]]:
        with self._lock:
            n = min(self.max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    async def run(self) -> None:
        """Send queued alerts until cancelled (a supervised component)."""
        self._loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        try:
            while True:
                if not self._queue:
                    wake.clear()
                    await wake.wait()
                batch = self._next_batch()
                if batch:
                    await self._send_all(batch)
        finally:
            self._wake = None
            with self._lock:
                self._retired.extend(s.client for s in self._sets if s.client is not None)
                for s in self._sets:
                    s.client = None
            await self._close_retired()

    async def _close_retired(self) -> None:
        with self._lock:
            retired, self._retired = self._retired, []
        for c in retired:
            await c.aclose()

    async def _send_all(self, batch: list[dict[str, Any]]) -> None:
        """Post to every Alertmanager at once; the batch counts as dropped unless every set that was
        sent to accepted it at least once (Prometheus' ``sendAll``)."""
        await self._close_retired()
        sets: list[list[AlertmanagerTarget]] = []
        jobs = []
        for s in list(self._sets):
            relabelled = (_relabel_alert(a, s.cfg.alert_relabel_configs) for a in batch)
            alerts = [a for a in relabelled if a is not None]
            if not alerts or not s.targets:
                continue
            body = json.dumps(alerts).encode()
            if s.client is None:
                s.client = make_client(s.cfg)
            sets.append(s.targets)
            jobs.extend(self._post(s.client, t, body, len(alerts)) for t in s.targets)
        results = iter(await asyncio.gather(*jobs))
        if not all([any([next(results) for _ in targets]) for targets in sets]):
            self.dropped += len(batch)

    async def _post(self, client: httpx.AsyncClient, t: AlertmanagerTarget, body: bytes, n: int) -> bool:
        start = time.monotonic()
        try:
            headers = {"Content-Type": "application/json", **auth_headers(t.cfg)}
            r = await client.post(t.url, content=body, headers=headers, timeout=t.cfg.timeout / 1000)
            if r.status_code // 100 != 2:
                raise RuntimeError(f"bad response status {r.status_code}: {r.text[:200]}")
        except Exception as e:  # noqa: BLE001 - any failure of one Alertmanager is counted and logged
            t.errors += n
            log.error("error sending %d alerts to %s: %s", n, t.url, e)
            return False
        finally:
            t.latency_s = time.monotonic() - start
        t.sent += n
        return True

    def metrics_text(self) -> bytes:
        """Prometheus' notifier metric names, so existing dashboards work."""
        sent = MetricFamily("prometheus_notifications_sent_total", "counter",
                            "Total number of alerts sent.")
        errors = MetricFamily("prometheus_notifications_errors_total", "counter",
                              "Total number of alerts affected by errors when sending them.")
        latency = MetricFamily("prometheus_notifications_latency_seconds", "gauge",
                               "Duration of the last send to each Alertmanager.")
        for t in self.targets:
            lbl = (("alertmanager", t.url),)
            sent.add(lbl, t.sent)
            errors.add(lbl, t.errors)
            latency.add(lbl, t.latency_s)
        fams = [
            MetricFamily("prometheus_notifications_dropped_total", "counter",
                         "Total number of alerts dropped due to a full queue or errors.",
                         [((), float(self.dropped), None)]),
            MetricFamily("prometheus_notifications_queue_length", "gauge",
                         "The number of alert notifications in the queue.",
                         [((), float(self.queue_length()), None)]),
            MetricFamily("prometheus_notifications_queue_capacity", "gauge",
                         "The capacity of the alert notifications queue.",
                         [((), float(self.capacity), None)]),
            MetricFamily("prometheus_notifications_alertmanagers_discovered", "gauge",
                         "The number of alertmanagers discovered and active.",
                         [((), float(len(self.targets)), None)]),
            sent, errors, latency,
        ]
        return render_families(fams)


def rules_notify(
    sinks: Sequence[Callable[[list[dict[str, Any]]], None]],
    *,
    external_url: Callable[[], str],
    external_labels: Callable[[], Labels],
) -> Callable[[list[Alert], str], None]:
    """The rule manager's notify function: alerts become API v2 dicts handed to every sink.

    ``sinks`` is read at every call, so sinks appended later receive alerts too. One failing
    sink does not keep the others from receiving; its error is raised afterwards so the rule
    group counts the notify failure.
    """

    def notify(alerts: list[Alert], expr: str) -> None:
        url, ext = external_url(), external_labels()
        out = [to_api_alert(a, expr, external_url=url, external_labels=ext) for a in alerts]
        error: Exception | None = None
        for sink in list(sinks):
            try:
                sink(out)
            except Exception as e:  # noqa: BLE001 - re-raised below, after the other sinks
                error = error or e
        if error is not None:
            raise error

    return notify
