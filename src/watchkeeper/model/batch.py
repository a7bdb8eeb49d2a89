"""Columnar sample data shared by storage, ingest and the query engine.

Everything that moves many samples moves them as numpy arrays, never as one
Python object per sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .histogram import HistogramBatch
from .labels import Labels

__all__ = ["STALE_NAN", "STALE_NAN_BITS", "SeriesSet", "SampleBatch", "is_stale"]

# Prometheus' staleness marker: a NaN with a specific payload.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale(values: np.ndarray) -> np.ndarray:
    """Boolean mask of staleness markers in a float64 array (compares bit patterns)."""
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) == STALE_NAN_BITS


@dataclass
class SampleBatch:
    """Samples to append: ``labels[series[i]]`` has value ``v[i]`` at ``t[i]`` (ms).

    ``series`` indexes into ``labels``; several samples may share a series.
    Native-histogram samples have ``h_index[i] >= 0`` (their row in ``h``) and
    ``v[i]`` NaN; float samples have ``h_index[i] == -1``. Both are None when the
    batch holds floats only.
    """

    labels: list[Labels]
    series: np.ndarray  # int64 (n,)
    t: np.ndarray  # int64 (n,) milliseconds since epoch
    v: np.ndarray  # float64 (n,)
    h: HistogramBatch | None = None
    h_index: np.ndarray | None = None  # int64 (n,)

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass
class SeriesSet:
    """Many series in CSR form: series ``i`` owns ``t[offsets[i]:offsets[i+1]]``.

    Within a series timestamps are strictly increasing. Values may contain
    staleness markers (see ``is_stale``). ``labels`` is sorted. Native-histogram
    samples are marked as in ``SampleBatch`` (``h_index >= 0``, row in ``h``);
    a staleness marker is always a float sample.
    """

    labels: list[Labels]
    offsets: np.ndarray  # int64 (n_series + 1,)
    t: np.ndarray  # int64 (n_samples,)
    v: np.ndarray  # float64 (n_samples,)
    h: HistogramBatch | None = None
    h_index: np.ndarray | None = None  # int64 (n_samples,)

    @classmethod
    def empty(cls) -> SeriesSet:
        return cls([], np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def __len__(self) -> int:
        return len(self.labels)

    def series(self, i: int) -> tuple[Labels, np.ndarray, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.labels[i], self.t[a:b], self.v[a:b]
