"""The delivery stages after dedup: per-integration queues, retry with exponential backoff, the channel
send, and the per-integration metrics.

Every integration (receiver, kind, index) has its own bounded queue and worker task, so a slow or dead
channel only delays itself: when its queue is full the oldest waiting notification is dropped (and
counted), never the caller. A ``Flush`` is completed — notification log written, delivered resolved
alerts dropped — once each of its notifications has a final result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from ..template.alertmanager_data import Data
from .channels import (
    ChannelConfig,
    apprise_,
    discord,
    email,
    logfile,
    msteams,
    opsgenie,
    pagerduty,
    slack,
    telegram,
    twilio,
    webhook,
)
from .channels.sending import ChannelError, SendContext
from .config import AlertmanagerConfig
from .dispatch import Flush, Notification
from .events import EventLog
from .notifydata import template_data
from .rendering import Templates

__all__ = ["SENDERS", "Notifier", "NotifyMetrics", "RetryPolicy", "unsupported_integrations"]

log = logging.getLogger(__name__)

Sender = Callable[[ChannelConfig, SendContext], Awaitable[None]]

SENDERS: dict[str, Sender] = {
    "webhook": webhook.send,  # type: ignore[dict-item]
    "email": email.send,  # type: ignore[dict-item]
    "slack": slack.send,  # type: ignore[dict-item]
    "pagerduty": pagerduty.send,  # type: ignore[dict-item]
    "opsgenie": opsgenie.send,  # type: ignore[dict-item]
    "telegram": telegram.send,  # type: ignore[dict-item]
    "discord": discord.send,  # type: ignore[dict-item]
    "msteams": msteams.send,  # type: ignore[dict-item]
    "file": logfile.send,  # type: ignore[dict-item]
    "twilio": twilio.send,  # type: ignore[dict-item]
    "apprise": apprise_.send,  # type: ignore[dict-item]
}



def unsupported_integrations(config: AlertmanagerConfig) -> list[str]:
    """One line per receiver with integrations that load (Alertmanager's format) but that watchkeeper
    cannot send to yet, so that ``check alertmanager`` and the server's log say so before a page is due."""
    out = []
    for receiver in config.receivers.values():
        kinds = {kind for kind, _, _ in receiver.all_integrations() if kind not in SENDERS}
        keys = sorted(f"{kind}_configs" for kind in kinds)
        if keys:
            out.append(f'receiver "{receiver.name}": {", ".join(keys)} accepted but not supported '
                       "by watchkeeper: notifications to them fail")
    return out


LATENCY_BUCKETS = (1.0, 5.0, 10.0, 15.0, 20.0)  # Alertmanager's notification latency buckets


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff starts at ``initial`` seconds, doubles up to ``maximum``; retrying stops after
    ``give_up_after`` seconds (Alertmanager stops at the group's next tick)."""

    initial: float = 0.5
    maximum: float = 30.0
    give_up_after: float = 120.0


@dataclass
class _IntegrationStats:
    total: int = 0
    failed: int = 0
    requests: int = 0
    requests_failed: int = 0
    dropped: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_sum: float = 0.0
    latency_count: int = 0


class NotifyMetrics:
    """Counters per integration kind, rendered in Prometheus' text format with Alertmanager's names."""

    def __init__(self) -> None:
        self.by_kind: dict[str, _IntegrationStats] = defaultdict(_IntegrationStats)
        for kind in SENDERS:
            self.by_kind[kind]  # noqa: B018  every integration appears with 0, as in Alertmanager

    def observe_latency(self, kind: str, seconds: float) -> None:
        st = self.by_kind[kind]
        st.latency_sum += seconds
        st.latency_count += 1
        for i, le in enumerate(LATENCY_BUCKETS):
            if seconds <= le:
                st.latency_buckets[i] += 1

    def text(self) -> str:
        rows = sorted(self.by_kind.items())
        out: list[str] = []

        def counter(name: str, help_: str, attr: str) -> None:
            out.append(f"# HELP {name} {help_}\n# TYPE {name} counter")
            out.extend(f'{name}{{integration="{k}"}} {getattr(st, attr)}' for k, st in rows)

        counter("alertmanager_notifications_total", "The total number of attempted notifications.",
                "total")
        counter("alertmanager_notifications_failed_total", "The total number of failed notifications.",
                "failed")
        counter("alertmanager_notification_requests_total",
                "The total number of attempted notification requests.", "requests")
        counter("alertmanager_notification_requests_failed_total",
                "The total number of failed notification requests.", "requests_failed")
        counter("watchkeeper_notifications_dropped_total",
                "Notifications dropped because their integration's queue was full.", "dropped")
        name = "alertmanager_notification_latency_seconds"
        out.append(f"# HELP {name} The latency of notifications in seconds.\n# TYPE {name} histogram")
        for k, st in rows:
            for le, n in zip(LATENCY_BUCKETS, st.latency_buckets, strict=True):
                out.append(f'{name}_bucket{{integration="{k}",le="{le:g}"}} {n}')
            out.append(f'{name}_bucket{{integration="{k}",le="+Inf"}} {st.latency_count}')
            out.append(f'{name}_sum{{integration="{k}"}} {st.latency_sum:g}')
            out.append(f'{name}_count{{integration="{k}"}} {st.latency_count}')
        return "\n".join(out) + "\n"


class _FlushTracker:
    """Completes a flush once every notification in it has a final result."""

    def __init__(self, flush: Flush) -> None:
        self.flush = flush
        self.pending = len(flush.notifications)
        self.succeeded: list[Notification] = []
        if self.pending == 0:
            flush.complete([])

    def done(self, n: Notification, ok: bool) -> None:
        if ok:
            self.succeeded.append(n)
        self.pending -= 1
        if self.pending == 0:
            self.flush.complete(self.succeeded)


@dataclass
class _Job:
    notification: Notification
    tracker: _FlushTracker


class _Lane:
    """One integration's queue and worker."""

    def __init__(self, capacity: int) -> None:
        self.jobs: deque[_Job] = deque()
        self.capacity = capacity
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class Notifier:
    """Delivers flushes. ``submit`` never blocks; ``drain`` waits until every queue is empty (tests)."""

    def __init__(
        self,
        templates: Templates,
        *,
        external_url: str = "",
        client: httpx.AsyncClient | None = None,
        queue_capacity: int = 1000,
        retry: RetryPolicy = RetryPolicy(),
        senders: dict[str, Sender] | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.templates = templates
        self.external_url = external_url
        self.metrics = NotifyMetrics()
        self._client = client or httpx.AsyncClient()
        self._own_client = client is None
        self._capacity = queue_capacity
        self._retry = retry
        self._senders = senders if senders is not None else SENDERS
        self._lanes: dict[tuple[str, str, int], _Lane] = {}
        self._events = events
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, flush: Flush) -> None:
        tracker = _FlushTracker(flush)
        for n in flush.notifications:
            if not n.deliver:  # only the log needs updating
                tracker.done(n, True)
                continue
            lane = self._lane((n.receiver, n.integration, n.index))
            if len(lane.jobs) >= lane.capacity:
                old = lane.jobs.popleft()
                self.metrics.by_kind[old.notification.integration].dropped += 1
                self._event(old.notification, 0, "dropped", "integration queue full")
                self._finish(old, False)
            lane.jobs.append(_Job(n, tracker))
            self._busy += 1
            self._idle.clear()
            lane.wake.set()

    def _lane(self, key: tuple[str, str, int]) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(self._capacity)
            lane.task = asyncio.get_running_loop().create_task(self._work(lane), name=f"notify-{key}")
        return lane

    def _finish(self, job: _Job, ok: bool) -> None:
        job.tracker.done(job.notification, ok)
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def _work(self, lane: _Lane) -> None:
        while True:
            if not lane.jobs:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            job = lane.jobs.popleft()
            ok = False
            try:
                ok = await self._deliver(job.notification)
            finally:
                self._finish(job, ok)

    def context(self, n: Notification) -> SendContext:
        payload = template_data(n.receiver, n.group_labels, n.alerts, n.now, self.external_url)
        return SendContext(
            receiver=n.receiver,
            group_key=n.group_key,
            group_labels=n.group_labels,
            alerts=n.alerts,
            payload=payload,
            data=Data.from_webhook(payload),
            templates=self.templates,
            client=self._client,
            now=n.now,
            external_url=self.external_url,
        )

    def _event(self, n: Notification, attempt: int, outcome: str, error: str = "") -> None:
        if self._events is None:
            return
        self._events.record(
            "notification",
            receiver=n.receiver,
            integration=n.integration,
            index=n.index,
            groupKey=n.group_key,
            reason=n.reason,
            attempt=attempt,
            outcome=outcome,
            error=error,
            alerts=[
                {"labels": dict(a.labels), "status": "resolved" if a.resolved(n.now) else "firing"}
                for a in n.alerts
            ],
        )

    async def _deliver(self, n: Notification) -> bool:
        """Send with retries; True on success. Failures are logged and counted, never raised."""
        st = self.metrics.by_kind[n.integration]
        st.total += 1
        sender = self._senders.get(n.integration)
        start = time.monotonic()
        if sender is None:
            st.failed += 1
            self._event(n, 0, "failed", f"{n.integration}_configs are not supported by watchkeeper")
            log.error("notify %s/%s[%d]: %s_configs are not supported by watchkeeper, notification lost",
                      n.receiver, n.integration, n.index, n.integration)
            return False
        delay = self._retry.initial
        attempt = 0
        while True:
            attempt += 1
            st.requests += 1
            try:
                await sender(n.config, self.context(n))
            except ChannelError as exc:
                st.requests_failed += 1
                elapsed = time.monotonic() - start
                final = not exc.retryable or elapsed + delay > self._retry.give_up_after
                self._event(n, attempt, "failed" if final else "retry", str(exc))
                if final:
                    st.failed += 1
                    log.warning("notify %s/%s[%d] failed after %d attempts: %s",
                                n.receiver, n.integration, n.index, attempt, exc)
                    self.metrics.observe_latency(n.integration, elapsed)
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry.maximum)
                continue
            except Exception as exc:  # a bug in a sender or its template must not kill the lane
                st.requests_failed += 1
                st.failed += 1
                self._event(n, attempt, "failed", repr(exc))
                log.exception("notify %s/%s[%d] failed", n.receiver, n.integration, n.index)
                return False
            self.metrics.observe_latency(n.integration, time.monotonic() - start)
            self._event(n, attempt, "success")
            return True

    async def drain(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        for lane in self._lanes.values():
            if lane.task is not None:
                lane.task.cancel()
        for lane in self._lanes.values():
            if lane.task is not None:
                try:
                    await lane.task
                except asyncio.CancelledError:
                    pass
        self._lanes.clear()
        if self._own_client:
            await self._client.aclose()
