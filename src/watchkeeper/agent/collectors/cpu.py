"""CPU time per mode from /proc/stat (node_exporter's ``cpu`` collector)."""

from __future__ import annotations

import os

from .base import HostPaths, MetricFamily, read_text

__all__ = ["CpuCollector"]

_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


class CpuCollector:
    name = "cpu"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        hz = float(os.sysconf("SC_CLK_TCK"))
        secs = MetricFamily("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", "counter")
        guest = MetricFamily(
            "node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.", "counter"
        )
        for line in read_text(paths.proc / "stat").splitlines():
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            parts = line.split()
            cpu = parts[0][3:]
            ticks = [int(x) for x in parts[1:]]
            for mode, value in zip(_MODES, ticks, strict=False):
                secs.add(value / hz, {"cpu": cpu, "mode": mode})
            if len(ticks) >= 10:
                guest.add(ticks[8] / hz, {"cpu": cpu, "mode": "user"})
                guest.add(ticks[9] / hz, {"cpu": cpu, "mode": "nice"})
        return [secs, guest]
