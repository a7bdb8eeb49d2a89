"""The demo's scripted failures: which host breaks how, and when, on a repeating cycle.

Every ``CYCLE_S`` seconds (divided by the speed factor) the same five incidents play out, each on the
next host of its candidate list, staggered so that a newcomer watching the alerts page sees one alert
go pending, fire, notify and resolve while the next one starts. Time zero is the start of the demo, so
the first incident begins ``INCIDENTS[0].start`` seconds after it. History before the start (the
backfill) holds earlier cycles, but only one every ``PAST_EVERY_S`` of wall-clock time: a real fleet
does not break every few minutes, and dashboards should show a few past incidents, not a comb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CYCLE_S", "INCIDENTS", "KINDS", "PAST_EVERY_S", "Incident", "Schedule"]

CYCLE_S = 720.0  # one round of incidents, at speed 1
PAST_EVERY_S = 5400.0  # before the start, a round of incidents about every 90 minutes


@dataclass(frozen=True)
class Incident:
    """``kind`` hits ``candidates[cycle % len(candidates)]`` from ``start`` to ``end`` s into a cycle."""

    kind: str
    candidates: tuple[str, ...]
    start: float
    end: float


INCIDENTS = (
    Incident("host_down", ("batch-02", "cache-03", "web-05"), 30.0, 210.0),
    Incident("cpu_spike", ("web-03", "api-01", "batch-04"), 90.0, 330.0),
    Incident("memory_leak", ("db-02", "api-03", "cache-01"), 150.0, 510.0),
    Incident("latency", ("api-02", "web-04", "web-01"), 180.0, 420.0),
    Incident("disk_fill", ("batch-01", "db-03", "web-02"), 240.0, 600.0),
)
KINDS = tuple(i.kind for i in INCIDENTS)


class Schedule:
    """Where each incident stands at given times, for every host at once."""

    def __init__(self, hosts: list[str], *, t0: float, speed: float = 1.0) -> None:
        self.t0 = t0
        self.speed = speed
        self._index = {h: i for i, h in enumerate(hosts)}
        self._n = len(hosts)
        for inc in INCIDENTS:
            missing = [c for c in inc.candidates if c not in self._index]
            if missing:
                raise ValueError(f"incident {inc.kind}: unknown hosts {missing}")

    def progress(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """Per kind a (T, hosts) array: how far the incident has got (0..1) on that host, -1 where none."""
        scaled = (np.asarray(t, np.float64) - self.t0) * self.speed
        cycle = np.floor_divide(scaled, CYCLE_S).astype(np.int64)
        phase = scaled - cycle * CYCLE_S
        past_every = max(1, round(PAST_EVERY_S * self.speed / CYCLE_S))
        happens = (cycle >= 0) | (cycle % past_every == 0)
        out = {}
        for inc in INCIDENTS:
            p = np.full((scaled.shape[0], self._n), -1.0)
            active = happens & (phase >= inc.start) & (phase < inc.end)
            hosts = np.array([self._index[c] for c in inc.candidates])[cycle % len(inc.candidates)]
            rows = np.flatnonzero(active)
            p[rows, hosts[rows]] = (phase[rows] - inc.start) / (inc.end - inc.start)
            out[inc.kind] = p
        return out

    def describe(self) -> list[str]:
        """The cycle in words, in wall-clock seconds after the start, for the log and the docs."""
        lines = []
        for inc in INCIDENTS:
            a, b = inc.start / self.speed, inc.end / self.speed
            lines.append(f"{inc.kind.replace('_', ' ')} on {inc.candidates[0]} from +{a:g}s to +{b:g}s")
        lines.append(f"then again every {CYCLE_S / self.speed:g}s, on the next host of each incident's list")
        return lines
