"""Native-histogram arithmetic the engine needs, over ``HistogramBatch`` rows.

Row selection, concatenation and scaling are pure numpy. Addition (pairwise and
grouped) concatenates the buckets of all rows involved, maps them to the target
schema and folds equal (row, sign, index) keys with one ``np.add.reduceat``, so
adding many histograms is a handful of array passes. Quantiles, fractions and
variances walk each histogram's buckets in order (Prometheus' bucket iterators);
those loop per histogram.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.histogram import (
    COUNTER_RESET,
    CUSTOM_BUCKETS_SCHEMA,
    GAUGE_TYPE,
    NOT_COUNTER_RESET,
    HistogramBatch,
)

__all__ = ["take", "concat", "scale", "with_hint", "add_pairs", "sum_groups", "detect_resets",
           "custom_bounds_equal", "compact", "bucket_walk", "quantile", "fraction", "stdvar", "equal_rows",
           "uses_custom"]


def _take_csr(offsets: np.ndarray, rows: np.ndarray, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    starts, ends = offsets[:-1][rows], offsets[1:][rows]
    lengths = ends - starts
    new_off = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_off[1:])
    total = int(new_off[-1])
    if total:
        pos = np.repeat(starts - new_off[:-1], lengths) + np.arange(total, dtype=np.int64)
    else:
        pos = np.zeros(0, dtype=np.int64)
    return (new_off, *(c[pos] for c in cols))


def take(hb: HistogramBatch, rows: np.ndarray) -> HistogramBatch:
    """Rows ``rows`` of ``hb`` (in that order, repeats allowed) as a new batch."""
    rows = np.asarray(rows, dtype=np.int64)
    po, pi, pc = _take_csr(hb.pos_offsets, rows, hb.pos_index, hb.pos_count)
    no, ni, nc = _take_csr(hb.neg_offsets, rows, hb.neg_index, hb.neg_count)
    co, cv = _take_csr(hb.custom_offsets, rows, hb.custom_values)
    return HistogramBatch(hb.schema[rows], hb.count[rows], hb.sum[rows], hb.zero_count[rows],
                          hb.zero_threshold[rows], hb.hint[rows], po, pi, pc, no, ni, nc, co, cv)


def _cat_offsets(parts: list[np.ndarray]) -> np.ndarray:
    out = [np.zeros(1, dtype=np.int64)]
    base = 0
    for off in parts:
        out.append(off[1:] + base)
        base += int(off[-1])
    return np.concatenate(out)


def concat(batches: list[HistogramBatch]) -> HistogramBatch:
    """All rows of ``batches`` one after the other."""
    if not batches:
        return HistogramBatch.empty()
    if len(batches) == 1:
        return batches[0]
    return HistogramBatch(
        np.concatenate([b.schema for b in batches]), np.concatenate([b.count for b in batches]),
        np.concatenate([b.sum for b in batches]), np.concatenate([b.zero_count for b in batches]),
        np.concatenate([b.zero_threshold for b in batches]), np.concatenate([b.hint for b in batches]),
        _cat_offsets([b.pos_offsets for b in batches]), np.concatenate([b.pos_index for b in batches]),
        np.concatenate([b.pos_count for b in batches]),
        _cat_offsets([b.neg_offsets for b in batches]), np.concatenate([b.neg_index for b in batches]),
        np.concatenate([b.neg_count for b in batches]),
        _cat_offsets([b.custom_offsets for b in batches]), np.concatenate([b.custom_values for b in batches]))


def scale(hb: HistogramBatch, factor: np.ndarray) -> HistogramBatch:
    """Every row multiplied by its ``factor`` (counts, sum and buckets; a negative factor keeps
    bucket positions, as Prometheus' ``Mul`` does)."""
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float64), (len(hb),))
    pf = np.repeat(factor, np.diff(hb.pos_offsets))
    nf = np.repeat(factor, np.diff(hb.neg_offsets))
    return HistogramBatch(hb.schema.copy(), hb.count * factor, hb.sum * factor, hb.zero_count * factor,
                          hb.zero_threshold.copy(), hb.hint.copy(), hb.pos_offsets, hb.pos_index,
                          hb.pos_count * pf, hb.neg_offsets, hb.neg_index, hb.neg_count * nf,
                          hb.custom_offsets, hb.custom_values)


def with_hint(hb: HistogramBatch, hint: int) -> HistogramBatch:
    out = HistogramBatch(**{k: getattr(hb, k) for k in hb.__dataclass_fields__})
    out.hint = np.full(len(hb), hint, dtype=np.uint8)
    return out


def uses_custom(hb: HistogramBatch) -> np.ndarray:
    return hb.schema == CUSTOM_BUCKETS_SCHEMA


def custom_bounds_equal(hb: HistogramBatch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair (a[k], b[k]): whether both rows have the same custom bucket bounds."""
    out = np.empty(a.shape[0], dtype=bool)
    co, cv = hb.custom_offsets, hb.custom_values
    for k, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        out[k] = np.array_equal(cv[co[i]:co[i + 1]], cv[co[j]:co[j + 1]])
    return out


def _reduce_index(index: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Bucket indices at ``delta`` schema steps coarser (Prometheus' ``targetIdx``)."""
    return np.where(delta > 0, ((index.astype(np.int64) - 1) >> np.maximum(delta, 0)) + 1, index)


def _fold(keys_row: np.ndarray, keys_idx: np.ndarray, counts: np.ndarray, n_rows: int
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum counts of equal (row, index) keys; returns CSR offsets, indices, counts."""
    if keys_row.size == 0:
        return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0)
    order = np.lexsort((keys_idx, keys_row))
    r, i, c = keys_row[order], keys_idx[order], counts[order]
    new = np.ones(r.size, dtype=bool)
    new[1:] = (r[1:] != r[:-1]) | (i[1:] != i[:-1])
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(c, starts)
    rows = r[starts]
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=offsets[1:])
    return offsets, i[starts].astype(np.int32), summed


def sum_groups(hb: HistogramBatch, rows: np.ndarray, group: np.ndarray, n_groups: int,
               weight: np.ndarray | None = None) -> HistogramBatch:
    """Per group g, the sum of rows ``rows[group == g]`` (times ``weight`` if given), at the
    smallest schema in the group and the largest zero threshold. Custom-bucket groups take the
    bounds of their first row (callers check compatibility first). Empty groups are zero
    histograms of schema 0."""
    rows = np.asarray(rows, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    w = np.ones(rows.shape[0]) if weight is None else np.asarray(weight, dtype=np.float64)
    schema = np.full(n_groups, 127, dtype=np.int64)
    np.minimum.at(schema, group, hb.schema[rows].astype(np.int64))
    schema[schema == 127] = 0
    zt = np.zeros(n_groups)
    np.maximum.at(zt, group, hb.zero_threshold[rows])
    count = np.bincount(group, weights=hb.count[rows] * w, minlength=n_groups)
    hsum = np.bincount(group, weights=hb.sum[rows] * w, minlength=n_groups)
    zc = np.bincount(group, weights=hb.zero_count[rows] * w, minlength=n_groups)
    # NaN/Inf weights or values would be lost by bincount's summation order only in edge cases;
    # Prometheus adds in input order, which bincount also does.
    parts = []
    for offsets, index, counts in ((hb.pos_offsets, hb.pos_index, hb.pos_count),
                                   (hb.neg_offsets, hb.neg_index, hb.neg_count)):
        lengths = np.diff(offsets)[rows]
        _, idx, cnt = _take_csr(offsets, rows, index, counts)
        g = np.repeat(group, lengths)
        delta = np.repeat(hb.schema[rows].astype(np.int64), lengths) - schema[g]
        delta[np.repeat(hb.schema[rows] == CUSTOM_BUCKETS_SCHEMA, lengths)] = 0
        parts.append(_fold(g, _reduce_index(idx, delta), cnt * np.repeat(w, lengths), n_groups))
    # Custom bounds: those of the first row of each group.
    first = np.full(n_groups, -1, dtype=np.int64)
    seen = np.zeros(n_groups, dtype=bool)
    for k in range(rows.shape[0]):
        g = group[k]
        if not seen[g]:
            seen[g] = True
            first[g] = rows[k]
    has = first >= 0
    cust = np.where(has, first, 0)
    co, cv = _take_csr(hb.custom_offsets, cust, hb.custom_values) if len(hb) else (
        np.zeros(n_groups + 1, dtype=np.int64), np.zeros(0))
    if not has.all() and len(hb):
        lengths = np.where(has, np.diff(co), 0)
        co2 = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(lengths, out=co2[1:])
        keep = np.repeat(has, np.diff(co))
        co, cv = co2, cv[keep]
    zero_threshold = zt
    out = HistogramBatch(schema.astype(np.int8), count, hsum, zc, zero_threshold,
                         np.zeros(n_groups, dtype=np.uint8), parts[0][0], parts[0][1], parts[0][2],
                         parts[1][0], parts[1][1], parts[1][2], co, cv)
    return out


def add_pairs(hb: HistogramBatch, a: np.ndarray, b: np.ndarray, sign: float = 1.0) -> HistogramBatch:
    """Per pair k: row ``a[k]`` plus ``sign`` times row ``b[k]``."""
    n = a.shape[0]
    rows = np.concatenate([a, b])
    group = np.concatenate([np.arange(n), np.arange(n)])
    weight = np.concatenate([np.ones(n), np.full(n, sign)])
    return sum_groups(hb, rows, group, n, weight)


def compact(hb: HistogramBatch) -> HistogramBatch:
    """Zero-count buckets removed (Prometheus' ``Compact(0)``)."""
    out = []
    for offsets, index, counts in ((hb.pos_offsets, hb.pos_index, hb.pos_count),
                                   (hb.neg_offsets, hb.neg_index, hb.neg_count)):
        keep = counts != 0
        rowid = np.repeat(np.arange(len(hb)), np.diff(offsets))
        off = np.zeros(len(hb) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rowid[keep], minlength=len(hb)), out=off[1:])
        out.append((off, index[keep], counts[keep]))
    return HistogramBatch(hb.schema, hb.count, hb.sum, hb.zero_count, hb.zero_threshold, hb.hint,
                          out[0][0], out[0][1], out[0][2], out[1][0], out[1][1], out[1][2],
                          hb.custom_offsets, hb.custom_values)


def _row_buckets(hb: HistogramBatch, k: int, positive: bool) -> tuple[np.ndarray, np.ndarray]:
    if positive:
        a, b = hb.pos_offsets[k], hb.pos_offsets[k + 1]
        return hb.pos_index[a:b], hb.pos_count[a:b]
    a, b = hb.neg_offsets[k], hb.neg_offsets[k + 1]
    return hb.neg_index[a:b], hb.neg_count[a:b]


def detect_resets(hb: HistogramBatch, prev: np.ndarray, curr: np.ndarray) -> np.ndarray:
    """Per pair: whether row ``curr[k]`` is a counter reset after row ``prev[k]`` (``DetectReset``)."""
    out = np.zeros(prev.shape[0], dtype=bool)
    for k, (p, c) in enumerate(zip(prev.tolist(), curr.tolist(), strict=True)):
        out[k] = _detect_reset(hb, p, c)
    return out


def _detect_reset(hb: HistogramBatch, p: int, c: int) -> bool:
    hint = int(hb.hint[c])
    if hint == COUNTER_RESET:
        return True
    if hint == NOT_COUNTER_RESET:
        return False
    if hb.count[c] < hb.count[p]:
        return True
    cs, ps = int(hb.schema[c]), int(hb.schema[p])
    if (cs == CUSTOM_BUCKETS_SCHEMA) != (ps == CUSTOM_BUCKETS_SCHEMA):
        return True
    if cs == CUSTOM_BUCKETS_SCHEMA:
        co, cv = hb.custom_offsets, hb.custom_values
        if not np.array_equal(cv[co[c]:co[c + 1]], cv[co[p]:co[p + 1]]):
            return True
    elif cs > ps:
        return True
    if hb.zero_threshold[c] < hb.zero_threshold[p]:
        return True
    zt = float(hb.zero_threshold[c])
    prev_zero = float(hb.zero_count[p])
    delta = 0 if cs == CUSTOM_BUCKETS_SCHEMA else ps - cs
    for positive in (True, False):
        pidx, pcnt = _row_buckets(hb, p, positive)
        cidx, ccnt = _row_buckets(hb, c, positive)
        pidx = _reduce_index(pidx.astype(np.int64), np.full(pidx.shape, delta))
        if zt > float(hb.zero_threshold[p]) and cs != CUSTOM_BUCKETS_SCHEMA:
            upper = _bounds(pidx, cs)
            inside = upper <= zt
            prev_zero += float(pcnt[inside].sum())
            pidx, pcnt = pidx[~inside], pcnt[~inside]
        keys = np.concatenate([pidx, cidx.astype(np.int64)])
        vals = np.concatenate([-pcnt, ccnt])
        if keys.size:
            order = np.argsort(keys, kind="stable")
            keys, vals = keys[order], vals[order]
            new = np.ones(keys.size, dtype=bool)
            new[1:] = keys[1:] != keys[:-1]
            starts = np.flatnonzero(new)
            # Compare per key: previous count greater than current count.
            prev_sum = np.add.reduceat(np.where(vals < 0, -vals, 0.0), starts)
            curr_sum = np.add.reduceat(np.where(vals >= 0, vals, 0.0), starts)
            if (curr_sum < prev_sum).any():
                return True
    return bool(hb.zero_count[c] < prev_zero)


def _bounds(index: np.ndarray, schema: int) -> np.ndarray:
    """Upper bounds of exponential buckets ``index`` at ``schema`` (Prometheus' ``getBound``)."""
    index = np.asarray(index, dtype=np.int64)
    if schema < 0:
        exp = index << -schema
        with np.errstate(over="ignore"):
            out = np.ldexp(1.0, exp.astype(np.int32))
        return np.where(exp == 1024, np.finfo(np.float64).max, out)
    frac_idx = index & ((1 << schema) - 1)
    frac = np.exp2(frac_idx / float(1 << schema)) / 2.0
    exp = (index >> schema) + 1
    with np.errstate(over="ignore"):
        out = np.ldexp(frac, exp.astype(np.int32))
    return np.where((frac == 0.5) & (exp == 1025), np.finfo(np.float64).max, out)


def bucket_walk(hb: HistogramBatch, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, count) of all buckets of row k in ascending order (``AllBucketIterator``):
    negative buckets, the zero bucket when it holds observations, positive buckets."""
    schema = int(hb.schema[k])
    pidx, pcnt = _row_buckets(hb, k, True)
    if schema == CUSTOM_BUCKETS_SCHEMA:
        cv = hb.custom_values[hb.custom_offsets[k]:hb.custom_offsets[k + 1]]
        edges = np.concatenate([[-math.inf], cv, [math.inf]])
        pidx = pidx.astype(np.int64)
        return edges[pidx], edges[pidx + 1], pcnt.astype(np.float64)
    nidx, ncnt = _row_buckets(hb, k, False)
    zt = float(hb.zero_threshold[k])
    pu = _bounds(pidx, schema)
    pl = _bounds(pidx.astype(np.int64) - 1, schema)
    nidx_r, ncnt_r = nidx[::-1], ncnt[::-1]
    nl = -_bounds(nidx_r, schema)
    nu = -_bounds(nidx_r.astype(np.int64) - 1, schema)
    zl, zu, zc = [], [], []
    if hb.zero_count[k] > 0 or zt > 0:
        zl, zu, zc = [-zt], [zt], [float(hb.zero_count[k])]
    lower = np.concatenate([nl, zl, pl])
    upper = np.concatenate([nu, zu, pu])
    counts = np.concatenate([ncnt_r, zc, pcnt]).astype(np.float64)
    return lower, upper, counts


def quantile(q: float, hb: HistogramBatch, k: int) -> float:
    """Prometheus' ``HistogramQuantile`` for row k."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    count_total = float(hb.count[k])
    if count_total == 0 or math.isnan(q):
        return math.nan
    custom = int(hb.schema[k]) == CUSTOM_BUCKETS_SCHEMA
    lower, upper, counts = bucket_walk(hb, k)
    forward = math.isnan(float(hb.sum[k])) or q < 0.5
    if forward:
        order = range(counts.shape[0])
        rank = q * count_total
    else:
        order = range(counts.shape[0] - 1, -1, -1)
        rank = (1 - q) * count_total
    acc = 0.0
    lo = hi = bc = math.nan
    for i in order:
        c = float(counts[i])
        if c == 0:
            continue
        acc += c
        lo, hi, bc = float(lower[i]), float(upper[i]), c
        if acc >= rank:
            break
    if math.isnan(bc):
        return math.nan
    has_pos = hb.pos_offsets[k + 1] > hb.pos_offsets[k]
    has_neg = hb.neg_offsets[k + 1] > hb.neg_offsets[k]
    if custom:
        if lo == -math.inf:
            if hi <= 0:
                return hi
            lo = 0.0
        elif hi == math.inf:
            return lo
    elif lo < 0 < hi:
        if not has_neg and has_pos:
            lo = 0.0
        elif not has_pos and has_neg:
            hi = 0.0
    acc = min(acc, count_total)
    if acc < rank:
        return hi
    rank = rank - (acc - bc) if forward else acc - rank
    frac = rank / bc
    if custom or (lo <= 0 <= hi):
        return lo + (hi - lo) * frac
    log_lo, log_hi = math.log2(abs(lo)), math.log2(abs(hi))
    if lo > 0:
        return math.exp2(log_lo + (log_hi - log_lo) * frac)
    return -math.exp2(log_hi + (log_lo - log_hi) * (1 - frac))


def fraction(lower_v: float, upper_v: float, hb: HistogramBatch, k: int) -> float:
    """Prometheus' ``HistogramFraction`` for row k."""
    total = float(hb.count[k])
    if total == 0 or math.isnan(lower_v) or math.isnan(upper_v):
        return math.nan
    if lower_v >= upper_v:
        return 0.0
    custom = int(hb.schema[k]) == CUSTOM_BUCKETS_SCHEMA
    has_pos = hb.pos_offsets[k + 1] > hb.pos_offsets[k]
    has_neg = hb.neg_offsets[k + 1] > hb.neg_offsets[k]
    lows, ups, counts = bucket_walk(hb, k)
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    for i in range(counts.shape[0]):
        lo, hi, c = float(lows[i]), float(ups[i]), float(counts[i])
        zero_bucket = False
        if custom:
            if lo == -math.inf and hi > 0:
                lo = 0.0
        elif lo <= 0 <= hi:
            zero_bucket = True
            if not has_neg and has_pos:
                lo = 0.0
            elif not has_pos and has_neg:
                hi = 0.0
        if not lower_set and lo >= lower_v:
            lower_rank, lower_set = rank, True
        if not upper_set and lo >= upper_v:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lo < lower_v < hi:
            lower_rank, lower_set = _interpolate(rank, c, lo, hi, lower_v, custom or zero_bucket), True
        if not upper_set and lo < upper_v < hi:
            upper_rank, upper_set = _interpolate(rank, c, lo, hi, upper_v, custom or zero_bucket), True
        if lower_set and upper_set:
            break
        rank += c
    if not lower_set or lower_rank > total:
        lower_rank = total
    if not upper_set or upper_rank > total:
        upper_rank = total
    return (upper_rank - lower_rank) / total


def _interpolate(rank: float, count: float, lo: float, hi: float, v: float, linear: bool) -> float:
    if linear:
        return rank + count * (v - lo) / (hi - lo)
    log_lo, log_hi, log_v = math.log2(abs(lo)), math.log2(abs(hi)), math.log2(abs(v))
    if v > 0:
        frac = (log_v - log_lo) / (log_hi - log_lo)
    else:
        frac = 1 - ((log_v - log_hi) / (log_lo - log_hi))
    return rank + count * frac


def stdvar(hb: HistogramBatch, k: int) -> float:
    """The estimated variance of the observations of row k (``histogram_stdvar``)."""
    total = float(hb.count[k])
    mean = float(hb.sum[k]) / total if total else math.nan
    custom = int(hb.schema[k]) == CUSTOM_BUCKETS_SCHEMA
    lows, ups, counts = bucket_walk(hb, k)
    var = comp = 0.0
    for lo, hi, c in zip(lows.tolist(), ups.tolist(), counts.tolist(), strict=True):
        if c == 0:
            continue
        if custom:
            val = (hi + lo) / 2.0
        elif lo <= 0 <= hi:
            val = 0.0
        else:
            val = math.sqrt(hi * lo)
            if hi < 0:
                val = -val
        d = val - mean
        var, comp = _kahan_inc(c * d * d, var, comp)
    return (var + comp) / total if total else math.nan


def _kahan_inc(inc: float, s: float, c: float) -> tuple[float, float]:
    t = s + inc
    if math.isinf(t):
        c = 0.0
    elif abs(s) >= abs(inc):
        c += (s - t) + inc
    else:
        c += (inc - t) + s
    return t, c


def equal_rows(hb: HistogramBatch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: Prometheus' ``FloatHistogram.Equals`` (exact, layout after compaction)."""
    ca = compact(take(hb, a))
    cb = compact(take(hb, b))
    out = np.empty(a.shape[0], dtype=bool)
    for k in range(a.shape[0]):
        same = (ca.schema[k] == cb.schema[k] and ca.zero_threshold[k] == cb.zero_threshold[k]
                and _same_float(ca.zero_count[k], cb.zero_count[k]) and _same_float(ca.count[k], cb.count[k])
                and _same_float(ca.sum[k], cb.sum[k]))
        if same:
            for pos in (True, False):
                ia, xa = _row_buckets(ca, k, pos)
                ib, xb = _row_buckets(cb, k, pos)
                if not (np.array_equal(ia, ib) and np.array_equal(xa.view(np.uint64), xb.view(np.uint64))):
                    same = False
            if ca.schema[k] == CUSTOM_BUCKETS_SCHEMA:
                same = same and np.array_equal(ca.custom_values[ca.custom_offsets[k]:ca.custom_offsets[k + 1]],
                                               cb.custom_values[cb.custom_offsets[k]:cb.custom_offsets[k + 1]])
        out[k] = same
    return out


def _same_float(x: float, y: float) -> bool:
    return bool(x == y or (math.isnan(x) and math.isnan(y)))


GAUGE = GAUGE_TYPE
