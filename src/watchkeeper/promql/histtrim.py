"""The experimental histogram trim operators ``h </ x`` (keep observations below x) and
``h >/ x`` (keep observations above x).

Every bucket keeps the part of its range on the wanted side of x: whole buckets stay,
buckets cut by x keep a share of their count (exponential interpolation inside
exponential buckets, linear in custom buckets and in the zero bucket), buckets with an
infinite bound keep all or nothing. The sum is re-estimated from the kept ranges
(geometric mean of exponential ranges, midpoint otherwise, the finite bound of a
half-infinite range). A histogram from which nothing is cut comes back unchanged.
All rows and buckets are handled at once.
"""

from __future__ import annotations

import numpy as np

from ..model import histogram_ops as hops
from ..model.histogram import CUSTOM_BUCKETS_SCHEMA, HistogramBatch

__all__ = ["TRIM_OPS", "trim"]

TRIM_OPS = frozenset({"</", ">/"})


def _custom_bounds(a: HistogramBatch, rows: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    start = a.custom_offsets[rows]
    n = a.custom_offsets[rows + 1] - start
    cv = a.custom_values

    def bound(i: np.ndarray) -> np.ndarray:
        out = np.full(i.shape[0], np.inf)
        out[i < 0] = -np.inf
        inside = (i >= 0) & (i < n)
        out[inside] = cv[start[inside] + i[inside]]
        return out
    lo, hi = bound(idx - 1), bound(idx)
    # The first custom bucket ending above zero starts at zero, as for classic histograms.
    lo = np.where(np.isneginf(lo) & (hi > 0) & np.isfinite(hi), 0.0, lo)
    return lo, hi


def _share(lo: np.ndarray, hi: np.ndarray, x: np.ndarray, keep_below: bool, linear: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(kept share of the count, kept range low, kept range high, bucket untouched) per bucket."""
    if keep_below:
        whole = hi <= x
        gone = lo >= x
    else:
        whole = lo >= x
        gone = hi <= x
    cut = ~whole & ~gone
    share = whole.astype(np.float64)
    klo, khi = lo.copy(), hi.copy()
    with np.errstate(all="ignore"):
        lin = (x - lo) / (hi - lo)
        neg = hi <= 0
        alo, ahi, ax = np.log2(np.abs(lo)), np.log2(np.abs(hi)), np.log2(np.abs(x))
        exp_pos = (ax - alo) / (ahi - alo)
        exp_neg = (alo - ax) / (alo - ahi)
    below = np.where(linear, lin, np.where(neg, exp_neg, exp_pos))  # share of the range below x
    inf_lo, inf_hi = np.isneginf(lo), np.isposinf(hi)
    if keep_below:
        part = np.where(inf_hi, 0.0, np.where(inf_lo, 1.0, below))
        khi = np.where(cut, x, khi)
    else:
        part = np.where(inf_lo, 0.0, np.where(inf_hi, 1.0, 1.0 - below))
        klo = np.where(cut, x, klo)
    share = np.where(cut, part, share)
    return share, klo, khi, whole


def _representative(klo: np.ndarray, khi: np.ndarray, exponential: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        geo = np.sqrt(np.abs(klo) * np.abs(khi)) * np.where(khi <= 0, -1.0, 1.0)
        mid = np.where(np.isneginf(klo), khi, np.where(np.isposinf(khi), klo, (klo + khi) / 2))
    return np.where(exponential, geo, mid)


def trim(a: HistogramBatch, x: np.ndarray, keep_below: bool) -> HistogramBatch:
    """Row k of ``a`` trimmed at ``x[k]``."""
    m = len(a)
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), (m,))
    custom = a.schema == CUSTOM_BUCKETS_SCHEMA
    schema = a.schema.astype(np.int64)
    pr, nr = hops.bucket_rows(a.pos_offsets), hops.bucket_rows(a.neg_offsets)
    pidx, nidx = a.pos_index.astype(np.int64), a.neg_index.astype(np.int64)
    # Bucket ranges.
    p_lo, p_hi = np.empty(pr.shape[0]), np.empty(pr.shape[0])
    pc = custom[pr]
    if pc.any():
        p_lo[pc], p_hi[pc] = _custom_bounds(a, pr[pc], pidx[pc])
    pe = ~pc
    if pe.any():
        p_lo[pe] = hops.upper_bounds(pidx[pe] - 1, schema[pr[pe]])
        p_hi[pe] = hops.upper_bounds(pidx[pe], schema[pr[pe]])
    n_lo = -hops.upper_bounds(nidx, schema[nr]) if nr.shape[0] else np.zeros(0)
    n_hi = -hops.upper_bounds(nidx - 1, schema[nr]) if nr.shape[0] else np.zeros(0)
    has_pos = np.diff(a.pos_offsets) > 0
    has_neg = np.diff(a.neg_offsets) > 0
    z_lo = np.where(has_pos & ~has_neg, 0.0, -a.zero_threshold)
    z_hi = np.where(has_neg & ~has_pos, 0.0, a.zero_threshold)
    # Shares and kept ranges.
    ps, plo, phi, pw = _share(p_lo, p_hi, x[pr], keep_below, pc)
    if not keep_below:
        # Keeping what lies above a negative x, the first custom bucket counts as reaching down
        # to -Inf again: it is dropped, as Prometheus does.
        first = pc & (pidx == 0) & (x[pr] < 0) & np.isfinite(x[pr]) & (p_hi > x[pr])
        ps = np.where(first, 0.0, ps)
        pw = pw & ~first
    ns, nlo, nhi, nw = _share(n_lo, n_hi, x[nr], keep_below, np.zeros(nr.shape[0], dtype=bool))
    zs, zlo, zhi, zw = _share(z_lo, z_hi, x, keep_below, np.ones(m, dtype=bool))
    pos_count = a.pos_count * ps
    neg_count = a.neg_count * ns
    zero_count = a.zero_count * zs
    with np.errstate(all="ignore"):
        p_sum = np.where(pos_count != 0, pos_count * _representative(plo, phi, ~pc), 0.0)
        n_rep = _representative(nlo, nhi, np.ones(nr.shape[0], bool))
        n_sum = np.where(neg_count != 0, neg_count * n_rep, 0.0)
        z_sum = np.where(zero_count != 0, zero_count * (zlo + zhi) / 2, 0.0)
    count = (zero_count + np.bincount(pr, weights=pos_count, minlength=m)
             + np.bincount(nr, weights=neg_count, minlength=m))
    total = (z_sum + np.bincount(pr, weights=p_sum, minlength=m)
             + np.bincount(nr, weights=n_sum, minlength=m))
    # Rows where every populated bucket is untouched come back as they were.
    touched = np.zeros(m, dtype=bool)
    touched |= np.bincount(pr, weights=(~pw & (a.pos_count != 0)), minlength=m) > 0
    touched |= np.bincount(nr, weights=(~nw & (a.neg_count != 0)), minlength=m) > 0
    touched |= ~zw & (a.zero_count != 0)
    keep_p, keep_n = ~touched[pr], ~touched[nr]
    out = HistogramBatch(
        a.schema.copy(), np.where(touched, count, a.count), np.where(touched, total, a.sum),
        np.where(touched, zero_count, a.zero_count), a.zero_threshold.copy(), a.hint.copy(),
        a.pos_offsets, a.pos_index, np.where(keep_p, a.pos_count, pos_count),
        a.neg_offsets, a.neg_index, np.where(keep_n, a.neg_count, neg_count),
        a.custom_offsets, a.custom_values)
    return out
