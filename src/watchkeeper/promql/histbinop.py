"""Binary operators on samples where either side is a native histogram (Prometheus' ``vectorElemBinop``).

Works on flat arrays of matched sample pairs: ``hl``/``hr`` give each side's row in
one combined ``HistogramBatch`` (-1 for a float). Allowed are histogram + - histogram,
histogram * float, float * histogram, histogram / float, and == / != between
histograms, and the trim operators ``</`` / ``>/`` with a histogram on the left and a float on
the right; every other combination drops the pair with an info annotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import histogram_ops as hops
from ..model.histogram import GAUGE_TYPE, HistogramBatch
from .histaggr import arith_annotations
from .histtrim import TRIM_OPS, trim
from .values import Annotations

__all__ = ["PairResult", "histogram_pairs", "combined"]

_COMPARISON = frozenset({"==", "!=", ">", "<", ">=", "<="})


@dataclass
class PairResult:
    """Outcome for the pairs that involve a histogram: ``keep``, float ``value`` (for ``bool``),
    and the result histogram's row in ``h`` (-1 when the result is a float)."""

    keep: np.ndarray
    value: np.ndarray
    h_row: np.ndarray
    h: HistogramBatch | None


def combined(a: HistogramBatch | None, b: HistogramBatch | None) -> tuple[HistogramBatch | None, int]:
    """One batch holding ``a``'s rows then ``b``'s, and the offset of ``b``'s rows."""
    if a is None:
        return b, 0
    if b is None:
        return a, 0
    return hops.concatenate([a, b]), len(a)


def _types(lhs_hist: bool, rhs_hist: bool) -> tuple[str, str]:
    return ("histogram" if lhs_hist else "float"), ("histogram" if rhs_hist else "float")


def histogram_pairs(op: str, fl: np.ndarray, fr: np.ndarray, hl: np.ndarray, hr: np.ndarray,
                    h: HistogramBatch, return_bool: bool, annotations: Annotations, pos: str) -> PairResult:
    """Evaluate ``op`` for pairs where ``hl >= 0`` or ``hr >= 0`` (the caller passes only those)."""
    n = fl.shape[0]
    keep = np.zeros(n, dtype=bool)
    value = np.zeros(n)
    h_row = np.full(n, -1, dtype=np.int64)
    parts: list[HistogramBatch] = []
    base = 0

    def emit(idx: np.ndarray, batch: HistogramBatch) -> None:
        nonlocal base
        parts.append(batch)
        h_row[idx] = base + np.arange(idx.shape[0])
        keep[idx] = True
        base += idx.shape[0]

    lh, rh = hl >= 0, hr >= 0
    both, only_l, only_r = lh & rh, lh & ~rh, ~lh & rh
    incompatible = np.zeros(n, dtype=bool)
    if op == "*":
        idx = np.flatnonzero(only_l)
        if idx.size:
            emit(idx, hops.compact(hops.scale(hops.take(h, hl[idx]), fr[idx])))
        idx = np.flatnonzero(only_r)
        if idx.size:
            emit(idx, hops.compact(hops.scale(hops.take(h, hr[idx]), fl[idx])))
        incompatible |= both
    elif op == "/":
        idx = np.flatnonzero(only_l)
        if idx.size:
            emit(idx, hops.compact(hops.divide(hops.take(h, hl[idx]), fr[idx])))
        incompatible |= both | only_r
    elif op in ("+", "-"):
        idx = np.flatnonzero(both)
        if idx.size:
            fn = hops.add if op == "+" else hops.sub
            res, flags = fn(hops.take(h, hl[idx]), hops.take(h, hr[idx]))
            name = "addition" if op == "+" else "subtraction"
            bad = flags.incompatible.copy()
            if bad.any():
                annotations.warn("PromQL warning: incompatible bucket layout encountered for binary "
                                 f"operator {op}{pos}")
            flags.incompatible[:] = False
            arith_annotations(flags, annotations, pos, name)
            good = np.flatnonzero(~bad)
            if good.size:
                out = hops.compact(hops.take(res, good))
                emit(idx[good], hops.with_hint(out, GAUGE_TYPE) if op == "-" else out)
        incompatible |= only_l | only_r
    elif op in TRIM_OPS:
        idx = np.flatnonzero(only_l)
        if idx.size:
            emit(idx, trim(hops.take(h, hl[idx]), fr[idx], keep_below=op == "</"))
        incompatible |= both | only_r
    elif op in ("==", "!="):
        idx = np.flatnonzero(both)
        if idx.size:
            eq = hops.equal(hops.compact(hops.take(h, hl[idx])), hops.compact(hops.take(h, hr[idx])))
            hit = eq if op == "==" else ~eq
            if return_bool:
                keep[idx] = True
                value[idx] = hit.astype(np.float64)
            else:
                sel = idx[hit]
                if sel.size:
                    emit(sel, hops.take(h, hl[sel]))
        incompatible |= only_l | only_r
    else:
        incompatible |= np.ones(n, dtype=bool)
    for lhs_hist, rhs_hist in ((True, True), (True, False), (False, True)):
        sel = incompatible & (lh == lhs_hist) & (rh == rhs_hist)
        if sel.any():
            lt, rt = _types(lhs_hist, rhs_hist)
            annotations.info("PromQL info: incompatible sample types encountered for binary operator "
                             f'"{op}": {lt} {op} {rt}{pos}')
    if return_bool and op in _COMPARISON:
        h_row[:] = -1
    out_h = hops.concatenate(parts) if parts else None
    return PairResult(keep, value, h_row, out_h)
