"""Classic histogram functions over ``le`` bucket series: histogram_quantile, histogram_quantiles,
histogram_fraction (Prometheus' ``BucketQuantile`` / ``BucketFraction``).

Bucket series are grouped by their labels without ``le`` once; each group is
then computed for all steps at once, looping only over its buckets. The native
histogram functions (histogram_count, _sum, _avg, _stddev, _stdvar) only act on
native histogram samples (``native.py``): over float-only input they return
empty vectors, as Prometheus does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...model.labels import Labels
from ..errors import ExecutionError
from ..floatcmp import almost_equal_arrays
from ..values import InstantVectors
from .base import FuncCall, empty_vectors, go_format_g, go_quote

__all__ = ["FUNCTIONS", "parse_go_float", "format_openmetrics_float"]

_SMALL_DELTA_TOLERANCE = 1e-12
_MONOTONICITY_INFO = ("input to histogram_quantile needed to be fixed for monotonicity "
                      "(see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)")


def parse_go_float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat(text, 64)``, or None if Go would reject it."""
    if not text or text != text.strip() or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float.fromhex(text) if "p" in text.lower() else None
    except ValueError:
        return None


@dataclass
class _Group:
    labels: Labels  # the bucket series' labels without ``le``
    rows: np.ndarray  # input rows, sorted by upper bound
    bounds: np.ndarray  # float64 upper bounds of ``rows``


def _bucket_groups(call: FuncCall, vec: InstantVectors, arg: int) -> list[_Group]:
    """Group bucket series by their labels without ``le``; warn about unusable ``le`` values."""
    groups: dict[Labels, tuple[list[int], list[float]]] = {}
    for i, lbls in enumerate(vec.labels):
        if not vec.present[i].any():
            continue
        le = lbls.get("le")
        bound = parse_go_float(le)
        if bound is None:
            text = f'bucket label "le" is missing or has a malformed value of {go_quote(le)}'
            if lbls.name:
                text += f" for metric name {go_quote(lbls.name)}"
            call.warn(text, call.exprs[arg].pos)
            continue
        rows, bounds = groups.setdefault(lbls.without("le"), ([], []))
        rows.append(i)
        bounds.append(bound)
    out = []
    for key, (rows, bounds) in groups.items():
        order = np.argsort(np.array(bounds), kind="stable")
        out.append(_Group(key, np.array(rows)[order], np.array(bounds)[order]))
    return out


def _patterns(present: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split steps by which bucket rows are present: (row mask, step indices) per distinct pattern."""
    cols, inverse = np.unique(present.T, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return [(cols[k], np.flatnonzero(inverse == k)) for k in range(cols.shape[0]) if cols[k].any()]


def _coalesce(bounds: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge buckets with equal upper bounds (rows of ``counts``), summing their counts in order."""
    keep = np.ones(bounds.shape[0], dtype=bool)
    keep[1:] = bounds[1:] != bounds[:-1]
    if keep.all():
        return bounds, counts
    merged = []
    for i in range(bounds.shape[0]):
        if keep[i]:
            merged.append(counts[i].copy())
        else:
            merged[-1] = merged[-1] + counts[i]
    return bounds[keep], np.array(merged)


def _ensure_monotonic(counts: np.ndarray) -> np.ndarray:
    """``ensureMonotonicAndIgnoreSmallDeltas`` on each column; modifies ``counts``, returns forced (S,)."""
    forced = np.zeros(counts.shape[1], dtype=bool)
    prev = counts[0].copy()
    for i in range(1, counts.shape[0]):
        curr = counts[i]
        same = curr == prev
        tiny = ~same & almost_equal_arrays(prev, curr, _SMALL_DELTA_TOLERANCE)
        lower = ~same & ~tiny & (curr < prev)
        counts[i] = np.where(tiny | lower, prev, curr)
        forced |= lower
        prev = np.where(same | tiny | lower, prev, curr)
    return forced


def _search(counts: np.ndarray, n: int, rank: np.ndarray) -> np.ndarray:
    """Go's ``sort.Search(n, func(i) { return counts[i] >= rank })`` per column, bisecting like Go."""
    lo = np.zeros(rank.shape[0], dtype=np.int64)
    hi = np.full(rank.shape[0], n, dtype=np.int64)
    cols = np.arange(rank.shape[0])
    while (lo < hi).any():
        active = lo < hi
        h = (lo + hi) // 2
        ok = counts[np.minimum(h, counts.shape[0] - 1), cols] >= rank
        lo = np.where(active & ~ok, h + 1, lo)
        hi = np.where(active & ok, h, hi)
    return lo


def bucket_quantile(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``BucketQuantile`` for buckets sorted by bound, one column per step. Returns (quantile, forced)."""
    steps = counts.shape[1]
    result = np.full(steps, np.nan)
    forced = np.zeros(steps, dtype=bool)
    if not math.isinf(bounds[-1]) or bounds[-1] < 0:
        return _special_q(q, result), forced
    bounds, counts = _coalesce(bounds, counts)
    counts = counts.copy()
    forced = _ensure_monotonic(counts)
    n = bounds.shape[0]
    if n >= 2:
        observations = counts[-1]
        with np.errstate(all="ignore"):
            rank = q * observations
            b = _search(counts, n - 1, rank)
            cols = np.arange(steps)
            prev_b = np.maximum(b - 1, 0)
            start = np.where(b > 0, bounds[prev_b], 0.0)
            end = bounds[np.minimum(b, n - 1)]
            count = counts[np.minimum(b, n - 1), cols]
            prev_count = np.where(b > 0, counts[prev_b, cols], 0.0)
            interpolated = start + (end - start) * ((rank - prev_count) / (count - prev_count))
            result = np.where(b == n - 1, bounds[n - 2], interpolated)
            result = np.where((b == 0) & (bounds[0] <= 0), bounds[0], result)
            result = np.where(observations == 0, np.nan, result)
    else:
        forced = np.zeros(steps, dtype=bool)
    invalid = np.isnan(q) | (q < 0) | (q > 1)
    forced &= ~invalid
    return _special_q(q, result), forced


def _special_q(q: np.ndarray, result: np.ndarray) -> np.ndarray:
    result = np.where(q > 1, np.inf, result)
    result = np.where(q < 0, -np.inf, result)
    return np.where(np.isnan(q), np.nan, result)


def bucket_fraction(lower: np.ndarray, upper: np.ndarray, bounds: np.ndarray,
                    counts: np.ndarray) -> np.ndarray:
    """``BucketFraction`` for buckets sorted by bound, one column per step."""
    steps = counts.shape[1]
    if not (math.isinf(bounds[-1]) and bounds[-1] > 0):
        return np.full(steps, np.nan)
    bounds, counts = _coalesce(bounds, counts)
    total = counts[-1]
    rank = np.zeros(steps)
    lower_rank = np.zeros(steps)
    upper_rank = np.zeros(steps)
    lower_set = np.zeros(steps, dtype=bool)
    upper_set = np.zeros(steps, dtype=bool)
    done = np.zeros(steps, dtype=bool)
    first_lower = 0.0 if bounds[0] > 0 else -math.inf
    with np.errstate(all="ignore"):
        for i in range(bounds.shape[0]):
            lb = first_lower if i == 0 else float(bounds[i - 1])
            ub = float(bounds[i])
            cnt = counts[i]

            if lb == -math.inf:
                lower_interp, upper_interp = cnt, cnt
            else:
                lower_interp = rank + (cnt - rank) * (lower - lb) / (ub - lb)
                upper_interp = rank + (cnt - rank) * (upper - lb) / (ub - lb)

            active = ~done
            hit = active & ~lower_set & (lb >= lower)
            lower_rank = np.where(hit, rank, lower_rank)
            lower_set |= hit
            hit = active & ~upper_set & (lb >= upper)
            upper_rank = np.where(hit, rank, upper_rank)
            upper_set |= hit
            stop = active & lower_set & upper_set
            active &= ~stop
            hit = active & ~lower_set & (lb < lower) & (ub > lower)
            lower_rank = np.where(hit, lower_interp, lower_rank)
            lower_set |= hit
            hit = active & ~upper_set & (lb < upper) & (ub > upper)
            upper_rank = np.where(hit, upper_interp, upper_rank)
            upper_set |= hit
            stop2 = active & lower_set & upper_set
            rank = np.where(active & ~stop2, cnt, rank)
            done |= stop | stop2
        lower_rank = np.where(~lower_set | (lower_rank > total), total, lower_rank)
        upper_rank = np.where(~upper_set | (upper_rank > total), total, upper_rank)
        result = (upper_rank - lower_rank) / total
    result = np.where(lower >= upper, 0.0, result)
    return np.where((total == 0) | np.isnan(lower) | np.isnan(upper), np.nan, result)


def _quantile_groups(call: FuncCall, vec: InstantVectors, q: np.ndarray, arg: int,
                     extra: dict[str, str] | None = None) -> tuple[list[Labels], list[np.ndarray],
                                                                    list[np.ndarray]]:
    labels, values, present = [], [], []
    steps = call.num_steps
    for group in _bucket_groups(call, vec, arg):
        out = np.full(steps, np.nan)
        out_present = np.zeros(steps, dtype=bool)
        for rows_mask, step_idx in _patterns(vec.present[group.rows]):
            rows = group.rows[rows_mask]
            counts = vec.values[rows][:, step_idx]
            res, forced = bucket_quantile(q[step_idx], group.bounds[rows_mask], counts)
            out[step_idx] = res
            out_present[step_idx] = True
            if forced.any():
                text = _MONOTONICITY_INFO
                if group.labels.name:
                    text += f" for metric name {go_quote(group.labels.name)}"
                call.info(text, call.exprs[arg].pos)
        if extra:
            if any(group.labels.has(k) for k in extra):
                raise ExecutionError(f"label {go_quote(next(iter(extra)))} already exists in the input")
            labels.append(group.labels.merge(extra))
        else:
            labels.append(group.labels)
        values.append(out)
        present.append(out_present)
    return labels, values, present


def _vectors(labels: list[Labels], values: list[np.ndarray], present: list[np.ndarray],
             steps: int) -> InstantVectors:
    if not labels:
        return empty_vectors(steps)
    return InstantVectors(labels, np.vstack(values), np.vstack(present), np.ones(len(labels), dtype=bool))


def _warn_quantiles(call: FuncCall, q: np.ndarray, arg: int) -> None:
    for value in np.unique(q[np.isnan(q) | (q < 0) | (q > 1)]):
        call.warn(f"quantile value should be between 0 and 1, got {go_format_g(float(value))}",
                  call.exprs[arg].pos)


def _histogram_quantile(call: FuncCall) -> InstantVectors:
    q = call.scalar(0)
    _warn_quantiles(call, q, 0)
    labels, values, present = _quantile_groups(call, call.vector(1), q, 1)
    return _vectors(labels, values, present, call.num_steps)


def format_openmetrics_float(q: float) -> str:
    text = go_format_g(q)
    if math.isfinite(q) and q == math.floor(q) and not any(c in text for c in "e."):
        text += ".0"
    return text


def _histogram_quantiles(call: FuncCall) -> InstantVectors:
    vec = call.vector(0)
    label = call.string(1)
    labels: list[Labels] = []
    values: list[np.ndarray] = []
    present: list[np.ndarray] = []
    for arg in range(2, len(call.args)):
        q = call.scalar(arg)
        _warn_quantiles(call, q, arg)
        # The quantile becomes a label value, so steps with different quantiles are different series.
        for value in np.unique(q):
            steps = np.isnan(q) if math.isnan(value) else q == value
            extra = {label: format_openmetrics_float(float(value))}
            lb, va, pr = _quantile_groups(call, vec, q, 0, extra)
            labels += lb
            values += va
            present += [p & steps for p in pr]
    return _vectors(labels, values, present, call.num_steps)


def _histogram_fraction(call: FuncCall) -> InstantVectors:
    lower, upper = call.scalar(0), call.scalar(1)
    vec = call.vector(2)
    steps = call.num_steps
    labels, values, present = [], [], []
    for group in _bucket_groups(call, vec, 2):
        out = np.full(steps, np.nan)
        out_present = np.zeros(steps, dtype=bool)
        for rows_mask, step_idx in _patterns(vec.present[group.rows]):
            rows = group.rows[rows_mask]
            counts = vec.values[rows][:, step_idx]
            out[step_idx] = bucket_fraction(lower[step_idx], upper[step_idx], group.bounds[rows_mask], counts)
            out_present[step_idx] = True
        labels.append(group.labels)
        values.append(out)
        present.append(out_present)
    return _vectors(labels, values, present, steps)


def _native_only(call: FuncCall) -> InstantVectors:
    """A native-histogram function applied to floats only: nothing (histograms go to ``native.py``)."""
    call.vector(0)
    return empty_vectors(call.num_steps)


FUNCTIONS = {
    "histogram_quantile": _histogram_quantile,
    "histogram_quantiles": _histogram_quantiles,
    "histogram_fraction": _histogram_fraction,
    **{name: _native_only for name in (
        "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar")},
}
