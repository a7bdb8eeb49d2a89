"""Engine benchmark: ``python -m watchkeeper.promql.enginebench [--series N] [--hours H]``.

Node-exporter-shaped data (N counters, 15 s scrapes with jitter) held in one
in-memory ``SeriesSet``, so that the figures measure the engine, not storage.
Prints the median wall time of each query over a few runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import numpy as np

from ..model.batch import SeriesSet
from ..model.labels import Labels
from ..model.matchers import Matcher
from .engine import Engine
from .selectors import concat_ranges, segment_search

__all__ = ["ArrayQuerier", "make_data", "main"]

QUERIES = [
    "sum by (instance) (rate(node_cpu_seconds_total[5m]))",
    "rate(node_cpu_seconds_total[5m])",
    "node_cpu_seconds_total",
    "avg by (mode) (node_cpu_seconds_total)",
    "topk(5, rate(node_cpu_seconds_total[5m]))",
    "node_cpu_seconds_total / on(instance, cpu) group_left sum by (instance, cpu) (node_cpu_seconds_total)",
    "max_over_time(rate(node_cpu_seconds_total[5m])[30m:1m])",
]


class ArrayQuerier:
    """A read-only ``Querier`` over one in-memory ``SeriesSet``."""

    def __init__(self, ss: SeriesSet) -> None:
        self.ss = ss

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        rows = np.array([i for i, lbl in enumerate(self.ss.labels)
                         if all(m.matches_labels(lbl) for m in matchers)], dtype=np.int64)
        if rows.size == 0:
            return SeriesSet.empty()
        window = np.array([mint, maxt + 1], dtype=np.int64)
        pos = segment_search(self.ss.offsets, self.ss.t, window, "left")[rows]
        lo, hi = pos[:, 0], pos[:, 1]
        take = concat_ranges(lo, hi)
        offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(hi - lo, out=offsets[1:])
        return SeriesSet([self.ss.labels[i] for i in rows], offsets, self.ss.t[take], self.ss.v[take])

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted({k for lbl in self.ss.labels for k in lbl.names()})

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted({lbl.get(name) for lbl in self.ss.labels if lbl.has(name)})


def make_data(series: int, hours: float, seed: int = 1) -> SeriesSet:
    """``series`` CPU-seconds counters (100 instances x cpus x 8 modes), 15 s scrapes, ±50 ms jitter."""
    rng = np.random.default_rng(seed)
    modes = ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"]
    labels = []
    for i in range(series):
        inst, rest = divmod(i, max(series // 100, 1))
        labels.append(Labels({"__name__": "node_cpu_seconds_total", "instance": f"host{inst:03d}:9100",
                              "cpu": str(rest // len(modes)), "mode": modes[rest % len(modes)],
                              "job": "node"}))
    labels.sort()
    n = int(hours * 3600 / 15)
    base = np.arange(n, dtype=np.int64) * 15_000
    t = (base[None, :] + rng.integers(-50, 50, size=(series, n))).ravel()
    v = np.cumsum(rng.random((series, n)) * 15, axis=1).ravel()
    offsets = np.arange(series + 1, dtype=np.int64) * n
    return SeriesSet(labels, offsets, t, v)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--step", type=int, default=15, help="range query step in seconds")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    ss = make_data(args.series, args.hours + 0.5)
    querier = ArrayQuerier(ss)
    engine = Engine()
    start = 1_800_000
    end = start + int(args.hours * 3_600_000)
    for query in QUERIES:
        for kind in ("instant", "range"):
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                if kind == "instant":
                    engine.instant_query(querier, query, end)
                else:
                    engine.range_query(querier, query, start, end, args.step * 1000)
                times.append(time.perf_counter() - t0)
            print(f"{statistics.median(times) * 1000:9.1f} ms  {kind:7s} {query}")


if __name__ == "__main__":
    main()
