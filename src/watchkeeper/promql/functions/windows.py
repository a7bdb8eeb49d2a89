"""A flat view of the (series, step) windows of a ``RangeWindows``.

Range functions work on all windows at once: each window is described by its
first sample ``lo`` and sample ``count`` in the flat ``t``/``v`` arrays, results
are computed per window (numpy expressions or the compiled loops in
``kernels``) and scattered back onto the (N, S) grid.
"""

from __future__ import annotations

import numpy as np

from ..values import RangeWindows

__all__ = ["WindowSet"]


class WindowSet:
    """The windows of a ``RangeWindows`` with at least ``min_count`` samples.

    ``flat`` are the selected windows' flat indices into the (N, S) grid;
    ``lo``/``last``/``count``/``step`` follow the same order.
    """

    def __init__(self, rw: RangeWindows, min_count: int = 1) -> None:
        counts = (rw.hi - rw.lo).astype(np.int64, copy=False).ravel()
        self.shape: tuple[int, int] = (int(rw.hi.shape[0]), int(rw.hi.shape[1]))
        selected = counts >= min_count
        if selected.all():
            flat = np.arange(counts.shape[0])
            c = counts
        else:
            flat = np.flatnonzero(selected)
            c = counts[flat]
        self.flat = flat
        self.count = c
        self.lo = rw.lo.ravel()[flat].astype(np.int64, copy=False)
        self.last = self.lo + self.count - 1
        num_steps = self.shape[1]
        self.step = flat % num_steps if num_steps else flat
        self.t = rw.t
        self.v = rw.v

    def __len__(self) -> int:
        return int(self.flat.shape[0])

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
