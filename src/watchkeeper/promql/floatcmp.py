"""Tolerant float equality, exactly as Prometheus' test harness defines it (``util/almost``).

Expected values in ``.test`` scripts are written with ~10 significant digits
and sequences like ``0+0.1x100`` accumulate rounding, so results are compared
with a relative tolerance. The relative error is divided by the *sum* of the
magnitudes, which makes the effective tolerance about 2e-6.
"""

from __future__ import annotations

import math
import struct
import sys

import numpy as np

from ..model.batch import STALE_NAN_BITS, is_stale

__all__ = ["EPSILON", "almost_equal", "almost_equal_arrays"]

EPSILON = 1e-6
_MIN_NORMAL = 2.2250738585072014e-308
_MAX_FLOAT = sys.float_info.max


def _is_stale(x: float) -> bool:
    return struct.unpack("<Q", struct.pack("<d", x))[0] == STALE_NAN_BITS


def almost_equal(a: float, b: float, epsilon: float = EPSILON) -> bool:
    """True if ``a`` and ``b`` are equal within ``epsilon`` (NaN equals NaN; stale only equals stale)."""
    if math.isnan(a) or math.isnan(b):
        if _is_stale(a) or _is_stale(b):
            return _is_stale(a) and _is_stale(b)
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    diff = abs(a - b)
    total = abs(a) + abs(b)
    if a == 0 or b == 0 or total < _MIN_NORMAL:
        return diff < epsilon * _MIN_NORMAL
    return diff / min(total, _MAX_FLOAT) < epsilon


def almost_equal_arrays(a: np.ndarray, b: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Element-wise ``almost_equal`` over two float64 arrays of the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    stale_a, stale_b = is_stale(a), is_stale(b)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    with np.errstate(all="ignore"):
        diff = np.abs(a - b)
        total = np.abs(a) + np.abs(b)
        tiny = (a == 0) | (b == 0) | (total < _MIN_NORMAL)
        rel = diff / np.minimum(total, _MAX_FLOAT)
        close = np.where(tiny, diff < epsilon * _MIN_NORMAL, rel < epsilon)
    result = (a == b) | close
    either_nan = nan_a | nan_b
    nan_result = np.where(stale_a | stale_b, stale_a & stale_b, nan_a & nan_b)
    return np.where(either_nan, nan_result, result)
