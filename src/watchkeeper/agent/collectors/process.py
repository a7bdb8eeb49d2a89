"""Per-process-group metrics for configured name patterns (like process-exporter's groups).

Each group is a label value (``groupname``) and an RE2 pattern matched, fully anchored, against
a process's name and, failing that, its command line joined with spaces. Values are summed
over all matching processes; ``watchkeeper_process_up`` is 1 while at least one matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psutil
import re2

from .base import HostPaths, MetricFamily

__all__ = ["ProcessCollector", "ProcessGroup"]


@dataclass(frozen=True)
class ProcessGroup:
    name: str
    pattern: str


class ProcessCollector:
    name = "processes"

    def __init__(self, groups: Sequence[ProcessGroup]) -> None:
        self.groups = [(g.name, re2.compile(g.pattern)) for g in groups]

    def _groups_of(self, name: str, cmdline: list[str] | None) -> list[str]:
        joined = " ".join(cmdline or ())
        return [g for g, rx in self.groups if rx.fullmatch(name) or (joined and rx.fullmatch(joined))]

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        totals = {g: [0, 0.0, 0.0, 0.0, 0.0, 0.0] for g, _ in self.groups}  # n, user, sys, rss, fds, threads
        for proc in psutil.process_iter(["name", "cmdline"]):
            groups = self._groups_of(proc.info["name"] or "", proc.info["cmdline"])
            if not groups:
                continue
            try:
                with proc.oneshot():
                    cpu = proc.cpu_times()
                    rss = proc.memory_info().rss
                    threads = proc.num_threads()
                    try:
                        fds = proc.num_fds()
                    except psutil.AccessDenied:  # another user's process when not root
                        fds = 0
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            for g in groups:
                t = totals[g]
                t[0] += 1
                t[1] += cpu.user
                t[2] += cpu.system
                t[3] += rss
                t[4] += fds
                t[5] += threads
        up = MetricFamily("watchkeeper_process_up", "1 if at least one process matches the group.", "gauge")
        count = MetricFamily("watchkeeper_process_count", "Processes matching the group.", "gauge")
        cpu_f = MetricFamily(
            "watchkeeper_process_cpu_seconds_total", "CPU seconds of the group's live processes.", "counter"
        )
        rss_f = MetricFamily(
            "watchkeeper_process_resident_memory_bytes", "Resident memory of the group's processes.", "gauge"
        )
        fds_f = MetricFamily("watchkeeper_process_open_fds", "Open file descriptors of the group.", "gauge")
        thr_f = MetricFamily("watchkeeper_process_threads", "Threads of the group's processes.", "gauge")
        for g, (n, user, system, rss, fds, threads) in totals.items():
            labels = {"groupname": g}
            up.add(1.0 if n else 0.0, labels)
            count.add(n, labels)
            cpu_f.add(user, {**labels, "mode": "user"})
            cpu_f.add(system, {**labels, "mode": "system"})
            rss_f.add(rss, labels)
            fds_f.add(fds, labels)
            thr_f.add(threads, labels)
        return [up, count, cpu_f, rss_f, fds_f, thr_f]
