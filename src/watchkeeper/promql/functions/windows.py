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
    """The non-empty windows of a ``RangeWindows`` with at least ``min_count`` samples.

    ``flat`` are the selected windows' flat indices into the (N, S) grid, ordered
    by descending sample count; ``lo``/``count``/``step`` follow the same order.
    """

    def __init__(self, rw: RangeWindows, min_count: int = 1) -> None:
        counts = (rw.hi - rw.lo).astype(np.int64)
        self.shape: tuple[int, int] = (int(counts.shape[0]), int(counts.shape[1]))
        flat = np.flatnonzero(counts.ravel() >= min_count)
        c = counts.ravel()[flat]
        order = np.argsort(-c, kind="stable")
        self.flat = flat[order]
        self.count = c[order]
        self.lo = rw.lo.ravel()[self.flat].astype(np.int64)
        self.last = self.lo + self.count - 1
        num_steps = self.shape[1]
        self.series = self.flat // num_steps if num_steps else self.flat
        self.step = self.flat % num_steps if num_steps else self.flat
        self.t = rw.t
        self.v = rw.v

    def select(self, mask: np.ndarray) -> WindowSet:
        """The windows where ``mask`` (per window) is true, in the same order."""
        sub = object.__new__(WindowSet)
        sub.shape = self.shape
        for name in ("flat", "count", "lo", "last", "series", "step"):
            setattr(sub, name, getattr(self, name)[mask])
        sub.t = self.t
        sub.v = self.v
        return sub

    def __len__(self) -> int:
        return int(self.flat.shape[0])

    @property
    def max_count(self) -> int:
        return int(self.count[0]) if len(self) else 0

    def lockstep(self, start: int = 0) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(k, m, idx)`` for k = start, start+1, ...: the first ``m`` windows have a
        k-th sample, at flat sample indices ``idx`` (shape (m,))."""
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
