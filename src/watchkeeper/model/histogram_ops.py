"""Vectorized operations on ``HistogramBatch`` following Prometheus' ``FloatHistogram``.

Every function works on whole batches (row ``k`` of the result comes from row
``k`` of the inputs); nothing builds a Python object per histogram. Inputs are
never modified. API (``hb`` = ``HistogramBatch``, arrays are numpy):

Construction
  from_python(hists: Sequence[Mapping]) -> hb       # tests; keys: schema count sum zero_count zero_threshold
                                                    # hint positive/negative ({index: count}) custom_values
  to_python(a: hb) -> list[dict]                    # inverse of from_python (for messages and tests)
  concatenate(batches: Sequence[hb]) -> hb
  take(a: hb, rows: int array) -> hb                # rows may repeat
  bucket_rows(offsets) -> int64 array               # row of every CSR entry
  is_custom(a) -> bool (M,)

Arithmetic (row-wise, a and b of equal length)
  add(a, b) -> (hb, ArithFlags)                     # FloatHistogram.Add
  sub(a, b) -> (hb, ArithFlags)                     # FloatHistogram.Sub (hint as Add; PromQL "-" sets gauge)
      ArithFlags.incompatible: exponential vs custom (row of result is garbage: Prometheus errors/annotates)
      ArithFlags.reconciled:   custom bounds differed and were intersected (info annotation)
      ArithFlags.collision:    counter-reset hint collision (reset vs not_reset)
  scale(a, factor (M,)) -> hb                       # Mul; factor < 0 makes the hint gauge
  divide(a, divisor (M,)) -> hb                     # Div; divisor 0 drops buckets, < 0 makes gauge
  sum_groups(a, group_ids (M,), n_groups, kahan=True) -> (hb, ArithFlags per group)
      left fold of Add over the members of each group in row order (sum(), avg(), *_over_time, rate's
      reset correction); every field Kahan-Neumaier summed unless kahan=False (as Prometheus' KahanAdd);
      hint: any gauge -> gauge, all equal -> that hint, else unknown; collision: the group holds both
      reset and not_reset hints; a group without members comes out as an empty histogram, count 0.
  reduce_schema(a, target (M,)) -> hb               # target >= schema leaves a row unchanged
  compact(a) -> hb                                  # Compact(0): drop zero-count buckets
  with_hint(a, hint (M,) or scalar) -> hb
  detect_reset(prev, cur) -> bool (M,)              # cur.DetectReset(prev)
  equal(a, b) -> bool (M,)                          # FloatHistogram.Equals (bit-exact, layout included)

Statistics and bucket views (histogram_stats.py; the last two entries live here)
  all_buckets(a) -> AllBuckets                      # AllBucketIterator, flattened: row lower upper count
                                                    # lower_inclusive upper_inclusive is_zero
  boundary_rules(buckets) -> int8 (K,)              # JSON API rule 0..3
  quantile(a, q (M,)) -> float64 (M,)               # HistogramQuantile
  fraction(a, lower (M,), upper (M,)) -> (M,)       # HistogramFraction
  stdvar(a), stddev(a) -> (M,)                      # histogram_stdvar/histogram_stddev
  upper_bounds(index, schema) -> float64            # getBoundExponential, correctly rounded (Prometheus'
                                                    # hard-coded table is <= 3 ulp off for some schema>0)
  custom_bounds_equal(a, b) -> bool (M,)
  running_sums(values, seg) -> (K,)                 # sequential running sum per segment (seg sorted)
  kahan_sums(values, seg, n_seg) -> (n_seg,)        # Kahan-Neumaier sum per segment, as kahanSumInc

Python loops: only over rows whose zero thresholds differ (Prometheus widens the
zero bucket there with a data-dependent fixed-point loop; ``sum_groups`` folds such
groups pairwise), over rows with mismatched custom bounds (to intersect them), and
over the distinct schemas present; all rare or tiny, the common paths are pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

from .histogram import (
    COUNTER_RESET,
    CUSTOM_BUCKETS_SCHEMA,
    GAUGE_TYPE,
    NOT_COUNTER_RESET,
    UNKNOWN_RESET,
    HistogramBatch,
)

__all__ = ["ArithFlags", "from_python", "to_python", "concatenate", "take", "bucket_rows", "is_custom", "add",
           "sub", "scale", "divide", "sum_groups", "reduce_schema", "compact", "with_hint", "detect_reset",
           "equal", "upper_bounds", "custom_bounds_equal", "running_sums", "kahan_sums"]

_MAX_FLOAT = float(np.finfo(np.float64).max)


@dataclass
class ArithFlags:
    """Per-row outcome flags of ``add``/``sub``/``sum_groups`` that Prometheus turns into annotations."""

    incompatible: np.ndarray  # bool: exponential mixed with custom buckets
    reconciled: np.ndarray  # bool: custom bounds intersected
    collision: np.ndarray  # bool: counter-reset hint collision


# --------------------------------------------------------------------------- bounds


def _bound_table() -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``exponentialBounds``: 2**(k/2**s)/2 for s in 0..8, correctly rounded."""
    values: list[float] = []
    starts = []
    with localcontext() as ctx:
        ctx.prec = 50
        for s in range(9):
            starts.append(len(values))
            n = 1 << s
            values.extend(float(Decimal(2) ** (Decimal(k) / Decimal(n)) / 2) for k in range(n))
    return np.array(values, dtype=np.float64), np.array(starts, dtype=np.int64)


_TABLE, _TABLE_START = _bound_table()


def _upper_bounds_one(idx: np.ndarray, schema: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        if schema < 0:
            exp = np.clip(idx << -schema, -1100, 1100)
            out = np.ldexp(1.0, exp.astype(np.int32))
            out[exp == 1024] = _MAX_FLOAT
            return out
        frac = _TABLE[_TABLE_START[schema]:_TABLE_START[schema] + (1 << schema)][idx & ((1 << schema) - 1)]
        exp = np.clip((idx >> schema) + 1, -1100, 1100)
        out = np.ldexp(frac, exp.astype(np.int32))
        out[(frac == 0.5) & (exp == 1025)] = _MAX_FLOAT
        return out


def upper_bounds(index: np.ndarray, schema: np.ndarray | int) -> np.ndarray:
    """Upper bound of exponential bucket ``index`` at ``schema`` (Prometheus' ``getBoundExponential``);
    ``schema`` is one schema or one per index. Works schema by schema (at most 13 distinct)."""
    idx = np.asarray(index, dtype=np.int64)
    sch = np.asarray(schema, dtype=np.int64)
    if sch.ndim == 0:
        return _upper_bounds_one(idx, int(sch))
    if sch.shape[0] == 0:
        return np.zeros(0)
    lo, hi = int(sch.min()), int(sch.max())
    if lo == hi:
        return _upper_bounds_one(idx, lo)
    out = np.empty(idx.shape, dtype=np.float64)
    present = np.flatnonzero(np.bincount(sch - lo)) + lo
    for s in present.tolist():
        sel = sch == s
        out[sel] = _upper_bounds_one(idx[sel], s)
    return out


# --------------------------------------------------------------------------- construction


def bucket_rows(offsets: np.ndarray) -> np.ndarray:
    """Row number of every CSR entry described by ``offsets``."""
    offsets = np.asarray(offsets, dtype=np.int64)
    return np.repeat(np.arange(offsets.shape[0] - 1, dtype=np.int64), np.diff(offsets))


def is_custom(a: HistogramBatch) -> np.ndarray:
    return a.schema == CUSTOM_BUCKETS_SCHEMA


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _offsets_from_rows(rows: np.ndarray, n: int) -> np.ndarray:
    return _offsets(np.bincount(rows, minlength=n).astype(np.int64))


def from_python(hists: Sequence[Mapping[str, object]]) -> HistogramBatch:
    """Build a batch from plain dicts (tests, literals). Bucket maps are ``{index: count}``."""

    def col(key: str, default: float) -> np.ndarray:
        return np.array([float(h.get(key, default)) for h in hists], dtype=np.float64)  # type: ignore[arg-type]

    def side(key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx: list[int] = []
        cnt: list[float] = []
        lens = []
        for h in hists:
            items = sorted(dict(h.get(key) or {}).items())  # type: ignore[call-overload]
            idx.extend(int(i) for i, _ in items)
            cnt.extend(float(c) for _, c in items)
            lens.append(len(items))
        return (_offsets(np.array(lens, dtype=np.int64)), np.array(idx, dtype=np.int32),
                np.array(cnt, dtype=np.float64))

    pos_off, pos_idx, pos_cnt = side("positive")
    neg_off, neg_idx, neg_cnt = side("negative")
    cvs = [list(h.get("custom_values") or ()) for h in hists]  # type: ignore[call-overload]
    return HistogramBatch(
        schema=np.array([int(h.get("schema", 0)) for h in hists], dtype=np.int8),  # type: ignore[call-overload]
        count=col("count", 0.0), sum=col("sum", 0.0), zero_count=col("zero_count", 0.0),
        zero_threshold=col("zero_threshold", 0.0),
        hint=np.array([int(h.get("hint", UNKNOWN_RESET)) for h in hists], dtype=np.uint8),  # type: ignore[call-overload]
        pos_offsets=pos_off, pos_index=pos_idx, pos_count=pos_cnt,
        neg_offsets=neg_off, neg_index=neg_idx, neg_count=neg_cnt,
        custom_offsets=_offsets(np.array([len(c) for c in cvs], dtype=np.int64)),
        custom_values=np.array([float(v) for c in cvs for v in c], dtype=np.float64),
    )


def to_python(a: HistogramBatch) -> list[dict[str, object]]:
    """Plain dicts, the inverse of ``from_python``."""
    out = []
    for k in range(len(a)):
        ps, pe = int(a.pos_offsets[k]), int(a.pos_offsets[k + 1])
        ns, ne = int(a.neg_offsets[k]), int(a.neg_offsets[k + 1])
        cs, ce = int(a.custom_offsets[k]), int(a.custom_offsets[k + 1])
        out.append({
            "schema": int(a.schema[k]), "count": float(a.count[k]), "sum": float(a.sum[k]),
            "zero_count": float(a.zero_count[k]), "zero_threshold": float(a.zero_threshold[k]),
            "hint": int(a.hint[k]),
            "positive": dict(zip(a.pos_index[ps:pe].tolist(), a.pos_count[ps:pe].tolist(), strict=True)),
            "negative": dict(zip(a.neg_index[ns:ne].tolist(), a.neg_count[ns:ne].tolist(), strict=True)),
            "custom_values": a.custom_values[cs:ce].tolist(),
        })
    return out


def concatenate(batches: Sequence[HistogramBatch]) -> HistogramBatch:
    """All rows of ``batches`` in order."""
    batches = [b for b in batches if len(b)]
    if not batches:
        return HistogramBatch.empty()
    if len(batches) == 1:
        return batches[0]

    def offs(name: str) -> np.ndarray:
        parts = [np.zeros(1, np.int64)]
        base = 0
        for b in batches:
            o = getattr(b, name)
            parts.append(o[1:] - o[0] + base)
            base += int(o[-1] - o[0])
        return np.concatenate(parts)

    def cat(name: str, off: str | None = None) -> np.ndarray:
        if off is None:
            return np.concatenate([getattr(b, name) for b in batches])
        return np.concatenate([getattr(b, name)[getattr(b, off)[0]:getattr(b, off)[-1]] for b in batches])

    return HistogramBatch(
        schema=cat("schema"), count=cat("count"), sum=cat("sum"), zero_count=cat("zero_count"),
        zero_threshold=cat("zero_threshold"), hint=cat("hint"),
        pos_offsets=offs("pos_offsets"), pos_index=cat("pos_index", "pos_offsets"),
        pos_count=cat("pos_count", "pos_offsets"),
        neg_offsets=offs("neg_offsets"), neg_index=cat("neg_index", "neg_offsets"),
        neg_count=cat("neg_count", "neg_offsets"),
        custom_offsets=offs("custom_offsets"), custom_values=cat("custom_values", "custom_offsets"),
    )


def _gather(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry positions of ``rows`` (in order) and the new offsets."""
    starts = offsets[rows]
    lens = offsets[rows + 1] - starts
    new_off = _offsets(lens)
    total = int(new_off[-1])
    if total == 0:
        return np.zeros(0, np.int64), new_off
    pos = np.arange(total, dtype=np.int64) - np.repeat(new_off[:-1] - starts, lens)
    return pos, new_off


def take(a: HistogramBatch, rows: np.ndarray) -> HistogramBatch:
    """Rows ``rows`` of ``a`` (repeats allowed)."""
    rows = np.asarray(rows, dtype=np.int64)
    pp, po = _gather(a.pos_offsets, rows)
    npos, no = _gather(a.neg_offsets, rows)
    cp, co = _gather(a.custom_offsets, rows)
    return HistogramBatch(
        schema=a.schema[rows], count=a.count[rows], sum=a.sum[rows], zero_count=a.zero_count[rows],
        zero_threshold=a.zero_threshold[rows], hint=a.hint[rows],
        pos_offsets=po, pos_index=a.pos_index[pp], pos_count=a.pos_count[pp],
        neg_offsets=no, neg_index=a.neg_index[npos], neg_count=a.neg_count[npos],
        custom_offsets=co, custom_values=a.custom_values[cp],
    )


def with_hint(a: HistogramBatch, hint: np.ndarray | int) -> HistogramBatch:
    """``a`` with its counter-reset hints replaced (buckets shared, not copied)."""
    h = np.broadcast_to(np.asarray(hint, dtype=np.uint8), a.schema.shape).copy()
    return HistogramBatch(a.schema, a.count, a.sum, a.zero_count, a.zero_threshold, h, a.pos_offsets,
                          a.pos_index, a.pos_count, a.neg_offsets, a.neg_index, a.neg_count, a.custom_offsets,
                          a.custom_values)


def _replace(a: HistogramBatch, **kw: np.ndarray) -> HistogramBatch:
    fields = {f: getattr(a, f) for f in HistogramBatch.__dataclass_fields__}
    fields.update(kw)
    return HistogramBatch(**fields)


# --------------------------------------------------------------------------- entry combination


def running_sums(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Plain sequential running sum of ``values`` restarting at every new segment (``seg`` sorted).

    Segments are laid out in padded matrices, one per power-of-two length class, so that
    ``np.cumsum`` along the rows adds in the same order as a sequential loop would.
    """
    out = np.empty(values.shape[0])
    if values.shape[0] == 0:
        return out
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    lens = np.diff(np.r_[starts, values.shape[0]])
    pos = np.arange(values.shape[0]) - np.repeat(starts, lens)
    seg_of = np.repeat(np.arange(starts.shape[0]), lens)
    cls = np.ceil(np.log2(lens)).astype(np.int64)
    for c in np.unique(cls).tolist():
        segs = np.flatnonzero(cls == c)
        local = np.full(starts.shape[0], -1, dtype=np.int64)
        local[segs] = np.arange(segs.shape[0])
        sel = np.flatnonzero(local[seg_of] >= 0)
        mat = np.zeros((segs.shape[0], int(lens[segs].max())))
        mat[local[seg_of[sel]], pos[sel]] = values[sel]
        with np.errstate(over="ignore", invalid="ignore"):
            out[sel] = np.cumsum(mat, axis=1)[local[seg_of[sel]], pos[sel]]
    return out


def kahan_sums(values: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Per segment (ids ``seg``, sorted, dense) the Kahan-Neumaier sum of its values in order,
    exactly as Prometheus' ``kahanSumInc`` loop computes it (``sum + compensation``)."""
    running = running_sums(values, seg)
    first = np.r_[True, seg[1:] != seg[:-1]] if seg.shape[0] else np.zeros(0, bool)
    prev = np.where(first, 0.0, np.r_[0.0, running[:-1]])
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(np.abs(prev) >= np.abs(values), (prev - running) + values, (values - running) + prev)
    # kahanSumInc resets the compensation whenever the running sum becomes infinite.
    err = np.where(np.isfinite(running), err, 0.0)
    last_inf = np.full(n_seg, -1, dtype=np.int64)
    inf_pos = np.flatnonzero(np.isinf(running))
    last_inf[seg[inf_pos]] = inf_pos
    err = np.where(np.arange(seg.shape[0]) > last_inf[seg], err, 0.0)
    total = np.zeros(n_seg)
    comp = np.bincount(seg, weights=err, minlength=n_seg)
    if seg.shape[0]:
        ends = np.r_[np.flatnonzero(first[1:]), seg.shape[0] - 1]
        total[seg[ends]] = running[ends]
    with np.errstate(invalid="ignore"):
        return total + comp


def _combine(rows: np.ndarray, idx: np.ndarray, cnt: np.ndarray, n: int, kahan: bool = False
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum entries with equal (row, index), summing in input order (Kahan-Neumaier if ``kahan``);
    returns CSR (offsets, index, count)."""
    if rows.shape[0] == 0:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float64)
    key = rows.astype(np.int64) * (1 << 32) + (idx.astype(np.int64) + (1 << 31))
    if key.shape[0] > 1 and not bool(np.all(key[1:] >= key[:-1])):
        order = np.argsort(key, kind="stable")
        key, rows, idx, cnt = key[order], rows[order], idx[order], cnt[order]
    new = np.empty(key.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    if new.all():
        return _offsets_from_rows(rows, n), idx.astype(np.int32), cnt.astype(np.float64)
    gid = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    if kahan:
        summed = kahan_sums(cnt.astype(np.float64), gid, first.shape[0])
    else:
        # bincount adds sequentially in input order, as Prometheus' bucket loops do.
        summed = np.bincount(gid, weights=cnt, minlength=first.shape[0])
    return _offsets_from_rows(rows[first], n), idx[first].astype(np.int32), summed


def _reduce_side(offsets: np.ndarray, index: np.ndarray, count: np.ndarray, schema: np.ndarray,
                 target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge buckets of one side to ``target`` schema per row (``targetIdx``), custom rows untouched."""
    n = offsets.shape[0] - 1
    shift = np.where((schema > target) & (schema != CUSTOM_BUCKETS_SCHEMA),
                     schema.astype(np.int64) - target.astype(np.int64), 0)
    if not shift.any() or index.shape[0] == 0:
        return offsets, index, count
    rows = bucket_rows(offsets)
    sh = shift[rows]
    idx64 = index.astype(np.int64)
    new_idx = np.where(sh > 0, ((idx64 - 1) >> sh) + 1, idx64)
    return _combine(rows, new_idx, count, n)


def reduce_schema(a: HistogramBatch, target: np.ndarray | int) -> HistogramBatch:
    """Rows reduced to the coarser ``target`` schema; rows at or below it and custom rows are unchanged."""
    tgt = np.broadcast_to(np.asarray(target, dtype=np.int64), a.schema.shape)
    sch = a.schema.astype(np.int64)
    po, pi, pc = _reduce_side(a.pos_offsets, a.pos_index, a.pos_count, sch, tgt)
    no, ni, nc = _reduce_side(a.neg_offsets, a.neg_index, a.neg_count, sch, tgt)
    new_schema = np.where((tgt < sch) & (sch != CUSTOM_BUCKETS_SCHEMA), tgt, sch).astype(np.int8)
    return _replace(a, schema=new_schema, pos_offsets=po, pos_index=pi, pos_count=pc, neg_offsets=no,
                    neg_index=ni, neg_count=nc)


def compact(a: HistogramBatch) -> HistogramBatch:
    """Drop zero-count buckets (Prometheus' ``Compact(0)``; spans are implicit here)."""
    def side(off: np.ndarray, idx: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, ...]:
        keep = cnt != 0
        if keep.all():
            return off, idx, cnt
        rows = bucket_rows(off)[keep]
        return _offsets_from_rows(rows, off.shape[0] - 1), idx[keep], cnt[keep]

    po, pi, pc = side(a.pos_offsets, a.pos_index, a.pos_count)
    no, ni, nc = side(a.neg_offsets, a.neg_index, a.neg_count)
    return _replace(a, pos_offsets=po, pos_index=pi, pos_count=pc, neg_offsets=no, neg_index=ni, neg_count=nc)


# --------------------------------------------------------------------------- scaling


def scale(a: HistogramBatch, factor: np.ndarray | float) -> HistogramBatch:
    """Every count, the zero count and the sum multiplied by ``factor`` per row (``Mul``)."""
    f = np.broadcast_to(np.asarray(factor, dtype=np.float64), a.count.shape)
    hint = np.where(f < 0, GAUGE_TYPE, a.hint).astype(np.uint8)
    return _replace(a, count=a.count * f, sum=a.sum * f, zero_count=a.zero_count * f, hint=hint,
                    pos_count=a.pos_count * f[bucket_rows(a.pos_offsets)],
                    neg_count=a.neg_count * f[bucket_rows(a.neg_offsets)])


def divide(a: HistogramBatch, divisor: np.ndarray | float) -> HistogramBatch:
    """``Div``: counts and sum divided per row; divisor 0 drops the buckets, a negative one makes gauges."""
    d = np.broadcast_to(np.asarray(divisor, dtype=np.float64), a.count.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _replace(a, count=a.count / d, sum=a.sum / d, zero_count=a.zero_count / d,
                       hint=np.where(d < 0, GAUGE_TYPE, a.hint).astype(np.uint8),
                       pos_count=a.pos_count / d[bucket_rows(a.pos_offsets)],
                       neg_count=a.neg_count / d[bucket_rows(a.neg_offsets)])
    zero = d == 0
    if zero.any():
        keep_p = ~zero[bucket_rows(out.pos_offsets)]
        keep_n = ~zero[bucket_rows(out.neg_offsets)]
        n = len(a)
        out = _replace(out, pos_offsets=_offsets_from_rows(bucket_rows(out.pos_offsets)[keep_p], n),
                       pos_index=out.pos_index[keep_p], pos_count=out.pos_count[keep_p],
                       neg_offsets=_offsets_from_rows(bucket_rows(out.neg_offsets)[keep_n], n),
                       neg_index=out.neg_index[keep_n], neg_count=out.neg_count[keep_n])
    return out


# --------------------------------------------------------------------------- custom bounds


def _row_lengths(offsets: np.ndarray) -> np.ndarray:
    return np.diff(offsets)


def custom_bounds_equal(a: HistogramBatch, b: HistogramBatch) -> np.ndarray:
    """Per row: the custom bounds of ``a`` and ``b`` are identical (``CustomBucketBoundsMatch``)."""
    la, lb = _row_lengths(a.custom_offsets), _row_lengths(b.custom_offsets)
    same_len = la == lb
    if not same_len.any():
        return same_len
    rows = np.flatnonzero(same_len)
    pa, _ = _gather(a.custom_offsets, rows)
    pb, off = _gather(b.custom_offsets, rows)
    diff = a.custom_values[pa] != b.custom_values[pb]
    bad = np.bincount(bucket_rows(off)[diff], minlength=rows.shape[0]) if diff.any() else None
    out = same_len.copy()
    if bad is not None:
        out[rows] = bad == 0
    return out


def _custom_upper(bounds: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Upper bound of custom bucket ``idx`` of one histogram (+Inf for the last bucket)."""
    if bounds.shape[0] == 0:
        return np.full(idx.shape[0], np.inf)
    return np.where(idx < bounds.shape[0], bounds[np.clip(idx, 0, bounds.shape[0] - 1)], np.inf)


def _map_custom(idx: np.ndarray, bounds: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Index in ``target`` (a subset of ``bounds``) of the bucket containing each bucket of ``bounds``."""
    upper = _custom_upper(bounds, idx.astype(np.int64))
    return np.searchsorted(target, upper, side="left").astype(np.int64)


def _entry_custom_upper(off: np.ndarray, vals: np.ndarray, rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Upper bound of custom bucket ``idx[j]`` of row ``rows[j]`` (bounds in CSR ``off``/``vals``)."""
    start = off[rows]
    n = off[rows + 1] - start
    out = np.full(rows.shape[0], np.inf)
    inside = (idx >= 0) & (idx < n)
    out[inside] = vals[start[inside] + idx[inside]]
    return out


def _remap_custom(rows: np.ndarray, upper: np.ndarray, tgt_off: np.ndarray, tgt_vals: np.ndarray
                  ) -> np.ndarray:
    """Per entry the bucket of row ``rows[j]``'s target bounds that contains a bucket ending at
    ``upper[j]``: a searchsorted (left) within each row's segment, done for all rows at once."""
    t_rows = bucket_rows(tgt_off)
    all_rows = np.concatenate([t_rows, rows])
    all_vals = np.concatenate([tgt_vals, upper])
    # At equal values the query sorts first, so only bounds strictly below it are counted.
    is_target = np.concatenate([np.ones(t_rows.shape[0], np.int64), np.zeros(rows.shape[0], np.int64)])
    order = np.lexsort((is_target, all_vals, all_rows))
    below = np.cumsum(is_target[order])
    out = np.empty(rows.shape[0], dtype=np.int64)
    q = order >= t_rows.shape[0]
    out[order[q] - t_rows.shape[0]] = below[q]
    return out - tgt_off[rows]


def _set_row_bounds(off: np.ndarray, vals: np.ndarray, rows: np.ndarray, new: list[np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """CSR bounds with the bounds of ``rows`` replaced by ``new``."""
    lens = np.diff(off).copy()
    lens[rows] = [x.shape[0] for x in new]
    new_off = _offsets(lens)
    out = np.empty(int(new_off[-1]))
    others = np.setdiff1d(np.arange(lens.shape[0]), rows)
    src, _ = _gather(off, others)
    dst, _ = _gather(new_off, others)
    out[dst] = vals[src]
    dst, _ = _gather(new_off, rows)
    if dst.shape[0]:
        out[dst] = np.concatenate(new)
    return new_off, out


# --------------------------------------------------------------------------- zero-bucket reconciliation


def _zero_count_for_larger_threshold(schema: int, zc: float, pidx: np.ndarray, pcnt: np.ndarray,
                                     nidx: np.ndarray, ncnt: np.ndarray, thr: float, own_thr: float
                                     ) -> tuple[float, float]:
    """Prometheus' ``zeroCountForLargerThreshold`` for one histogram (sequential by nature)."""
    if thr == own_thr:
        return zc, thr
    pup = upper_bounds(pidx, schema) if pidx.shape[0] else pidx.astype(np.float64)
    plo = upper_bounds(pidx.astype(np.int64) - 1, schema) if pidx.shape[0] else pup
    nup = upper_bounds(nidx, schema) if nidx.shape[0] else nidx.astype(np.float64)
    nlo = upper_bounds(nidx.astype(np.int64) - 1, schema) if nidx.shape[0] else nup
    while True:
        count = zc
        for k in range(pidx.shape[0]):
            if plo[k] >= thr:
                break
            count += float(pcnt[k])
            if pup[k] > thr:
                if pcnt[k] != 0:
                    thr = float(pup[k])
                break
        restart = False
        for k in range(nidx.shape[0]):
            # Negative bucket k spans [-nup, -nlo): it is in the zero bucket while -nlo > -thr.
            if nlo[k] >= thr:
                break
            count += float(ncnt[k])
            if nup[k] > thr:
                if ncnt[k] != 0:
                    thr = float(nup[k])
                    restart = True
                break
        if not restart:
            return count, thr


def _row_side(off: np.ndarray, idx: np.ndarray, cnt: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    s, e = int(off[k]), int(off[k + 1])
    return idx[s:e], cnt[s:e]


def _reconcile_zero_rows(a: HistogramBatch, b: HistogramBatch, rows: np.ndarray
                         ) -> tuple[HistogramBatch, np.ndarray]:
    """For ``rows`` (exponential, thresholds differ): widen ``a``'s zero bucket as ``reconcileZeroBuckets``
    does (trimming and compacting ``a``) and return ``b``'s zero count at the common threshold."""
    zc_a, thr_a = a.zero_count.copy(), a.zero_threshold.copy()
    b_zc = b.zero_count.copy()
    widened = np.zeros(len(a), dtype=bool)
    for k in rows.tolist():
        pa, ca = _row_side(a.pos_offsets, a.pos_index, a.pos_count, k)
        na, nca = _row_side(a.neg_offsets, a.neg_index, a.neg_count, k)
        pb, cb = _row_side(b.pos_offsets, b.pos_index, b.pos_count, k)
        nb, ncb = _row_side(b.neg_offsets, b.neg_index, b.neg_count, k)
        sa, sb = int(a.schema[k]), int(b.schema[k])
        h_zc, h_thr = float(zc_a[k]), float(thr_a[k])
        o_zc, o_thr = float(b.zero_count[k]), float(b.zero_threshold[k])
        b_own = o_thr
        while o_thr != h_thr:
            if h_thr > o_thr:
                o_zc, o_thr = _zero_count_for_larger_threshold(sb, float(b.zero_count[k]), pb, cb, nb, ncb,
                                                               h_thr, b_own)
            if o_thr > h_thr:
                h_zc, h_thr = _zero_count_for_larger_threshold(sa, float(a.zero_count[k]), pa, ca, na, nca,
                                                               o_thr, float(a.zero_threshold[k]))
                widened[k] = True
        zc_a[k], thr_a[k], b_zc[k] = h_zc, h_thr, o_zc
    out = _replace(a, zero_count=zc_a, zero_threshold=thr_a)
    if widened.any():
        # trimBucketsInZeroBucket: buckets below the threshold are zeroed, then Compact(0) drops every
        # empty bucket of the widened histogram.
        def trim(off: np.ndarray, idx: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, ...]:
            r = bucket_rows(off)
            lower = upper_bounds(idx.astype(np.int64) - 1, a.schema[r].astype(np.int64))
            drop = widened[r] & ((lower < thr_a[r]) | (cnt == 0))
            keep = ~drop
            return _offsets_from_rows(r[keep], len(a)), idx[keep], cnt[keep]

        po, pi, pc = trim(out.pos_offsets, out.pos_index, out.pos_count)
        no, ni, nc = trim(out.neg_offsets, out.neg_index, out.neg_count)
        out = _replace(out, pos_offsets=po, pos_index=pi, pos_count=pc, neg_offsets=no, neg_index=ni,
                       neg_count=nc)
    return out, b_zc


# --------------------------------------------------------------------------- add / sub


def _adjust_hint(h: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``adjustCounterReset``: the receiver's new hint and the collision flag."""
    same = h == o
    res = np.where(same, h, np.where(h == GAUGE_TYPE, GAUGE_TYPE, np.where(
        o == GAUGE_TYPE, GAUGE_TYPE, UNKNOWN_RESET)))
    collision = ~same & (h != GAUGE_TYPE) & (o != GAUGE_TYPE) & (h != UNKNOWN_RESET) & (o != UNKNOWN_RESET)
    return res.astype(np.uint8), collision


def _intersect(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.shape[0] == 0 or y.shape[0] == 0:
        return np.zeros(0, np.float64)
    return x[np.isin(x, y)]


def _side_entries(off: np.ndarray, idx: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, ...]:
    return bucket_rows(off), idx.astype(np.int64), cnt


def _binary(a: HistogramBatch, b: HistogramBatch, sign: float) -> tuple[HistogramBatch, ArithFlags]:
    n = len(a)
    if len(b) != n:
        raise ValueError(f"row counts differ: {n} and {len(b)}")
    cust_a, cust_b = is_custom(a), is_custom(b)
    incompatible = cust_a != cust_b
    hint, collision = _adjust_hint(a.hint, b.hint)
    exp_rows = ~cust_a & ~cust_b
    # Zero buckets: only exponential rows whose thresholds differ need Prometheus' widening loop.
    diff_thr = np.flatnonzero(exp_rows & (a.zero_threshold != b.zero_threshold))
    b_zc = b.zero_count
    if diff_thr.shape[0]:
        a, b_zc = _reconcile_zero_rows(a, b, diff_thr)
    target = np.where(exp_rows, np.minimum(a.schema, b.schema), a.schema).astype(np.int64)
    ra = reduce_schema(a, target)
    rb = reduce_schema(b, np.where(exp_rows, target, b.schema))
    thr = ra.zero_threshold
    # Custom rows with mismatched bounds: both sides are mapped onto the intersection of the bounds.
    cust_both = cust_a & cust_b
    mismatch = cust_both & ~custom_bounds_equal(a, b)
    new_custom_off, new_custom_vals = a.custom_offsets, a.custom_values
    pa_rows, pa_idx, pa_cnt = _side_entries(ra.pos_offsets, ra.pos_index, ra.pos_count)
    pb_rows, pb_idx, pb_cnt = _side_entries(rb.pos_offsets, rb.pos_index, rb.pos_count)
    if mismatch.any():
        mrows = np.flatnonzero(mismatch)
        inters = [_intersect(a.custom_values[a.custom_offsets[k]:a.custom_offsets[k + 1]],
                             b.custom_values[b.custom_offsets[k]:b.custom_offsets[k + 1]])
                  for k in mrows.tolist()]
        new_custom_off, new_custom_vals = _set_row_bounds(a.custom_offsets, a.custom_values, mrows, inters)
        pa_idx, pb_idx = pa_idx.copy(), pb_idx.copy()
        for rws, idx, src in ((pa_rows, pa_idx, a), (pb_rows, pb_idx, b)):
            sel = np.flatnonzero(mismatch[rws])
            upper = _entry_custom_upper(src.custom_offsets, src.custom_values, rws[sel], idx[sel])
            idx[sel] = _remap_custom(rws[sel], upper, new_custom_off, new_custom_vals)
        # Mapped sides can hold several entries per bucket; sum each side before adding.
        po, pi, pc = _combine(pa_rows, pa_idx, pa_cnt, n)
        pa_rows, pa_idx, pa_cnt = bucket_rows(po), pi.astype(np.int64), pc
        po, pi, pc = _combine(pb_rows, pb_idx, pb_cnt, n)
        pb_rows, pb_idx, pb_cnt = bucket_rows(po), pi.astype(np.int64), pc
    nb_rows, nb_idx, nb_cnt = _side_entries(rb.neg_offsets, rb.neg_index, rb.neg_count)
    # addBuckets ignores buckets of the other histogram inside the receiver's zero bucket.
    keep_p = ~(exp_rows[pb_rows] & (upper_bounds(pb_idx, target[pb_rows]) <= thr[pb_rows]))
    keep_n = ~(exp_rows[nb_rows] & (upper_bounds(nb_idx, target[nb_rows]) <= thr[nb_rows]))
    po, pi, pc = _combine(np.concatenate([pa_rows, pb_rows[keep_p]]),
                          np.concatenate([pa_idx, pb_idx[keep_p]]),
                          np.concatenate([pa_cnt, sign * pb_cnt[keep_p]]), n)
    na_rows, na_idx, na_cnt = _side_entries(ra.neg_offsets, ra.neg_index, ra.neg_count)
    no, ni, nc = _combine(np.concatenate([na_rows, nb_rows[keep_n]]),
                          np.concatenate([na_idx, nb_idx[keep_n]]),
                          np.concatenate([na_cnt, sign * nb_cnt[keep_n]]), n)
    if mismatch.any():
        # addCustomBucketsWithMismatches leaves out buckets that end up empty.
        keep = ~(mismatch[bucket_rows(po)] & (pc == 0))
        po, pi, pc = _offsets_from_rows(bucket_rows(po)[keep], n), pi[keep], pc[keep]
    zc = np.where(exp_rows, ra.zero_count + sign * b_zc, ra.zero_count)
    out = HistogramBatch(
        schema=target.astype(np.int8), count=a.count + sign * b.count, sum=a.sum + sign * b.sum,
        zero_count=zc,
        zero_threshold=ra.zero_threshold, hint=hint, pos_offsets=po, pos_index=pi, pos_count=pc,
        neg_offsets=no, neg_index=ni, neg_count=nc, custom_offsets=new_custom_off,
        custom_values=new_custom_vals)
    return out, ArithFlags(incompatible, mismatch, collision & ~incompatible)


def add(a: HistogramBatch, b: HistogramBatch) -> tuple[HistogramBatch, ArithFlags]:
    """Row-wise ``a + b`` (Prometheus' ``FloatHistogram.Add`` with ``a`` as receiver)."""
    return _binary(a, b, 1.0)


def sub(a: HistogramBatch, b: HistogramBatch) -> tuple[HistogramBatch, ArithFlags]:
    """Row-wise ``a - b`` (``FloatHistogram.Sub``; the hint is adjusted as in ``add``)."""
    return _binary(a, b, -1.0)


# --------------------------------------------------------------------------- group sums


def _group_hint(hint: np.ndarray, gid: np.ndarray, n_groups: int, order: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """The fold of ``adjustCounterReset`` over each group (rows in ``order``): result hint and collision."""
    h = hint[order]
    g = gid[order]
    first_pos = np.full(n_groups, -1, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.shape[0] else np.zeros(0, np.int64)
    first_pos[g[starts]] = starts
    out = np.full(n_groups, UNKNOWN_RESET, dtype=np.uint8)
    collision = np.zeros(n_groups, dtype=bool)
    if g.shape[0] == 0:
        return out, collision
    first = h[first_pos[g]]
    differs = h != first
    any_gauge = np.bincount(g, weights=(h == GAUGE_TYPE), minlength=n_groups) > 0
    any_diff = np.bincount(g, weights=differs, minlength=n_groups) > 0
    has = first_pos >= 0
    first_hint = np.where(has, hint[order][np.maximum(first_pos, 0)], UNKNOWN_RESET)
    out = np.where(any_gauge, GAUGE_TYPE, np.where(any_diff, UNKNOWN_RESET, first_hint)).astype(np.uint8)
    # A collision: the group holds both a counter reset and a "no counter reset" hint (Prometheus'
    # aggregations report it whatever else the group holds).
    any_reset = np.bincount(g, weights=(h == COUNTER_RESET), minlength=n_groups) > 0
    any_not = np.bincount(g, weights=(h == NOT_COUNTER_RESET), minlength=n_groups) > 0
    return out, any_reset & any_not


def sum_groups(a: HistogramBatch, group_ids: np.ndarray, n_groups: int, kahan: bool = True
               ) -> tuple[HistogramBatch, ArithFlags]:
    """Sum the rows of each group, in row order, as a left fold of ``FloatHistogram.Add``.

    With ``kahan`` (the default, as Prometheus' ``sum``/``avg``/``sum_over_time`` do with
    ``KahanAdd``) every field is summed with Kahan-Neumaier compensation; without it the
    plain left fold of ``Add`` is reproduced.

    Groups mixing exponential and custom buckets are flagged ``incompatible`` (their result
    is meaningless); ``reconciled`` marks groups whose custom bounds had to be intersected.
    """
    gid = np.asarray(group_ids, dtype=np.int64)
    order = np.argsort(gid, kind="stable")
    counts = np.bincount(gid, minlength=n_groups)
    cust = is_custom(a)
    n_cust = np.bincount(gid, weights=cust, minlength=n_groups)
    incompatible = (n_cust > 0) & (n_cust < counts)
    hint, collision = _group_hint(a.hint, gid, n_groups, order)
    # Zero thresholds differing inside a group: fold those groups pairwise (Prometheus' loop is sequential).
    thr_max = np.full(n_groups, -np.inf)
    np.maximum.at(thr_max, gid, a.zero_threshold)
    thr_min = np.full(n_groups, np.inf)
    np.minimum.at(thr_min, gid, a.zero_threshold)
    slow_groups = (thr_max != thr_min) & ~incompatible & (n_cust == 0)
    slow_rows = slow_groups[gid]
    fast = _sum_groups_fast(a, gid, n_groups, order, cust, incompatible, kahan)
    reconciled = fast[1]
    out = fast[0]
    if slow_rows.any():
        out = _merge_slow_groups(out, a, gid, np.flatnonzero(slow_groups), order)
    out = _replace(out, hint=hint)
    return out, ArithFlags(incompatible, reconciled & ~incompatible, collision & ~incompatible)


def _segmented_cummin(values: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Running minimum restarting at every new group (``g`` sorted); values are small ints."""
    span = 1 << 10
    key = g * span + (span // 2 - values)
    run = np.maximum.accumulate(key)
    return span // 2 - (run - g * span)


def _sum_groups_fast(a: HistogramBatch, gid: np.ndarray, n_groups: int, order: np.ndarray, cust: np.ndarray,
                     incompatible: np.ndarray, kahan: bool) -> tuple[HistogramBatch, np.ndarray]:
    m = len(a)
    schema = a.schema.astype(np.int64)
    # Target schema per group: the minimum schema of its exponential members.
    tgt = np.full(n_groups, 127, dtype=np.int64)
    np.minimum.at(tgt, gid, np.where(cust, 127, schema))
    members = np.bincount(gid, minlength=n_groups)
    tgt = np.where(tgt == 127, np.where(members > 0, CUSTOM_BUCKETS_SCHEMA, 0), tgt)
    # The schema each member is reduced to when it is added: the running minimum of its group so far,
    # which decides which of its buckets fall inside the zero bucket.
    running = np.empty(m, dtype=np.int64)
    if m:
        running[order] = _segmented_cummin(np.where(cust, 127, schema)[order], gid[order])
    is_first = np.zeros(m, dtype=bool)
    if m:
        g_sorted = gid[order]
        is_first[order[np.r_[True, g_sorted[1:] != g_sorted[:-1]]]] = True
    thr = np.zeros(n_groups)
    np.maximum.at(thr, gid, a.zero_threshold)
    # Custom bounds per group: the intersection of all members' bounds.
    group_bounds, reconciled = _group_custom_bounds(a, gid, n_groups, order, cust)

    def side(off: np.ndarray, idx: np.ndarray, cnt: np.ndarray, positive: bool) -> tuple[np.ndarray, ...]:
        r = bucket_rows(off)
        g = gid[r]
        idx64 = idx.astype(np.int64)
        c = cust[r]
        sh = np.where(c, 0, schema[r] - tgt[g])
        new_idx = np.where(sh > 0, ((idx64 - 1) >> np.maximum(sh, 0)) + 1, idx64)
        keep = np.ones(r.shape[0], dtype=bool)
        exp = ~c
        if exp.any():
            run = running[r]
            run_idx = np.where(schema[r] > run, ((idx64 - 1) >> np.maximum(schema[r] - run, 0)) + 1, idx64)
            inside = upper_bounds(run_idx[exp], np.where(run[exp] == 127, 0, run[exp])) <= thr[g][exp]
            keep[np.flatnonzero(exp)[inside & ~is_first[r][exp]]] = False
        if positive and reconciled.any():
            sel = np.flatnonzero(c & reconciled[g])
            upper = _entry_custom_upper(a.custom_offsets, a.custom_values, r[sel], idx64[sel])
            new_idx = new_idx.copy()
            new_idx[sel] = _remap_custom(g[sel], upper, *group_bounds)
        keep &= ~incompatible[g]
        # Sum member by member in row order: stable sort by (group, member order) happens in _combine.
        member_pos = np.empty(m, dtype=np.int64)
        member_pos[order] = np.arange(m)
        sort_key = np.argsort(member_pos[r[keep]], kind="stable")
        rr, ii, cc = g[keep][sort_key], new_idx[keep][sort_key], cnt[keep][sort_key]
        return _combine(rr, ii, cc, n_groups, kahan)

    po, pi, pc = side(a.pos_offsets, a.pos_index, a.pos_count, True)
    no, ni, nc = side(a.neg_offsets, a.neg_index, a.neg_count, False)
    if reconciled.any():
        keep = ~(reconciled[bucket_rows(po)] & (pc == 0))
        po, pi, pc = _offsets_from_rows(bucket_rows(po)[keep], n_groups), pi[keep], pc[keep]
    ordered_g = gid[order]

    def gsum(v: np.ndarray) -> np.ndarray:
        if kahan:
            return kahan_sums(v[order].astype(np.float64), ordered_g, n_groups)
        return np.bincount(ordered_g, weights=v[order], minlength=n_groups)

    out = HistogramBatch(
        schema=tgt.astype(np.int8), count=gsum(a.count), sum=gsum(a.sum), zero_count=gsum(a.zero_count),
        zero_threshold=thr, hint=np.zeros(n_groups, np.uint8), pos_offsets=po, pos_index=pi, pos_count=pc,
        neg_offsets=no, neg_index=ni, neg_count=nc,
        custom_offsets=group_bounds[0], custom_values=group_bounds[1])
    return out, reconciled


def _group_custom_bounds(a: HistogramBatch, gid: np.ndarray, n_groups: int, order: np.ndarray,
                         cust: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Per group the custom bounds of the sum as CSR (offsets, values): the first member's, or the
    intersection of all members' where they differ (flagged in the returned mask)."""
    reconciled = np.zeros(n_groups, dtype=bool)
    if not cust.any():
        return (np.zeros(n_groups + 1, np.int64), np.zeros(0)), reconciled
    rows = order[cust[order]]
    first_row = np.full(n_groups, -1, dtype=np.int64)
    first_row[gid[rows][::-1]] = rows[::-1]
    same = custom_bounds_equal(take(a, first_row[gid[rows]]), take(a, rows))
    has = first_row >= 0
    lens = np.zeros(n_groups, dtype=np.int64)
    lens[has] = np.diff(a.custom_offsets)[first_row[has]]
    off = _offsets(lens)
    src, _ = _gather(a.custom_offsets, first_row[has])
    dst, _ = _gather(off, np.flatnonzero(has))
    vals = np.empty(int(off[-1]))
    vals[dst] = a.custom_values[src]
    if same.all():
        return (off, vals), reconciled
    # Mismatched bounds: intersect, member by member (only the differing members of those groups).
    inter: dict[int, np.ndarray] = {}
    for pos in np.flatnonzero(~same).tolist():
        row = int(rows[pos])
        k = int(gid[row])
        cur = inter.get(k, vals[off[k]:off[k + 1]])
        inter[k] = _intersect(cur, a.custom_values[a.custom_offsets[row]:a.custom_offsets[row + 1]])
    groups = np.array(sorted(inter), dtype=np.int64)
    reconciled[groups] = True
    return _set_row_bounds(off, vals, groups, [inter[k] for k in groups.tolist()]), reconciled


def _merge_slow_groups(out: HistogramBatch, a: HistogramBatch, gid: np.ndarray, groups: np.ndarray,
                       order: np.ndarray) -> HistogramBatch:
    """Replace the rows of ``groups`` in ``out`` by a pairwise left fold of ``add`` (thresholds differ)."""
    ordered_g = gid[order]
    results = []
    for k in groups.tolist():
        members = order[ordered_g == k]
        acc = take(a, members[:1])
        for row in members[1:].tolist():
            acc, _ = add(acc, take(a, np.array([row])))
        results.append(acc)
    pieces = []
    prev = 0
    for k, res in zip(groups.tolist(), results, strict=True):
        if k > prev:
            pieces.append(take(out, np.arange(prev, k)))
        pieces.append(res)
        prev = k + 1
    if prev < len(out):
        pieces.append(take(out, np.arange(prev, len(out))))
    return concatenate(pieces)


# --------------------------------------------------------------------------- reset detection and equality


def detect_reset(prev: HistogramBatch, cur: HistogramBatch) -> np.ndarray:
    """Per row ``cur.DetectReset(prev)``: whether ``cur`` is a counter reset relative to ``prev``."""
    n = len(cur)
    hint = cur.hint
    decided = (hint == COUNTER_RESET) | (hint == NOT_COUNTER_RESET)
    reset = hint == COUNTER_RESET
    und = ~decided
    cc, pc = is_custom(cur), is_custom(prev)
    reset |= und & (cur.count < prev.count)
    reset |= und & cc & ~pc
    mism = und & cc & pc & ~custom_bounds_equal(cur, prev) & ~reset
    exp = und & ~cc
    reset |= exp & ((cur.schema > prev.schema) | (cur.zero_threshold < prev.zero_threshold))
    # From here on the remaining exponential rows have schema <= prev's and a threshold >= prev's.
    todo = und & ~reset & ~mism
    prev_zc = prev.zero_count.copy()
    widen = np.flatnonzero(todo & exp & (cur.zero_threshold != prev.zero_threshold))
    for k in widen.tolist():
        pp, cp = _row_side(prev.pos_offsets, prev.pos_index, prev.pos_count, k)
        pn, cn = _row_side(prev.neg_offsets, prev.neg_index, prev.neg_count, k)
        zc, thr = _zero_count_for_larger_threshold(int(prev.schema[k]), float(prev.zero_count[k]), pp, cp, pn,
                                                   cn, float(cur.zero_threshold[k]),
                                                   float(prev.zero_threshold[k]))
        if thr != cur.zero_threshold[k]:
            reset[k] = True
        prev_zc[k] = zc
    todo &= ~reset
    reset |= todo & exp & (cur.zero_count < prev_zc)
    todo &= ~reset
    if todo.any():
        target = np.where(cc, CUSTOM_BUCKETS_SCHEMA, cur.schema).astype(np.int64)
        rp = reduce_schema(prev, target)
        for side in ("pos", "neg"):
            reset |= todo & _bucket_decrease(rp, cur, side, todo, target)
    for k in np.flatnonzero(mism).tolist():
        reset[k] = _reset_mismatched_custom(prev, cur, k)
    return reset[:n]


def _bucket_decrease(prev: HistogramBatch, cur: HistogramBatch, side: str, todo: np.ndarray,
                     target: np.ndarray) -> np.ndarray:
    """Rows where a populated bucket of ``prev`` is missing in ``cur`` or has a larger count."""
    n = len(cur)
    off_p, idx_p, cnt_p = (getattr(prev, f"{side}_{x}") for x in ("offsets", "index", "count"))
    off_c, idx_c, cnt_c = (getattr(cur, f"{side}_{x}") for x in ("offsets", "index", "count"))
    rp, rc = bucket_rows(off_p), bucket_rows(off_c)
    thr = cur.zero_threshold
    custom = target == CUSTOM_BUCKETS_SCHEMA

    def visible(r: np.ndarray, idx: np.ndarray) -> np.ndarray:
        ok = todo[r]
        exp = ok & ~custom[r]
        if exp.any():
            ok[exp] = upper_bounds(idx[exp], target[r][exp]) > thr[r][exp]
        return ok

    vp = visible(rp, idx_p.astype(np.int64))
    vc = visible(rc, idx_c.astype(np.int64))
    kp = rp[vp] * (1 << 32) + (idx_p[vp].astype(np.int64) + (1 << 31))
    kc = rc[vc] * (1 << 32) + (idx_c[vc].astype(np.int64) + (1 << 31))
    cp, cc = cnt_p[vp], cnt_c[vc]
    pos = np.searchsorted(kc, kp)
    found = pos < kc.shape[0]
    found[found] = kc[pos[found]] == kp[found]
    cur_val = np.where(found, cc[np.minimum(pos, max(kc.shape[0] - 1, 0))] if kc.shape[0] else 0.0, 0.0)
    bad = np.where(found, cur_val < cp, cp != 0)
    out = np.zeros(n, dtype=bool)
    out[rp[vp][bad]] = True
    return out


def _reset_mismatched_custom(prev: HistogramBatch, cur: HistogramBatch, k: int) -> bool:
    """``detectResetWithMismatchedCustomBounds``: compare cumulative-by-bound sums at shared bounds."""
    cb = cur.custom_values[cur.custom_offsets[k]:cur.custom_offsets[k + 1]]
    pb = prev.custom_values[prev.custom_offsets[k]:prev.custom_offsets[k + 1]]
    inter = _intersect(cb, pb)
    shared = np.append(inter, np.inf)
    ci, cv = _row_side(cur.pos_offsets, cur.pos_index, cur.pos_count, k)
    pi, pv = _row_side(prev.pos_offsets, prev.pos_index, prev.pos_count, k)
    cur_sum = np.zeros(shared.shape[0])
    prev_sum = np.zeros(shared.shape[0])
    np.add.at(cur_sum, _map_custom(ci.astype(np.int64), cb, inter), cv)
    np.add.at(prev_sum, _map_custom(pi.astype(np.int64), pb, inter), pv)
    return bool(np.any(cur_sum < prev_sum))


def equal(a: HistogramBatch, b: HistogramBatch) -> np.ndarray:
    """Per row ``FloatHistogram.Equals``: same schema, bounds and bucket layout, bit-equal floats."""
    def bits(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)

    ok = (a.schema == b.schema) & (bits(a.count) == bits(b.count)) & (bits(a.sum) == bits(b.sum))
    cust = is_custom(a)
    ok &= ~cust | custom_bounds_equal(a, b)
    ok &= (a.zero_threshold == b.zero_threshold) & (bits(a.zero_count) == bits(b.zero_count))
    for side in ("pos", "neg"):
        oa, ob = getattr(a, f"{side}_offsets"), getattr(b, f"{side}_offsets")
        ok &= np.diff(oa) == np.diff(ob)
        rows = np.flatnonzero(ok)
        ga, off = _gather(oa, rows)
        gb, _ = _gather(ob, rows)
        diff = (getattr(a, f"{side}_index")[ga] != getattr(b, f"{side}_index")[gb]) | (
            bits(getattr(a, f"{side}_count")[ga]) != bits(getattr(b, f"{side}_count")[gb]))
        if diff.any():
            ok[rows[np.unique(bucket_rows(off)[diff])]] = False
    return ok
