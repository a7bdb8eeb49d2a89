"""The server's own metrics (``/metrics``), rendered from live component state on each scrape."""

from __future__ import annotations

import os
import platform

import psutil

from ..api.context import IngestCounters
from ..api.textfmt import MetricFamily, render_families

__all__ = ["SelfMetrics"]

_PREFIX = "watchkeeper"


class SelfMetrics:
    """Collects families from the supervisor, ingest counters, storage and this process."""

    def __init__(self, *, version: str, restarts: dict[str, int], ingest: IngestCounters,
                 storage_stats: object, reload_state: dict[str, float]) -> None:
        self._version = version
        self._restarts = restarts
        self._ingest = ingest
        self._storage_stats = storage_stats
        self._reload = reload_state
        self._proc = psutil.Process(os.getpid())

    def render(self) -> bytes:
        fams: list[MetricFamily] = []

        build = MetricFamily(f"{_PREFIX}_build_info", "gauge", "Build information of this server.")
        build.add([("python", platform.python_version()), ("version", self._version)], 1.0)
        fams.append(build)

        restarts = MetricFamily(f"{_PREFIX}_component_restarts_total", "counter",
                                "Times a supervised component crashed and was restarted.")
        for name in sorted(self._restarts):
            restarts.add([("component", name)], float(self._restarts[name]))
        fams.append(restarts)

        ok = MetricFamily(f"{_PREFIX}_config_last_reload_successful", "gauge",
                          "Whether the last configuration reload attempt was successful.")
        ok.add([], self._reload.get("success", 0.0))
        fams.append(ok)
        ts = MetricFamily(f"{_PREFIX}_config_last_reload_success_timestamp_seconds", "gauge",
                          "Timestamp of the last successful configuration reload.")
        ts.add([], self._reload.get("timestamp", 0.0))
        fams.append(ts)

        samples = MetricFamily(f"{_PREFIX}_ingest_samples_total", "counter",
                               "Samples accepted by push endpoints.")
        for endpoint in sorted(self._ingest.samples):
            samples.add([("endpoint", endpoint)], float(self._ingest.samples[endpoint]))
        fams.append(samples)
        rejected = MetricFamily(f"{_PREFIX}_ingest_rejected_requests_total", "counter",
                                "Push requests refused, by endpoint and HTTP status.")
        for (endpoint, code) in sorted(self._ingest.rejected):
            rejected.add([("code", str(code)), ("endpoint", endpoint)],
                         float(self._ingest.rejected[(endpoint, code)]))
        fams.append(rejected)

        head = self._storage_stats(1).get("headStats", {})  # type: ignore[operator]
        series = MetricFamily(f"{_PREFIX}_tsdb_head_series", "gauge", "Series in the in-memory head.")
        series.add([], float(head.get("numSeries", 0)))
        fams.append(series)
        head_samples = MetricFamily(f"{_PREFIX}_tsdb_head_samples", "gauge", "Samples in the in-memory head.")
        head_samples.add([], float(head.get("numSamples", 0)))
        fams.append(head_samples)

        fams.extend(self._process())
        return render_families(fams)

    def _process(self) -> list[MetricFamily]:
        p = self._proc
        with p.oneshot():
            cpu = p.cpu_times()
            mem = p.memory_info()
            start = p.create_time()
            try:
                fds = float(p.num_fds())
            except (AttributeError, psutil.Error):
                fds = 0.0
        out = []
        for name, kind, text, value in (
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
             cpu.user + cpu.system),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", float(mem.rss)),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", float(mem.vms)),
            ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
             start),
            ("process_open_fds", "gauge", "Number of open file descriptors.", fds),
        ):
            fam = MetricFamily(name, kind, text)
            fam.add([], value)
            out.append(fam)
        return out
