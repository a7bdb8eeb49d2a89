"""Runs every collector in its own thread with its own timeout; failed ones restart with backoff.

A Python thread cannot be killed, so a collector that hangs (a stuck NFS ``statfs``, a
script that never exits) is abandoned: its round is reported as failed, a fresh instance is
built from the collector's factory after a backoff delay, and whatever the stuck thread
eventually returns is discarded. At most ``max_stuck`` abandoned threads per collector are
tolerated; beyond that the collector stays down (and keeps backing off) until one exits, so
a permanently hanging source cannot leak threads without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..support.backoff import Backoff
from .collectors import Collector, HostPaths, MetricFamily

__all__ = ["CollectorSlot", "SupervisedCollectors"]

log = logging.getLogger(__name__)

CollectorFactory = Callable[[], Collector]


@dataclass
class CollectorSlot:
    """One supervised collector and its health record."""

    name: str
    factory: CollectorFactory
    collector: Collector
    timeout: float
    backoff: Backoff
    up: bool = True
    failures: int = 0
    restarts: int = 0
    retry_at: float | None = None  # monotonic time of the next restart while down
    last_error: str = ""
    duration: float = 0.0
    stuck: list[threading.Thread] = field(default_factory=list)


def _run(collector: Collector, paths: HostPaths, box: dict[str, object]) -> None:
    try:
        box["families"] = collector.collect(paths)
    except BaseException as err:  # noqa: BLE001 - reported by the supervisor, never propagated
        box["error"] = err


class SupervisedCollectors:
    """Collect from many collectors at once; each is isolated from the others' failures and hangs.

    ``factories`` build collector instances (called again for each restart); ``timeouts``
    overrides ``timeout`` seconds per collector name.
    """

    def __init__(
        self,
        factories: Sequence[CollectorFactory],
        *,
        paths: HostPaths | None = None,
        timeout: float = 10.0,
        timeouts: dict[str, float] | None = None,
        backoff: Callable[[], Backoff] = lambda: Backoff(initial=1.0, maximum=300.0),
        max_stuck: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.paths = paths or HostPaths()
        self.clock = clock
        self.max_stuck = max_stuck
        self.slots: list[CollectorSlot] = []
        for factory in factories:
            collector = factory()
            per = (timeouts or {}).get(collector.name, timeout)
            self.slots.append(CollectorSlot(collector.name, factory, collector, per, backoff()))

    def _fail(self, slot: CollectorSlot, now: float, why: str) -> None:
        slot.up = False
        slot.failures += 1
        slot.last_error = why
        slot.retry_at = now + slot.backoff.next_delay()
        log.warning("collector %s failed (%s); restarting in %.1fs", slot.name, why, slot.retry_at - now)

    def _restart(self, slot: CollectorSlot, now: float) -> bool:
        """Build a fresh instance once the backoff has passed; False while it must stay down."""
        slot.stuck = [t for t in slot.stuck if t.is_alive()]
        if slot.retry_at is None:
            return True
        if now < slot.retry_at:
            return False
        if len(slot.stuck) >= self.max_stuck:
            slot.retry_at = now + slot.backoff.next_delay()
            return False
        try:
            slot.collector = slot.factory()
        except Exception as err:  # noqa: BLE001 - a factory failure is one more failed attempt
            self._fail(slot, now, f"restart failed: {err}")
            return False
        slot.restarts += 1
        slot.retry_at = None
        return True

    def collect(self) -> list[MetricFamily]:
        """One round over all collectors that are up (or due for restart); merged families."""
        launched: list[tuple[CollectorSlot, threading.Thread, dict[str, object], float]] = []
        now = self.clock()
        for slot in self.slots:
            if not self._restart(slot, now):
                continue
            box: dict[str, object] = {}
            thread = threading.Thread(
                target=_run,
                args=(slot.collector, self.paths, box),
                name=f"collector-{slot.name}",
                daemon=True,
            )
            started = time.monotonic()
            thread.start()
            launched.append((slot, thread, box, started))
        merged: dict[str, MetricFamily] = {}
        for slot, thread, box, started in launched:
            thread.join(max(0.0, started + slot.timeout - time.monotonic()))
            slot.duration = time.monotonic() - started
            if thread.is_alive():
                slot.stuck.append(thread)
                self._fail(slot, self.clock(), f"timed out after {slot.timeout:g}s")
                continue
            if "error" in box:
                err = box["error"]
                self._fail(slot, self.clock(), f"{type(err).__name__}: {err}")
                continue
            slot.up = True
            slot.backoff.reset()
            families = box["families"]
            assert isinstance(families, list)
            for fam in families:
                if not fam.samples:
                    continue
                have = merged.get(fam.name)
                if have is None:
                    merged[fam.name] = MetricFamily(fam.name, fam.help, fam.type, list(fam.samples))
                else:
                    have.samples.extend(fam.samples)
        return [*merged.values(), *self.health_families()]

    def health_families(self) -> list[MetricFamily]:
        """node_exporter's per-collector success/duration plus the agent's supervision counters."""
        success = MetricFamily(
            "node_scrape_collector_success", "node_exporter: Whether a collector succeeded.", "gauge"
        )
        duration = MetricFamily(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            "gauge",
        )
        up = MetricFamily(
            "watchkeeper_agent_collector_up",
            "1 if the collector's last run succeeded within its timeout, 0 while failed or backing off.",
            "gauge",
        )
        failures = MetricFamily(
            "watchkeeper_agent_collector_failures_total",
            "Collector runs that raised or exceeded their timeout.",
            "counter",
        )
        restarts = MetricFamily(
            "watchkeeper_agent_collector_restarts_total",
            "Times a failed collector was rebuilt after its backoff delay.",
            "counter",
        )
        for slot in self.slots:
            labels = {"collector": slot.name}
            success.add(1.0 if slot.up else 0.0, labels)
            duration.add(slot.duration, labels)
            up.add(1.0 if slot.up else 0.0, labels)
            failures.add(slot.failures, labels)
            restarts.add(slot.restarts, labels)
        return [success, duration, up, failures, restarts]
