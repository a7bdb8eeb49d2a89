"""PromQL benchmark: eight queries on a node_exporter-like fleet, watchkeeper vs Prometheus 2.42.

The fleet (``datasets.node_fleet``) is written once as OpenMetrics and backfilled into
Prometheus blocks with ``promtool``; the same samples are appended to a watchkeeper TSDB that
then cuts and compacts its blocks (``maintain()``), so both sides answer from persisted blocks
built offline. Per query and side: one warm-up, then ``runs`` timed executions, median reported:

* Prometheus over HTTP (request sent until the whole JSON body is read),
* ``watchkeeper server`` over HTTP on a copy of the watchkeeper data directory,
* watchkeeper in-process (``Engine`` directly on an open ``TSDB``), no HTTP or JSON.

The three are interleaved run by run, so load from elsewhere on the machine hits all alike.
Results are compared with Prometheus' (same series, timestamps, values within 1e-6 relative).
"""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from watchkeeper.gocompat.durations import format_duration
from watchkeeper.promql.engine import Engine, QueryResult
from watchkeeper.storage.db import TSDB

from . import datasets, peers
from .results import Points, Row, compare, points_from_json, progress

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Query:
    name: str
    expr: str
    range_ms: int = 0  # 0: an instant query
    step_ms: int = 0


QUERIES = [
    Query("q1", "sum by (instance) (rate(node_cpu_seconds_total[5m]))", 60 * MINUTE_MS, 15_000),
    Query("q2", "sum by (instance) (rate(node_cpu_seconds_total[5m]))", 24 * 60 * MINUTE_MS, 5 * MINUTE_MS),
    Query("q3", "max_over_time(node_memory_MemAvailable_bytes[1h])"),
    Query("q4", "topk(5, node_memory_MemAvailable_bytes)", 6 * 60 * MINUTE_MS, MINUTE_MS),
    Query("q5", "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
          6 * 60 * MINUTE_MS, MINUTE_MS),
    Query("q6", "node_memory_MemAvailable_bytes * on (instance) group_left (nodename) node_uname_info"
                ' * on (instance) group_left () up{job="node"}', 60 * MINUTE_MS, 15_000),
    Query("q7", "max_over_time(rate(node_cpu_seconds_total[5m])[1h:1m])"),
    Query("q8", 'count by (job) ({__name__=~".+"})'),
]


def _eval_time(hours: float) -> int:
    """Ten minutes before the data ends, on a whole second that is not a whole minute."""
    return datasets.T0 + int(hours * datasets.HOUR_MS) - 10 * MINUTE_MS + 7_000


def _params(q: Query, t_ms: int) -> tuple[str, dict]:
    if q.range_ms:
        return "/api/v1/query_range", {"query": q.expr, "start": (t_ms - q.range_ms) / 1000,
                                       "end": t_ms / 1000, "step": q.step_ms / 1000}
    return "/api/v1/query", {"query": q.expr, "time": t_ms / 1000}


def _describe(q: Query) -> str:
    if not q.range_ms:
        return "instant"
    return f"range {format_duration(q.range_ms)} step {format_duration(q.step_ms)}"


def _run_local(engine: Engine, db: TSDB, q: Query, t_ms: int) -> QueryResult:
    if q.range_ms:
        return engine.range_query(db, q.expr, t_ms - q.range_ms, t_ms, q.step_ms)
    return engine.instant_query(db, q.expr, t_ms)


def _points_local(result: QueryResult, t_ms: int) -> Points:
    if result.result_type == "scalar" and result.scalar is not None:
        return {(): [result.scalar]}
    ss = result.series
    assert ss is not None
    out: Points = {}
    for i in range(len(ss)):
        labels, t, v = ss.series(i)
        ts = [t_ms] * len(t) if result.result_type == "vector" else t.tolist()
        out[tuple(sorted(labels.items))] = list(zip(ts, v.tolist(), strict=True))
    return out


def _load(work: Path, instances: int, hours: float) -> tuple[Path, Path]:
    series = datasets.node_fleet(instances, hours)
    n = datasets.sample_count(series)
    progress(f"promql: {len(series)} series, {n:,} samples; writing OpenMetrics")
    t0 = time.perf_counter()
    om = work / "fleet.om"
    datasets.write_openmetrics(series, str(om))
    prom_dir = work / "prom-data"
    peers.promtool_blocks(om, prom_dir)
    om.unlink()
    progress(f"promql: promtool blocks written in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    wk_dir = work / "wk-data"
    db = TSDB(wk_dir, wal_fsync="never")
    for batch in datasets.batches(series):
        db.append(batch)
    db.maintain()
    db.close()
    progress(f"promql: watchkeeper blocks written in {time.perf_counter() - t0:.0f} s")
    return prom_dir, wk_dir


def run(work: Path, *, instances: int, hours: float, runs: int) -> list[Row]:
    prom_dir, wk_dir = _load(work, instances, hours)
    server_dir = work / "wk-server-data"
    shutil.copytree(wk_dir, server_dir)
    t_ms = _eval_time(hours)
    rows: list[Row] = []
    db = TSDB(wk_dir)
    engine = Engine()
    try:
        with peers.prometheus(work, prom_dir) as prom, peers.watchkeeper(work, server_dir) as wk:
            for q in QUERIES:
                path, params = _params(q, t_ms)
                times: dict[str, list[float]] = {"prom": [], "http": [], "local": []}
                bodies: dict[str, bytes] = {}
                local: QueryResult | None = None
                for r in range(runs + 1):  # run 0 warms caches and is not counted
                    t0 = time.perf_counter()
                    bodies["prom"] = prom.get(path, params)
                    t1 = time.perf_counter()
                    bodies["http"] = wk.get(path, params)
                    t2 = time.perf_counter()
                    local = _run_local(engine, db, q, t_ms)
                    t3 = time.perf_counter()
                    if r:
                        times["prom"].append(t1 - t0)
                        times["http"].append(t2 - t1)
                        times["local"].append(t3 - t2)
                assert local is not None
                want = points_from_json(orjson.loads(bodies["prom"]))
                try:
                    check_http = compare(want, points_from_json(orjson.loads(bodies["http"])))
                except ValueError as e:
                    check_http = f"ERROR {e}"
                check_local = compare(want, _points_local(local, t_ms))
                ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
                note = f"{_describe(q)}: {q.expr}; {len(want)} series out"
                rows.append(Row("promql", f"{q.name} http", "ms", ms["http"], ms["prom"], check_http, note))
                rows.append(Row("promql", f"{q.name} in-process", "ms", ms["local"], ms["prom"], check_local))
                progress(f"promql {q.name}: prometheus {ms['prom']:.1f} ms, watchkeeper http "
                         f"{ms['http']:.1f} ms ({check_http}), in-process {ms['local']:.1f} ms "
                         f"({check_local})")
    finally:
        db.close()
    return rows
