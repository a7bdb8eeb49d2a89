"""Parser for the Prometheus protobuf exposition (``PrometheusProto`` scrape protocol).

The body is a stream of varint-length-delimited ``io.prometheus.client.MetricFamily``
messages, decoded here straight from the wire format (the schema is small and
stable, so no generated code is needed). Output is the same columnar
``ParsedScrape`` as the text parsers: series keys are written in text-format
spelling (``name{a="b"}``) so the scrape loop's ref cache and label parser
treat every format alike. Histograms and summaries are expanded into their
classic series (``_bucket``/``_sum``/``_count``, quantiles) as Prometheus does
when native histograms are not ingested. With ``native_histograms`` a histogram
that carries native buckets becomes one native-histogram sample instead (plus its
classic series with ``classic_histograms``), returned in ``ProtoScrape.h``.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from ..model.histogram import CUSTOM_BUCKETS_SCHEMA, GAUGE_TYPE, UNKNOWN_RESET, HistogramBatch
from .textparse import NO_TIMESTAMP, MetricMeta, ParsedScrape, ParseError, format_openmetrics_float

__all__ = ["parse_protobuf", "NativeHistograms", "HistogramInvalid", "ProtoScrape"]

_TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "unknown", 4: "histogram", 5: "gaugehistogram"}
_DOUBLE = struct.Struct("<d")


class HistogramInvalid(ValueError):
    """A native histogram that Prometheus would refuse (message worded like Prometheus')."""


class NativeHistograms:
    """Collects native histograms given as protobuf spans and bucket counts into a ``HistogramBatch``.

    Remote write (``prometheus.Histogram``) and the protobuf exposition
    (``io.prometheus.client.Histogram``) describe buckets the same way: spans of consecutive
    bucket indices (the first span's offset is absolute, later ones are gaps) and either
    deltas between consecutive integer counts or absolute float counts. Here they are
    resolved to the absolute indices and counts ``HistogramBatch`` holds. Buckets go to flat
    lists; the arrays are built once in ``batch``.
    """

    def __init__(self) -> None:
        self.schema: list[int] = []
        self.count: list[float] = []
        self.sum: list[float] = []
        self.zero_count: list[float] = []
        self.zero_threshold: list[float] = []
        self.hint: list[int] = []
        self.pos_len: list[int] = []
        self.pos_index: list[int] = []
        self.pos_count: list[float] = []
        self.neg_len: list[int] = []
        self.neg_index: list[int] = []
        self.neg_count: list[float] = []
        self.custom_len: list[int] = []
        self.custom: list[float] = []

    def __len__(self) -> int:
        return len(self.schema)

    def add(self, *, schema: int, count: float, sum_: float, zero_count: float, zero_threshold: float,
            hint: int, pos_spans: list[tuple[int, int]], pos: list[float], neg_spans: list[tuple[int, int]],
            neg: list[float], deltas: bool, custom: list[float]) -> None:
        """Add one histogram; ``pos``/``neg`` are deltas (integer histograms) or counts.

        Raises ``HistogramInvalid`` for what Prometheus' validation rejects.
        """
        if schema != CUSTOM_BUCKETS_SCHEMA and not -4 <= schema <= 8:
            raise HistogramInvalid(
                f"histogram has an invalid schema, which must be between -4 and 8, got {schema}")
        if schema == CUSTOM_BUCKETS_SCHEMA:
            if neg_spans or neg:
                raise HistogramInvalid("histogram with custom buckets must not have negative buckets")
            if zero_count or zero_threshold:
                raise HistogramInvalid("histogram with custom buckets must not have a zero bucket")
            if any(not b < a for b, a in zip(custom, custom[1:], strict=False)) or any(
                    math.isnan(c) for c in custom):
                raise HistogramInvalid("custom buckets must be in increasing order")
            if custom and math.isinf(custom[-1]) and custom[-1] > 0:
                raise HistogramInvalid("custom buckets: last +Inf bound must not be explicitly defined")
        elif custom:
            raise HistogramInvalid("histogram with exponential schema must not have custom bounds")
        pi, pc = _resolve_buckets(pos_spans, pos, deltas, "positive")
        ni, nc = _resolve_buckets(neg_spans, neg, deltas, "negative")
        if schema == CUSTOM_BUCKETS_SCHEMA and pi and (pi[0] < 0 or pi[-1] > len(custom)):
            raise HistogramInvalid(
                f"custom buckets: bucket index {pi[0] if pi[0] < 0 else pi[-1]} outside "
                f"the {len(custom) + 1} buckets the custom bounds define")
        found = zero_count + sum(pc) + sum(nc)
        if deltas and count < found:
            raise HistogramInvalid(
                f"{int(found)} observations found in buckets, but the Count field is {int(count)}: "
                "histogram's observation count should be at least the number of observations found in "
                "the buckets")
        self.schema.append(schema)
        self.count.append(count)
        self.sum.append(sum_)
        self.zero_count.append(zero_count)
        self.zero_threshold.append(zero_threshold)
        self.hint.append(hint)
        self.pos_len.append(len(pi))
        self.pos_index += pi
        self.pos_count += pc
        self.neg_len.append(len(ni))
        self.neg_index += ni
        self.neg_count += nc
        self.custom_len.append(len(custom))
        self.custom += custom

    def batch(self) -> HistogramBatch:
        def offsets(lens: list[int]) -> np.ndarray:
            out = np.zeros(len(lens) + 1, np.int64)
            np.cumsum(lens, out=out[1:])
            return out

        return HistogramBatch(
            np.array(self.schema, np.int8), np.array(self.count, np.float64), np.array(self.sum, np.float64),
            np.array(self.zero_count, np.float64), np.array(self.zero_threshold, np.float64),
            np.array(self.hint, np.uint8),
            offsets(self.pos_len), np.array(self.pos_index, np.int32), np.array(self.pos_count, np.float64),
            offsets(self.neg_len), np.array(self.neg_index, np.int32), np.array(self.neg_count, np.float64),
            offsets(self.custom_len), np.array(self.custom, np.float64),
        )


def _resolve_buckets(spans: list[tuple[int, int]], values: list[float], deltas: bool, kind: str
                     ) -> tuple[list[int], list[float]]:
    """Absolute bucket indices and counts from spans and deltas/counts."""
    need = sum(length for _, length in spans)
    if need != len(values):
        raise HistogramInvalid(f"{kind} side: spans need {need} buckets, have {len(values)} buckets: "
                               "histogram spans specify different number of buckets than provided")
    index: list[int] = []
    nxt = 0
    for k, (offset, length) in enumerate(spans):
        if k and offset < 0:
            raise HistogramInvalid(f"{kind} side: span number {k + 1} with offset {offset}: "
                                   "histogram has a span whose offset is negative")
        start = offset if k == 0 else nxt + offset
        index.extend(range(start, start + length))
        nxt = start + length
    if not deltas:
        counts = list(values)
        if any(c < 0 for c in counts):
            raise HistogramInvalid(f"{kind} side: histogram has a bucket whose observation count is negative")
        return index, counts
    counts = []
    running = 0.0
    for d in values:
        running += d
        if running < 0:
            raise HistogramInvalid(
                f"{kind} side: bucket {len(counts)} has observation count of {int(running)}: "
                "histogram has a bucket whose observation count is negative")
        counts.append(running)
    return index, counts


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _sints(v: int | float | bytes) -> list[int]:
    """A repeated sint64 field entry: packed (bytes) or one varint."""
    if isinstance(v, int):
        return [_zigzag(v)]
    if not isinstance(v, bytes):
        raise ParseError("protobufparse: expected varint bucket deltas")
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(_zigzag(x))
    return out


def _doubles(v: int | float | bytes) -> list[float]:
    """A repeated double field entry: packed (bytes) or one double."""
    if isinstance(v, float):
        return [v]
    if not isinstance(v, bytes) or len(v) % 8:
        raise ParseError("protobufparse: malformed packed bucket counts")
    return np.frombuffer(v, "<f8").tolist()


def _native(h: list[tuple[int, int | float | bytes]], typ: int, into: NativeHistograms) -> bool:
    """Add the native part of a client_model Histogram to ``into``; False if it has none.

    As in Prometheus, a histogram is native when it has a bucket span (an empty one has a
    no-op span), a zero threshold or a zero-bucket count.
    """
    spans: dict[int, list[tuple[int, int]]] = {9: [], 12: []}
    buckets: dict[int, list] = {10: [], 11: [], 13: [], 14: []}
    scalars: dict[int, int | float | bytes] = {}
    for num, v in h:
        if num in spans:
            if not isinstance(v, bytes):
                raise ParseError("protobufparse: malformed bucket span")
            sp = dict(_fields(v))
            spans[num].append((_zigzag(_int(sp.get(1, 0)) & 0xFFFFFFFF), _int(sp.get(2, 0)) & 0xFFFFFFFF))
        elif num in (10, 13):
            buckets[num] += _sints(v)
        elif num in (11, 14):
            buckets[num] += _doubles(v)
        else:
            scalars[num] = v
    threshold = _num(scalars.get(6, 0.0))
    zero_int = _num(scalars.get(7, 0))
    zero_float = _num(scalars.get(8, 0.0))
    if not (spans[9] or spans[12] or threshold > 0 or zero_int > 0 or zero_float > 0):
        return False
    count_float = _num(scalars.get(4, 0.0))
    is_float = count_float > 0 or zero_float > 0
    try:
        into.add(
            schema=_zigzag(_int(scalars.get(5, 0)) & 0xFFFFFFFF),
            count=count_float if is_float else _num(scalars.get(1, 0)),
            sum_=_num(scalars.get(2, 0.0)), zero_count=zero_float if is_float else zero_int,
            zero_threshold=threshold, hint=GAUGE_TYPE if typ == 5 else UNKNOWN_RESET,
            pos_spans=spans[12], pos=buckets[14] if is_float else buckets[13],
            neg_spans=spans[9], neg=buckets[11] if is_float else buckets[10], deltas=not is_float, custom=[])
    except HistogramInvalid as err:
        raise ParseError(f"invalid native histogram: {err}") from None
    return True


def _varint(b: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(b):
            raise ParseError("protobufparse: truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ParseError("protobufparse: varint overflow")


def _fields(b: bytes) -> list[tuple[int, int | float | bytes]]:
    """Decode one message into (field number, value); doubles decoded, unknown fixed32 kept raw."""
    out: list[tuple[int, int | float | bytes]] = []
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
            out.append((num, v))
        elif wt == 1:
            if i + 8 > n:
                raise ParseError("protobufparse: truncated 64-bit field")
            out.append((num, _DOUBLE.unpack_from(b, i)[0]))
            i += 8
        elif wt == 2:
            ln, i = _varint(b, i)
            if i + ln > n:
                raise ParseError("protobufparse: truncated length-delimited field")
            out.append((num, b[i : i + ln]))
            i += ln
        elif wt == 5:
            if i + 4 > n:
                raise ParseError("protobufparse: truncated 32-bit field")
            out.append((num, b[i : i + 4]))
            i += 4
        else:
            raise ParseError(f"protobufparse: unsupported wire type {wt}")
    return out


def _str(v: int | float | bytes) -> str:
    if not isinstance(v, bytes):
        raise ParseError("protobufparse: expected a string field")
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError("protobufparse: invalid UTF-8 string") from None


def _num(v: int | float | bytes) -> float:
    if isinstance(v, bytes):
        raise ParseError("protobufparse: expected a numeric field")
    return float(v)


def _int(v: int | float | bytes) -> int:
    if not isinstance(v, int):
        raise ParseError("protobufparse: expected a varint field")
    return v


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _legacy(s: str, metric: bool) -> bool:
    if not s or not s.isascii():
        return False
    if not (s[0].isalpha() or s[0] == "_" or (metric and s[0] == ":")):
        return False
    rest = s.replace("_", "a").replace(":", "a") if metric else s.replace("_", "a")
    return rest.isalnum()


def _key(name: str, labels: list[tuple[str, str]]) -> str:
    parts = [f"{k if _legacy(k, False) else _quote(k)}={_quote(v)}" for k, v in labels]
    if not _legacy(name, True):
        return "{" + ",".join([_quote(name), *parts]) + "}"
    return f"{name}{{{','.join(parts)}}}" if parts else name


@dataclass
class ProtoScrape(ParsedScrape):
    """A parsed protobuf scrape; native-histogram samples have ``h_index[i] >= 0`` (row of ``h``)
    and a NaN value, as in ``SampleBatch``. Both are None when there are none."""

    h: HistogramBatch | None = None
    h_index: np.ndarray | None = None  # int64 (n,)


def parse_protobuf(body: bytes, *, native_histograms: bool = False,
                   classic_histograms: bool = False) -> ProtoScrape:
    """Decode a delimited MetricFamily stream.

    ``native_histograms``: histograms with native buckets become native-histogram samples;
    ``classic_histograms``: such histograms also keep their classic series.
    """
    keys: list[str] = []
    vals: list[float] = []
    tss: list[int] = []
    hists = NativeHistograms() if native_histograms else None
    hpos: list[int] = []  # sample positions of the native histograms, in row order
    meta: dict[str, MetricMeta] = {}
    i, n = 0, len(body)
    while i < n:
        ln, i = _varint(body, i)
        if i + ln > n:
            raise ParseError(
                "protobufparse: insufficient length of buffer, "
                f"expected at least {ln} bytes, got {n - i} bytes"
            )
        fam = _fields(body[i : i + ln])
        i += ln
        name, help_, typ, unit, metrics = "", "", 3, "", []
        for num, v in fam:
            if num == 1:
                name = _str(v)
            elif num == 2:
                help_ = _str(v)
            elif num == 3:
                typ = _int(v)
            elif num == 4:
                metrics.append(v)
            elif num == 5:
                unit = _str(v)
        if not name:
            raise ParseError("protobufparse: metric family without a name")
        mtype = _TYPES.get(typ)
        if mtype is None:
            raise ParseError(f"protobufparse: unknown metric type {typ}")
        meta[name] = MetricMeta(mtype, help_, unit)
        for m in metrics:
            if not isinstance(m, bytes):
                raise ParseError("protobufparse: malformed metric")
            _expand(name, typ, _fields(m), keys, vals, tss, hists, hpos, classic_histograms)
    h = h_index = None
    if hists is not None and len(hists):
        h = hists.batch()
        h_index = np.full(len(keys), -1, np.int64)
        h_index[np.array(hpos, np.int64)] = np.arange(len(hpos), dtype=np.int64)
    return ProtoScrape(keys, np.array(vals, dtype=np.float64), np.array(tss, dtype=np.int64), "", meta,
                       h, h_index)


def _expand(
    name: str,
    typ: int,
    fields: list[tuple[int, int | float | bytes]],
    keys: list[str],
    vals: list[float],
    tss: list[int],
    hists: NativeHistograms | None = None,
    hpos: list[int] | None = None,
    classic: bool = False,
) -> None:
    labels: list[tuple[str, str]] = []
    ts = NO_TIMESTAMP
    body: dict[int, bytes] = {}
    for num, v in fields:
        if num == 1:
            lp = dict(_fields(v)) if isinstance(v, bytes) else {}
            labels.append((_str(lp.get(1, b"")), _str(lp.get(2, b""))))
        elif num == 6:
            ts = _int(v)
            ts = ts - (1 << 64) if ts >= 1 << 63 else ts
        elif isinstance(v, bytes):
            body[num] = v

    def add(suffix: str, extra: list[tuple[str, str]], value: float) -> None:
        keys.append(_key(name + suffix, labels + extra))
        vals.append(value)
        tss.append(ts)

    def value_of(num: int) -> float:
        sub = dict(_fields(body.get(num, b"")))
        return _num(sub.get(1, 0.0))

    if typ == 0:
        add("", [], value_of(3))
    elif typ == 1:
        add("", [], value_of(2))
    elif typ == 3:
        add("", [], value_of(5))
    elif typ == 2:
        s = _fields(body.get(4, b""))
        count, total = 0.0, 0.0
        for num, v in s:
            if num == 1:
                count = _num(v)
            elif num == 2:
                total = _num(v)
            elif num == 3 and isinstance(v, bytes):
                q = dict(_fields(v))
                add("", [("quantile", format_openmetrics_float(_num(q.get(1, 0.0))))], _num(q.get(2, 0.0)))
        add("_sum", [], total)
        add("_count", [], count)
    else:
        h = _fields(body.get(7, b""))
        if hists is not None and hpos is not None and _native(h, typ, hists):
            hpos.append(len(keys))
            add("", [], math.nan)
            if not classic:
                return
        fields = dict(h)
        # sample_count_float (4) is set instead of sample_count (1) for float histograms.
        count = _num(fields[4]) if 4 in fields else _num(fields.get(1, 0))
        total, has_inf = 0.0, False
        for num, v in h:
            if num == 2:
                total = _num(v)
            elif num == 3 and isinstance(v, bytes):
                bk = dict(_fields(v))
                ub = _num(bk.get(2, 0.0))
                cum = _num(bk[4]) if 4 in bk else _num(bk.get(1, 0))
                has_inf = has_inf or (math.isinf(ub) and ub > 0)
                add("_bucket", [("le", format_openmetrics_float(ub))], cum)
        if not has_inf:
            add("_bucket", [("le", "+Inf")], count)
        add("_sum", [], total)
        add("_count", [], count)
