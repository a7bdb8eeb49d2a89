"""Smoke test: ``benchmarks/run.py`` still runs end to end (one cheap benchmark, quick mode)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(not (Path("/usr/bin/prometheus").exists() and shutil.which("promtool")),
                       reason="needs /usr/bin/prometheus and promtool"),
]


def test_quick_disk_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    script = ROOT / "benchmarks" / "run.py"
    argv = [sys.executable, str(script), "--quick", "--only", "disk", "--output", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "bytes per sample" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(r["bench"], r["name"], r["check"]) for r in rows] == [("disk", "bytes per sample", "ok")]
    assert 0 < rows[0]["watchkeeper"] < 16 and 0 < rows[0]["prometheus"] < 16


@pytest.mark.skipif(not Path("/usr/bin/prometheus-alertmanager").exists(),
                    reason="needs /usr/bin/prometheus-alertmanager (Alertmanager 0.25)")
def test_quick_alertmanager_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    script = ROOT / "benchmarks" / "run.py"
    argv = [sys.executable, str(script), "--quick", "--only", "alertmanager", "--runs", "3",
            "--output", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["name"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"GET /api/v2/alerts", "GET /api/v2/alerts after a re-send",
                         "GET /api/v2/alerts filtered", "intake (new alerts)", "intake (re-sent alerts)",
                         "delivery after group_wait"}
    assert all(r["check"] == "ok" for r in rows.values()), {k: r["check"] for k, r in rows.items()}
    assert all(r["watchkeeper"] > 0 and r["prometheus"] > 0 for r in rows.values())
