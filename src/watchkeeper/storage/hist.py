"""Native-histogram samples inside storage's float columns.

Storage moves samples as ``(series, t, v)`` float arrays everywhere (head runs,
append buffer, merges, block values). A histogram sample travels through all of
that unchanged as a *tagged NaN* in ``v``: a quiet NaN whose top 16 bits are
``0x7FFC`` and whose low 48 bits are the row of the histogram in a pool (the
head's ``HistogramPool``, a block's histogram file, or a batch being merged).
Sorting, de-duplication (last write wins) and slicing therefore treat float and
histogram samples alike, and float-only data never pays for histograms: code
looks for tags only where a pool exists.

At the storage boundary (``select``) tags are turned into the public form of
``SeriesSet``: ``h`` holds the histograms, ``h_index`` their rows, ``v`` a plain
NaN. A float NaN that an ingest path hands in with the tag's bit pattern is
replaced by Prometheus' ordinary NaN on append so that it cannot be mistaken
for a histogram.
"""

from __future__ import annotations

import numpy as np

from ..model.batch import SeriesSet
from ..model.histogram import HistogramBatch
from ..model.histogram_ops import take
from .index import GrowArray

__all__ = ["HistogramPool", "NORMAL_NAN", "canonicalize_nans", "is_tagged", "resolve", "tag", "tagged_rows",
           "to_tagged", "validate"]

_TAG_TOP = 0x7FFC
_TAG = np.uint64(_TAG_TOP << 48)
_REF_MASK = np.uint64((1 << 48) - 1)
NORMAL_NAN_BITS = 0x7FF8000000000001  # the NaN Prometheus writes for float NaN samples
_BUCKET_COLUMNS = (("pos_offsets", ("pos_index", "pos_count")), ("neg_offsets", ("neg_index", "neg_count")),
                   ("custom_offsets", ("custom_values",)))
NORMAL_NAN: float = np.array([NORMAL_NAN_BITS], np.uint64).view(np.float64)[0]


def is_tagged(v: np.ndarray) -> np.ndarray:
    """Mask of histogram tags in a float64 array."""
    return (np.ascontiguousarray(v, np.float64).view(np.uint64) >> np.uint64(48)) == _TAG_TOP


def tag(rows: np.ndarray) -> np.ndarray:
    """Tagged NaNs referring to pool rows ``rows``."""
    return (rows.astype(np.uint64) | _TAG).view(np.float64)


def tagged_rows(v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pool rows of the tagged values ``v[mask]``."""
    return (np.ascontiguousarray(v[mask], np.float64).view(np.uint64) & _REF_MASK).astype(np.int64)


def canonicalize_nans(v: np.ndarray) -> np.ndarray:
    """``v`` with float NaNs that look like tags replaced by the ordinary NaN (copies only then)."""
    mask = is_tagged(v)
    if not mask.any():
        return v
    v = v.copy()
    v[mask] = NORMAL_NAN
    return v


def validate(h: HistogramBatch) -> str | None:
    """Why ``h`` is not a well-formed batch (None if it is): storage keeps no broken offsets."""
    m = len(h)
    for name in ("count", "sum", "zero_count", "zero_threshold", "hint"):
        if getattr(h, name).shape != (m,):
            return f"histogram column {name} has {getattr(h, name).shape[0]} rows, want {m}"
    for off, cols in _BUCKET_COLUMNS:
        o = getattr(h, off)
        if o.shape != (m + 1,) or (m and (np.diff(o) < 0).any()):
            return f"histogram {off} is not a valid offsets array for {m} histograms"
        for c in cols:
            if getattr(h, c).shape[0] < int(o[-1]):
                return f"histogram column {c} is shorter than its offsets say"
    return None


class HistogramPool:
    """Append-only columnar histogram store (the head's): rows are referenced by tags.

    Like ``GrowArray``, a ``view`` taken earlier stays valid while rows are appended, so a
    query snapshot can read it without the head's lock.
    """

    def __init__(self) -> None:
        self._scalars = {n: GrowArray(d, 64) for n, d in (
            ("schema", np.int8), ("count", np.float64), ("sum", np.float64), ("zero_count", np.float64),
            ("zero_threshold", np.float64), ("hint", np.uint8))}
        self._offsets = {n: GrowArray(np.int64, 64) for n in ("pos_offsets", "neg_offsets", "custom_offsets")}
        for o in self._offsets.values():
            o.append(0)
        self._cols = {n: GrowArray(d, 256) for n, d in (
            ("pos_index", np.int32), ("pos_count", np.float64), ("neg_index", np.int32),
            ("neg_count", np.float64), ("custom_values", np.float64))}

    def __len__(self) -> int:
        return len(self._scalars["schema"])

    def extend(self, h: HistogramBatch) -> np.ndarray:
        """Append ``h``; returns the pool rows it got."""
        first = len(self)
        for name, arr in self._scalars.items():
            arr.extend(getattr(h, name))
        for off, cols in _BUCKET_COLUMNS:
            o = getattr(h, off)
            base = int(self._offsets[off].view()[-1])
            self._offsets[off].extend(o[1:] - o[0] + base)
            for c in cols:
                self._cols[c].extend(getattr(h, c)[int(o[0]):int(o[-1])])
        return np.arange(first, len(self), dtype=np.int64)

    def view(self) -> HistogramBatch:
        """The rows stored so far (views, not copies)."""
        return HistogramBatch(**{n: a.view() for n, a in self._scalars.items()},
                              **{n: a.view() for n, a in self._offsets.items()},
                              **{n: a.view() for n, a in self._cols.items()})


def resolve(ss: SeriesSet, pool: HistogramBatch) -> SeriesSet:
    """``ss`` (values possibly tagged with rows of ``pool``) in public form: h/h_index set
    when it holds histograms, tags replaced by NaN."""
    mask = is_tagged(ss.v)
    if not mask.any():
        return ss
    rows = tagged_rows(ss.v, mask)
    h_index = np.full(ss.v.shape[0], -1, np.int64)
    h_index[mask] = np.arange(rows.shape[0], dtype=np.int64)
    v = ss.v.copy()
    v[mask] = NORMAL_NAN
    return SeriesSet(ss.labels, ss.offsets, ss.t, v, take(pool, rows), h_index)


def to_tagged(v: np.ndarray, h_index: np.ndarray | None, base: int) -> np.ndarray:
    """Values with histogram samples (``h_index >= 0``) tagged as pool rows ``base + h_index``."""
    if h_index is None:
        return v
    mask = h_index >= 0
    if not mask.any():
        return v
    out = v.copy()
    out[mask] = tag(h_index[mask] + base)
    return out
