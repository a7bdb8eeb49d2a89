"""Parser for the Prometheus protobuf exposition (``PrometheusProto`` scrape protocol).

The body is a stream of varint-length-delimited ``io.prometheus.client.MetricFamily``
messages, decoded here straight from the wire format (the schema is small and
stable, so no generated code is needed). Output is the same columnar
``ParsedScrape`` as the text parsers: series keys are written in text-format
spelling (``name{a="b"}``) so the scrape loop's ref cache and label parser
treat every format alike. Histograms and summaries are expanded into their
classic series (``_bucket``/``_sum``/``_count``, quantiles) as Prometheus does
when native histograms are not ingested.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .textparse import NO_TIMESTAMP, MetricMeta, ParsedScrape, ParseError, format_openmetrics_float

__all__ = ["parse_protobuf"]

_TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "unknown", 4: "histogram", 5: "gaugehistogram"}
_DOUBLE = struct.Struct("<d")


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


def parse_protobuf(body: bytes) -> ParsedScrape:
    """Decode a delimited MetricFamily stream into a ParsedScrape."""
    keys: list[str] = []
    vals: list[float] = []
    tss: list[int] = []
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
            _expand(name, typ, _fields(m), keys, vals, tss)
    return ParsedScrape(keys, np.array(vals, dtype=np.float64), np.array(tss, dtype=np.int64), "", meta)


def _expand(
    name: str,
    typ: int,
    fields: list[tuple[int, int | float | bytes]],
    keys: list[str],
    vals: list[float],
    tss: list[int],
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
