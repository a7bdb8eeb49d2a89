"""``limit_ratio``: keep a deterministic, label-hash-selected fraction of every group.

A series' place on [0, 1) is its label-set hash divided by 2^64, so the same series
is kept at every step and ``limit_ratio(r)`` and ``limit_ratio(r - 1)`` are exact
complements (Prometheus' ``HashRatioSampler``).
"""

from __future__ import annotations

import numpy as np

from ..model.labels import Labels
from .errors import ExecutionError
from .format import go_g
from .values import Annotations, InstantVectors

__all__ = ["limit_ratio", "ratio_offset", "xxhash64"]


_P1, _P2, _P3 = 11400714785074694791, 14029467366897019727, 1609587929392839161
_P4, _P5 = 9650029242287828579, 2870177450012600261
_MASK = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _MASK, 31) * _P1) & _MASK


def xxhash64(data: bytes) -> int:
    """XXH64 with seed 0, the hash Prometheus uses for label sets (one call per series)."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(_P1 + _P2) & _MASK, _P2, 0, (-_P1) & _MASK]
        while i + 32 <= n:
            for j in range(4):
                v[j] = _round(v[j], int.from_bytes(data[i + 8 * j:i + 8 * j + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _MASK
        for lane in v:
            h = ((h ^ _round(0, lane)) * _P1 + _P4) & _MASK
    else:
        h = _P5
    h = (h + n) & _MASK
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _MASK
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _MASK
        h = (_rotl(h, 23) * _P2 + _P3) & _MASK
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _MASK
        h = (_rotl(h, 11) * _P1) & _MASK
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _MASK
    h ^= h >> 29
    h = (h * _P3) & _MASK
    return h ^ (h >> 32)


def ratio_offset(labels: Labels) -> float:
    """The series' position on [0, 1): its label-set hash (``name\\xffvalue\\xff...``) over 2^64 - 1."""
    data = b"".join(k.encode() + b"\xff" + v.encode() + b"\xff" for k, v in labels.items)
    return xxhash64(data) / 18446744073709551615.0


def limit_ratio(vec: InstantVectors, grouping: list[str], without: bool, ratio: np.ndarray,
                annotations: Annotations, param_pos: str) -> InstantVectors:
    del grouping, without  # every series is decided on its own; grouping does not change the outcome
    steps = vec.num_steps
    if ratio.size == 0 or (float(ratio.max()) == 0 and float(ratio.min()) == 0):
        return InstantVectors([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))
    if np.isnan(ratio).any():
        raise ExecutionError("Ratio value is NaN")
    if float(ratio.max()) > 1.0:
        annotations.warn("PromQL warning: ratio value should be between -1 and 1, "
                         f"got {go_g(float(ratio.max()))}, capping to 1{param_pos}")
    if float(ratio.min()) < -1.0:
        annotations.warn("PromQL warning: ratio value should be between -1 and 1, "
                         f"got {go_g(float(ratio.min()))}, capping to -1{param_pos}")
    r = np.clip(ratio, -1.0, 1.0)[None, :]
    offs = np.array([ratio_offset(lbl) for lbl in vec.labels], dtype=np.float64)[:, None]
    take = ((r >= 0) & (offs < r)) | ((r < 0) & (offs >= 1.0 + r))
    present = vec.present & take
    rows = np.flatnonzero(present.any(axis=1))
    out = InstantVectors([vec.labels[i] for i in rows], vec.values[rows], present[rows],
                         drop_name=vec.drop_name_mask()[rows])
    if vec.h is not None and vec.h_index is not None:
        out.h, out.h_index = vec.h, np.where(present[rows], vec.h_index[rows], -1)
    return out
