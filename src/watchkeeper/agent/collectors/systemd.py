"""systemd unit states (node_exporter's ``systemd`` collector, which it leaves off by default).

Reads ``systemctl list-units`` rather than D-Bus so the agent needs no D-Bus binding; the
series are node_exporter's ``node_systemd_unit_state{name,state,type}`` (one per possible
state, 1 for the current one) plus ``node_systemd_units{state}``.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Callable

import re2

from .base import HostPaths, MetricFamily

__all__ = ["SystemdCollector", "systemd_running"]

_STATES = ("activating", "active", "deactivating", "failed", "inactive")
_COMMAND = ["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", "--full"]


def systemd_running(root: str = "/") -> bool:
    """systemd's own test (sd_booted): the directory exists only when it is PID 1."""
    return os.path.isdir(os.path.join(root, "run/systemd/system"))


def _systemctl() -> str:
    return subprocess.run(_COMMAND, capture_output=True, timeout=10, check=True, text=True).stdout


class SystemdCollector:
    name = "systemd"

    def __init__(
        self,
        *,
        include: str = ".+",
        exclude: str = ".+\\.(automount|device|mount|scope|slice)",
        list_units: Callable[[], str] = _systemctl,
    ) -> None:
        self.include = re2.compile(include)
        self.exclude = re2.compile(exclude)
        self.list_units = list_units

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        state = MetricFamily("node_systemd_unit_state", "Systemd unit", "gauge")
        units = MetricFamily("node_systemd_units", "Summary of systemd unit states", "gauge")
        counts: Counter[str] = Counter()
        for line in self.list_units().splitlines():
            parts = line.split(None, 4)
            if len(parts) < 4:
                continue
            unit, _load, active = parts[0], parts[1], parts[2]
            counts[active] += 1
            if not self.include.fullmatch(unit) or self.exclude.fullmatch(unit):
                continue
            kind = unit.rsplit(".", 1)[-1]
            for s in _STATES:
                state.add(1.0 if s == active else 0.0, {"name": unit, "state": s, "type": kind})
        for s in _STATES:
            units.add(counts.get(s, 0), {"state": s})
        return [state, units]
