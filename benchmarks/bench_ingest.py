"""Ingest benchmarks, watchkeeper vs Prometheus 2.42: remote write, scraping, bytes on disk, memory.

* ``remote_write``: the same pre-encoded remote-write 1.0 bodies (protobuf + snappy, 2,000
  series of one sample each, as a Prometheus sender batches them) POSTed to both servers by
  two concurrent senders. Reports samples/s (wall clock), samples per CPU-second of the server
  process, and the server's resident memory growth per active series once all are written.
* ``scrape``: a real node_exporter payload. In-process: watchkeeper's text parser and scrape
  loop appending to a TSDB, samples per CPU-second. End to end: both servers scrape the payload
  from a local HTTP server (several targets, every second), samples per server CPU-second.
* ``disk``: bytes per sample of a compacted day block of node_exporter-like data
  (``storage_bench.make_dataset``): watchkeeper's block vs the blocks promtool writes for the
  same samples.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from watchkeeper.exposition.textparse import parse_text
from watchkeeper.model.labels import Labels
from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig
from watchkeeper.scrape.loop import ScrapeLoop
from watchkeeper.scrape.target import Target, populate_labels
from watchkeeper.storage.db import HOUR_MS, TSDB

from . import datasets, peers
from .results import Row, points_from_json, progress
from .storage_bench import append_all, make_dataset

SERIES_PER_REQUEST = 2_000
SENDERS = 2
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4"


# --------------------------------------------------------------------------- remote write


def _rw_rounds(series: int, rounds: int, seed: int = 3) -> tuple[list[list[bytes]], list[int]]:
    """Bodies for ``rounds`` scrapes of ``series`` series (one sample each), ending a minute ago."""
    rng = np.random.default_rng(seed)
    labels = [datasets.encode_labels(Labels({"__name__": "bench_metric", "job": "bench", "n": str(i % 100),
                                             "instance": f"host{i // 100:04d}:9100"}))
              for i in range(series)]
    now = int(time.time() * 1000)
    out, times = [], []
    level = rng.uniform(0, 1e6, series)
    for r in range(rounds):
        t = now - (rounds - r) * datasets.SCRAPE_MS - 60_000 + int(rng.integers(1, 50))
        values = np.round(level + r * rng.gamma(2.0, 5.0, series), 2)
        body = [datasets.encode_one_sample_each(labels[a:a + SERIES_PER_REQUEST], t,
                                                values[a:a + SERIES_PER_REQUEST])
                for a in range(0, series, SERIES_PER_REQUEST)]
        out.append(body)
        times.append(t)
    return out, times


def _send(peer: peers.Peer, pool: ThreadPoolExecutor, rounds: list[list[bytes]]) -> tuple[float, float]:
    """POST round after round (each round's requests concurrently); returns (wall s, server CPU s)."""

    def post(body: bytes) -> None:
        r = peer.client.post("/api/v1/write", content=body, headers=datasets.REMOTE_WRITE_HEADERS)
        if r.status_code // 100 != 2:
            raise RuntimeError(f"{peer.name} remote write: HTTP {r.status_code}: {r.text[:300]}")

    cpu0, t0 = peer.cpu_seconds(), time.perf_counter()
    for bodies in rounds:
        list(pool.map(post, bodies))
    return time.perf_counter() - t0, peer.cpu_seconds() - cpu0


def _stored(peer: peers.Peer, t_ms: int) -> tuple[int, int]:
    """(series, samples) of the benchmark metrics the server holds in the hour before ``t_ms``."""
    out = []
    for q in ("count(bench_metric)", "sum(count_over_time(bench_metric[1h]))"):
        body = peer.client.get("/api/v1/query", params={"query": q, "time": t_ms / 1000}).json()
        points = points_from_json(body)
        out.append(int(points[()][0][1]) if points else 0)
    return out[0], out[1]


def remote_write(work: Path, *, series: int, rounds: int, runs: int) -> list[Row]:
    total_rounds = 1 + runs * rounds
    progress(f"remote_write: encoding {total_rounds} rounds of {series:,} series")
    bodies, times = _rw_rounds(series, total_rounds)
    samples_per_run = series * rounds
    figures: dict[str, dict[str, list[float]]] = {}
    with peers.prometheus(work, work / "prom-data", "--web.enable-remote-write-receiver") as prom, \
            peers.watchkeeper(work, work / "wk-data") as wk, ThreadPoolExecutor(SENDERS) as pool:
        sides = {"prometheus": prom, "watchkeeper": wk}
        time.sleep(2)
        rss0 = {k: p.rss_bytes() for k, p in sides.items()}
        for k, p in sides.items():
            wall, _ = _send(p, pool, bodies[:1])
            figures[k] = {"create_rate": [series / wall], "rate": [], "cpu": []}
        for run in range(runs):
            chunk = bodies[1 + run * rounds:1 + (run + 1) * rounds]
            order = list(sides.items()) if run % 2 == 0 else list(sides.items())[::-1]
            for k, p in order:
                wall, cpu = _send(p, pool, chunk)
                figures[k]["rate"].append(samples_per_run / wall)
                figures[k]["cpu"].append(samples_per_run / cpu if cpu > 0 else float("inf"))
        time.sleep(1)
        rss = {k: (p.rss_bytes() - rss0[k]) / series for k, p in sides.items()}
        stored = {k: _stored(p, times[-1] + 1000) for k, p in sides.items()}
    want = (series, series * total_rounds)
    check = "ok" if all(v == want for v in stored.values()) else f"DIFF stored (series, samples): {stored}"
    med = {k: {f: statistics.median(v) for f, v in fig.items()} for k, fig in figures.items()}
    shape = f"{series:,} series, {SERIES_PER_REQUEST:,} samples per request, {SENDERS} senders"
    rows = [
        Row("remote_write", "ingest rate", "samples/s", med["watchkeeper"]["rate"], med["prometheus"]["rate"],
            check, f"{shape}; {rounds} round(s) of every series per run"),
        Row("remote_write", "ingest per CPU", "samples/CPU-s", med["watchkeeper"]["cpu"],
            med["prometheus"]["cpu"], check, "server process user+system CPU"),
        Row("remote_write", "first write (new series)", "samples/s", med["watchkeeper"]["create_rate"],
            med["prometheus"]["create_rate"], check, "one run only: the round that creates every series"),
        Row("remote_write", "memory per active series", "bytes", rss["watchkeeper"], rss["prometheus"], check,
            f"server RSS growth after {total_rounds} samples per series; one measurement, not a median"),
    ]
    progress("remote_write: " + ", ".join(f"{r.name} wk {r.watchkeeper:,.0f} prom {r.prometheus:,.0f}"
                                          for r in rows))
    return rows


# --------------------------------------------------------------------------- scrape


def _payload_server(body: bytes) -> tuple[ThreadingHTTPServer, dict[str, int]]:
    """Serve ``body`` on every path; counts requests by first path segment (one per scraping server)."""
    hits: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            with lock:
                key = self.path.strip("/").split("/")[0]
                hits[key] = hits.get(key, 0) + 1
            self.send_response(200)
            self.send_header("Content-Type", TEXT_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def _scrape_config(port: int, path: str, targets: int) -> str:
    groups = "".join(f'      - targets: ["127.0.0.1:{port}"]\n        labels: {{replica: "r{i}"}}\n'
                     for i in range(targets))
    return (f"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1h\n"
            f"scrape_configs:\n  - job_name: bench\n    metrics_path: /{path}/metrics\n"
            f"    static_configs:\n{groups}")


def _scrape_in_process(work: Path, body: bytes, runs: int, reps: int = 20) -> float:
    """Median samples per CPU-second of watchkeeper's parse + scrape loop + TSDB append (with WAL)."""
    n = len(parse_text(body.decode()))
    cfg = ScrapeConfig.model_validate({"job_name": "node"}).resolve(GlobalScrapeDefaults())
    labels, disc = populate_labels({"__address__": "127.0.0.1:9100"}, cfg)
    assert labels is not None

    async def unused(target: Target) -> tuple[bytes, str]:
        raise AssertionError("the benchmark hands bodies to process() directly")

    db = TSDB(work / "scrape-wk")
    try:
        loop = ScrapeLoop(Target(labels, disc, cfg), cfg, db, unused)
        ts = [int(time.time() * 1000) - HOUR_MS]
        rates = []
        for r in range(runs + 1):
            t0 = time.process_time()
            for _ in range(reps):
                ts[0] += 1000
                loop.process(body, TEXT_CONTENT_TYPE, ts[0], time.perf_counter())
            if r:  # the first pass creates the series
                rates.append(n * reps / (time.process_time() - t0))
    finally:
        db.close()
    return statistics.median(rates)


def scrape(work: Path, *, targets: int, seconds: float, runs: int) -> list[Row]:
    body = peers.node_exporter_payload(work)
    n = len(parse_text(body.decode()))
    progress(f"scrape: node_exporter payload {len(body):,} bytes, {n} samples")
    in_process = _scrape_in_process(work, body, runs)
    server, hits = _payload_server(body)
    port = server.server_address[1]
    rates: dict[str, list[float]] = {"prometheus": [], "watchkeeper": []}
    check = "ok"
    try:
        prom_cfg = _scrape_config(port, "prometheus", targets)
        wk_cfg = _scrape_config(port, "watchkeeper", targets)
        with peers.prometheus(work, work / "prom-data", config=prom_cfg) as prom, \
                peers.watchkeeper(work, work / "wk-data", config=wk_cfg) as wk:
            sides = {"prometheus": prom, "watchkeeper": wk}
            time.sleep(3)  # first scrapes create the series
            for _ in range(runs):
                before = {k: (p.cpu_seconds(), hits.get(k, 0)) for k, p in sides.items()}
                time.sleep(seconds)
                for k, p in sides.items():
                    cpu, scrapes = p.cpu_seconds() - before[k][0], hits.get(k, 0) - before[k][1]
                    rates[k].append(scrapes * n / cpu if cpu > 0 else float("inf"))
            for k, p in sides.items():
                res = p.client.get("/api/v1/query", params={"query": 'count(up{job="bench"} == 1)'}).json()
                up = res["data"]["result"]
                if not up or int(float(up[0]["value"][1])) != targets:
                    check = f"DIFF {k}: up == 1 for {up and up[0]['value'][1]} of {targets} targets"
    finally:
        server.shutdown()
        server.server_close()
    med = {k: statistics.median(v) for k, v in rates.items()}
    progress(f"scrape: in-process {in_process:,.0f}, end to end wk {med['watchkeeper']:,.0f} "
             f"prom {med['prometheus']:,.0f} samples/CPU-s")
    return [
        Row("scrape", "end to end per CPU", "samples/CPU-s", med["watchkeeper"], med["prometheus"], check,
            f"{targets} targets x {n} samples every 1 s, {seconds:.0f} s windows; server process CPU"),
        Row("scrape", "in-process per CPU", "samples/CPU-s", in_process, None, "",
            "watchkeeper parse + scrape loop + TSDB append (WAL on); Prometheus has no separate figure"),
    ]


# --------------------------------------------------------------------------- bytes on disk


def disk(work: Path, *, targets: int, hours: float) -> list[Row]:
    data = make_dataset(targets, hours + 3)  # the extra hours make the head cut the whole block
    n_series = sum(len(d.labels) for d in data)
    progress(f"disk: appending {n_series:,} series x {hours + 3:.0f} h to watchkeeper")
    db = TSDB(work / "wk-data", wal_fsync="never")
    try:
        append_all(db, data)
        db.maintain()
        blocks = [m for m in db.blocks() if m.max_time - m.min_time >= hours * HOUR_MS]
        if not blocks:
            raise RuntimeError(f"watchkeeper built no {hours} h block: {db.blocks()}")
        meta = blocks[0]
        wk_bytes = peers.dir_bytes(work / "wk-data" / meta.ulid)
    finally:
        db.close()
    series = []
    for d in data:
        keep = (d.t >= meta.min_time) & (d.t < meta.max_time)
        series.extend(datasets.Series(lab, d.t[keep], d.v[keep, j]) for j, lab in enumerate(d.labels))
    om = work / "disk.om"
    datasets.write_openmetrics(series, str(om))
    progress("disk: promtool create-blocks-from openmetrics")
    prom_dir = work / "prom-blocks"
    peers.promtool_blocks(om, prom_dir)
    om.unlink()
    prom_samples = sum(peers.block_samples(p) for p in prom_dir.iterdir() if (p / "meta.json").is_file())
    prom_bytes = peers.dir_bytes(prom_dir)
    check = "ok" if prom_samples == meta.num_samples else f"DIFF samples {meta.num_samples} vs {prom_samples}"
    n_blocks = sum(1 for p in prom_dir.iterdir() if p.is_dir())
    note = (f"{n_series:,} series x {hours:.0f} h, {meta.num_samples:,} samples; watchkeeper: one compacted "
            f"block; prometheus: {n_blocks} promtool block(s), max 24h")
    row = Row("disk", "bytes per sample", "bytes", wk_bytes / meta.num_samples,
              prom_bytes / max(prom_samples, 1), check, note)
    progress(f"disk: wk {row.watchkeeper:.3f} prom {row.prometheus:.3f} bytes/sample ({check})")
    return [row]
