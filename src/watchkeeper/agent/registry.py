"""Runs the host collectors, each isolated, and renders node_exporter-style exposition text."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from .collectors import Collector, HostPaths, MetricFamily, default_collectors, render_families

__all__ = ["HostCollector", "render_host_metrics"]

log = logging.getLogger(__name__)


class HostCollector:
    """A set of collectors; one that raises is reported in ``node_scrape_collector_success`` = 0.

    ``clock`` is a monotonic seconds clock for ``node_scrape_collector_duration_seconds``.
    """

    def __init__(
        self,
        *,
        collectors: Sequence[Collector] | None = None,
        paths: HostPaths | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.collectors = list(default_collectors() if collectors is None else collectors)
        self.paths = paths or HostPaths()
        self.clock = clock

    def collect(self) -> list[MetricFamily]:
        success = MetricFamily(
            "node_scrape_collector_success", "node_exporter: Whether a collector succeeded.", "gauge"
        )
        duration = MetricFamily(
            "node_scrape_collector_duration_seconds",
            "node_exporter: Duration of a collector scrape.",
            "gauge",
        )
        merged: dict[str, MetricFamily] = {}
        for collector in self.collectors:
            start = self.clock()
            try:
                families = collector.collect(self.paths)
            except Exception as err:  # isolation: one broken source must not hide the rest
                log.warning("host collector %s failed: %s", collector.name, err)
                ok = 0.0
            else:
                ok = 1.0
                for fam in families:
                    if not fam.samples:
                        continue
                    have = merged.get(fam.name)
                    if have is None:
                        merged[fam.name] = fam
                    else:
                        have.samples.extend(fam.samples)
            labels = {"collector": collector.name}
            duration.add(self.clock() - start, labels)
            success.add(ok, labels)
        return [*merged.values(), success, duration]

    def render(self) -> bytes:
        """Prometheus text exposition (``text/plain; version=0.0.4``)."""
        return render_families(self.collect()).encode("utf-8")


def render_host_metrics(*, paths: HostPaths | None = None, textfile_directory: str | None = None) -> bytes:
    """Collect this host's metrics once with the default collectors and render them."""
    collectors = default_collectors(textfile_directory=textfile_directory)
    return HostCollector(collectors=collectors, paths=paths).render()
