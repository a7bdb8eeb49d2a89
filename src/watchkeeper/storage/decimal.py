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


def _scale(v: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    e = np.asarray(e)
    p = 10.0 ** np.abs(e)
    return np.where(e >= 0, v * p, v / p)


def decode(m: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    """Values from int64 mantissas and exponents (scalar or per sample)."""
    e = np.asarray(e)
    mf = m.astype(np.float64)
    p = 10.0 ** np.abs(e)
    return np.where(e >= 0, mf / p, mf * p)


def _fits(v: np.ndarray, e: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.rint(_scale(v, e))
        ok = np.abs(m) <= _MAX_MANTISSA
        mi = np.where(ok, m, 0).astype(np.int64)
        back = decode(mi, e)
        ok &= (back == v) & (np.signbit(back) == np.signbit(v))  # keeps -0.0 exact
    return ok, mi


def series_exponents(v: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The exponent per series (int8): the largest per-sample minimal exponent among fitting samples."""
    n = v.shape[0]
    e_min = np.full(n, MIN_EXP - 1, np.int8)  # below every real exponent: "does not constrain"
    rem = np.flatnonzero(np.isfinite(v))
    for e in range(MIN_EXP, MAX_EXP + 1):
        if rem.size == 0:
            break
        ok, _ = _fits(v[rem], e)
        e_min[rem[ok]] = e
        rem = rem[~ok]
    nser = offsets.shape[0] - 1
    out = np.full(nser, 0, np.int8)
    counts = np.diff(offsets)
    nonempty = np.flatnonzero(counts)
    if n:
        per = np.maximum.reduceat(e_min, offsets[nonempty])
        out[nonempty] = np.maximum(per, MIN_EXP)
    return out


def encode(v: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(exponent per series, mantissa per sample, fits mask per sample)``.

    Where ``fits`` is False the mantissa is meaningless and the raw value must be kept.
    """
    exps = series_exponents(v, offsets)
    per_sample = np.repeat(exps, np.diff(offsets)).astype(np.int64)
    ok, m = _fits(v, per_sample)
    return exps, np.where(ok, m, 0), ok
