"""The storage benchmark runs, and the block format keeps its compression on node_exporter-like data."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "storage_bench.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("storage_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_small_benchmark_run_meets_the_compression_target(capsys):
    bench = load_bench()
    bench.main(
        ["--targets", "2", "--hours", "6", "--head-series", "2000", "--head-scrapes", "20",
         "--wal-series", "500", "--json"]
    )
    res = json.loads(capsys.readouterr().out)
    assert res["block_hours"] == 6.0
    assert res["block_samples"] == res["series"] * 6 * 240
    # Prometheus needs 5.11 bytes/sample on this shape of data; the target is <= 0.3x of it.
    assert res["bytes_per_sample"] < 0.3 * 5.11
    assert res["timestamps_bytes_per_sample"] < 0.05
    assert res["head_select_samples"] == 4 * 20
