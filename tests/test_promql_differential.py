"""Differential test: the watchkeeper engine against a real Prometheus 2.42 on the same data.

Random counters, gauges and classic histograms (15 s interval, a non-zero
millisecond jitter on every sample) are written as OpenMetrics, turned into
blocks with ``promtool tsdb create-blocks-from openmetrics`` and served by a
``prometheus`` process on a free loopback port; the same samples go into an
in-memory watchkeeper TSDB. A fixed-seed set of random queries is evaluated as
instant and range queries on both sides and the results must agree.

Prometheus 2.42 closes range windows on the left where Prometheus 3 leaves them
open; with jittered sample times and whole-second evaluation times no sample
ever sits on a window boundary, so the difference never shows. Subquery
evaluation times are offset by 7 s for the same reason. Only functions both
versions have are used.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine, QueryResult
from watchkeeper.storage.db import TSDB

pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(not (Path("/usr/bin/prometheus").exists() and shutil.which("promtool")),
                       reason="needs /usr/bin/prometheus and promtool"),
]

SEED = 20240607
T0 = 1_700_000_000_000  # ms; data covers [T0, T0 + 1h)
INTERVAL = 15_000
POINTS = 240
JOBS = ("api", "db")
INSTANCES = ("i1", "i2", "i3")
METHODS = ("get", "post")
BUCKETS = ("0.1", "0.5", "1", "5", "+Inf")
REL_TOL = 1e-7
ABS_TOL = 1e-9


# --------------------------------------------------------------------------- data


def _timestamps(rng: np.random.Generator) -> np.ndarray:
    """One scrape's timestamps: 15 s apart, each with a jitter of 1..999 ms (never a whole second)."""
    return T0 + np.arange(POINTS, dtype=np.int64) * INTERVAL + rng.integers(1, 1000, POINTS)


def _counter(rng: np.random.Generator, scale: float) -> np.ndarray:
    values = np.cumsum(rng.integers(0, 20, POINTS) * scale)
    reset = rng.integers(POINTS // 3, POINTS)  # one counter reset per series, somewhere after the start
    values[reset:] -= values[reset - 1]
    return values


def generate() -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """All series as (labels, timestamps ms, values), deterministic for ``SEED``."""
    rng = np.random.default_rng(SEED)
    out = []
    for job in JOBS:
        for inst in INSTANCES:
            t = _timestamps(rng)  # one target: all its series share the scrape timestamps
            for method in METHODS:
                out.append((Labels({"__name__": "wk_requests_total", "job": job, "instance": inst,
                                    "method": method}), t, _counter(rng, 1.0)))
            gauge = 20 + np.cumsum(rng.normal(0, 0.5, POINTS))
            out.append((Labels({"__name__": "wk_temperature_celsius", "job": job, "instance": inst}), t,
                        gauge))
            # A classic histogram: cumulative bucket counters that only ever grow together.
            per_bucket = rng.integers(0, 5, (len(BUCKETS), POINTS))
            cumulative = np.cumsum(np.cumsum(per_bucket, axis=0), axis=1).astype(np.float64)
            for le, counts in zip(BUCKETS, cumulative, strict=True):
                out.append((Labels({"__name__": "wk_latency_seconds_bucket", "job": job, "instance": inst,
                                    "le": le}), t, counts))
            out.append((Labels({"__name__": "wk_latency_seconds_count", "job": job, "instance": inst}), t,
                        cumulative[-1].copy()))
            out.append((Labels({"__name__": "wk_latency_seconds_sum", "job": job, "instance": inst}), t,
                        np.cumsum(rng.uniform(0, 3, POINTS))))
    return out


def _openmetrics(series: list[tuple[Labels, np.ndarray, np.ndarray]]) -> str:
    lines = []
    for labels, t, v in sorted(series, key=lambda s: s[0].name):
        inner = ",".join(f'{k}="{val}"' for k, val in labels.items if k != "__name__")
        for ts, val in zip(t.tolist(), v.tolist(), strict=True):
            lines.append(f"{labels.name}{{{inner}}} {val!r} {ts // 1000}.{ts % 1000:03d}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- queries


SELECTORS = [
    'wk_requests_total', 'wk_requests_total{job="api"}', 'wk_requests_total{method!="get"}',
    'wk_temperature_celsius', 'wk_temperature_celsius{instance=~"i[12]"}',
]
COUNTERS = ['wk_requests_total', 'wk_requests_total{job="db"}', 'wk_latency_seconds_count']
GAUGES = ['wk_temperature_celsius', 'wk_temperature_celsius{job="api"}']
WINDOWS = ["1m", "2m", "5m", "10m"]
COUNTER_FUNCS = ["rate", "increase", "irate", "resets"]
GAUGE_FUNCS = ["delta", "idelta", "deriv", "changes", "avg_over_time", "min_over_time", "max_over_time",
               "sum_over_time", "count_over_time", "last_over_time", "stddev_over_time", "stdvar_over_time",
               "present_over_time"]
AGGS = ["sum", "avg", "min", "max", "count", "stddev", "stdvar", "group"]
GROUPINGS = ["by (job)", "by (instance)", "without (instance)", "by (job, method)", "without (method)", ""]


def _range_expr(rng: np.random.Generator) -> str:
    if rng.random() < 0.4:
        return f"{rng.choice(COUNTER_FUNCS)}({rng.choice(COUNTERS)}[{rng.choice(WINDOWS)}])"
    if rng.random() < 0.2:
        q = rng.choice(["0.1", "0.5", "0.9"])
        return f"quantile_over_time({q}, {rng.choice(GAUGES)}[{rng.choice(WINDOWS)}])"
    return f"{rng.choice(GAUGE_FUNCS)}({rng.choice(GAUGES)}[{rng.choice(WINDOWS)}])"


def _vector_expr(rng: np.random.Generator) -> str:
    return rng.choice(SELECTORS) if rng.random() < 0.3 else _range_expr(rng)


def _query(rng: np.random.Generator) -> str:
    kind = rng.integers(0, 10)
    if kind == 0:
        return rng.choice(SELECTORS)
    if kind == 1:
        return _range_expr(rng)
    if kind == 2:
        return f"{rng.choice(AGGS)} {rng.choice(GROUPINGS)} ({_vector_expr(rng)})"
    if kind == 3:
        op = rng.choice(["topk", "bottomk"])
        return f"{op}({rng.integers(1, 4)}, {_vector_expr(rng)})"
    if kind == 4:
        q = rng.choice(["0.25", "0.5", "0.95"])
        return f"quantile {rng.choice(GROUPINGS)} ({q}, {_vector_expr(rng)})"
    if kind == 5:
        window = rng.choice(WINDOWS)
        return rng.choice([
            f"sum by (job, instance) (rate(wk_requests_total[{window}])) / on (job, instance) "
            f"group_left wk_temperature_celsius",
            f"rate(wk_requests_total[{window}]) / ignoring (method) group_left "
            f"sum without (method) (rate(wk_requests_total[{window}]))",
            f"wk_temperature_celsius > {rng.choice(['19', '20', '21'])}",
            f"wk_temperature_celsius > bool {rng.choice(['19', '20', '21'])}",
            "wk_temperature_celsius * 2 - 1",
            "wk_requests_total and on (job, instance) wk_temperature_celsius > 20",
            "wk_requests_total unless on (instance) wk_temperature_celsius > 20",
            "wk_temperature_celsius{job=\"api\"} or wk_temperature_celsius{instance=\"i3\"}",
            f"increase(wk_latency_seconds_sum[{window}]) / increase(wk_latency_seconds_count[{window}])",
        ])
    if kind == 6:
        window = rng.choice(["2m", "5m", "10m"])
        grouping = rng.choice(["le", "job, le", "instance, le"])
        q = rng.choice(["0.5", "0.9", "0.99"])
        return f"histogram_quantile({q}, sum by ({grouping}) (rate(wk_latency_seconds_bucket[{window}])))"
    if kind == 7:
        inner = rng.choice([f"rate(wk_requests_total[{rng.choice(['1m', '2m'])}])", "wk_temperature_celsius",
                            "sum by (job) (wk_temperature_celsius)"])
        outer = rng.choice(["max_over_time", "avg_over_time", "min_over_time", "sum_over_time"])
        return f"{outer}(({inner})[{rng.choice(['5m', '10m'])}:{rng.choice(['30s', '1m'])}])"
    if kind == 8:
        gauge = rng.choice(GAUGES)
        return rng.choice([
            f"{rng.choice(['abs', 'ceil', 'floor', 'sqrt', 'ln', 'log2', 'exp', 'sgn'])}({gauge} - 20)",
            f"round({gauge}, {rng.choice(['0.5', '0.1', '2'])})",
            f"clamp({gauge}, 19.5, 20.5)",
            f"clamp_min({gauge}, 20)",
            f"label_replace({gauge}, \"host\", \"$1-x\", \"instance\", \"i(.*)\")",
            f"label_join({gauge}, \"id\", \":\", \"job\", \"instance\")",
            f"timestamp({gauge})",
            f"time() - timestamp({gauge})",
            f"scalar(sum({gauge})) * {gauge}",
            f"predict_linear({gauge}[{rng.choice(WINDOWS)}], 600)",
            'absent(wk_nonexistent{job="x"})',
            "absent_over_time(wk_nonexistent[5m])",
            f"count_values(\"value\", round({gauge}))",
            f"{gauge} % 3 + {gauge} ^ 0.5",
            f"atan2({gauge}, 10)",
            f"sum by (job) ({gauge}) / on (job) group_right {gauge}",
        ])
    window = rng.choice(WINDOWS)
    shift = rng.choice(["offset 5m", "offset 90s", f"@ {(T0 + 1_800_000) // 1000}", "@ end()", "@ start()"])
    return rng.choice([
        f"wk_temperature_celsius {shift}",
        f"rate(wk_requests_total[{window}] {shift})",
        f"sum by (job) (increase(wk_requests_total[{window}] {shift}))",
        f"max_over_time((rate(wk_requests_total[1m]))[5m:1m] {shift})",
    ])


@dataclass(frozen=True)
class Case:
    query: str
    instant_ms: int  # evaluation time of the instant query
    range_ms: tuple[int, int, int]  # start, end, step of the range query


def cases(n: int = 80) -> list[Case]:
    rng = np.random.default_rng(SEED + 1)
    out = []
    for _ in range(n):
        query = _query(rng)
        # Whole seconds (7 s past a minute keeps subquery steps off window edges), after 12 min of data.
        t = T0 + int(rng.integers(12, 60)) * 60_000 + 7_000
        start = T0 + int(rng.integers(11, 40)) * 60_000 + 7_000
        step = int(rng.choice([15_000, 60_000, 120_000]))
        end = start + step * int(rng.integers(5, 12))
        out.append(Case(query, t, (start, end, step)))
    return out


CASES = cases()


# --------------------------------------------------------------------------- the two sides


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Peers:
    prometheus: httpx.Client
    engine: Engine
    storage: TSDB


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    series = generate()
    work = tmp_path_factory.mktemp("prom")
    (work / "data.om").write_text(_openmetrics(series))
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(work / "data.om"),
                    str(work / "tsdb")], check=True, capture_output=True, timeout=120)
    (work / "prometheus.yml").write_text("global:\n  evaluation_interval: 1h\n")
    port = _free_port()
    proc = subprocess.Popen(
        ["/usr/bin/prometheus", f"--storage.tsdb.path={work / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", f"--config.file={work / 'prometheus.yml'}",
         "--storage.tsdb.retention.time=100y"],
        stdout=subprocess.DEVNULL, stderr=(work / "prometheus.log").open("wb"))
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/-/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (work / "prometheus.log").read_text()[-2000:]
                pytest.fail(f"prometheus did not become ready: {log}")
            time.sleep(0.2)
        storage = TSDB()
        labels = [s[0] for s in series]
        storage.append(SampleBatch(
            labels,
            np.concatenate([np.full(len(t), i, dtype=np.int64) for i, (_, t, _) in enumerate(series)]),
            np.concatenate([t for _, t, _ in series]),
            np.concatenate([v for _, _, v in series]).astype(np.float64)))
        yield Peers(client, Engine(), storage)
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


Result = dict[Labels, list[tuple[int, float]]]


def _prom(client: httpx.Client, path: str, params: dict) -> tuple[str, Result]:
    body = client.get(path, params=params).json()
    assert body["status"] == "success", body
    data = body["data"]
    kind, raw = data["resultType"], data["result"]
    if kind == "scalar":
        return kind, {Labels(): [(round(raw[0] * 1000), float(raw[1]))]}
    out: Result = {}
    for item in raw:
        points = item["values"] if kind == "matrix" else [item["value"]]
        out[Labels(item["metric"])] = [(round(ts * 1000), float(v)) for ts, v in points]
    return kind, out


def _ours(result: QueryResult, t_ms: int | None) -> tuple[str, Result]:
    kind = result.result_type
    if kind == "scalar" and result.scalar is not None:
        return kind, {Labels(): [result.scalar]}
    ss = result.series
    assert ss is not None
    out: Result = {}
    for i in range(len(ss)):
        labels, t, v = ss.series(i)
        ts = [t_ms] * len(t) if kind == "vector" and t_ms is not None else t.tolist()
        out[labels] = list(zip(ts, v.tolist(), strict=True))
    return kind, out


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= ABS_TOL + REL_TOL * max(abs(a), abs(b))


def _assert_same(query: str, prom: Result, ours: Result) -> None:
    assert set(ours) == set(prom), (
        f"{query}: series differ\n only prometheus: {sorted(map(str, set(prom) - set(ours)))[:5]}"
        f"\n only watchkeeper: {sorted(map(str, set(ours) - set(prom)))[:5]}")
    for labels, expected in prom.items():
        got = ours[labels]
        assert [t for t, _ in got] == [t for t, _ in expected], f"{query}: {labels} timestamps differ"
        for (t, want), (_, have) in zip(expected, got, strict=True):
            assert _close(want, have), f"{query}: {labels} at {t}: prometheus {want!r}, watchkeeper {have!r}"


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c.query}" for i, c in enumerate(CASES)])
def test_instant_query_matches_prometheus(peers: Peers, case: Case) -> None:
    params = {"query": case.query, "time": case.instant_ms / 1000}
    kind, prom = _prom(peers.prometheus, "/api/v1/query", params)
    our_kind, ours = _ours(peers.engine.instant_query(peers.storage, case.query, case.instant_ms),
                           case.instant_ms)
    assert our_kind == kind
    _assert_same(case.query, prom, ours)


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c.query}" for i, c in enumerate(CASES)])
def test_range_query_matches_prometheus(peers: Peers, case: Case) -> None:
    start, end, step = case.range_ms
    kind, prom = _prom(peers.prometheus, "/api/v1/query_range",
                       {"query": case.query, "start": start / 1000, "end": end / 1000, "step": step / 1000})
    our_kind, ours = _ours(peers.engine.range_query(peers.storage, case.query, start, end, step), None)
    assert (our_kind, kind) == ("matrix", "matrix")
    _assert_same(case.query, prom, ours)


def test_generated_data_has_jitter_and_resets() -> None:
    series = generate()
    t = np.concatenate([s[1] for s in series])
    assert (t % 1000 != 0).all()
    counters = [v for labels, _, v in series if labels.name == "wk_requests_total"]
    assert all((np.diff(v) < 0).sum() == 1 for v in counters)
    assert len({c.query for c in CASES}) > 60

