"""Lossless decimal-mantissa encoding of float64 sample values.

Most monitoring values are short decimals (``12345.67`` CPU seconds, ``0.5``
ratios, integers). For each value we find the smallest exponent ``e`` in
[MIN_EXP, MAX_EXP] such that ``m = rint(v * 10**e)`` decodes back to exactly
``v``; a series then uses the largest such exponent over its samples, so its
values are int64 mantissas ``m`` with ``v == decode(m, e)`` bit for bit. Samples
that do not fit (NaN, staleness markers, infinities, long binary fractions, or
mantissas beyond 2**53) are kept as raw float64 instead.

Negative exponents let round numbers such as byte counts in whole KiB-multiples
of 1000 shrink (``1.5e9`` is ``15`` with ``e = -8``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_EXP", "MAX_EXP", "decode", "encode", "series_exponents"]

MIN_EXP = -15
MAX_EXP = 17
_MAX_MANTISSA = float(2**53)
_POW10 = 10.0 ** np.arange(0, 23)  # exact powers of ten, looked up instead of computed per sample


def _scale(v: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    if np.ndim(e) == 0:
        return v * 10.0**e if e >= 0 else v / 10.0 ** (-e)
    e = np.asarray(e)
    p = _POW10[np.abs(e)]
    return np.where(e >= 0, v * p, v / p)


def decode(m: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    """Values from int64 mantissas and exponents (scalar or per sample)."""
    mf = m.astype(np.float64)
    if np.ndim(e) == 0:
        return mf / 10.0**e if e >= 0 else mf * 10.0 ** (-e)
    e = np.asarray(e)
    neg = e < 0
    p = _POW10[np.abs(e)]
    out = mf / p
    if neg.any():
        out[neg] = mf[neg] * p[neg]
    return out


def _fits(v: np.ndarray, e: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.rint(_scale(v, e))
        ok = np.abs(m) <= _MAX_MANTISSA
        mi = np.where(ok, m, 0).astype(np.int64)
        back = decode(mi, e)
        ok &= (back == v) & (np.signbit(back) == np.signbit(v))  # keeps -0.0 exact
    return ok, mi


def _minimal_exponents(v: np.ndarray) -> np.ndarray:
    """Per sample, the smallest exponent that fits (MIN_EXP - 1 where none does or v is 0)."""
    e_min = np.full(v.shape[0], MIN_EXP - 1, np.int8)
    finite = np.flatnonzero(np.isfinite(v))
    ok, m = _fits(v[finite], 0)
    ints, mi = finite[ok], m[ok]
    # Integers: e = -(trailing decimal zeros); zero constrains nothing.
    nz = mi != 0
    ints, mi = ints[nz], mi[nz]
    e_min[ints] = 0
    for k in range(1, -MIN_EXP + 1):
        div = mi % (10**k) == 0
        if not div.any():
            break
        ints, mi = ints[div], mi[div]
        # Dividing by 10**k is exact for these, but the decoded value must still match.
        fit, _ = _fits(v[ints], -k)
        e_min[ints[fit]] = -k
    rem = finite[~ok]
    for e in range(1, MAX_EXP + 1):
        if rem.size == 0:
            break
        fit, _ = _fits(v[rem], e)
        e_min[rem[fit]] = e
        rem = rem[~fit]
    return e_min


def _series_max(e_min: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = np.full(offsets.shape[0] - 1, MIN_EXP, np.int8)
    nonempty = np.flatnonzero(np.diff(offsets))
    if e_min.shape[0]:
        out[nonempty] = np.maximum(np.maximum.reduceat(e_min, offsets[nonempty]), MIN_EXP)
    return out


def series_exponents(v: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The exponent per series (int8): the largest per-sample minimal exponent among fitting samples."""
    return _series_max(_minimal_exponents(v), offsets)


def encode(
    v: np.ndarray, offsets: np.ndarray, *, stride: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(exponent per series, mantissa per sample, fits mask per sample)``.

    Where ``fits`` is False the mantissa is meaningless and the raw value must be kept.
    The exponents are estimated from every ``stride``-th sample; series where a finite
    sample then fails to fit get their exponent from all their samples. That gives the
    same exponents as a full scan (a sample that fits at e has minimal exponent <= e)
    at a fraction of the cost.
    """
    counts = np.diff(offsets)
    nser = counts.shape[0]
    sub = np.arange(0, v.shape[0], stride, dtype=np.int64)
    sub_series = np.searchsorted(offsets, sub, side="right") - 1
    est = np.full(nser, MIN_EXP - 1, np.int8)
    np.maximum.at(est, sub_series, _minimal_exponents(v[sub]))
    exps = np.maximum(est, MIN_EXP).astype(np.int8)
    per = np.repeat(exps, counts)
    ok, m = _fits(v, per)
    miss = ~ok & np.isfinite(v)
    if miss.any():
        row_series = np.repeat(np.arange(nser, dtype=np.int64), counts)
        redo = np.unique(row_series[miss])
        lens = counts[redo]
        ends = np.cumsum(lens)
        rows = np.arange(int(ends[-1]), dtype=np.int64) + np.repeat(offsets[redo] - (ends - lens), lens)
        sub_offsets = np.concatenate([[0], ends]).astype(np.int64)
        exps[redo] = _series_max(_minimal_exponents(v[rows]), sub_offsets)
        ok[rows], m[rows] = _fits(v[rows], np.repeat(exps[redo], lens))
    return exps, np.where(ok, m, 0), ok
