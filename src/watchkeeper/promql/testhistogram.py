"""Native-histogram literals of the PromQL ``.test`` format (``{{schema:0 sum:1 buckets:[1 2]}}``).

The script runner needs a small, exact model of these literals: it parses them
from load and expected lines, expands ``{{A}}+{{B}}xK`` sequences by histogram
addition, and compares expected against actual histograms the way Prometheus'
harness does (compacted layout, tolerant float comparison). Buckets are kept as
``{index: count}`` maps, which makes span merging and compaction trivial.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

from .floatcmp import almost_equal

__all__ = ["CUSTOM_BUCKETS_SCHEMA", "HistogramLiteral", "HistogramLiteralError", "parse_histogram_body",
           "histograms_equal"]

CUSTOM_BUCKETS_SCHEMA = -53
_HINTS = ("unknown", "reset", "not_reset", "gauge")
_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*:\s*(\[[^\]]*\]|[^\s\[\]]+)\s*")


class HistogramLiteralError(ValueError):
    """A histogram literal is malformed or two literals cannot be combined."""


@dataclass(frozen=True)
class HistogramLiteral:
    """One float histogram. ``positive``/``negative`` map bucket index to count."""

    schema: int = 0
    sum: float = 0.0
    count: float = 0.0
    zero_count: float = 0.0
    zero_threshold: float = 0.0
    positive: dict[int, float] = field(default_factory=dict)
    negative: dict[int, float] = field(default_factory=dict)
    custom_values: tuple[float, ...] = ()
    counter_reset_hint: str = "unknown"
    # Whether the literal spelled ``counter_reset_hint`` out; only then is the hint compared.
    hint_set: bool = False

    def compact(self) -> HistogramLiteral:
        """Drop empty buckets: the layout Prometheus' ``Compact(0)`` leaves for comparison."""
        return replace(self, positive={i: c for i, c in self.positive.items() if c != 0},
                       negative={i: c for i, c in self.negative.items() if c != 0})

    def combine(self, other: HistogramLiteral, sign: float) -> HistogramLiteral:
        """``self + sign*other`` bucket by bucket; ``other`` is reduced to ``self``'s resolution."""
        if self.schema == CUSTOM_BUCKETS_SCHEMA or other.schema == CUSTOM_BUCKETS_SCHEMA:
            if self.schema != other.schema or self.custom_values != other.custom_values:
                raise HistogramLiteralError("cannot combine histograms with different custom buckets")
        elif self.schema > other.schema:
            raise HistogramLiteralError(
                f"cannot add histogram with schema {other.schema} to one with higher schema {self.schema}")
        shift = 0 if self.schema == CUSTOM_BUCKETS_SCHEMA else other.schema - self.schema
        return replace(
            self,
            sum=self.sum + sign * other.sum,
            count=self.count + sign * other.count,
            zero_count=self.zero_count + sign * other.zero_count,
            zero_threshold=max(self.zero_threshold, other.zero_threshold),
            positive=_add_buckets(self.positive, other.positive, shift, sign),
            negative=_add_buckets(self.negative, other.negative, shift, sign),
            counter_reset_hint=other.counter_reset_hint,
            hint_set=other.hint_set,
        )

    def __str__(self) -> str:
        parts = [f"schema:{self.schema}", f"sum:{self.sum:g}", f"count:{self.count:g}"]
        if self.zero_count or self.zero_threshold:
            parts += [f"z_bucket:{self.zero_count:g}", f"z_bucket_w:{self.zero_threshold:g}"]
        for key, buckets in (("buckets", self.positive), ("n_buckets", self.negative)):
            if buckets:
                parts.append(f"{key}:{{{', '.join(f'{i}: {c:g}' for i, c in sorted(buckets.items()))}}}")
        if self.custom_values:
            parts.append(f"custom_values:[{' '.join(f'{v:g}' for v in self.custom_values)}]")
        if self.counter_reset_hint != "unknown":
            parts.append(f"counter_reset_hint:{self.counter_reset_hint}")
        return "{{" + " ".join(parts) + "}}"


def _reduce_index(index: int, shift: int) -> int:
    """Bucket index at a resolution ``shift`` schema steps coarser (Prometheus' ``targetIdx``)."""
    return ((index - 1) >> shift) + 1 if shift > 0 else index


def _add_buckets(a: dict[int, float], b: dict[int, float], shift: int, sign: float) -> dict[int, float]:
    out = dict(a)
    for i, c in b.items():
        j = _reduce_index(i, shift)
        out[j] = out.get(j, 0.0) + sign * c
    return out


def _parse_number(text: str) -> float:
    low = text.lower().lstrip("+-")
    if low in ("inf", "nan"):
        return float(text)
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
    kw: dict[str, object] = {}
    offsets = {"offset": 0, "n_offset": 0}
    lists: dict[str, list[float]] = {}
    for key, raw in fields.items():
        if key == "schema":
            kw["schema"] = _parse_int(raw)
        elif key in ("sum", "count"):
            kw[key] = _parse_number(raw)
        elif key == "z_bucket":
            kw["zero_count"] = _parse_number(raw)
        elif key == "z_bucket_w":
            kw["zero_threshold"] = _parse_number(raw)
        elif key in offsets:
            offsets[key] = _parse_int(raw)
        elif key in ("buckets", "n_buckets", "custom_values"):
            lists[key] = _parse_list(raw)
        elif key == "counter_reset_hint":
            if raw not in _HINTS:
                raise HistogramLiteralError(f"invalid counter_reset_hint {raw!r}")
            kw["counter_reset_hint"] = raw
            kw["hint_set"] = True
        else:
            raise HistogramLiteralError(f"unknown histogram key {key!r}")
    kw["positive"] = {offsets["offset"] + k: c for k, c in enumerate(lists.get("buckets", []))}
    kw["negative"] = {offsets["n_offset"] + k: c for k, c in enumerate(lists.get("n_buckets", []))}
    kw["custom_values"] = tuple(lists.get("custom_values", ()))
    return HistogramLiteral(**kw)  # type: ignore[arg-type]


def _buckets_equal(a: dict[int, float], b: dict[int, float]) -> bool:
    return a.keys() == b.keys() and all(almost_equal(a[i], b[i]) for i in a)


def histograms_equal(expected: HistogramLiteral, actual: HistogramLiteral) -> bool:
    """The harness' comparison: compacted layouts equal, floats within tolerance."""
    e, a = expected.compact(), actual.compact()
    if e.schema != a.schema or not almost_equal(e.count, a.count) or not almost_equal(e.sum, a.sum):
        return False
    if e.schema == CUSTOM_BUCKETS_SCHEMA and e.custom_values != a.custom_values:
        return False
    if e.zero_threshold != a.zero_threshold and not (math.isnan(e.zero_threshold)
                                                     and math.isnan(a.zero_threshold)):
        return False
    if not almost_equal(e.zero_count, a.zero_count):
        return False
    if not (_buckets_equal(e.positive, a.positive) and _buckets_equal(e.negative, a.negative)):
        return False
    return not expected.hint_set or e.counter_reset_hint == a.counter_reset_hint
