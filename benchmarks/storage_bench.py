"""Storage benchmark: bytes/sample after compaction, head memory per series, append throughput.

Data set shaped like node_exporter output: several scrape targets, each with a
mix of counters and gauges (CPU seconds with 2 decimals, byte counters, memory
and filesystem gauges in 4 KiB pages, load averages, constant info series,
full-precision durations), scraped every 15 s with +-50 ms jitter per scrape.

    python benchmarks/storage_bench.py                 # 2,100 series x 24 h, 100k-series head
    python benchmarks/storage_bench.py --hours 6 --head-series 20000
    python benchmarks/storage_bench.py --openmetrics /tmp/node.om   # same data, for promtool

Prints a table; ``--json`` prints the figures as JSON for other tooling. Speeds are per
CPU second of this process (``time.process_time``), so that a busy machine does not
distort them.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels, format_label_value
from watchkeeper.model.matchers import Matcher
from watchkeeper.storage.db import DAY_MS, HOUR_MS, TSDB

# CPU time, not wall time: on a shared machine wall time measures the neighbours.
cpu = time.process_time
SCRAPE_MS = 15_000
JITTER_MS = 50
PROMETHEUS_BYTES_PER_SAMPLE = 5.11  # Prometheus 2.42 on the same shape of data (ARCHITECTURE.md)


@dataclass
class Target:
    labels: list[Labels]
    t: np.ndarray  # (scrapes,) int64
    v: np.ndarray  # (scrapes, series) float64


def _counter(rng: np.random.Generator, n: int, steps: int, rate: np.ndarray, decimals: int) -> np.ndarray:
    start = rng.uniform(1e3, 1e6, n)
    inc = rng.gamma(4.0, rate / 4.0, (steps, n))
    return np.round(start + np.cumsum(inc, axis=0), decimals)


def _gauge_walk(
    rng: np.random.Generator, n: int, steps: int, level: float, step: float, quantum: float
) -> np.ndarray:
    base = rng.uniform(0.2, 0.8, n) * level
    walk = np.cumsum(rng.normal(0, step, (steps, n)) * (rng.random((steps, n)) < 0.3), axis=0)
    return np.maximum(np.round((base + walk) / quantum) * quantum, 0)


def make_target(rng: np.random.Generator, instance: str, steps: int, t0: int, ncpu: int = 8) -> Target:
    """One node_exporter-like target: ~210 series."""
    cols: list[np.ndarray] = []
    labels: list[Labels] = []

    def add(name: str, extra: list[dict[str, str]], values: np.ndarray) -> None:
        for i, kv in enumerate(extra):
            labels.append(Labels({"__name__": name, "instance": instance, "job": "node", **kv}))
            cols.append(values[:, i])

    modes = ["idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"]
    rates = np.array([14.0, 0.6, 0.3, 0.05, 0.0, 0.02, 0.0, 0.001])
    extra = [{"cpu": str(c), "mode": m} for c in range(ncpu) for m in modes]
    add("node_cpu_seconds_total", extra, _counter(rng, len(extra), steps, np.tile(rates, ncpu) + 1e-9, 2))
    devs = ["eth0", "eth1", "lo", "docker0"]
    for metric, rate in [
        ("node_network_receive_bytes_total", 2e5),
        ("node_network_transmit_bytes_total", 1e5),
        ("node_network_receive_packets_total", 300.0),
        ("node_network_transmit_packets_total", 200.0),
        ("node_network_receive_errs_total", 0.001),
        ("node_network_receive_drop_total", 0.01),
    ]:
        add(metric, [{"device": d} for d in devs], _counter(rng, 4, steps, np.full(4, rate), 0))
    disks = ["sda", "sdb", "nvme0n1"]
    for metric, rate, dec in [
        ("node_disk_read_bytes_total", 5e4 * 512, -3),
        ("node_disk_written_bytes_total", 1e5 * 512, -3),
        ("node_disk_reads_completed_total", 20.0, 0),
        ("node_disk_writes_completed_total", 40.0, 0),
        ("node_disk_io_time_seconds_total", 0.5, 3),
        ("node_disk_read_time_seconds_total", 0.2, 3),
        ("node_disk_write_time_seconds_total", 0.4, 3),
    ]:
        add(metric, [{"device": d} for d in disks], _counter(rng, 3, steps, np.full(3, rate), dec))
    mem = [f"node_memory_{k}_bytes" for k in ("MemFree", "MemAvailable", "Cached", "Buffers", "Active",
                                              "Inactive", "Dirty", "Slab", "AnonPages", "Mapped",
                                              "Shmem", "PageTables", "SwapFree", "Committed_AS")]
    for m in mem:
        add(m, [{}], _gauge_walk(rng, 1, steps, 16e9, 4096 * 50, 4096))
    consts = [f"node_memory_{k}_bytes" for k in ("MemTotal", "SwapTotal", "HugePages_Total", "Hugepagesize")]
    for m in consts:
        add(m, [{}], np.full((steps, 1), float(rng.integers(1, 64)) * 2**30))
    fss = [{"mountpoint": p, "device": f"/dev/sd{c}", "fstype": "ext4"} for p, c in
           [("/", "a1"), ("/home", "a2"), ("/var", "b1"), ("/boot", "a3"), ("/data", "b2")]]
    add("node_filesystem_avail_bytes", fss, _gauge_walk(rng, 5, steps, 5e11, 4096 * 20, 4096))
    add("node_filesystem_free_bytes", fss, _gauge_walk(rng, 5, steps, 5e11, 4096 * 20, 4096))
    add("node_filesystem_size_bytes", fss, np.tile(rng.integers(1, 1000, 5) * 2.0**30, (steps, 1)))
    add("node_filesystem_files_free", fss, _gauge_walk(rng, 5, steps, 3e7, 3, 1))
    add("node_filesystem_readonly", fss, np.zeros((steps, 5)))
    for m in ("node_load1", "node_load5", "node_load15"):
        add(m, [{}], np.round(np.abs(_gauge_walk(rng, 1, steps, 4.0, 0.2, 0.01)), 2))
    add("node_procs_running", [{}], rng.integers(1, 12, (steps, 1)).astype(float))
    add("node_procs_blocked", [{}], rng.integers(0, 3, (steps, 1)).astype(float))
    add("node_context_switches_total", [{}], _counter(rng, 1, steps, np.array([3e4]), 0))
    add("node_intr_total", [{}], _counter(rng, 1, steps, np.array([2e4]), 0))
    add("node_forks_total", [{}], _counter(rng, 1, steps, np.array([40.0]), 0))
    add("node_boot_time_seconds", [{}], np.full((steps, 1), 1.7e9))
    for i in range(30):
        add("node_vmstat_" + f"stat{i}", [{}], _counter(rng, 1, steps, np.array([10.0 ** (i % 5)]), 0))
    collectors = [{"collector": c} for c in ("cpu", "diskstats", "filesystem", "loadavg", "meminfo",
                                             "netdev", "stat", "time", "vmstat", "uname")]
    add("node_scrape_collector_success", collectors, np.ones((steps, 10)))
    add("node_scrape_collector_duration_seconds", collectors, rng.gamma(2.0, 0.002, (steps, 10)))
    tgrid = t0 + np.arange(steps, dtype=np.int64) * SCRAPE_MS
    t = tgrid + rng.integers(-JITTER_MS, JITTER_MS + 1, steps)
    add("node_time_seconds", [{}], (t / 1000.0 + rng.uniform(0, 1e-3, steps))[:, None])
    add("node_uname_info", [{"release": "6.1.0", "nodename": instance}], np.ones((steps, 1)))
    return Target(labels, t, np.column_stack(cols))


def make_dataset(targets: int, hours: float, seed: int = 1, t0: int = 20_000 * DAY_MS) -> list[Target]:
    rng = np.random.default_rng(seed)
    steps = int(hours * HOUR_MS / SCRAPE_MS)
    return [make_target(rng, f"host{i:03d}:9100", steps, t0) for i in range(targets)]


def write_openmetrics(data: list[Target], path: Path) -> int:
    """Write the data set as OpenMetrics text (for ``promtool tsdb create-blocks-from openmetrics``).

    Families are contiguous, samples of a series in time order, values with full precision,
    timestamps in seconds. Returns the number of samples written.
    """
    by_family: dict[str, list[tuple[Labels, np.ndarray, np.ndarray]]] = {}
    for d in data:
        for j, lb in enumerate(d.labels):
            by_family.setdefault(lb.name, []).append((lb, d.t, d.v[:, j]))
    n = 0
    with open(path, "w") as f:
        for name in sorted(by_family):
            f.write(f"# TYPE {name} unknown\n")
            for lb, t, v in by_family[name]:
                pairs = ",".join(f"{k}={format_label_value(x)}" for k, x in lb.without_name())
                head = f"{name}{{{pairs}}}"
                pts = zip(t.tolist(), v.tolist(), strict=True)
                f.write("".join(f"{head} {x!r} {ms / 1000:.3f}\n" for ms, x in pts))
                n += t.shape[0]
        f.write("# EOF\n")
    return n


def append_all(db: TSDB, data: list[Target], maintain_every: int = 240) -> tuple[int, float]:
    """Append scrape by scrape (targets interleaved); returns (samples, seconds spent in append)."""
    total, spent = 0, 0.0
    steps = data[0].t.shape[0]
    idx = [np.arange(len(d.labels)) for d in data]
    for k in range(steps):
        for d, ids in zip(data, idx, strict=True):
            batch = SampleBatch(d.labels, ids, np.full(ids.shape[0], d.t[k]), d.v[k])
            t0 = cpu()
            total += db.append(batch)
            spent += cpu() - t0
        if maintain_every and k % maintain_every == maintain_every - 1:
            db.maintain()
    return total, spent


def bench_bytes_per_sample(targets: int, hours: float) -> dict:
    data = make_dataset(targets, hours + 3)
    series = sum(len(d.labels) for d in data)
    with tempfile.TemporaryDirectory() as tmp:
        db = TSDB(tmp, wal_fsync="never")
        samples, spent = append_all(db, data)
        db.maintain()
        day = [m for m in db.blocks() if m.max_time - m.min_time >= hours * HOUR_MS]
        if not day:
            raise SystemExit(f"no compacted {hours} h block: {db.blocks()}")
        meta = day[0]
        files = {p.name: p.stat().st_size for p in (Path(tmp) / meta.ulid).iterdir()}
        t0 = cpu()
        ss = db.select([Matcher.eq("__name__", "node_cpu_seconds_total")], meta.min_time, meta.max_time - 1)
        q_ms = (cpu() - t0) * 1000
        db.close()
    size = sum(files.values())
    return {
        "series": series,
        "block_hours": (meta.max_time - meta.min_time) / HOUR_MS,
        "block_samples": meta.num_samples,
        "block_bytes": size,
        "bytes_per_sample": size / meta.num_samples,
        "values_bytes_per_sample": files["values.parquet"] / meta.num_samples,
        "timestamps_bytes_per_sample": files["timestamps.parquet"] / meta.num_samples,
        "vs_prometheus": size / meta.num_samples / PROMETHEUS_BYTES_PER_SAMPLE,
        "append_samples_per_cpu_s": samples / spent,
        "select_cpu_series_cpu_ms": q_ms,
        "select_cpu_series_samples": int(ss.t.shape[0]),
    }


def bench_head(n_series: int, scrapes: int) -> dict:
    """Head memory per series (traced allocations, label sets included) and append throughput."""
    rng = np.random.default_rng(2)
    labels = [
        Labels({"__name__": f"metric_{i % 500}", "instance": f"host{i // 500}:9100", "n": str(i)})
        for i in range(n_series)
    ]
    db = TSDB(None)
    ids = np.arange(n_series)
    t0 = cpu()
    first = db.append(SampleBatch(labels, ids, np.full(n_series, 0), rng.random(n_series)))
    create_s = cpu() - t0
    spent = 0.0
    values = np.round(rng.random(n_series) * 1000, 2)
    for k in range(1, scrapes):
        batch = SampleBatch(labels, ids, np.full(n_series, k * SCRAPE_MS), values + k)
        t0 = cpu()
        db.append(batch)
        spent += cpu() - t0
    gc.collect()
    tracemalloc.start()
    index_bytes = _traced_bytes_of_index(n_series)
    tracemalloc.stop()
    head = db._head  # the benchmark may look inside; nothing else does
    sample_bytes = sum(r.offsets.nbytes + r.tdelta.nbytes + r.v.nbytes for r in head.runs)
    sample_bytes += sum(a.arr.nbytes for a in (head._sid, head._t, head._v))
    t0 = cpu()
    ss = db.select([Matcher.eq("__name__", "metric_7")], 0, scrapes * SCRAPE_MS)
    q_ms = (cpu() - t0) * 1000
    out = {
        "head_series": n_series,
        "head_samples_per_series": scrapes,
        "head_bytes_per_series": (index_bytes + sample_bytes) / n_series,
        "head_index_bytes_per_series": index_bytes / n_series,
        "head_sample_bytes_per_sample": sample_bytes / (n_series * scrapes),
        "head_series_create_per_cpu_s": first / create_s,
        "head_append_samples_per_cpu_s": n_series * (scrapes - 1) / spent,
        "head_select_200_series_cpu_ms": q_ms,
        "head_select_samples": int(ss.t.shape[0]),
    }
    db.close()
    return out


def _traced_bytes_of_index(n_series: int) -> int:
    """Traced bytes of label sets + series registry + postings for ``n_series`` series."""
    before = tracemalloc.get_traced_memory()[0]
    labels = [
        Labels({"__name__": f"metric_{i % 500}", "instance": f"host{i // 500}:9100", "n": str(i)})
        for i in range(n_series)
    ]
    db = TSDB(None)
    db.append(SampleBatch(labels, np.arange(n_series), np.zeros(n_series, np.int64), np.zeros(n_series)))
    del labels
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - before
    head = db._head
    size -= sum(a.arr.nbytes for a in (head._sid, head._t, head._v))
    size -= sum(r.offsets.nbytes + r.tdelta.nbytes + r.v.nbytes for r in head.runs)
    db.close()
    return size


def bench_wal(n_series: int, scrapes: int) -> dict:
    """WAL bytes per sample and replay speed (open of a data dir with only a WAL)."""
    labels = [Labels({"__name__": f"metric_{i % 500}", "n": str(i)}) for i in range(n_series)]
    ids = np.arange(n_series)
    values = np.round(np.random.default_rng(3).random(n_series) * 1000, 2)
    with tempfile.TemporaryDirectory() as tmp:
        db = TSDB(tmp, wal_fsync="never")
        t0 = cpu()
        for k in range(scrapes):
            db.append(SampleBatch(labels, ids, np.full(n_series, k * SCRAPE_MS), values + k))
        append_s = cpu() - t0
        db.close()
        wal_bytes = sum(p.stat().st_size for p in (Path(tmp) / "wal").iterdir())
        t0 = cpu()
        db = TSDB(tmp)
        replay_s = cpu() - t0
        db.close()
    n = n_series * scrapes
    return {
        "wal_series": n_series,
        "wal_append_samples_per_cpu_s": n / append_s,
        "wal_bytes_per_sample": wal_bytes / n,
        "wal_replay_samples_per_cpu_s": n / replay_s,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=10, help="scrape targets of ~210 series each")
    ap.add_argument("--hours", type=float, default=24.0, help="size of the compacted block to measure")
    ap.add_argument("--head-series", type=int, default=100_000)
    ap.add_argument("--head-scrapes", type=int, default=240, help="scrapes held in the head (240 = 1 h)")
    ap.add_argument("--wal-series", type=int, default=20_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--openmetrics",
        type=Path,
        help="only write the --hours data set as OpenMetrics text to this file (for promtool) and exit",
    )
    args = ap.parse_args(argv)
    if args.openmetrics:
        n = write_openmetrics(make_dataset(args.targets, args.hours), args.openmetrics)
        print(f"wrote {n} samples to {args.openmetrics}")
        return
    res = bench_bytes_per_sample(args.targets, args.hours)
    res.update(bench_head(args.head_series, args.head_scrapes))
    res.update(bench_wal(args.wal_series, args.head_scrapes))
    if args.json:
        json.dump(res, sys.stdout, indent=1)
        print()
        return
    print(f"{'figure':<32} {'value':>16}")
    for k, v in res.items():
        print(f"{k:<32} {v:>16.3f}" if isinstance(v, float) else f"{k:<32} {v:>16}")


if __name__ == "__main__":
    main()
