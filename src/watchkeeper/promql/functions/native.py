"""Functions over native-histogram samples, and the rules for functions that take floats only.

The engine calls ``call_with_histograms`` instead of a function's float
implementation whenever an argument carries histogram samples (``h`` set). Three
kinds of function exist, as in Prometheus:

* histogram-aware ones (``histogram_*``, ``rate``/``increase``/``delta``/``irate``/
  ``idelta``, ``sum``/``avg``/``last``/``first_over_time``, ``changes``/``resets``)
  implemented here;
* ones that pass samples through untouched (``timestamp``, label functions,
  ``count``/``present``/``absent_over_time``), whose float implementation is
  run as is and whose output keeps the histograms;
* everything else, which sees floats only: histogram samples are removed first,
  with Prometheus' info annotation where a range mixed floats and histograms.

Per-window bookkeeping here loops over the (series, step) windows that contain
histograms; the bucket arithmetic itself is batched in ``model.histogram_ops``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...gocompat.quote import go_quote
from ...model import histogram_ops as hops
from ...model import histogram_stats as hstats
from ...model.histogram import CUSTOM_BUCKETS_SCHEMA, GAUGE_TYPE, HistogramBatch
from ...model.labels import Labels
from ..histaggr import add_up, arith_annotations
from ..values import InstantVectors, RangeWindows, Value
from .base import FuncCall, FunctionImpl, empty_vectors

__all__ = ["call_with_histograms", "strip_vector", "strip_windows", "has_histograms", "metric_name"]


def has_histograms(value: Value) -> bool:
    return (isinstance(value, InstantVectors | RangeWindows) and value.h is not None
            and value.h_index is not None)


def metric_name(labels: Labels) -> str:
    return labels.get("__name__")


def strip_vector(vec: InstantVectors) -> InstantVectors:
    """``vec`` with its histogram samples removed (series left without samples go)."""
    if vec.h is None or vec.h_index is None:
        return vec
    present = vec.present & (vec.h_index < 0)
    rows = np.flatnonzero(present.any(axis=1))
    drop = vec.drop_name[rows] if vec.drop_name is not None else None
    ts = vec.timestamps[rows] if vec.timestamps is not None else None
    return InstantVectors([vec.labels[i] for i in rows], vec.values[rows], present[rows], drop, ts)


def window_kinds(rw: RangeWindows) -> tuple[np.ndarray, np.ndarray]:
    """Per (series, step): number of float samples and of histogram samples in the window."""
    is_h = np.zeros(rw.t.shape[0] + 1, dtype=np.int64)
    if rw.h_index is not None:
        np.cumsum(rw.h_index >= 0, out=is_h[1:])
    n_h = is_h[rw.hi] - is_h[rw.lo]
    return (rw.hi - rw.lo) - n_h, n_h


def strip_windows(rw: RangeWindows) -> RangeWindows:
    """``rw`` with its histogram samples removed; window bounds shift accordingly."""
    if rw.h_index is None:
        return rw
    keep = rw.h_index < 0
    before = np.zeros(rw.t.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep, out=before[1:])
    return RangeWindows(rw.labels, rw.t[keep], rw.v[keep], before[rw.offsets], before[rw.lo], before[rw.hi],
                        rw.eval_t, rw.range_ms, rw.drop_name)


def _note_mixed_ranges(call: FuncCall, rw: RangeWindows) -> None:
    """Prometheus' info for float-only range functions fed windows holding both kinds."""
    n_f, n_h = window_kinds(rw)
    for i in np.flatnonzero(((n_f > 0) & (n_h > 0)).any(axis=1)):
        call.info("ignored histograms in a range containing both floats and histograms for metric name "
                  f"{go_quote(metric_name(rw.labels[i]))}", call.exprs[0].pos)


# --------------------------------------------------------------------------- instant functions


def _hist_output(call: FuncCall, vec: InstantVectors, compute: Callable[[np.ndarray], np.ndarray]
                 ) -> InstantVectors:
    """One float per histogram sample of ``vec`` (computed from its rows), name dropped."""
    if vec.h is None or vec.h_index is None:
        return empty_vectors(call.num_steps)
    mask = vec.present & (vec.h_index >= 0)
    rows = np.flatnonzero(mask.any(axis=1))
    values = np.full(mask.shape, np.nan)
    values[mask] = compute(vec.h_index[mask])
    return InstantVectors([vec.labels[i] for i in rows], values[rows], mask[rows],
                          np.ones(rows.shape[0], bool))


def _hist_field(field: str) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        vec = call.vector(0)
        return _hist_output(call, vec, lambda r: getattr(vec.h, field)[r])
    return impl


def _histogram_avg(call: FuncCall) -> InstantVectors:
    vec = call.vector(0)
    assert vec.h is not None
    h = vec.h
    with np.errstate(all="ignore"):
        return _hist_output(call, vec, lambda r: h.sum[r] / h.count[r])


def _stdvar_impl(sqrt: bool) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        vec = call.vector(0)
        assert vec.h is not None
        h = vec.h

        def compute(rows: np.ndarray) -> np.ndarray:
            sub = hops.take(h, rows)
            return hstats.stddev(sub) if sqrt else hstats.stdvar(sub)
        return _hist_output(call, vec, compute)
    return impl


def _per_sample(vec: InstantVectors, compute: Callable[[np.ndarray, np.ndarray], np.ndarray]
                ) -> InstantVectors:
    """``compute(steps, h_rows)`` for every histogram sample of ``vec``, as floats, name dropped."""
    assert vec.h_index is not None
    mask = vec.present & (vec.h_index >= 0)
    rows = np.flatnonzero(mask.any(axis=1))
    values = np.full(mask.shape, np.nan)
    _, jj = np.nonzero(mask)
    values[mask] = compute(jj, vec.h_index[mask])
    return InstantVectors([vec.labels[i] for i in rows], values[rows], mask[rows],
                          np.ones(rows.shape[0], bool))


def _nan_observations(call: FuncCall, vec: InstantVectors, pos: tuple[int, int], text: Callable[[bool], str],
                      results: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
    """Prometheus' infos for histograms with NaN observations (NaN sum, non-zero count)."""
    assert vec.h is not None and vec.h_index is not None
    mask = vec.present & (vec.h_index >= 0)
    rows = vec.h_index[mask]
    nan_obs = np.isnan(vec.h.sum[rows]) & (vec.h.count[rows] > 0)
    if not nan_obs.any():
        return
    series = np.nonzero(mask)[0][nan_obs]
    res = results(np.flatnonzero(nan_obs)) if results is not None else np.zeros(series.shape[0])
    for i, r in zip(series.tolist(), res.tolist(), strict=True):
        name = metric_name(vec.labels[i])
        suffix = f" for metric name {go_quote(name)}" if name else ""
        call.info(text(math.isnan(r)) + suffix, pos)


def _quantile_native(call: FuncCall, vec: InstantVectors, q: np.ndarray, arg: int) -> InstantVectors:
    h = vec.h
    assert h is not None and vec.h_index is not None
    def compute(steps: np.ndarray, rows: np.ndarray) -> np.ndarray:
        sub = hops.take(h, rows)
        qs = q[steps]
        res = hstats.quantile(sub, qs)
        # NaN observations count but sit in no bucket: a rank beyond the buckets has no answer.
        nan_obs = np.isnan(sub.sum) & (sub.count > 0)
        if nan_obs.any():
            beyond = nan_obs & (qs >= 0) & (qs <= 1) & (qs * sub.count > _bucket_totals(sub))
            res = np.where(beyond, np.nan, res)
        return res
    out = _per_sample(vec, compute)
    flat = out.values[out.present] if out.labels else np.zeros(0)  # same row-major order as the samples
    _nan_observations(call, vec, call.exprs[arg].pos,
                      lambda nan: "input to histogram_quantile has NaN observations, result is "
                                  + ("NaN" if nan else "skewed higher"),
                      lambda idx: flat[idx])
    return out


def _bucket_totals(h: HistogramBatch) -> np.ndarray:
    """Observations in buckets (zero bucket included) per row."""
    m = len(h)
    return (h.zero_count + np.bincount(hops.bucket_rows(h.pos_offsets), weights=h.pos_count, minlength=m)
            + np.bincount(hops.bucket_rows(h.neg_offsets), weights=h.neg_count, minlength=m))


def _split_classic(call: FuncCall, arg: int, impl: FunctionImpl) -> tuple[InstantVectors, InstantVectors]:
    """(classic result over the float samples, the vector with histograms) for argument ``arg``."""
    vec = call.vector(arg)
    args = list(call.args)
    args[arg] = strip_vector(vec)
    classic = impl(FuncCall(call.name, args, call.exprs, call.eval_ts, call.annotations, call.querier,
                            call.lookback_ms, call.pos, call.query, call.query_range))
    assert isinstance(classic, InstantVectors)
    return classic, vec


def _merge(call: FuncCall, classic: InstantVectors, native: InstantVectors, arg: int) -> InstantVectors:
    """Classic and native results together. A classic bucket group with the labels of a native
    histogram series is ambiguous: Prometheus drops both, with a warning."""
    clash = set(classic.labels) & set(native.labels)
    for lbl in clash:
        name = lbl.get("__name__")
        suffix = f" for metric name {go_quote(name)}" if name else ""
        call.warn(f"vector contains a mix of classic and native histograms{suffix}", call.exprs[arg].pos)
    parts = [(lbl, v, p) for lbl, v, p in zip(classic.labels, classic.values, classic.present, strict=True)
             if lbl not in clash]
    parts += [(lbl, v, p) for lbl, v, p in zip(native.labels, native.values, native.present, strict=True)
              if lbl not in clash]
    if not parts:
        return empty_vectors(call.num_steps)
    return InstantVectors([p[0] for p in parts], np.vstack([p[1] for p in parts]),
                          np.vstack([p[2] for p in parts]), np.ones(len(parts), dtype=bool))


def _histogram_quantile(classic_impl: FunctionImpl) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        classic, vec = _split_classic(call, 1, classic_impl)
        q = call.scalar(0)
        return _merge(call, classic, _quantile_native(call, vec, q, 1), 1)
    return impl


def _histogram_fraction(classic_impl: FunctionImpl) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        classic, vec = _split_classic(call, 2, classic_impl)
        lower, upper = call.scalar(0), call.scalar(1)
        h = vec.h
        assert h is not None
        _nan_observations(call, vec, call.exprs[2].pos,
                          lambda _: "input to histogram_fraction has NaN observations, which are excluded "
                                    "from all fractions")
        def compute(steps: np.ndarray, rows: np.ndarray) -> np.ndarray:
            sub = hops.take(h, rows)
            res = hstats.fraction(sub, lower[steps], upper[steps])
            nan_obs = np.isnan(sub.sum) & (sub.count > 0)
            if nan_obs.any():
                # NaN observations are in no fraction: rank within the buckets, divide by the count.
                idx = np.flatnonzero(nan_obs)
                part = hops.take(sub, idx)
                total = _bucket_totals(part)
                scaled = HistogramBatch(**{k: getattr(part, k) for k in part.__dataclass_fields__})
                scaled.count = total
                with np.errstate(all="ignore"):
                    f = hstats.fraction(scaled, lower[steps][idx], upper[steps][idx]) * total / part.count
                res[idx] = np.where(total == 0, 0.0, f)
            return res
        native = _per_sample(vec, compute)
        return _merge(call, classic, native, 2)
    return impl


def _histogram_quantiles(classic_impl: FunctionImpl, format_q: Callable[[float], str]) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        classic, vec = _split_classic(call, 0, classic_impl)
        label = call.string(1)
        parts: list[InstantVectors] = []
        for arg in range(2, len(call.args)):
            q = call.scalar(arg)
            for value in np.unique(q):
                steps = np.isnan(q) if math.isnan(value) else q == value
                out = _quantile_native(call, vec, q, 0)
                extra = {label: format_q(float(value))}
                out.labels = [lbl.merge(extra) for lbl in out.labels]
                out.present = out.present & steps[None, :]
                parts.append(out)
        native = _concat(parts, call.num_steps)
        return _merge(call, classic, native, 0)
    return impl


def _concat(parts: list[InstantVectors], steps: int) -> InstantVectors:
    parts = [p for p in parts if p.labels]
    if not parts:
        return empty_vectors(steps)
    return InstantVectors([lbl for p in parts for lbl in p.labels], np.vstack([p.values for p in parts]),
                          np.vstack([p.present for p in parts]),
                          np.ones(sum(len(p.labels) for p in parts), bool))


# --------------------------------------------------------------------------- range functions


def _windows_with_histograms(rw: RangeWindows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(series, step) of windows holding any histogram, and their float counts."""
    n_f, n_h = window_kinds(rw)
    ii, jj = np.nonzero(n_h > 0)
    return ii, jj, n_f[ii, jj]


def _range_output(call: FuncCall, rw: RangeWindows, float_out: InstantVectors | None,
                  cells: list[tuple[int, int]], h: HistogramBatch, keep_name: bool = False) -> InstantVectors:
    """Float results of the float path (histogram windows excluded) plus one histogram per cell."""
    n, s = len(rw.labels), call.num_steps
    values = np.full((n, s), np.nan)
    present = np.zeros((n, s), dtype=bool)
    h_index = np.full((n, s), -1, dtype=np.int64)
    if float_out is not None and float_out.labels:
        where = {lbl: i for i, lbl in enumerate(rw.labels)}
        for r, lbl in enumerate(float_out.labels):
            i = where[lbl]
            values[i] = np.where(float_out.present[r], float_out.values[r], values[i])
            present[i] |= float_out.present[r]
    for k, (i, j) in enumerate(cells):
        h_index[i, j] = k
        present[i, j] = True
    rows = np.flatnonzero(present.any(axis=1))
    if keep_name:
        drop = rw.drop_name[rows] if rw.drop_name is not None else np.zeros(rows.shape[0], dtype=bool)
    else:
        drop = np.ones(rows.shape[0], dtype=bool)
    out = InstantVectors([rw.labels[i] for i in rows], values[rows], present[rows], drop)
    if cells:
        out.h, out.h_index = h, h_index[rows]
    return out


def _float_part(call: FuncCall, impl: FunctionImpl, rw: RangeWindows, exclude: np.ndarray) -> InstantVectors:
    """The float implementation over windows without histograms (``exclude`` windows emptied)."""
    stripped = strip_windows(rw)
    stripped.lo = np.where(exclude, stripped.hi, stripped.lo)
    args = list(call.args)
    args[0] = stripped
    out = impl(FuncCall(call.name, args, call.exprs, call.eval_ts, call.annotations, call.querier,
                        call.lookback_ms, call.pos, call.query, call.query_range))
    assert isinstance(out, InstantVectors)
    return out


def _mixed_warning(call: FuncCall, rw: RangeWindows, i: int) -> None:
    name = go_quote(metric_name(rw.labels[i]))
    call.warn(f"encountered a mix of histograms and floats for metric name {name}",
              call.exprs[0].pos)


def _rate_like(is_counter: bool, is_rate: bool, float_impl: FunctionImpl) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        rw = call.windows(0)
        h = rw.h
        assert h is not None and rw.h_index is not None
        n_f, n_h = window_kinds(rw)
        float_out = _float_part(call, float_impl, rw, n_h > 0)
        pos = call.exprs[0].pos
        cells: list[tuple[int, int]] = []
        rows: list[int] = []
        groups: list[int] = []
        weights: list[float] = []
        factors: list[float] = []
        for i, j in zip(*np.nonzero(n_h > 0), strict=True):
            if n_f[i, j] > 0:
                _mixed_warning(call, rw, int(i))
                continue
            if n_h[i, j] < 2:
                continue
            lo, hi = int(rw.lo[i, j]), int(rw.hi[i, j])
            pts = rw.h_index[lo:hi]
            plan = _rate_plan(call, h, pts, is_counter, metric_name(rw.labels[i]), pos)
            if plan is None:
                continue
            g = len(cells)
            for r, w in plan:
                rows.append(r)
                groups.append(g)
                weights.append(w)
            cells.append((int(i), int(j)))
            factors.append(_extrapolation(rw, int(i), int(j), lo, hi, h, plan, is_counter, is_rate))
        if not cells:
            return _range_output(call, rw, float_out, [], h)
        res = _weighted_sum(call, h, rows, groups, len(cells), weights)
        res = hops.compact(hops.with_hint(hops.scale(res, np.array(factors)), GAUGE_TYPE))
        return _range_output(call, rw, float_out, cells, res)
    return impl


def _resets(h: HistogramBatch, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    return hops.detect_reset(hops.take(h, prev), hops.take(h, cur))


def _weighted_sum(call: FuncCall, h: HistogramBatch, rows: list[int], groups: list[int], n_groups: int,
                  weights: list[float]) -> HistogramBatch:
    """Per group, the sum of its rows times their weights, added in row order (a rate's
    ``last - first + resets``). Counter-reset hint collisions are deliberate here and not noted."""
    parts = hops.scale(hops.take(h, np.array(rows, dtype=np.int64)), np.array(weights))
    res, flags = hops.sum_groups(parts, np.array(groups, dtype=np.int64), n_groups)
    if flags.reconciled.any():
        call.info("mismatched custom buckets were reconciled during subtraction", call.exprs[0].pos)
    return res


def _rate_plan(call: FuncCall, h: HistogramBatch, pts: np.ndarray, is_counter: bool, name: str,
               pos: tuple[int, int]) -> list[tuple[int, float]] | None:
    """Rows and weights whose sum is the increase over the window's histogram samples ``pts``."""
    first, last = int(pts[0]), int(pts[-1])
    hints = h.hint[pts]
    if is_counter and (hints[0] == GAUGE_TYPE or hints[-1] == GAUGE_TYPE):
        call.warn(f"this native histogram metric is not a counter: {go_quote(name)}", pos)
    prev_row: int | None = first
    custom_prev = h.schema[first] == CUSTOM_BUCKETS_SCHEMA
    if is_counter and pts.shape[0] > 1 and _resets(h, pts[:1], pts[1:2])[0]:
        prev_row = None
        custom_prev = h.schema[int(pts[1])] == CUSTOM_BUCKETS_SCHEMA
    if (h.schema[last] == CUSTOM_BUCKETS_SCHEMA) != custom_prev:
        _mixed_schemas(call, name, pos)
        return None
    if is_counter:
        for k in pts[1:-1].tolist():
            if h.hint[k] == GAUGE_TYPE:
                call.warn(f"this native histogram metric is not a counter: {go_quote(name)}", pos)
            if (h.schema[k] == CUSTOM_BUCKETS_SCHEMA) != custom_prev:
                _mixed_schemas(call, name, pos)
                return None
    plan: list[tuple[int, float]] = [(last, 1.0)]
    if prev_row is not None:
        plan.append((prev_row, -1.0))
    if is_counter:
        resets = _resets(h, pts[:-1], pts[1:])
        for k in np.flatnonzero(resets).tolist():
            if k == 0 and prev_row is None:
                continue
            plan.append((int(pts[k]), 1.0))
    elif hints[0] != GAUGE_TYPE or hints[-1] != GAUGE_TYPE:
        call.warn(f"this native histogram metric is not a gauge: {go_quote(name)}", pos)
    return plan


def _mixed_schemas(call: FuncCall, name: str, pos: tuple[int, int]) -> None:
    call.warn("vector contains a mix of histograms with exponential and custom buckets schemas for metric "
              f"name {go_quote(name)}", pos)


def _extrapolation(rw: RangeWindows, i: int, j: int, lo: int, hi: int, h: HistogramBatch,
                   plan: list[tuple[int, float]], is_counter: bool, is_rate: bool) -> float:
    """Prometheus' extrapolation factor for one histogram window."""
    first_t, last_t = int(rw.t[lo]), int(rw.t[hi - 1])
    range_end = int(rw.eval_t[j])
    range_start = range_end - rw.range_ms
    n_minus_one = hi - lo - 1
    to_start = (first_t - range_start) / 1000
    to_end = (range_end - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    avg = sampled / n_minus_one
    threshold = avg * 1.1
    if to_start >= threshold:
        to_start = avg / 2
    if is_counter:
        result_count = sum(float(h.count[r]) * w for r, w in plan)
        first_count = float(h.count[int(rw.h_index[lo])])
        if result_count > 0 and first_count >= 0:
            to_start = min(to_start, sampled * (first_count / result_count))
    if to_end >= threshold:
        to_end = avg / 2
    factor = (sampled + to_start + to_end) / sampled
    if is_rate:
        factor /= rw.range_ms / 1000
    return factor


def _instant_rate(is_rate: bool, float_impl: FunctionImpl) -> FunctionImpl:
    """irate / idelta: the last two samples of the window."""
    def impl(call: FuncCall) -> InstantVectors:
        rw = call.windows(0)
        h = rw.h
        assert h is not None and rw.h_index is not None
        n_f, n_h = window_kinds(rw)
        count = rw.hi - rw.lo
        last_hist = np.zeros(count.shape, dtype=bool)
        prev_hist = np.zeros(count.shape, dtype=bool)
        ok = count >= 2
        last_hist[ok] = rw.h_index[rw.hi[ok] - 1] >= 0
        prev_hist[ok] = rw.h_index[rw.hi[ok] - 2] >= 0
        float_out = _float_part(call, float_impl, rw, last_hist | prev_hist)
        pos = call.exprs[0].pos
        cells, rows, groups, weights, factors = [], [], [], [], []
        for i, j in zip(*np.nonzero(ok & (last_hist | prev_hist)), strict=True):
            name = metric_name(rw.labels[i])
            if last_hist[i, j] != prev_hist[i, j]:
                _mixed_warning(call, rw, int(i))
                continue
            hi = int(rw.hi[i, j])
            a, b = int(rw.h_index[hi - 2]), int(rw.h_index[hi - 1])
            dt = int(rw.t[hi - 1] - rw.t[hi - 2])
            if dt == 0:
                continue
            if is_rate and (h.hint[a] == GAUGE_TYPE or h.hint[b] == GAUGE_TYPE):
                call.warn(f"this native histogram metric is not a counter: {go_quote(name)}", pos)
            if not is_rate and (h.hint[a] != GAUGE_TYPE or h.hint[b] != GAUGE_TYPE):
                call.warn(f"this native histogram metric is not a gauge: {go_quote(name)}", pos)
            # irate after a counter reset is the last sample itself; otherwise last minus previous,
            # which exponential and custom buckets cannot give.
            subtract = not is_rate or not _resets(h, np.array([a]), np.array([b]))[0]
            if subtract and (h.schema[a] == CUSTOM_BUCKETS_SCHEMA) != (h.schema[b] == CUSTOM_BUCKETS_SCHEMA):
                _mixed_schemas(call, name, pos)
                continue
            g = len(cells)
            rows.append(b)
            groups.append(g)
            weights.append(1.0)
            if subtract:
                rows.append(a)
                groups.append(g)
                weights.append(-1.0)
            cells.append((int(i), int(j)))
            factors.append(1000.0 / dt if is_rate else 1.0)
        if not cells:
            return _range_output(call, rw, float_out, [], h)
        res = _weighted_sum(call, h, rows, groups, len(cells), weights)
        res = hops.compact(hops.with_hint(hops.scale(res, np.array(factors)), GAUGE_TYPE))
        return _range_output(call, rw, float_out, cells, res)
    return impl


def _sum_avg_over_time(avg: bool, float_impl: FunctionImpl) -> FunctionImpl:
    def impl(call: FuncCall) -> InstantVectors:
        rw = call.windows(0)
        h = rw.h
        assert h is not None and rw.h_index is not None
        n_f, n_h = window_kinds(rw)
        float_out = _float_part(call, float_impl, rw, n_h > 0)
        cells, rows, groups = [], [], []
        for i, j in zip(*np.nonzero(n_h > 0), strict=True):
            if n_f[i, j] > 0:
                _mixed_warning(call, rw, int(i))
                continue
            pts = rw.h_index[int(rw.lo[i, j]):int(rw.hi[i, j])]
            custom = h.schema[pts] == CUSTOM_BUCKETS_SCHEMA
            if custom.any() and not custom.all():
                _mixed_schemas(call, metric_name(rw.labels[i]), call.exprs[0].pos)
                continue
            g = len(cells)
            rows += pts.tolist()
            groups += [g] * pts.shape[0]
            cells.append((int(i), int(j)))
        if not cells:
            return _range_output(call, rw, float_out, [], h)
        res, flags = add_up(hops.take(h, np.array(rows, dtype=np.int64)), np.array(groups, dtype=np.int64),
                            len(cells), avg)
        arith_annotations(flags, call.annotations, f" ({call.position(call.exprs[0].pos)})", "aggregation")
        res = hops.compact(res)
        return _range_output(call, rw, float_out, cells, res)
    return impl


def _edge_over_time(last: bool, float_impl: FunctionImpl) -> FunctionImpl:
    """last_over_time / first_over_time: the edge sample of each window, histogram or float."""
    def impl(call: FuncCall) -> InstantVectors:
        rw = call.windows(0)
        h = rw.h
        assert h is not None and rw.h_index is not None
        nonempty = rw.hi > rw.lo
        pick = np.where(nonempty, rw.hi - 1 if last else rw.lo, 0)
        edge_hist = nonempty & (rw.h_index[pick] >= 0)
        # Float path on windows cut to their edge sample only when that sample is a float.
        stripped = strip_windows(rw)
        float_out_rw = stripped
        if last:
            float_out_rw.lo = np.where(edge_hist, float_out_rw.hi, float_out_rw.lo)
        else:
            float_out_rw.hi = np.where(edge_hist, float_out_rw.lo, float_out_rw.hi)
        args = list(call.args)
        args[0] = float_out_rw
        float_out = float_impl(FuncCall(call.name, args, call.exprs, call.eval_ts, call.annotations,
                                        call.querier, call.lookback_ms, call.pos, call.query,
                                        call.query_range))
        assert isinstance(float_out, InstantVectors)
        ii, jj = np.nonzero(edge_hist)
        cells = list(zip(ii.tolist(), jj.tolist(), strict=True))
        res = hops.take(h, rw.h_index[pick[ii, jj]])
        out = _range_output(call, rw, float_out, cells, res, keep_name=True)
        return out
    return impl


def _changes_resets(resets: bool) -> FunctionImpl:
    """changes() / resets() over windows of floats and histograms: a switch between a float and a
    histogram counts; two histograms differ when not ``Equals`` (changes) or on ``DetectReset`` (resets)."""
    def impl(call: FuncCall) -> InstantVectors:
        rw = call.windows(0)
        h = rw.h
        assert h is not None and rw.h_index is not None
        m = rw.t.shape[0]
        flags = np.zeros(m, dtype=bool)
        if m > 1:
            prev, cur = rw.h_index[:-1], rw.h_index[1:]
            pf, cf = rw.v[:-1], rw.v[1:]
            both_f = (prev < 0) & (cur < 0)
            with np.errstate(invalid="ignore"):
                if resets:
                    ff = cf < pf
                else:
                    ff = (cf != pf) & ~(np.isnan(cf) & np.isnan(pf))
            pair = np.where(both_f, ff, (prev < 0) != (cur < 0))
            both_h = np.flatnonzero((prev >= 0) & (cur >= 0))
            if both_h.size:
                a, b = hops.take(h, prev[both_h]), hops.take(h, cur[both_h])
                pair[both_h] = hops.detect_reset(a, b) if resets else ~hops.equal(a, b)
            flags[1:] = pair
        cum = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(flags, out=cum[1:])
        present = rw.hi > rw.lo
        lo1 = np.minimum(rw.lo + 1, m)
        values = np.where(present, cum[np.maximum(rw.hi, lo1)] - cum[lo1], 0).astype(np.float64)
        rows = np.flatnonzero(present.any(axis=1))
        return InstantVectors([rw.labels[i] for i in rows], values[rows], present[rows],
                              np.ones(rows.shape[0], dtype=bool))
    return impl


# --------------------------------------------------------------------------- dispatch


# Functions whose float implementation handles histogram samples correctly as opaque samples
# (they only count them, look at labels or timestamps).
_PASS_THROUGH_RANGE = frozenset({"count_over_time", "present_over_time", "absent_over_time",
                                 "ts_of_last_over_time", "ts_of_first_over_time"})
_PASS_THROUGH_INSTANT = frozenset({"timestamp", "absent", "label_replace", "label_join", "sort_by_label",
                                   "sort_by_label_desc"})


def native_functions(float_impls: dict[str, FunctionImpl], format_q: Callable[[float], str]
                     ) -> dict[str, FunctionImpl]:
    """Histogram-aware implementations, built around the float ones they fall back to."""
    return {
        "histogram_count": _hist_field("count"),
        "histogram_sum": _hist_field("sum"),
        "histogram_avg": _histogram_avg,
        "histogram_stddev": _stdvar_impl(True),
        "histogram_stdvar": _stdvar_impl(False),
        "histogram_quantile": _histogram_quantile(float_impls["histogram_quantile"]),
        "histogram_quantiles": _histogram_quantiles(float_impls["histogram_quantiles"], format_q),
        "histogram_fraction": _histogram_fraction(float_impls["histogram_fraction"]),
        "rate": _rate_like(True, True, float_impls["rate"]),
        "increase": _rate_like(True, False, float_impls["increase"]),
        "delta": _rate_like(False, False, float_impls["delta"]),
        "irate": _instant_rate(True, float_impls["irate"]),
        "idelta": _instant_rate(False, float_impls["idelta"]),
        "sum_over_time": _sum_avg_over_time(False, float_impls["sum_over_time"]),
        "avg_over_time": _sum_avg_over_time(True, float_impls["avg_over_time"]),
        "last_over_time": _edge_over_time(True, float_impls["last_over_time"]),
        "first_over_time": _edge_over_time(False, float_impls["first_over_time"]),
        "changes": _changes_resets(False),
        "resets": _changes_resets(True),
    }


def call_with_histograms(call: FuncCall, float_impl: FunctionImpl, native: dict[str, FunctionImpl]) -> Value:
    """Evaluate ``call`` whose arguments carry histogram samples."""
    impl = native.get(call.name)
    if impl is not None:
        return impl(call)
    if call.name in _PASS_THROUGH_RANGE or call.name in _PASS_THROUGH_INSTANT:
        return float_impl(call)
    args: list[Value] = []
    for arg in call.args:
        if isinstance(arg, RangeWindows) and arg.h is not None:
            _note_mixed_ranges(call, arg)
            args.append(strip_windows(arg))
        elif isinstance(arg, InstantVectors) and arg.h is not None:
            args.append(strip_vector(arg))
        else:
            args.append(arg)
    return float_impl(FuncCall(call.name, args, call.exprs, call.eval_ts, call.annotations, call.querier,
                               call.lookback_ms, call.pos, call.query, call.query_range))
