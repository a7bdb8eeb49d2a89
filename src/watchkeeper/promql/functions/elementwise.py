"""Element-wise math on instant vectors: abs, ceil, floor, exp, sqrt, logarithms, trigonometric
and hyperbolic functions, deg, rad, sgn, round, clamp, clamp_min, clamp_max.

All of them drop the metric name (delayed, via ``drop_name``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..values import InstantVectors
from .base import FuncCall

__all__ = ["FUNCTIONS", "map_values"]


def map_values(vec: InstantVectors, values: np.ndarray, present: np.ndarray | None = None) -> InstantVectors:
    """A vector with ``vec``'s series, new values, and the metric name marked for dropping."""
    return InstantVectors(list(vec.labels), values, vec.present if present is None else present,
                          np.ones(len(vec.labels), dtype=bool))


def _unary(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[FuncCall], InstantVectors]:
    def impl(call: FuncCall) -> InstantVectors:
        vec = call.vector(0)
        with np.errstate(all="ignore"):
            return map_values(vec, fn(vec.values))
    return impl


def _sgn(v: np.ndarray) -> np.ndarray:
    # Go returns the input for 0, -0 and NaN.
    return np.where(v < 0, -1.0, np.where(v > 0, 1.0, v))


def _round(call: FuncCall) -> InstantVectors:
    vec = call.vector(0)
    to_nearest = call.scalar(1) if len(call.args) > 1 else np.ones(call.num_steps)
    with np.errstate(all="ignore"):
        inverse = 1.0 / to_nearest
        values = np.floor(vec.values * inverse + 0.5) / inverse
    return map_values(vec, values)


def _clamp_between(call: FuncCall, lo: np.ndarray, hi: np.ndarray) -> InstantVectors:
    vec = call.vector(0)
    # Go's math.Max/Min propagate NaN, as do numpy's maximum/minimum.
    values = np.maximum(lo, np.minimum(hi, vec.values))
    present = vec.present & ~(hi < lo)[None, :]
    return map_values(vec, values, present)


def _clamp(call: FuncCall) -> InstantVectors:
    return _clamp_between(call, call.scalar(1), call.scalar(2))


def _clamp_min(call: FuncCall) -> InstantVectors:
    return _clamp_between(call, call.scalar(1), np.full(call.num_steps, np.inf))


def _clamp_max(call: FuncCall) -> InstantVectors:
    return _clamp_between(call, np.full(call.num_steps, -np.inf), call.scalar(1))


FUNCTIONS = {
    "abs": _unary(np.abs),
    "ceil": _unary(np.ceil),
    "floor": _unary(np.floor),
    "exp": _unary(np.exp),
    "sqrt": _unary(np.sqrt),
    "ln": _unary(np.log),
    "log2": _unary(np.log2),
    "log10": _unary(np.log10),
    "sin": _unary(np.sin),
    "cos": _unary(np.cos),
    "tan": _unary(np.tan),
    "asin": _unary(np.arcsin),
    "acos": _unary(np.arccos),
    "atan": _unary(np.arctan),
    "sinh": _unary(np.sinh),
    "cosh": _unary(np.cosh),
    "tanh": _unary(np.tanh),
    "asinh": _unary(np.arcsinh),
    "acosh": _unary(np.arccosh),
    "atanh": _unary(np.arctanh),
    "rad": _unary(lambda v: v * np.pi / 180),
    "deg": _unary(lambda v: v * 180 / np.pi),
    "sgn": _unary(_sgn),
    "round": _round,
    "clamp": _clamp,
    "clamp_min": _clamp_min,
    "clamp_max": _clamp_max,
}
