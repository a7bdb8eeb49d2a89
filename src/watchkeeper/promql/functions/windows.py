"""Vectorized iteration over the (series, step) windows of a ``RangeWindows``.

Prometheus computes range functions with sequential loops over each window
(Kahan sums, incremental means, regressions). To reproduce its floating point
results exactly while staying batch-shaped, ``WindowSet`` runs those loops in
lockstep over *all* windows at once: step k of every window's loop is one numpy
operation over the windows that have more than k samples. Windows are ordered
by sample count (longest first), so the active windows of step k are always a
prefix of the state arrays and the total work equals the number of samples
Prometheus would visit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..values import RangeWindows

__all__ = ["WindowSet", "kahan_inc"]


def kahan_inc(inc: np.ndarray, total: np.ndarray, comp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``kahansum.Inc`` (Neumaier's variant), element-wise. Returns (sum, compensation)."""
    t = total + inc
    big_sum = np.abs(total) >= np.abs(inc)
    new_comp = np.where(big_sum, comp + ((total - t) + inc), comp + ((inc - t) + total))
    new_comp = np.where(np.isinf(t), 0.0, new_comp)
    return t, new_comp


class WindowSet:
    """The windows of a ``RangeWindows`` with at least ``min_count`` samples.

    ``flat`` are the selected windows' flat indices into the (N, S) grid;
    ``lo``/``last``/``count``/``step`` follow the same order, which is by
    descending sample count when ``ordered`` (required for ``lockstep``).
    """

    def __init__(self, rw: RangeWindows, min_count: int = 1, ordered: bool = False) -> None:
        counts = (rw.hi - rw.lo).astype(np.int64, copy=False).ravel()
        self.shape: tuple[int, int] = (int(rw.hi.shape[0]), int(rw.hi.shape[1]))
        selected = counts >= min_count
        if selected.all():
            flat = np.arange(counts.shape[0])
            c = counts
        else:
            flat = np.flatnonzero(selected)
            c = counts[flat]
        if ordered:
            order = np.argsort(-c, kind="stable")
            flat, c = flat[order], c[order]
        self.ordered = ordered
        self.flat = flat
        self.count = c
        self.lo = rw.lo.ravel()[flat].astype(np.int64, copy=False)
        self.last = self.lo + self.count - 1
        num_steps = self.shape[1]
        self.step = flat % num_steps if num_steps else flat
        self.t = rw.t
        self.v = rw.v

    def take(self, indices: np.ndarray, ordered: bool = False) -> WindowSet:
        """The windows at ``indices`` (positions in this set), re-ordered by count if ``ordered``."""
        if ordered:
            indices = indices[np.argsort(-self.count[indices], kind="stable")]
        sub = object.__new__(WindowSet)
        sub.shape = self.shape
        sub.ordered = ordered or self.ordered
        for name in ("flat", "count", "lo", "last", "step"):
            setattr(sub, name, getattr(self, name)[indices])
        sub.t = self.t
        sub.v = self.v
        return sub

    def chunks(self, size: int = 1 << 15) -> Iterator[tuple[slice, WindowSet]]:
        """Consecutive blocks of windows (keeping order), so lockstep state stays cache-sized."""
        for start in range(0, len(self), size):
            part = slice(start, min(len(self), start + size))
            yield part, self.take(np.arange(part.start, part.stop))

    def __len__(self) -> int:
        return int(self.flat.shape[0])

    @property
    def max_count(self) -> int:
        return int(self.count[0]) if len(self) else 0

    def lockstep(self, start: int = 0) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(k, m, idx)`` for k = start, start+1, ...: the first ``m`` windows have a
        k-th sample, at flat sample indices ``idx`` (shape (m,)). Needs ``ordered=True``."""
        if not self.ordered:
            raise ValueError("lockstep iteration needs a WindowSet built with ordered=True")
        neg = -self.count
        for k in range(start, self.max_count):
            m = int(np.searchsorted(neg, -k, side="left"))
            yield k, m, self.lo[:m] + k

    def first_values(self) -> np.ndarray:
        return self.v[self.lo]

    def last_values(self) -> np.ndarray:
        return self.v[self.last]

    def scatter(self, values: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Place per-window ``values`` on the (N, S) grid; returns (values, present).

        ``mask`` (per window) leaves out windows without a result.
        """
        out = np.full(self.shape[0] * self.shape[1], np.nan)
        present = np.zeros(self.shape[0] * self.shape[1], dtype=bool)
        flat = self.flat if mask is None else self.flat[mask]
        vals = values if mask is None else values[mask]
        out[flat] = vals
        present[flat] = True
        return out.reshape(self.shape), present.reshape(self.shape)
