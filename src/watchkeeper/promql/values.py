"""Values the engine passes between nodes, batch-shaped over all series and steps.

A query is evaluated for S steps at once (S = 1 for an instant query). Every
value covers all steps, so operators and functions work on whole numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.histogram import HistogramBatch
from ..model.labels import Labels

__all__ = ["Scalar", "String", "InstantVectors", "RangeWindows", "Value", "Annotations"]


@dataclass
class Scalar:
    """One float per step: ``values`` has shape (S,)."""

    values: np.ndarray


@dataclass
class String:
    value: str


@dataclass
class InstantVectors:
    """An instant vector at every step: series i at step j is ``values[i, j]`` if ``present[i, j]``.

    ``drop_name[i]`` marks series whose ``__name__`` must be removed when the
    result leaves the engine (Prometheus 3's delayed name removal).
    """

    labels: list[Labels]
    values: np.ndarray  # float64 (N, S)
    present: np.ndarray  # bool (N, S)
    drop_name: np.ndarray | None = None  # bool (N,) or None for all False
    # Sample timestamps (ms), set only when the vector comes straight from a
    # vector selector, so that ``timestamp()`` can report them.
    timestamps: np.ndarray | None = None  # int64 (N, S)
    # Native histograms: where ``h_index[i, j] >= 0`` the sample is row
    # ``h_index[i, j]`` of ``h`` (``present`` True, ``values`` NaN there).
    h: HistogramBatch | None = None
    h_index: np.ndarray | None = None  # int64 (N, S)

    @property
    def num_steps(self) -> int:
        return int(self.values.shape[1])

    def drop_name_mask(self) -> np.ndarray:
        if self.drop_name is None:
            return np.zeros(len(self.labels), dtype=bool)
        return self.drop_name


@dataclass
class RangeWindows:
    """A range vector (matrix selector or subquery) evaluated at every step.

    Samples of series i are ``t[offsets[i]:offsets[i+1]]`` / ``v[...]`` (staleness
    markers already removed, timestamps increasing). The window of series i at
    step j is the slice ``lo[i, j]:hi[i, j]`` of the flat arrays: the samples with
    ``eval_t[j] - range_ms < t <= eval_t[j]``, where ``eval_t`` already includes
    offset and ``@``.
    """

    labels: list[Labels]
    t: np.ndarray  # int64 (M,)
    v: np.ndarray  # float64 (M,)
    offsets: np.ndarray  # int64 (N + 1,)
    lo: np.ndarray  # int64 (N, S)
    hi: np.ndarray  # int64 (N, S)
    eval_t: np.ndarray  # int64 (S,) window end per step (ms)
    range_ms: int
    drop_name: np.ndarray | None = None
    # Native histograms: sample k is row ``h_index[k]`` of ``h`` when >= 0.
    h: HistogramBatch | None = None
    h_index: np.ndarray | None = None  # int64 (M,)


Value = Scalar | String | InstantVectors | RangeWindows


@dataclass
class Annotations:
    """Warnings and infos collected during evaluation (Prometheus' annotations)."""

    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)

    def warn(self, msg: str) -> None:
        if msg not in self.warnings:
            self.warnings.append(msg)

    def info(self, msg: str) -> None:
        if msg not in self.infos:
            self.infos.append(msg)
