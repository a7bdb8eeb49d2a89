"""Native-histogram literals of the PromQL ``.test`` format (``{{schema:0 sum:1 buckets:[1 2]}}``).

A literal is one row of a ``HistogramBatch`` (the model storage and the engine
use), plus whether the literal spelled out its counter-reset hint, which
decides if the harness compares hints. ``{{A}}+{{B}}xK`` sequences are expanded
with ``histogram_ops.add``/``sub`` exactly as Prometheus' parser does, and
expected histograms are compared the way Prometheus' harness does: compacted
layouts equal, floats within the harness tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..model import histogram_ops as hops
from ..model.histogram import CUSTOM_BUCKETS_SCHEMA, HistogramBatch
from .floatcmp import almost_equal_arrays

__all__ = ["CUSTOM_BUCKETS_SCHEMA", "HINT_NAMES", "HistogramLiteral", "HistogramLiteralError",
           "parse_histogram_body", "histograms_equal", "batch_equal_tolerant", "format_histogram"]

# Prometheus' CounterResetHint values in order (UNKNOWN_RESET == 0 ... GAUGE_TYPE == 3).
HINT_NAMES = ("unknown", "reset", "not_reset", "gauge")
_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*:\s*(\[[^\]]*\]|[^\s\[\]]+)\s*")


class HistogramLiteralError(ValueError):
    """A histogram literal is malformed or two literals cannot be combined."""


def _empty_row() -> HistogramBatch:
    return hops.from_python([{}])


@dataclass(frozen=True, eq=False)
class HistogramLiteral:
    """One float histogram as a one-row ``HistogramBatch``; ``hint_set`` tells whether the
    literal spelled out ``counter_reset_hint`` (only then is the hint compared)."""

    batch: HistogramBatch = field(default_factory=_empty_row)
    hint_set: bool = False

    # Scalar views for messages and tests.
    @property
    def schema(self) -> int:
        return int(self.batch.schema[0])

    @property
    def sum(self) -> float:
        return float(self.batch.sum[0])

    @property
    def count(self) -> float:
        return float(self.batch.count[0])

    @property
    def zero_count(self) -> float:
        return float(self.batch.zero_count[0])

    @property
    def zero_threshold(self) -> float:
        return float(self.batch.zero_threshold[0])

    @property
    def positive(self) -> dict[int, float]:
        return dict(zip(self.batch.pos_index.tolist(), self.batch.pos_count.tolist(), strict=True))

    @property
    def negative(self) -> dict[int, float]:
        return dict(zip(self.batch.neg_index.tolist(), self.batch.neg_count.tolist(), strict=True))

    @property
    def custom_values(self) -> tuple[float, ...]:
        return tuple(self.batch.custom_values.tolist())

    @property
    def counter_reset_hint(self) -> str:
        return HINT_NAMES[int(self.batch.hint[0])]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HistogramLiteral):
            return NotImplemented
        return (self.hint_set == other.hint_set and self.counter_reset_hint == other.counter_reset_hint
                and bool(hops.equal(self.batch, other.batch)[0]))

    __hash__ = None  # type: ignore[assignment]

    def compact(self) -> HistogramLiteral:
        """Drop empty buckets: the layout Prometheus' ``Compact(0)`` leaves for comparison."""
        return HistogramLiteral(hops.compact(self.batch), self.hint_set)

    def combine(self, other: HistogramLiteral, sign: float) -> HistogramLiteral:
        """``self + other`` (sign 1) or ``self - other`` (sign -1), as the series parser expands sequences."""
        if self.schema > other.schema:
            raise HistogramLiteralError(
                f"error combining histograms: cannot merge from schema {other.schema} to {self.schema}")
        res, flags = (hops.add if sign > 0 else hops.sub)(self.batch, other.batch)
        if flags.incompatible[0]:
            raise HistogramLiteralError("cannot combine histograms with exponential and custom buckets")
        return HistogramLiteral(res, other.hint_set)

    def __str__(self) -> str:
        return format_histogram(self.batch, 0)


def _g(v: float) -> str:
    return f"{v:g}"


def format_histogram(batch: HistogramBatch, row: int) -> str:
    """Row ``row`` in the literal syntax (compacted, bucket maps spelled ``{index: count}``), for messages."""
    d = hops.to_python(hops.take(hops.compact(batch), np.array([row])))[0]
    parts = [f"schema:{d['schema']}", f"sum:{_g(d['sum'])}", f"count:{_g(d['count'])}"]  # type: ignore[arg-type]
    if d["zero_count"] or d["zero_threshold"]:
        parts += [f"z_bucket:{_g(d['zero_count'])}", f"z_bucket_w:{_g(d['zero_threshold'])}"]  # type: ignore[arg-type]
    for key, name in (("positive", "buckets"), ("negative", "n_buckets")):
        buckets: dict[int, float] = d[key]  # type: ignore[assignment]
        if buckets:
            parts.append(f"{name}:{{{', '.join(f'{i}: {_g(c)}' for i, c in sorted(buckets.items()))}}}")
    if d["custom_values"]:
        parts.append(f"custom_values:[{' '.join(_g(v) for v in d['custom_values'])}]")  # type: ignore[attr-defined]
    if d["hint"]:
        parts.append(f"counter_reset_hint:{HINT_NAMES[d['hint']]}")  # type: ignore[index]
    return "{{" + " ".join(parts) + "}}"


def _parse_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise HistogramLiteralError(f"invalid number {text!r} in histogram literal") from None


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise HistogramLiteralError(f"invalid integer {text!r} in histogram literal") from None


def _parse_list(text: str) -> list[float]:
    if not (text.startswith("[") and text.endswith("]")):
        raise HistogramLiteralError(f"expected a [list], got {text!r}")
    return [_parse_number(t) for t in text[1:-1].split()]


def parse_histogram_body(body: str) -> HistogramLiteral:
    """Parse the text between ``{{`` and ``}}``."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        m = _PAIR.match(body, pos)
        if m is None:
            raise HistogramLiteralError(f"invalid histogram literal near {body[pos:]!r}")
        key = m.group(1)
        if key in fields:
            raise HistogramLiteralError(f"duplicate key {key!r} in histogram literal")
        fields[key] = m.group(2)
        pos = m.end()
    d: dict[str, object] = {}
    offsets = {"offset": 0, "n_offset": 0}
    lists: dict[str, list[float]] = {}
    hint_set = False
    for key, raw in fields.items():
        if key == "schema":
            d["schema"] = _parse_int(raw)
        elif key in ("sum", "count"):
            d[key] = _parse_number(raw)
        elif key == "z_bucket":
            d["zero_count"] = _parse_number(raw)
        elif key == "z_bucket_w":
            d["zero_threshold"] = _parse_number(raw)
        elif key in offsets:
            offsets[key] = _parse_int(raw)
        elif key in ("buckets", "n_buckets", "custom_values"):
            lists[key] = _parse_list(raw)
        elif key == "counter_reset_hint":
            if raw not in HINT_NAMES:
                raise HistogramLiteralError(f"invalid counter_reset_hint {raw!r}")
            d["hint"] = HINT_NAMES.index(raw)
            hint_set = True
        else:
            raise HistogramLiteralError(f"unknown histogram key {key!r}")
    d["positive"] = {offsets["offset"] + k: c for k, c in enumerate(lists.get("buckets", []))}
    d["negative"] = {offsets["n_offset"] + k: c for k, c in enumerate(lists.get("n_buckets", []))}
    d["custom_values"] = lists.get("custom_values", [])
    return HistogramLiteral(hops.from_python([d]), hint_set)


def batch_equal_tolerant(expected: HistogramBatch, actual: HistogramBatch, compare_hint: np.ndarray
                         ) -> np.ndarray:
    """Row-wise harness comparison of two batches: compacted layouts equal, floats within tolerance,
    zero threshold exact, hints compared where ``compare_hint``."""
    e, a = hops.compact(expected), hops.compact(actual)
    ok = e.schema == a.schema
    ok &= almost_equal_arrays(e.count, a.count) & almost_equal_arrays(e.sum, a.sum)
    ok &= almost_equal_arrays(e.zero_count, a.zero_count)
    ok &= (e.zero_threshold == a.zero_threshold) | (np.isnan(e.zero_threshold) & np.isnan(a.zero_threshold))
    ok &= (e.schema != CUSTOM_BUCKETS_SCHEMA) | hops.custom_bounds_equal(e, a)
    ok &= ~np.asarray(compare_hint, dtype=bool) | (e.hint == a.hint)
    for side in ("pos", "neg"):
        oe, oa = getattr(e, f"{side}_offsets"), getattr(a, f"{side}_offsets")
        ok &= np.diff(oe) == np.diff(oa)
        rows = np.flatnonzero(ok)
        if rows.shape[0] == 0:
            break
        ge = hops.take(e, rows)
        ga = hops.take(a, rows)
        idx_e, idx_a = getattr(ge, f"{side}_index"), getattr(ga, f"{side}_index")
        cnt_ok = almost_equal_arrays(getattr(ge, f"{side}_count"), getattr(ga, f"{side}_count"))
        bad = (idx_e != idx_a) | ~cnt_ok
        if bad.any():
            ok[rows[np.unique(hops.bucket_rows(getattr(ge, f"{side}_offsets"))[bad])]] = False
    return ok


def histograms_equal(expected: HistogramLiteral, actual: HistogramLiteral) -> bool:
    """The harness' comparison: compacted layouts equal, floats within tolerance."""
    same = batch_equal_tolerant(expected.batch, actual.batch, np.array([expected.hint_set]))
    return bool(same[0])

