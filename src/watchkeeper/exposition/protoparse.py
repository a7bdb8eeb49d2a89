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
from ..model.histogram_ops import reduce_schema
from .textparse import NO_TIMESTAMP, MetricMeta, ParsedScrape, ParseError, format_openmetrics_float

__all__ = ["parse_protobuf", "NativeHistograms", "HistogramInvalid", "ProtoScrape"]

_TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "unknown", 4: "histogram", 5: "gaugehistogram"}
_DOUBLE = struct.Struct("<d")


class HistogramInvalid(ValueError):
    """A native histogram that Prometheus would refuse (message worded like Prometheus').

    ``row`` is the histogram's position in the ``NativeHistograms`` that found it invalid.
    """

    def __init__(self, message: str, row: int = -1) -> None:
        super().__init__(message)
        self.row = row


_SCHEMA_MAX_RESERVED = 52
_VARINT, _DOUBLES = 0, 1


class NativeHistograms:
    """Collects native histograms given as protobuf spans and buckets into a ``HistogramBatch``.

    Remote write (``prometheus.Histogram``), the protobuf exposition
    (``io.prometheus.client.Histogram``) and OTLP describe buckets alike: spans of consecutive
    bucket indices (the first span's offset is absolute, later ones are gaps) and either
    zigzag varint deltas between consecutive integer counts or absolute float counts. ``add``
    only records each histogram's scalars, spans and the *bytes* of its buckets; ``batch``
    then decodes all varints, resolves all spans and validates everything at once with numpy,
    so the per-histogram Python work is the protobuf walk alone.
    """

    def __init__(self) -> None:
        self.schema: list[int] = []
        self.count: list[float] = []
        self.sum: list[float] = []
        self.zero_count: list[float] = []
        self.zero_threshold: list[float] = []
        self.hint: list[int] = []
        self.is_int: list[bool] = []
        # Per side (histogram k: side 2k positive, 2k+1 negative): bucket encoding and byte length.
        self.side_kind: list[int] = []
        self.side_bytes: list[int] = []
        self.varints = bytearray()  # zigzag varint deltas of the integer sides, concatenated
        self.doubles = bytearray()  # little-endian float64 counts of the float sides
        # Spans of all sides in side order: side id, offset, length.
        self.span_side: list[int] = []
        self.span_offset: list[int] = []
        self.span_length: list[int] = []
        self.custom = bytearray()  # float64 custom bounds, concatenated
        self.custom_len: list[int] = []

    def __len__(self) -> int:
        return len(self.schema)

    def add(self, *, schema: int, count: float, sum_: float, zero_count: float, zero_threshold: float,
            hint: int, pos_spans: list[tuple[int, int]], pos: bytes, neg_spans: list[tuple[int, int]],
            neg: bytes, deltas: bool, custom: bytes = b"") -> None:
        """Record one histogram. ``pos``/``neg`` are packed zigzag varints (``deltas``: an integer
        histogram) or packed little-endian doubles (absolute counts); ``custom`` packed doubles."""
        row = len(self.schema)
        if schema != CUSTOM_BUCKETS_SCHEMA and not -4 <= schema <= _SCHEMA_MAX_RESERVED:
            raise HistogramInvalid(
                f"histogram has an invalid schema, which must be between -4 and 8, got {schema}", row)
        self.schema.append(schema)
        self.count.append(count)
        self.sum.append(sum_)
        self.zero_count.append(zero_count)
        self.zero_threshold.append(zero_threshold)
        self.hint.append(hint)
        self.is_int.append(deltas)
        kind = _VARINT if deltas else _DOUBLES
        store = self.varints if deltas else self.doubles
        for side, spans, data in ((2 * row, pos_spans, pos), (2 * row + 1, neg_spans, neg)):
            self.side_kind.append(kind)
            self.side_bytes.append(len(data))
            store += data
            for off, ln in spans:
                self.span_side.append(side)
                self.span_offset.append(off)
                self.span_length.append(ln)
        self.custom += custom
        self.custom_len.append(len(custom) // 8)

    def batch(self) -> HistogramBatch:
        """All histograms added so far; raises ``HistogramInvalid`` for the first invalid one."""
        m = len(self.schema)
        schema = np.array(self.schema, np.int64)
        count = np.array(self.count, np.float64)
        zero_count = np.array(self.zero_count, np.float64)
        zero_threshold = np.array(self.zero_threshold, np.float64)
        values, n_values = self._bucket_values()
        index = self._bucket_index(2 * m, n_values)
        if (values < 0).any():
            side = int(np.repeat(np.arange(2 * m), n_values)[np.argmax(values < 0)])
            raise HistogramInvalid(f"{('positive', 'negative')[side % 2]} side: histogram has a bucket whose "
                                   "observation count is negative", side // 2)
        side_of = np.repeat(np.arange(2 * m, dtype=np.int64), n_values)
        in_buckets = zero_count + np.bincount(side_of // 2, weights=values, minlength=m)
        short = np.array(self.is_int, bool) & (count < in_buckets)
        if short.any():
            k = int(np.argmax(short))
            raise HistogramInvalid(
                f"{int(in_buckets[k])} observations found in buckets, but the Count field is "
                f"{int(count[k])}: "
                "histogram's observation count should be at least the number of observations found in "
                "the buckets", k)
        custom_values = np.frombuffer(bytes(self.custom), "<f8").astype(np.float64)
        custom_offsets = _offsets(np.array(self.custom_len, np.int64))
        pos_side = side_of % 2 == 0
        self._check_custom(schema, zero_count, zero_threshold, custom_offsets, custom_values,
                           index[pos_side], side_of[pos_side] // 2, n_values)
        h = HistogramBatch(
            schema.astype(np.int8), count, np.array(self.sum, np.float64), zero_count, zero_threshold,
            np.array(self.hint, np.uint8),
            _offsets(n_values[0::2]), index[pos_side].astype(np.int32), values[pos_side],
            _offsets(n_values[1::2]), index[~pos_side].astype(np.int32), values[~pos_side],
            custom_offsets, custom_values,
        )
        if (schema > 8).any():
            # Finer than Prometheus stores (a newer sender's resolution): reduced to schema 8, as
            # Prometheus does for the reserved schemas 9..52.
            h = reduce_schema(h, np.minimum(schema, 8))
        return h

    def _bucket_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Bucket counts of every side, in side order, and how many each side has."""
        kind = np.array(self.side_kind, np.int64)
        nbytes = np.array(self.side_bytes, np.int64)
        deltas, per_varint_side = _decode_varints(bytes(self.varints), nbytes[kind == _VARINT])
        is_double = kind == _DOUBLES
        odd = is_double & (nbytes % 8 > 0)
        if odd.any():
            raise HistogramInvalid("malformed packed bucket counts", int(np.argmax(odd)) // 2)
        n_values = np.where(is_double, nbytes // 8, 0)
        n_values[~is_double] = per_varint_side
        values = np.empty(int(n_values.sum()), np.float64)
        dest = np.repeat(~is_double, n_values)
        # Integer sides: running sums of the deltas within each side (exact in int64).
        counts = np.cumsum(deltas)
        starts = _offsets(per_varint_side)[:-1]
        counts -= np.repeat(np.concatenate([[0], counts])[starts], per_varint_side)
        values[dest] = counts
        values[~dest] = np.frombuffer(bytes(self.doubles), "<f8")
        return values, n_values

    def _bucket_index(self, n_sides: int, n_values: np.ndarray) -> np.ndarray:
        """Absolute bucket index of every bucket value, from the spans."""
        side = np.array(self.span_side, np.int64)
        offset = np.array(self.span_offset, np.int64)
        length = np.array(self.span_length, np.int64)
        need = np.bincount(side, weights=length, minlength=n_sides).astype(np.int64)
        bad = need != n_values
        if bad.any():
            s = int(np.argmax(bad))
            raise HistogramInvalid(
                f"{('positive', 'negative')[s % 2]} side: spans need {need[s]} buckets, have {n_values[s]} "
                "buckets: histogram spans specify different number of buckets than provided", s // 2)
        first = np.ones(side.shape[0], bool)
        first[1:] = side[1:] != side[:-1]
        if (offset[~first] < 0).any():
            j = int(np.argmax(~first & (offset < 0)))
            number = j - int(np.flatnonzero(first[: j + 1])[-1]) + 1
            raise HistogramInvalid(
                f"{('positive', 'negative')[side[j] % 2]} side: span number {number} with offset "
                f"{offset[j]}: histogram has a span whose offset is negative", int(side[j]) // 2)
        # Span j starts at offset_j past the end of span j-1 of its side (its own offset if first).
        step = offset.copy()
        step[1:] += np.where(first[1:], 0, length[:-1])
        total = np.cumsum(step)
        start = total - np.repeat(np.concatenate([[0], total])[np.flatnonzero(first)], np.diff(
            np.concatenate([np.flatnonzero(first), [side.shape[0]]])))
        # Every bucket: its span's start plus its position in the span.
        span_of = np.repeat(np.arange(side.shape[0]), length)
        within = np.arange(span_of.shape[0], dtype=np.int64) - np.repeat(_offsets(length)[:-1], length)
        return start[span_of] + within

    def _check_custom(self, schema: np.ndarray, zero_count: np.ndarray, zero_threshold: np.ndarray,
                      offsets: np.ndarray, bounds: np.ndarray, pos_index: np.ndarray, pos_row: np.ndarray,
                      n_values: np.ndarray) -> None:
        """Prometheus' rules for custom-bucket (schema -53) histograms, and no bounds elsewhere."""
        custom = schema == CUSTOM_BUCKETS_SCHEMA
        n_bounds = np.diff(offsets)

        def fail(mask: np.ndarray, message: str) -> None:
            if mask.any():
                raise HistogramInvalid(message, int(np.argmax(mask)))

        fail(~custom & (n_bounds > 0), "histogram with exponential schema must not have custom bounds")
        if not custom.any():
            return
        fail(custom & (n_values[1::2] > 0), "histogram with custom buckets must not have negative buckets")
        fail(custom & ((zero_count != 0) | (zero_threshold != 0)),
             "histogram with custom buckets must not have a zero bucket")
        row_of_bound = np.repeat(np.arange(schema.shape[0]), n_bounds)
        same = row_of_bound[1:] == row_of_bound[:-1]
        rising = bounds[1:] > bounds[:-1]
        bad = np.zeros(schema.shape[0], bool)
        bad[row_of_bound[1:][same & ~rising]] = True
        bad[row_of_bound[np.isnan(bounds)]] = True
        fail(bad, "custom buckets must be in increasing order")
        last = offsets[1:][n_bounds > 0] - 1
        inf = np.zeros(schema.shape[0], bool)
        inf[row_of_bound[last][np.isposinf(bounds[last])]] = True
        fail(inf, "custom buckets: last +Inf bound must not be explicitly defined")
        outside = np.zeros(schema.shape[0], bool)
        outside[pos_row[(pos_index < 0) | (pos_index > n_bounds[pos_row])]] = True
        fail(custom & outside,
             "custom buckets: a bucket index lies outside the buckets the custom bounds define")


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(counts.shape[0] + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _decode_varints(buf: bytes, side_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zigzag varints packed back to back in ``buf`` (int64), and how many each byte range of
    ``side_bytes`` holds. Every range must end where a varint ends."""
    a = np.frombuffer(buf, np.uint8)
    if a.size == 0:
        return np.zeros(0, np.int64), np.zeros(side_bytes.shape[0], np.int64)
    ends = np.cumsum(side_bytes)
    last_byte = a < 0x80
    cut = ends[side_bytes > 0] - 1
    if not last_byte[cut].all():
        raise HistogramInvalid("truncated varint in bucket deltas")
    last = np.flatnonzero(last_byte)
    first = np.concatenate([[0], last[:-1] + 1])
    length = last - first + 1
    if (length > 10).any():
        raise HistogramInvalid("invalid varint in bucket deltas: longer than 10 bytes")
    shift = (7 * (np.arange(a.shape[0], dtype=np.int64) - np.repeat(first, length))).astype(np.uint64)
    raw = np.bitwise_or.reduceat((a & 0x7F).astype(np.uint64) << shift, first)
    value = (raw >> np.uint64(1)).astype(np.int64) ^ -(raw & np.uint64(1)).astype(np.int64)
    done = np.concatenate([[0], np.cumsum(last_byte)])
    return value, done[ends] - done[ends - side_bytes]


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _uvarint_bytes(x: int) -> bytes:
    """``x`` encoded as a protobuf varint (for bucket deltas sent unpacked)."""
    out = bytearray()
    while x > 0x7F:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def _native(h: list[tuple[int, int | float | bytes]], typ: int, into: NativeHistograms) -> bool:
    """Add the native part of a client_model Histogram to ``into``; False if it has none.

    As in Prometheus, a histogram is native when it has a bucket span (an empty one has a
    no-op span), a zero threshold or a zero-bucket count.
    """
    spans: dict[int, list[tuple[int, int]]] = {9: [], 12: []}
    # Bucket fields as packed bytes, whether they were sent packed or not.
    buckets = {10: bytearray(), 11: bytearray(), 13: bytearray(), 14: bytearray()}
    scalars: dict[int, int | float | bytes] = {}
    for num, v in h:
        if num in spans:
            if not isinstance(v, bytes):
                raise ParseError("protobufparse: malformed bucket span")
            sp = dict(_fields(v))
            spans[num].append((_zigzag(_int(sp.get(1, 0)) & 0xFFFFFFFF), _int(sp.get(2, 0)) & 0xFFFFFFFF))
        elif num in (10, 13):
            buckets[num] += v if isinstance(v, bytes) else _uvarint_bytes(_int(v))
        elif num in (11, 14):
            buckets[num] += v if isinstance(v, bytes) else _DOUBLE.pack(_num(v))
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
            pos_spans=spans[12], pos=bytes(buckets[14] if is_float else buckets[13]),
            neg_spans=spans[9], neg=bytes(buckets[11] if is_float else buckets[10]), deltas=not is_float)
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
        try:
            h = hists.batch()
        except HistogramInvalid as err:
            raise ParseError(f"invalid native histogram: {err}") from None
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
