"""Benchmark: parse and process a real node_exporter payload (run: python tests/benchmarks/bench_scrape.py).

Starts prometheus-node-exporter on a free 127.0.0.1 port, fetches /metrics once,
then measures (1) parse_text alone and (2) a full warm-cache scrape-loop pass
(parse + ref cache + batch build) into a no-op appender. Prints samples per CPU second.
"""

from __future__ import annotations

import socket
import subprocess
import time

import httpx

from watchkeeper.exposition.textparse import parse_text
from watchkeeper.model.batch import SampleBatch
from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig
from watchkeeper.scrape.loop import ScrapeLoop
from watchkeeper.scrape.target import Target, populate_labels

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


def fetch_node_exporter() -> bytes:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).content
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("node_exporter did not come up")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class NullAppender:
    def append(self, batch: SampleBatch) -> int:
        return len(batch)


def best_rate(fn, n_samples: int, rounds: int = 5, reps: int = 50) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()  # CPU time: robust when other work shares the machine
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - t0) / reps)
    return n_samples / best


def main() -> None:
    body = fetch_node_exporter()
    text = body.decode()
    n = len(parse_text(text))
    print(f"payload: {len(body)} bytes, {text.count(chr(10))} lines, {n} samples")
    print(f"parse_text:            {best_rate(lambda: parse_text(text), n):>12,.0f} samples/s")
    cfg = ScrapeConfig.model_validate({"job_name": "node"}).resolve(GlobalScrapeDefaults())
    labels, disc = populate_labels({"__address__": "127.0.0.1:9100"}, cfg)
    assert labels is not None

    async def never(t: Target) -> tuple[bytes, str]:
        raise AssertionError("not used")

    loop = ScrapeLoop(Target(labels, disc, cfg), cfg, NullAppender(), never)
    ts = [1_700_000_000_000]

    def one() -> None:
        ts[0] += 15_000
        loop.process(body, "text/plain; version=0.0.4", ts[0], time.perf_counter())

    one()  # warm the ref cache
    print(f"scrape pass (warm):    {best_rate(one, n):>12,.0f} samples/s")


if __name__ == "__main__":
    main()
