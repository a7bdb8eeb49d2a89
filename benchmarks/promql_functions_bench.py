"""Range-function benchmark: time per call over all series and steps at once.

Counters with 15 s samples; each shape is (series, samples per series, steps,
step, range). The first call of each function also compiles its numba kernel
(cached on disk afterwards), so every function is called once before timing.

    python benchmarks/promql_functions_bench.py
    python benchmarks/promql_functions_bench.py --series 200 --steps 24 --step 3600 --range 3600

Prints milliseconds per call (best of ``--repeat``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from watchkeeper.model.labels import Labels
from watchkeeper.promql import ast
from watchkeeper.promql.functions import FUNCTIONS, FuncCall
from watchkeeper.promql.values import Annotations, RangeWindows, Scalar

SCRAPE_MS = 15_000
NAMES = ["rate", "increase", "irate", "delta", "changes", "resets", "sum_over_time", "avg_over_time",
         "max_over_time", "stddev_over_time", "deriv", "quantile_over_time", "last_over_time"]


def windows(series: int, steps: int, step_ms: int, range_ms: int) -> RangeWindows:
    """Counters covering the query range plus one window, with windows for every step."""
    per = (steps - 1) * step_ms // SCRAPE_MS + range_ms // SCRAPE_MS + 1
    rng = np.random.default_rng(1)
    t_one = np.arange(per, dtype=np.int64) * SCRAPE_MS
    v = np.cumsum(rng.random((series, per)) * 10, axis=1).ravel()
    offsets = np.arange(series + 1, dtype=np.int64) * per
    end = int(t_one[-1])
    eval_t = end - (steps - 1) * step_ms + np.arange(steps, dtype=np.int64) * step_ms
    lo_one = np.searchsorted(t_one, eval_t - range_ms, side="right")
    hi_one = np.searchsorted(t_one, eval_t, side="right")
    lo = offsets[:-1, None] + lo_one[None, :]
    hi = offsets[:-1, None] + hi_one[None, :]
    labels = [Labels({"__name__": "requests_total", "instance": str(i)}) for i in range(series)]
    return RangeWindows(labels, np.tile(t_one, series), v, offsets, lo, hi, eval_t, range_ms)


def run(name: str, rw: RangeWindows) -> float:
    steps = rw.eval_t.shape[0]
    args = [Scalar(np.full(steps, 0.9)), rw] if name == "quantile_over_time" else [rw]
    exprs: list[ast.Expr] = [ast.NumberLiteral(0.0) for _ in args]
    call = FuncCall(name, args, exprs, rw.eval_t, Annotations(), None, 300_000, (0, 0))
    started = time.perf_counter()
    FUNCTIONS[name](call)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=1440)
    ap.add_argument("--step", type=int, default=60, help="seconds")
    ap.add_argument("--range", type=int, default=300, help="seconds")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rw = windows(args.series, args.steps, args.step * 1000, args.range * 1000)
    samples = int((rw.hi - rw.lo).sum())
    print(f"{args.series} series x {args.steps} steps, [{args.range}s] windows, {samples:,} window samples")
    for name in NAMES:
        run(name, rw)
        best = min(run(name, rw) for _ in range(args.repeat))
        print(f"  {name:20s} {best * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
