"""Crash safety: every remote-write request answered 2xx is still there after SIGKILL and restart."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx

from conftest import REMOTE_WRITE_HEADERS, Processes, encode_write_request, free_port

PER_BATCH = 50


def _writer(url: str, base_ms: int, first: int, acked: list[int], stop: threading.Event) -> None:
    """Send batch after batch (one new series each) until stopped or the server dies."""
    i = first
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            points = [(base_ms + j * 1000, float(i * 1000 + j)) for j in range(PER_BATCH)]
            body = encode_write_request([({"__name__": "durable", "batch": str(i)}, points)])
            try:
                r = client.post(url + "/api/v1/write", content=body, headers=REMOTE_WRITE_HEADERS)
            except httpx.HTTPError:
                return
            if r.status_code == 204:
                acked.append(i)
            i += 1


def test_acknowledged_samples_survive_sigkill(procs: Processes, tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    port = free_port()
    base = int(time.time() * 1000) - 600_000
    acked: list[int] = []
    rng = random.Random(42)
    for round_no in range(3):
        wk = procs.watchkeeper(data_dir=data, config=cfg, port=port)
        stop = threading.Event()
        threads = [threading.Thread(target=_writer,
                                    args=(wk.url, base, (round_no * 4 + k) * 100_000, acked, stop))
                   for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(1.0, 2.0))
        wk.kill()  # SIGKILL while requests are in flight
        stop.set()
        for t in threads:
            t.join(10)
    assert len(acked) > 20
    wk = procs.watchkeeper(data_dir=data, config=cfg, port=port)
    at = str((base + PER_BATCH * 1000) / 1000)
    r = httpx.get(wk.url + "/api/v1/query", timeout=30, params={
        "query": f"count_over_time(durable[{PER_BATCH + 5}s])", "time": at})
    counts = {int(s["metric"]["batch"]): s["value"][1] for s in r.json()["data"]["result"]}
    missing = [i for i in acked if counts.get(i) != str(PER_BATCH)]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged batches lost or partial"
    # Values are intact too: each batch's samples sum to a known total.
    r = httpx.get(wk.url + "/api/v1/query", timeout=30, params={
        "query": f"sum_over_time(durable[{PER_BATCH + 5}s])", "time": at})
    sums = {int(s["metric"]["batch"]): float(s["value"][1]) for s in r.json()["data"]["result"]}
    for i in acked:
        assert sums[i] == sum(float(i * 1000 + j) for j in range(PER_BATCH))
