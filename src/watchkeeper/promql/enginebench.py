"""Engine benchmark: ``python -m watchkeeper.promql.enginebench [--series N] [--hours H] [--prometheus]``.

Node-exporter-shaped data (N counters, 15 s scrapes with jitter) held in one
in-memory ``SeriesSet``, so that the figures measure the engine, not storage.
Prints the median wall time of each query over a few runs. With ``--prometheus``
the same data is also imported into a real Prometheus (``promtool tsdb
create-blocks-from openmetrics``, then ``/usr/bin/prometheus`` on a free loopback
port, stopped at the end) and its own ``execTotalTime`` is printed beside ours.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

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
        # Matcher set -> matching rows, standing in for a real store's postings index.
        self._postings: dict[tuple[str, ...], np.ndarray] = {}

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        key = tuple(sorted(str(m) for m in matchers))
        rows = self._postings.get(key)
        if rows is None:
            rows = np.array([i for i, lbl in enumerate(self.ss.labels)
                             if all(m.matches_labels(lbl) for m in matchers)], dtype=np.int64)
            self._postings[key] = rows
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


def _openmetrics(ss: SeriesSet, path: Path) -> None:
    with path.open("w") as f:
        for i, lbl in enumerate(ss.labels):
            inner = ",".join(f'{k}="{v}"' for k, v in lbl.items if k != "__name__")
            _, t, v = ss.series(i)
            f.writelines(f"{lbl.name}{{{inner}}} {val!r} {ts // 1000}.{ts % 1000:03d}\n"
                         for ts, val in zip(t.tolist(), v.tolist(), strict=True))
        f.write("# EOF\n")


@contextmanager
def _prometheus(ss: SeriesSet) -> Iterator[Callable[[dict, str], float]]:
    """A real Prometheus serving ``ss``; yields ``run(params, path) -> execTotalTime seconds``."""
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _openmetrics(ss, work / "data.om")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(work / "data.om"),
                        str(work / "tsdb")], check=True, capture_output=True, timeout=600)
        (work / "prometheus.yml").write_text("global:\n  evaluation_interval: 1h\n")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        proc = subprocess.Popen(
            ["/usr/bin/prometheus", f"--storage.tsdb.path={work / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", f"--config.file={work / 'prometheus.yml'}",
             "--storage.tsdb.retention.time=100y"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        try:
            for _ in range(600):
                try:
                    if client.get("/-/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)

            def run(params: dict, path: str) -> float:
                body = client.get(path, params={**params, "stats": "all"}).json()
                return float(body["data"]["stats"]["timings"]["execTotalTime"])

            yield run
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--step", type=int, default=15, help="range query step in seconds")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--prometheus", action="store_true",
                    help="also time /usr/bin/prometheus on the same data")
    args = ap.parse_args(argv)
    ss = make_data(args.series, args.hours + 0.5)
    querier = ArrayQuerier(ss)
    engine = Engine()
    start = 1_800_000
    end = start + int(args.hours * 3_600_000)
    with _prometheus(ss) if args.prometheus else _no_prometheus() as prom:
        for query in QUERIES:
            for kind in ("instant", "range"):
                if kind == "instant":
                    params, path = {"query": query, "time": end / 1000}, "/api/v1/query"
                else:
                    params = {"query": query, "start": start / 1000, "end": end / 1000, "step": args.step}
                    path = "/api/v1/query_range"
                ours, theirs = [], []
                for i in range(args.runs + 1):
                    t0 = time.perf_counter()
                    if kind == "instant":
                        engine.instant_query(querier, query, end)
                    else:
                        engine.range_query(querier, query, start, end, args.step * 1000)
                    if i:  # the first run warms caches and compiled kernels on both sides
                        ours.append(time.perf_counter() - t0)
                    if prom is not None:
                        took = prom(params, path)
                        if i:
                            theirs.append(took)
                line = f"{statistics.median(ours) * 1000:9.1f} ms"
                if theirs:
                    line += f"  (prometheus {statistics.median(theirs) * 1000:9.1f} ms)"
                print(f"{line}  {kind:7s} {query}", flush=True)


@contextmanager
def _no_prometheus() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    main()
