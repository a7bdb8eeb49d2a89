"""Rule benchmark: 1,000 alerting rules over 10k series, watchkeeper vs Prometheus 2.42.

Prometheus evaluates rules at wall-clock "now", so the data (an hour of a node_exporter-like
fleet, 20 series per instance) is generated to end at the moment the benchmark starts. It is
backfilled into Prometheus blocks with ``promtool``; Prometheus then runs with the rule file and an
evaluation interval (quick 10 s, full 20 s), and its ``/metrics`` is read after every iteration:
``prometheus_rule_group_last_duration_seconds`` summed over the groups is one cycle's time.

The same samples are then appended to a watchkeeper ``TSDB`` and a ``RuleManager`` (engine
instant queries on that TSDB, results appended back to it, notifications dropped) evaluates
every group at exactly the instants Prometheus evaluated it (read back from
``prometheus_rule_group_last_evaluation_timestamp_seconds`` and the iteration count), so both
see the same data at the same times and should end with the same pending and firing alerts.
Per cycle the groups' evaluation times are summed; the first cycle is a warm-up on both sides.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine
from watchkeeper.rules.alert import AlertState
from watchkeeper.rules.manager import RuleManager
from watchkeeper.storage.db import TSDB

from . import datasets, peers
from .datasets import HOUR_MS, SCRAPE_MS, Series
from .results import Row, progress

GROUPS = 10
SERIES_PER_INSTANCE = 20
MOUNTS = ("/", "/var", "/home")
FOR = ("0s", "30s", "1m", "5m")
_METRIC = re.compile(r'^(\w+)\{rule_group="([^"]*)"\} (\S+)$', re.M)


def fleet(instances: int, hours: float, end_ms: int, seed: int = 11) -> list[Series]:
    """20 series per instance ending at ``end_ms``: 8 CPU counters (4 CPUs x idle/user), memory
    total/available, filesystem size/avail for 3 mounts, a network counter, load1/load5, ``up``.

    Every instance has its own level per gauge (uniform), so a threshold at quantile ``q`` of
    those levels fires for about ``1 - q`` of the instances."""
    rng = np.random.default_rng(seed)
    steps = int(hours * HOUR_MS / SCRAPE_MS)
    t0 = end_ms - steps * SCRAPE_MS - datasets.JITTER_MS  # the last scrape is never after end_ms
    out: list[Series] = []
    for i in range(instances):
        t = datasets.jittered_grid(rng, t0, steps)
        base = {"instance": f"host{i:04d}:9100", "job": "node"}

        def add(name: str, v: np.ndarray, **extra: str) -> None:
            out.append(Series(Labels({"__name__": name, **base, **extra}), t, np.round(v, 3)))  # noqa: B023

        user = rng.uniform(0.0, 1.0)
        for cpu in range(4):
            for mode, share in (("user", user), ("idle", 1.0 - user)):
                inc = rng.gamma(16.0, share / 16.0 * SCRAPE_MS / 1000, steps)
                add("node_cpu_seconds_total", rng.uniform(1e4, 1e6) + np.cumsum(inc), cpu=str(cpu), mode=mode)
        total = 16 * 2.0**30
        add("node_memory_MemTotal_bytes", np.full(steps, total))
        avail = np.clip(rng.uniform() + rng.normal(0, 0.002, steps), 0, 1)
        add("node_memory_MemAvailable_bytes", total * avail)
        for mount in MOUNTS:
            size = 100 * 2.0**30
            add("node_filesystem_size_bytes", np.full(steps, size), mountpoint=mount)
            free = rng.uniform() - np.linspace(0, 0.002, steps)
            add("node_filesystem_avail_bytes", size * np.clip(free, 0, 1), mountpoint=mount)
        rx = rng.uniform(0, 1e8)
        add("node_network_receive_bytes_total", np.cumsum(rng.poisson(rx * SCRAPE_MS / 1000, steps) * 1.0),
            device="eth0")
        load = rng.uniform(0, 8)
        add("node_load1", np.clip(load + rng.normal(0, 0.01, steps), 0, None))
        add("node_load5", np.clip(load + rng.normal(0, 0.005, steps), 0, None))
        add("up", np.full(steps, 0.0 if rng.uniform() < 0.01 else 1.0))
    return out


def _rule(n: int) -> dict:
    """Rule ``n`` of the file: one of ten shapes, its threshold set so that ~0-2% of instances fire."""
    k = (n // 10) % 100  # threshold step within the shape
    q = 0.98 + 0.0002 * k  # the quantile of per-instance levels the threshold sits at
    shape = n % 10
    exprs = [
        f"node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < {1 - q:.4f}",
        f'rate(node_cpu_seconds_total{{mode="user"}}[5m]) > {q:.4f}',
        f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}[5m])) > {q:.4f}',
        f"sum by (instance) (rate(node_network_receive_bytes_total[5m])) > {q * 1e8:.0f}",
        f'node_filesystem_avail_bytes{{mountpoint="/"}} / node_filesystem_size_bytes{{mountpoint="/"}}'
        f" < {1 - q:.4f}",
        f"node_load1 > {8 * q:.4f}",
        f'max by (instance, job) (node_load5) > {8 * q:.4f} and on (instance) up{{job="node"}} == 1',
        f'up{{job="node"}} == 0 unless on (instance) node_load1 > {100 + k}',
        f'absent(up{{job="node", instance="host{k:04d}:9100"}})' if k % 2
        else f"absent(nonexistent_metric_{k})",
        f"increase(node_network_receive_bytes_total[5m]) > {q * 3e10:.0f}",
    ]
    return {
        "alert": f"Shape{shape}Step{k:02d}Rule{n:04d}",
        "expr": exprs[shape],
        "for": FOR[n % len(FOR)],
        "labels": {"severity": "critical" if n % 3 == 0 else "warning", "team": f"team{n % 7}"},
        "annotations": {
            "summary": "{{ $labels.instance }} of job {{ $labels.job }} is over its limit",
            "description": f"value {{{{ $value | humanize }}}} (rule {n})",
        },
    }


def rule_file(path: Path, rules: int) -> None:
    """``rules`` alerting rules in ``GROUPS`` groups of equal size."""
    per = rules // GROUPS
    groups = [{"name": f"group{g:02d}", "rules": [_rule(g * per + i) for i in range(per)]}
              for g in range(GROUPS)]
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))


def _prom_groups(text: str) -> dict[str, dict[str, float]]:
    """Per rule group (``file;name``): its metrics of interest from Prometheus' /metrics text."""
    out: dict[str, dict[str, float]] = {}
    for name, group, value in _METRIC.findall(text):
        out.setdefault(group, {})[name] = float(value)
    return out


def _iterations(groups: dict[str, dict[str, float]]) -> dict[str, tuple[float, float]]:
    return {k: (g["prometheus_rule_group_iterations_total"],
                g["prometheus_rule_group_last_evaluation_timestamp_seconds"]) for k, g in groups.items()}


def _run_prometheus(work: Path, prom_dir: Path, rules_path: Path, runs: int,
                    interval_s: int) -> tuple[list[float], float, dict, dict]:
    """Cycle times (s, the first a warm-up), CPU seconds per cycle after the warm-up, per group
    (iterations, last evaluation ms), alert counts.

    The groups run concurrently, so when they overlap each one's wall time includes waiting for
    the CPU; the process' CPU time per evaluated rule set is the robust figure."""
    config = (f"global:\n  scrape_interval: 1h\n  evaluation_interval: {interval_s}s\n"
              f"rule_files:\n  - {rules_path}\n")
    cycles: list[float] = []
    cpu: list[tuple[float, float]] = []  # (process CPU seconds, rule evaluations so far)
    seen = 0
    with peers.prometheus(work, prom_dir, config=config) as prom:
        deadline = time.monotonic() + interval_s * (runs + 4) + 60
        while time.monotonic() < deadline:
            groups = _prom_groups(prom.client.get("/metrics").text)
            iters = [int(g.get("prometheus_rule_group_iterations_total", 0)) for g in groups.values()]
            done = min(iters) if len(groups) == GROUPS else 0
            if done > seen:  # every group has evaluated again since the last look; the first is a warm-up
                cycles.append(sum(g["prometheus_rule_group_last_duration_seconds"] for g in groups.values()))
                cpu.append((prom.cpu_seconds(),
                            sum(g["prometheus_rule_evaluations_total"] for g in groups.values())))
                progress(f"rules: prometheus cycle {len(cycles)}: {cycles[-1] * 1000:.0f} ms")
                seen = done
            if len(cycles) > runs and max(iters) == min(iters):
                # Alerts, then the metrics again: no group may have finished an evaluation in between.
                alerts = prom.client.get("/api/v1/alerts").json()["data"]["alerts"]
                if _iterations(_prom_groups(prom.client.get("/metrics").text)) == _iterations(groups):
                    break
            time.sleep(interval_s / 10)
        else:
            raise RuntimeError("prometheus did not finish its rule evaluations in time")
    counts = {s: sum(a["state"] == s for a in alerts) for s in ("pending", "firing")}
    at = {key: (int(g["prometheus_rule_group_iterations_total"]),
                round(g["prometheus_rule_group_last_evaluation_timestamp_seconds"] * 1000))
          for key, g in groups.items()}
    rules = sum(g["prometheus_rule_group_rules"] for g in groups.values())
    cpu_per_cycle = (cpu[-1][0] - cpu[0][0]) / ((cpu[-1][1] - cpu[0][1]) / rules)
    return cycles, cpu_per_cycle, at, counts


def run(work: Path, *, instances: int, rules: int, hours: float, runs: int,
        interval_s: int) -> list[Row]:
    end_ms = int(time.time() * 1000)
    series = fleet(instances, hours, end_ms)
    progress(f"rules: {len(series)} series, {datasets.sample_count(series):,} samples, {rules} rules")
    rules_path = work / "rules.yml"
    rule_file(rules_path, rules)
    om = work / "fleet.om"
    datasets.write_openmetrics(series, str(om))
    prom_dir = work / "prom-data"
    peers.promtool_blocks(om, prom_dir, max_block="2h")
    om.unlink()
    prom_cycles, prom_cpu, prom_at, prom_alerts = _run_prometheus(work, prom_dir, rules_path, runs,
                                                                  interval_s)

    db = TSDB(work / "wk-data", wal_fsync="never")
    try:
        for batch in datasets.batches(series):
            db.append(batch)
        db.maintain()
        wk_cycles, wk_cpu, wk_alerts = _run_watchkeeper(db, rules_path, prom_at, interval_s)
    finally:
        db.close()
    prom_ms = statistics.median(prom_cycles[1:] or prom_cycles) * 1000
    wk_ms = statistics.median(wk_cycles[1:] or wk_cycles) * 1000
    check = "ok" if wk_alerts == prom_alerts else f"DIFF alerts wk {wk_alerts} prom {prom_alerts}"
    progress(f"rules: prometheus {prom_ms:.0f} ms/cycle ({prom_cpu * 1000:.0f} CPU-ms), "
             f"alerts {prom_alerts}; watchkeeper {wk_ms:.0f} ms/cycle ({wk_cpu * 1000:.0f} CPU-ms), "
             f"alerts {wk_alerts}")
    note = (f"{rules} alerting rules in {GROUPS} groups over {len(series)} series ({hours:g} h at 15 s, "
            f"ending now); sum of group evaluation times per cycle, median of {len(wk_cycles) - 1} cycles "
            f"after a warm-up (Prometheus: {len(prom_cycles) - 1}); alerts at the end: "
            f"watchkeeper {wk_alerts}, prometheus {prom_alerts}")
    cpu_note = ("CPU seconds per cycle after the warm-up: Prometheus' process CPU divided by rule sets "
                "evaluated (its groups run concurrently on all cores); watchkeeper's process CPU in "
                "Group.evaluate")
    return [Row("rules", "evaluation cycle", "ms", wk_ms, prom_ms, check, note),
            Row("rules", "evaluation cycle CPU", "ms", wk_cpu * 1000, prom_cpu * 1000, check, cpu_note)]


def _run_watchkeeper(db: TSDB, rules_path: Path, prom_at: dict,
                     interval_s: int) -> tuple[list[float], float, dict[str, int]]:
    """Evaluate every group at the instants Prometheus did; cycle times (s, the first a warm-up),
    CPU seconds per cycle after the warm-up, and alert counts."""
    engine = Engine()
    manager = RuleManager(
        query=lambda expr, t_ms: engine.instant_query(db, expr, t_ms),
        appendable=db.append,
        notify=lambda alerts, expr: None,
        clock=time.time,
        default_interval_ms=interval_s * 1000,
    )
    manager.update([str(rules_path)])
    # Groups start at their own phase, so one may have run once more than another: evaluate each
    # as often as Prometheus did, ending at its last instant, and time the cycles all groups ran.
    cycles = min(n for n, _ in prom_at.values())
    per_cycle = [0.0] * cycles
    cpu = [0.0] * cycles
    for g in manager.groups:
        n, last_ms = prom_at[g.key]
        for k in range(n):
            c0 = time.process_time()
            g.evaluate(last_ms - (n - 1 - k) * g.interval_ms)
            if k >= n - cycles:
                per_cycle[k - (n - cycles)] += g.metrics.last_duration_s
                cpu[k - (n - cycles)] += time.process_time() - c0
        last = g.metrics.last_duration_s * 1000
        progress(f"rules: watchkeeper {g.name}: {n} evaluations, last {last:.0f} ms")
    states = [a.state for _, a in manager.active_alerts()]
    alerts = {"pending": states.count(AlertState.PENDING), "firing": states.count(AlertState.FIRING)}
    return per_cycle, statistics.median(cpu[1:] or cpu), alerts
