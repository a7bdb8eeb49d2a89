"""Run watchkeeper's benchmarks against a real Prometheus 2.42 and print one comparison table.

    python benchmarks/run.py                  # everything, full size (several minutes)
    python benchmarks/run.py --quick          # small data sets, to check the suite works
    python benchmarks/run.py --only promql    # one benchmark (comma-separate several)

Benchmarks: promql, remote_write (ingest rate, CPU and memory per series), scrape, disk, rules,
alertmanager (against a real Alertmanager 0.25), ui (web UI in headless Chromium; no peer).
Every figure is the median of ``--runs`` (default 5) runs measured in this run on the same data
for both systems. The table goes to stdout and, as JSON, to benchmarks/results/latest.json.
See docs/benchmarks.md for what each row measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``benchmarks`` importable as a package
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_alertmanager, bench_ingest, bench_promql, bench_rules, bench_ui, peers  # noqa: E402
from benchmarks.results import Row, progress  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "latest.json"

# Data-set sizes: full, and --quick (same shapes, a fraction of the data).
SIZES = {
    False: {"promql_instances": 30, "promql_hours": 24.0, "rw_series": 100_000, "rw_rounds": 2,
            "disk_targets": 10, "disk_hours": 24.0, "scrape_targets": 10, "scrape_seconds": 20.0,
            "rules_instances": 500, "rules_count": 1000, "rules_hours": 1.0,
            "rules_interval_s": 20, "am_alerts": 10_000, "ui_hours": 6.0, "ui_alerts": 5_000},
    True: {"promql_instances": 4, "promql_hours": 6.0, "rw_series": 10_000, "rw_rounds": 1,
           "disk_targets": 1, "disk_hours": 6.0, "scrape_targets": 4, "scrape_seconds": 5.0,
           "rules_instances": 50, "rules_count": 100, "rules_hours": 1.0,
           "rules_interval_s": 10, "am_alerts": 1_000, "ui_hours": 1.0, "ui_alerts": 500},
}


def _benches(size: dict, runs: int) -> dict[str, Callable[[Path], list[Row]]]:
    return {
        "promql": lambda work: bench_promql.run(work, instances=size["promql_instances"],
                                                hours=size["promql_hours"], runs=runs),
        "remote_write": lambda work: bench_ingest.remote_write(work, series=size["rw_series"],
                                                               rounds=size["rw_rounds"], runs=runs),
        "scrape": lambda work: bench_ingest.scrape(work, targets=size["scrape_targets"],
                                                   seconds=size["scrape_seconds"], runs=runs),
        "disk": lambda work: bench_ingest.disk(work, targets=size["disk_targets"], hours=size["disk_hours"]),
        "rules": lambda work: bench_rules.run(work, instances=size["rules_instances"],
                                              rules=size["rules_count"], hours=size["rules_hours"],
                                              runs=runs, interval_s=size["rules_interval_s"]),
        "alertmanager": lambda work: bench_alertmanager.run(work, alerts=size["am_alerts"], runs=runs),
        "ui": lambda work: bench_ui.run(work, hours=size["ui_hours"], alerts=size["ui_alerts"], runs=runs),
    }


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def print_table(rows: list[Row]) -> None:
    head = ("bench", "figure", "unit", "watchkeeper", "prometheus", "wk/prom", "check")
    cells = [head] + [(r.bench, r.name, r.unit, _fmt(r.watchkeeper), _fmt(r.prometheus), _fmt(r.ratio),
                       r.check[:60]) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for k, c in enumerate(cells):
        print("  ".join(v.ljust(w) if i < 3 or i == 6 else v.rjust(w) for i, (v, w) in
                        enumerate(zip(c, widths, strict=True))).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    notes = [(r.bench, r.name, r.note) for r in rows if r.note]
    if notes:
        print()
        for bench, name, note in notes:
            print(f"{bench} {name}: {note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small data sets: checks the suite, rough figures")
    ap.add_argument("--only", default="", help="comma-separated benchmarks to run (default: all)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure; the median is reported")
    ap.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = ap.parse_args(argv)
    missing = [p for p in (peers.PROMETHEUS, peers.PROMTOOL, peers.NODE_EXPORTER) if not Path(p).exists()]
    if missing:
        print(f"missing {', '.join(missing)}: install the prometheus and prometheus-node-exporter packages",
              file=sys.stderr)
        return 2
    size = SIZES[args.quick]
    benches = _benches(size, args.runs)
    chosen = [b.strip() for b in args.only.split(",") if b.strip()] or list(benches)
    unknown = [b for b in chosen if b not in benches]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(benches)}")
    rows: list[Row] = []
    started = time.time()
    for name in chosen:
        progress(f"running {name}")
        with tempfile.TemporaryDirectory(prefix=f"wk-bench-{name}-") as tmp:
            rows.extend(benches[name](Path(tmp)))
    print_table(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "quick": args.quick, "runs": args.runs, "sizes": size,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "rows": [r.as_dict() for r in rows],
    }, indent=1) + "\n")
    progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
