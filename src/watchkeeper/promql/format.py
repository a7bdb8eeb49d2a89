"""Float formatting exactly as Prometheus prints sample values.

Prometheus' JSON API and ``count_values`` use Go's ``strconv.FormatFloat(f, 'f', -1, 64)``:
the shortest decimal digits that round-trip, written without an exponent
(``1e+06`` prints as ``1000000``), and ``+Inf`` / ``-Inf`` / ``NaN`` for specials.
Python's ``repr`` yields the same shortest digits, so only the notation differs.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

__all__ = ["format_float", "format_floats"]


def format_float(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    s = repr(float(v))
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def format_floats(values: np.ndarray) -> list[str]:
    """``format_float`` for every element, formatting each distinct value once."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        return []
    uniq, inverse = np.unique(arr, return_inverse=True)
    texts = [format_float(float(u)) for u in uniq]
    return [texts[i] for i in inverse.ravel()]


def go_g(v: float) -> str:
    """Go's ``%g`` verb for a float64: shortest digits, exponent form when the
    decimal exponent is below -4 or at least 6 (``1e+06``, ``1.5e-05``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    mantissa, _, exp = format(Decimal(repr(float(v))), "e").partition("e")
    e = int(exp)
    if -4 <= e < 6:
        return format_float(v)
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{'-' if e < 0 else '+'}{abs(e):02d}"
