"""Bucket views and statistics of native histograms (``histogram_quantile`` & co.), vectorized.

``all_buckets`` flattens Prometheus' ``AllBucketIterator`` over a whole batch:
per row the negative buckets (lowest value first), the zero bucket if it holds
observations, then the positive buckets, with bounds exactly as Prometheus
computes them. The statistics are built on that view. Where Prometheus walks
the buckets of one histogram sequentially (running ranks, Kahan sums), the rows
are laid out in a padded (rows, max buckets) matrix and walked column-wise, so
the per-row arithmetic happens in the same order as upstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .histogram import HistogramBatch
from .histogram_ops import bucket_rows, is_custom, kahan_sums, running_sums, upper_bounds

__all__ = ["AllBuckets", "all_buckets", "boundary_rules", "quantile", "fraction", "stdvar", "stddev"]


@dataclass
class AllBuckets:
    """Every bucket of every row in ascending order: bucket ``j`` belongs to row ``row[j]``;
    row ``k`` owns ``offsets[k]:offsets[k+1]``."""

    row: np.ndarray  # int64 (K,)
    offsets: np.ndarray  # int64 (M + 1,)
    lower: np.ndarray  # float64 (K,)
    upper: np.ndarray  # float64 (K,)
    count: np.ndarray  # float64 (K,)
    lower_inclusive: np.ndarray  # bool (K,)
    upper_inclusive: np.ndarray  # bool (K,)
    is_zero: np.ndarray  # bool (K,) the zero bucket


def _custom_bound(a: HistogramBatch, rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``getBound`` for custom buckets: -Inf below index 0, +Inf at index len(bounds)."""
    start = a.custom_offsets[rows]
    n = a.custom_offsets[rows + 1] - start
    out = np.full(idx.shape[0], np.inf)
    out[idx < 0] = -np.inf
    inside = (idx >= 0) & (idx < n)
    out[inside] = a.custom_values[start[inside] + idx[inside]]
    return out


def all_buckets(a: HistogramBatch) -> AllBuckets:
    """Prometheus' ``AllBucketIterator`` for every row, flattened."""
    m = len(a)
    custom = is_custom(a)
    schema = a.schema.astype(np.int64)
    thr = a.zero_threshold
    pr = bucket_rows(a.pos_offsets)
    nr = bucket_rows(a.neg_offsets)
    pidx = a.pos_index.astype(np.int64)
    nidx = a.neg_index.astype(np.int64)
    # Positive buckets.
    p_up = np.empty(pr.shape[0])
    p_lo = np.empty(pr.shape[0])
    pc = custom[pr]
    if pc.any():
        p_up[pc] = _custom_bound(a, pr[pc], pidx[pc])
        p_lo[pc] = _custom_bound(a, pr[pc], pidx[pc] - 1)
    pe = ~pc
    if pe.any():
        p_up[pe] = upper_bounds(pidx[pe], schema[pr[pe]])
        p_lo[pe] = upper_bounds(pidx[pe] - 1, schema[pr[pe]])
    p_lo_inc = np.where(pc, pidx == 0, p_lo < 0)
    p_up_inc = np.where(pc, True, p_up > 0)
    # Negative buckets (exponential only): the mirror image.
    n_lo = -upper_bounds(nidx, schema[nr]) if nr.shape[0] else np.zeros(0)
    n_up = -upper_bounds(nidx - 1, schema[nr]) if nr.shape[0] else np.zeros(0)
    n_lo_inc = n_lo < 0
    n_up_inc = n_up > 0
    # AllBucketIterator clips buckets that overlap the zero bucket at the threshold.
    t = thr[pr]
    p_lo = np.where((p_lo > 0) & (p_lo < t), t, p_lo)
    p_up = np.where((p_up < 0) & (p_up > -t), -t, p_up)
    t = thr[nr]
    n_up = np.where((n_up < 0) & (n_up > -t), -t, n_up)
    n_lo = np.where((n_lo > 0) & (n_lo < t), t, n_lo)
    # Order per row: negative buckets by descending index, the zero bucket if populated, positive
    # buckets ascending. Every entry's place follows from the row layout; no sort is needed.
    has_zero = a.zero_count > 0
    n_neg = np.diff(a.neg_offsets)
    n_pos = np.diff(a.pos_offsets)
    lens = n_neg + has_zero + n_pos
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    neg_local = np.arange(nr.shape[0], dtype=np.int64) - a.neg_offsets[nr]
    dst_n = offsets[nr] + n_neg[nr] - 1 - neg_local
    zrows = np.flatnonzero(has_zero)
    dst_z = offsets[zrows] + n_neg[zrows]
    pos_local = np.arange(pr.shape[0], dtype=np.int64) - a.pos_offsets[pr]
    dst_p = offsets[pr] + n_neg[pr] + has_zero[pr] + pos_local

    def place(neg: np.ndarray, zero: np.ndarray, pos: np.ndarray, dtype: type) -> np.ndarray:
        out = np.empty(total, dtype=dtype)
        out[dst_n] = neg
        out[dst_z] = zero
        out[dst_p] = pos
        return out

    z = zrows.shape[0]
    return AllBuckets(
        row=np.repeat(np.arange(m, dtype=np.int64), lens),
        offsets=offsets,
        lower=place(n_lo, -thr[zrows], p_lo, np.float64),
        upper=place(n_up, thr[zrows], p_up, np.float64),
        count=place(a.neg_count, a.zero_count[zrows], a.pos_count, np.float64),
        lower_inclusive=place(n_lo_inc, np.ones(z, bool), p_lo_inc, bool),
        upper_inclusive=place(n_up_inc, np.ones(z, bool), p_up_inc, bool),
        is_zero=place(np.zeros(nr.shape[0], bool), np.ones(z, bool), np.zeros(pr.shape[0], bool), bool),
    )


def boundary_rules(b: AllBuckets) -> np.ndarray:
    """The JSON API's boundary rule per bucket: 0 (lower, upper], 1 [lower, upper), 2 open, 3 closed."""
    return np.where(b.lower_inclusive, np.where(b.upper_inclusive, 3, 1),
                    np.where(b.upper_inclusive, 0, 2)).astype(np.int8)


def _go_log2(x: np.ndarray) -> np.ndarray:
    """Go's ``math.Log2``: exact for powers of two, ``log(frac)/ln2 + exp`` otherwise."""
    frac, exp = np.frexp(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(frac == 0.5, (exp - 1).astype(np.float64), np.log(frac) * (1 / np.log(2)) + exp)


def quantile(a: HistogramBatch, q: np.ndarray | float) -> np.ndarray:
    """``HistogramQuantile`` per row (exponential interpolation; linear in custom and zero buckets)."""
    m = len(a)
    qq = np.broadcast_to(np.asarray(q, dtype=np.float64), (m,))
    b = all_buckets(a)
    custom = is_custom(a)
    forward = np.isnan(a.sum) | (qq < 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        rank = np.where(forward, qq * a.count, (1 - qq) * a.count)
    lens = np.diff(b.offsets)
    local = np.arange(b.row.shape[0], dtype=np.int64) - b.offsets[b.row]
    # Chosen bucket per row: walking forward or backward, the first populated bucket whose running
    # count reaches the rank, else the last bucket walked.
    sel = np.full(m, -1, dtype=np.int64)
    cum_at = np.zeros(m)
    for rev in (False, True):
        rows_dir = ~forward if rev else forward
        if not (rows_dir & (lens > 0)).any():
            continue
        # walk[p]: the bucket visited at position p of its row's walk.
        walk = b.offsets[b.row] + lens[b.row] - 1 - local if rev else np.arange(b.row.shape[0])
        cnt = b.count[walk]
        cum = running_sums(cnt, b.row)
        with np.errstate(invalid="ignore"):
            hit = rows_dir[b.row] & (cnt != 0) & (cum >= rank[b.row])
        hits = np.flatnonzero(hit)
        if hits.shape[0]:
            hr = b.row[hits]
            first = hits[np.r_[True, hr[1:] != hr[:-1]]]
            sel[b.row[first]] = walk[first]
            cum_at[b.row[first]] = cum[first]
        rest = np.flatnonzero(rows_dir & (lens > 0) & (sel < 0))
        last = b.offsets[rest + 1] - 1
        sel[rest] = walk[last]
        cum_at[rest] = cum[last]
    has = sel >= 0
    s = np.maximum(sel, 0)
    lower = np.where(has, b.lower[s] if b.row.shape[0] else 0.0, 0.0)
    upper = np.where(has, b.upper[s] if b.row.shape[0] else 0.0, 0.0)
    bcount = np.where(has, b.count[s] if b.row.shape[0] else 0.0, 0.0)
    n_pos = np.diff(a.pos_offsets)
    n_neg = np.diff(a.neg_offsets)
    zero_b = ~custom & (lower < 0) & (upper > 0)
    lower = np.where(zero_b & (n_neg == 0) & (n_pos > 0), 0.0, lower)
    upper = np.where(zero_b & (n_pos == 0) & (n_neg > 0), 0.0, upper)
    early = np.full(m, np.nan)
    is_early = np.zeros(m, dtype=bool)
    first_c = custom & (lower == -np.inf)
    early = np.where(first_c & (upper <= 0), upper, early)
    is_early |= first_c & (upper <= 0)
    lower = np.where(first_c & (upper > 0), 0.0, lower)
    last_c = custom & ~first_c & (upper == np.inf)
    early = np.where(last_c, lower, early)
    is_early |= last_c
    count = np.minimum(cum_at, a.count)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        below = count < rank
        rank2 = np.where(forward, rank - (count - bcount), count - rank)
        frac = rank2 / bcount
        linear = custom | ((lower <= 0) & (upper >= 0))
        lin = lower + (upper - lower) * frac
        log_lo = _go_log2(np.abs(lower))
        log_up = _go_log2(np.abs(upper))
        pos_v = np.exp2(log_lo + (log_up - log_lo) * frac)
        neg_v = -np.exp2(log_up + (log_lo - log_up) * (1 - frac))
        result = np.where(linear, lin, np.where(lower > 0, pos_v, neg_v))
    # The rank lies beyond all bucket populations: only NaN observations are left there (the sum is
    # NaN then), so the quantile is NaN; otherwise (rounding) the highest bucket's upper bound.
    result = np.where(below, np.where(np.isnan(a.sum), np.nan, upper), result)
    result = np.where(is_early, early, result)
    result = np.where((a.count == 0) | np.isnan(qq), np.nan, result)
    result = np.where(qq > 1, np.inf, result)
    return np.where(qq < 0, -np.inf, result)


def fraction(a: HistogramBatch, lower: np.ndarray | float, upper: np.ndarray | float) -> np.ndarray:
    """Prometheus' ``HistogramFraction``: the estimated share of observations in (lower, upper]."""
    m = len(a)
    lo_v = np.broadcast_to(np.asarray(lower, dtype=np.float64), (m,))
    up_v = np.broadcast_to(np.asarray(upper, dtype=np.float64), (m,))
    b = all_buckets(a)
    custom = is_custom(a)
    r = b.row
    n_pos = np.diff(a.pos_offsets)[r]
    n_neg = np.diff(a.neg_offsets)[r]
    blo, bup = b.lower.copy(), b.upper.copy()
    zero_b = (blo <= 0) & (bup >= 0)
    blo = np.where(zero_b & (n_neg == 0) & (n_pos > 0), 0.0, blo)
    bup = np.where(zero_b & (n_pos == 0) & (n_neg > 0), 0.0, bup)
    # Rank before each bucket: the running sum per row up to the previous bucket.
    run = running_sums(b.count, r)
    first_in_row = np.r_[True, r[1:] != r[:-1]] if r.shape[0] else np.zeros(0, bool)
    before = np.where(first_in_row, 0.0, np.r_[0.0, run[:-1]]) if r.shape[0] else np.zeros(0)
    linear = custom[r] | zero_b
    lens = np.diff(b.offsets)
    has_b = lens > 0
    total = np.zeros(m)
    total[has_b] = run[b.offsets[1:][has_b] - 1]

    def rank_at(v: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            lin = before + b.count * (v - blo) / (bup - blo)
            # No interpolation in a bucket of infinite width: its observations sit at its finite end.
            lin = np.where(blo == -np.inf, before + b.count, np.where(bup == np.inf, before, lin))
            log_lo = _go_log2(np.abs(blo))
            log_up = _go_log2(np.abs(bup))
            log_v = _go_log2(np.abs(v))
            f = np.where(v > 0, (log_v - log_lo) / (log_up - log_lo),
                         1 - (log_v - log_up) / (log_lo - log_up))
            expo = before + b.count * f
        return np.where(linear, lin, expo)

    def first_rank(v_rows: np.ndarray) -> np.ndarray:
        v = v_rows[r]
        at_boundary = blo >= v
        inside = (blo < v) & (bup > v)
        hit = at_boundary | inside
        val = np.where(at_boundary, before, rank_at(v))
        out = np.full(m, np.nan)
        found = np.zeros(m, dtype=bool)
        hits = np.flatnonzero(hit)
        if hits.shape[0]:
            hr = r[hits]
            first = np.r_[True, hr[1:] != hr[:-1]]
            out[hr[first]] = val[hits[first]]
            found[hr[first]] = True
        # Not reached: everything counted in buckets lies below ``v``. NaN observations count in
        # ``count`` but in no bucket, so they are excluded from every fraction.
        out = np.where(found, out, total)
        return np.where(out > a.count, a.count, out)

    with np.errstate(invalid="ignore", divide="ignore"):
        res = (first_rank(up_v) - first_rank(lo_v)) / a.count
    res = np.where(lo_v >= up_v, 0.0, res)
    return np.where((a.count == 0) | np.isnan(lo_v) | np.isnan(up_v), np.nan, res)


def stdvar(a: HistogramBatch) -> np.ndarray:
    """``histogram_stdvar``: variance estimated from bucket midpoints (geometric for exponential buckets)."""
    m = len(a)
    b = all_buckets(a)
    custom = is_custom(a)[b.row]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = a.sum / a.count
        geo = np.sqrt(b.upper * b.lower)
        val = np.where(custom, (b.upper + b.lower) / 2.0,
                       np.where((b.lower <= 0) & (b.upper >= 0), 0.0, np.where(b.upper < 0, -geo, geo)))
        delta = val - mean[b.row]
        term = np.where(b.count == 0, 0.0, b.count * delta * delta)
    # Kahan-Neumaier summation in bucket order, as Prometheus' kahanSumInc does per histogram (an
    # empty bucket adds an exact zero, which leaves both sum and compensation unchanged).
    with np.errstate(invalid="ignore", divide="ignore"):
        return kahan_sums(term, b.row, m) / a.count


def stddev(a: HistogramBatch) -> np.ndarray:
    """``histogram_stddev``: square root of ``stdvar``."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(stdvar(a))
