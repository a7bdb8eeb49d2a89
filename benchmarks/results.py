"""Benchmark result rows and the comparison of query results, shared by the benchmarks."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass

REL_TOL = 1e-6


@dataclass
class Row:
    """One line of the final table; ``ratio`` is watchkeeper / Prometheus."""

    bench: str
    name: str
    unit: str
    watchkeeper: float | None
    prometheus: float | None
    check: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.watchkeeper is None or not self.prometheus:
            return None
        return self.watchkeeper / self.prometheus

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# Query results as {labels as a sorted tuple: [(t ms, value), ...]}.
Points = dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]


def points_from_json(body: dict) -> Points:
    """Prometheus API JSON (``/api/v1/query`` or ``query_range``) as ``Points``."""
    if body.get("status") != "success":
        raise ValueError(f"query failed: {body.get('errorType')}: {body.get('error')}")
    data = body["data"]
    kind, raw = data["resultType"], data["result"]
    if kind == "scalar":
        return {(): [(round(raw[0] * 1000), float(raw[1]))]}
    out: Points = {}
    for item in raw:
        pts = item["values"] if kind == "matrix" else [item["value"]]
        out[tuple(sorted(item["metric"].items()))] = [(round(t * 1000), float(v)) for t, v in pts]
    return out


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12 + REL_TOL * max(abs(a), abs(b))


def compare(want: Points, got: Points) -> str:
    """``"ok"`` if both have the same series, timestamps and values (within 1e-6 relative)."""
    if set(want) != set(got):
        only_w, only_g = len(set(want) - set(got)), len(set(got) - set(want))
        return f"DIFF series: {only_w} only in prometheus, {only_g} only in watchkeeper"
    for key, pts in want.items():
        other = got[key]
        if [t for t, _ in pts] != [t for t, _ in other]:
            return f"DIFF timestamps of {dict(key)}"
        for (t, a), (_, b) in zip(pts, other, strict=True):
            if not _close(a, b):
                return f"DIFF {dict(key)} at {t}: {a!r} vs {b!r}"
    return "ok"
