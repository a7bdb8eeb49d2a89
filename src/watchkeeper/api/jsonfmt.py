"""Fast JSON for query results, byte-compatible with Prometheus' API output.

A range query can return millions of points; building a Python dict per point
and running ``json.dumps`` over it dominates the response time. Instead the
timestamps and values are turned into their text forms array-at-a-time and
spliced into the JSON with ``str.join``.

Native histograms are written as Prometheus does: ``"histogram": [t, {...}]`` in
vectors and a ``"histograms"`` list beside (or instead of) ``"values"`` in
matrices, each object ``{"count":"…","sum":"…","buckets":[[rule,"lower","upper","count"],…]}``
with empty buckets left out (``histogram_json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import orjson

from ..model import histogram_ops as hops
from ..model.batch import SeriesSet
from ..model.histogram import HistogramBatch
from ..model.histogram_stats import all_buckets, boundary_rules
from ..model.labels import Labels

__all__ = ["format_value", "format_values", "format_times", "labels_json", "histogram_json", "matrix_json",
           "vector_json", "scalar_json", "success_json", "error_json"]

_SPECIAL = {float("inf"): "+Inf", float("-inf"): "-Inf"}


def format_value(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` with Prometheus' ``+Inf``/``-Inf``/``NaN``."""
    v = float(v)
    if v != v:
        return "NaN"
    if v in _SPECIAL:
        return _SPECIAL[v]
    r = repr(v)
    if "e" in r:
        # repr is the shortest round-trip form, as Go's; only the notation differs.
        r = format(Decimal(r), "f")
    elif r.endswith(".0"):
        r = r[:-2]
    return r


def _texts(a: np.ndarray) -> list[str]:
    # orjson formats a whole numeric array natively (shortest round-trip floats).
    body = orjson.dumps(a, option=orjson.OPT_SERIALIZE_NUMPY)
    return body[1:-1].decode().split(",")


def format_values(v: np.ndarray) -> list[str]:
    """``format_value`` over an array; integers and ordinary floats take array-at-a-time paths."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    if v.size == 0:
        return []
    av = np.abs(v)
    integral = (np.floor(v) == v) & (av < 1e15) & ~((v == 0) & np.signbit(v))
    # In this range orjson writes exactly Go's 'f' form (no exponent, no trailing ".0").
    plain = ~integral & (av >= 1e-4) & (av < 1e15)
    if integral.all():
        return _texts(v.astype(np.int64))
    if plain.all():
        return _texts(v)
    out = np.empty(v.shape[0], dtype=object)
    if integral.any():
        out[integral] = _texts(v[integral].astype(np.int64))
    if plain.any():
        out[plain] = _texts(v[plain])
    rest = ~(integral | plain)
    out[rest] = [format_value(x) for x in v[rest].tolist()]
    return out.tolist()


def format_times(t: np.ndarray) -> list[str]:
    """Millisecond timestamps as Prometheus writes them: seconds with exactly three decimals, if any."""
    t = np.asarray(t, dtype=np.int64)
    if t.size == 0:
        return []
    neg = t < 0
    at = np.abs(t)
    sec = (at // 1000).tolist()
    frac = (at % 1000).tolist()
    out = [f"{s}.{f:03d}" if f else str(s) for s, f in zip(sec, frac, strict=True)]
    if neg.any():
        for i in np.flatnonzero(neg).tolist():
            out[i] = "-" + out[i]
    return out


def _time_cache(t: np.ndarray) -> list[str]:
    # Range results share one step grid: format each distinct timestamp once.
    uniq, inverse = np.unique(t, return_inverse=True)
    texts = np.array(format_times(uniq), dtype=object)
    return texts[inverse].tolist()


def labels_json(labels: Labels) -> str:
    return json.dumps(labels.to_dict(), ensure_ascii=False, separators=(",", ":"))


def histogram_json(h: HistogramBatch, rows: np.ndarray) -> list[str]:
    """The JSON object of each histogram ``h[rows]``: count, sum and the populated buckets in
    ascending order, as ``[boundary_rule, "lower", "upper", "count"]``."""
    sub = hops.take(h, np.asarray(rows, dtype=np.int64))
    counts = format_values(sub.count)
    sums = format_values(sub.sum)
    b = all_buckets(sub)
    keep = b.count != 0
    row = b.row[keep]
    rules = boundary_rules(b)[keep].tolist()
    lower = format_values(b.lower[keep])
    upper = format_values(b.upper[keep])
    cnt = format_values(b.count[keep])
    items = [f'[{r},"{lo}","{up}","{c}"]' for r, lo, up, c in zip(rules, lower, upper, cnt, strict=True)]
    offs = np.searchsorted(row, np.arange(len(sub) + 1)).tolist()
    out = []
    for k in range(len(sub)):
        head = '{"count":"' + counts[k] + '","sum":"' + sums[k] + '"'
        a, e = offs[k], offs[k + 1]
        out.append(head + (',"buckets":[' + ",".join(items[a:e]) + "]}" if e > a else "}"))
    return out


def _hist_mask(ss: SeriesSet) -> np.ndarray | None:
    """Which samples are histograms, or None when there are none."""
    if ss.h is None or ss.h_index is None:
        return None
    mask = ss.h_index >= 0
    return mask if mask.any() else None


def matrix_json(ss: SeriesSet) -> str:
    """``[{"metric":{...},"values":[[t,"v"],...],"histograms":[[t,{...}],...]},...]``."""
    if len(ss) == 0:
        return "[]"
    hmask = _hist_mask(ss)
    if hmask is not None:
        return _mixed_matrix_json(ss, hmask)
    times = _time_cache(ss.t)
    values = format_values(ss.v)
    # Each element is 't,"v'; joining a series' elements with '"],[' yields its points.
    points = [t + ',"' + v for t, v in zip(times, values, strict=True)]
    offs = ss.offsets.tolist()
    parts = []
    for i, lbl in enumerate(ss.labels):
        a, b = offs[i], offs[i + 1]
        body = "[[" + '"],['.join(points[a:b]) + '"]]' if b > a else "[]"
        parts.append('{"metric":' + labels_json(lbl) + ',"values":' + body + "}")
    return "[" + ",".join(parts) + "]"


def _mixed_matrix_json(ss: SeriesSet, hmask: np.ndarray) -> str:
    """Matrix with histogram samples: per series the float points, then the histogram points;
    a list is left out when the series has no points of its kind (as Prometheus writes it)."""
    times = _time_cache(ss.t)
    texts = np.empty(ss.t.shape[0], dtype=object)
    fl = ~hmask
    if fl.any():
        texts[fl] = format_values(ss.v[fl])
    texts[hmask] = histogram_json(ss.h, ss.h_index[hmask])  # type: ignore[arg-type, index]
    offs = ss.offsets.tolist()
    parts = []
    for i, lbl in enumerate(ss.labels):
        a, b = offs[i], offs[i + 1]
        is_h = hmask[a:b].tolist()
        floats = [times[k] + ',"' + texts[k] + '"' for k, h in zip(range(a, b), is_h, strict=True) if not h]
        hists = [times[k] + "," + texts[k] for k, h in zip(range(a, b), is_h, strict=True) if h]
        body = '{"metric":' + labels_json(lbl)
        if floats or not hists:
            body += ',"values":[' + ",".join("[" + p + "]" for p in floats) + "]"
        if hists:
            body += ',"histograms":[' + ",".join("[" + p + "]" for p in hists) + "]"
        parts.append(body + "}")
    return "[" + ",".join(parts) + "]"


def vector_json(ss: SeriesSet) -> str:
    """``[{"metric":{...},"value":[t,"v"]},...]``: the last sample of each series
    (``"histogram":[t,{...}]`` for a native histogram)."""
    if len(ss) == 0:
        return "[]"
    last = ss.offsets[1:] - 1
    times = format_times(ss.t[last])
    hmask = _hist_mask(ss)
    if hmask is None or not hmask[last].any():
        values = format_values(ss.v[last])
        parts = ['{"metric":' + labels_json(lbl) + ',"value":[' + t + ',"' + v + '"]}'
                 for lbl, t, v in zip(ss.labels, times, values, strict=True)]
        return "[" + ",".join(parts) + "]"
    is_h = hmask[last]
    texts = np.empty(last.shape[0], dtype=object)
    if (~is_h).any():
        texts[~is_h] = ['"' + v + '"' for v in format_values(ss.v[last[~is_h]])]
    texts[is_h] = histogram_json(ss.h, ss.h_index[last[is_h]])  # type: ignore[arg-type, index]
    parts = ['{"metric":' + labels_json(lbl) + (',"histogram":[' if h else ',"value":[') + t + "," + v + "]}"
             for lbl, t, v, h in zip(ss.labels, times, texts.tolist(), is_h.tolist(), strict=True)]
    return "[" + ",".join(parts) + "]"


def scalar_json(t_ms: int, value: str) -> str:
    return "[" + format_times(np.array([t_ms]))[0] + "," + json.dumps(value, ensure_ascii=False) + "]"


def success_json(data_json: str, warnings: Sequence[str] = (), infos: Sequence[str] = ()) -> bytes:
    out = '{"status":"success","data":' + data_json
    if warnings:
        out += ',"warnings":' + json.dumps(list(warnings), ensure_ascii=False)
    if infos:
        out += ',"infos":' + json.dumps(list(infos), ensure_ascii=False)
    return (out + "}").encode()


def error_json(error_type: str, message: str, warnings: Sequence[str] = ()) -> bytes:
    body: dict[str, object] = {"status": "error", "errorType": error_type, "error": message}
    if warnings:
        body["warnings"] = list(warnings)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
