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


def test_openmetrics_dump_of_the_data_set(tmp_path):
    bench = load_bench()
    data = bench.make_dataset(1, 0.25)
    n = bench.write_openmetrics(data, tmp_path / "d.om")
    lines = (tmp_path / "d.om").read_text().splitlines()
    families = {lb.name for lb in data[0].labels}
    assert n == len(data[0].labels) * 60
    assert len(lines) == n + len(families) + 1 and lines[-1] == "# EOF"
    first = lines[1]
    assert first.startswith('node_boot_time_seconds{instance="host000:9100",job="node"} 1700000000.0 ')
