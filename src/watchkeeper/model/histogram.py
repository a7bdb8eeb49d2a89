"""Native histograms, columnar: many float histograms in one set of numpy arrays.

Prometheus' native histograms (exponential buckets, schema -4..8, and custom
buckets, schema -53) are variable-length values. Storage, ingest and the query
engine move them as a ``HistogramBatch``: per-histogram scalars in arrays of
length M and the buckets of all histograms in CSR form, so operations over many
histograms (adding, scaling, schema reduction, quantiles) are numpy operations,
never a Python object per histogram.

Bucket indices are absolute (Prometheus' spans and deltas already resolved):
for an exponential schema ``s`` positive bucket ``i`` covers
``(base**(i-1), base**i]`` with ``base = 2**(2**-s)``; negative bucket ``i``
covers the mirror image. For custom buckets (schema -53) positive bucket ``i``
(0-based) covers ``(custom_values[i-1], custom_values[i]]`` of that histogram,
bucket 0 starting at -Inf and the last one (index len(custom_values)) ending at
+Inf. Within one histogram indices are strictly increasing; zero-count buckets
may be present (they are kept, as Prometheus keeps them, until compaction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HistogramBatch", "CUSTOM_BUCKETS_SCHEMA", "UNKNOWN_RESET", "COUNTER_RESET", "NOT_COUNTER_RESET",
           "GAUGE_TYPE"]

CUSTOM_BUCKETS_SCHEMA = -53

# Prometheus' CounterResetHint values.
UNKNOWN_RESET = 0
COUNTER_RESET = 1
NOT_COUNTER_RESET = 2
GAUGE_TYPE = 3


@dataclass
class HistogramBatch:
    """M float histograms. Row ``k`` has scalars ``schema[k]`` … ``hint[k]`` and buckets
    ``pos_index[pos_offsets[k]:pos_offsets[k+1]]`` / ``pos_count[...]`` (same for ``neg_*``),
    custom bounds ``custom_values[custom_offsets[k]:custom_offsets[k+1]]`` (empty unless schema -53).
    """

    schema: np.ndarray  # int8 (M,)
    count: np.ndarray  # float64 (M,)
    sum: np.ndarray  # float64 (M,)
    zero_count: np.ndarray  # float64 (M,)
    zero_threshold: np.ndarray  # float64 (M,)
    hint: np.ndarray  # uint8 (M,) one of the *_RESET / GAUGE_TYPE constants
    pos_offsets: np.ndarray  # int64 (M + 1,)
    pos_index: np.ndarray  # int32 (P,)
    pos_count: np.ndarray  # float64 (P,)
    neg_offsets: np.ndarray  # int64 (M + 1,)
    neg_index: np.ndarray  # int32 (Q,)
    neg_count: np.ndarray  # float64 (Q,)
    custom_offsets: np.ndarray  # int64 (M + 1,)
    custom_values: np.ndarray  # float64 (C,)

    def __len__(self) -> int:
        return int(self.schema.shape[0])

    @classmethod
    def empty(cls) -> HistogramBatch:
        z64 = np.zeros(1, np.int64)
        return cls(np.zeros(0, np.int8), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0),
                   np.zeros(0, np.uint8), z64, np.zeros(0, np.int32), np.zeros(0), z64.copy(),
                   np.zeros(0, np.int32), np.zeros(0), z64.copy(), np.zeros(0))
