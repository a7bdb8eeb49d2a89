"""OTLP/HTTP metrics (``/v1/metrics``) translated the way Prometheus' OTLP receiver does it.

Translation follows Prometheus 3's default strategy (``UnderscoreEscapingWithSuffixes``):
metric names are split on characters outside ``[a-zA-Z0-9:]`` and re-joined with ``_``, the
UCUM unit is appended as a word (``s`` -> ``seconds``, ``By/s`` -> ``bytes_per_second``) unless
the name already holds it, monotonic cumulative sums get ``_total``, gauges with unit ``1``
get ``_ratio``. Attribute names are sanitized to ``[a-zA-Z0-9_]``. ``service.namespace/
service.name`` becomes ``job``, ``service.instance.id`` becomes ``instance``, and the other
resource attributes go to one ``target_info`` series. Cumulative exponential histograms
become native histograms (scales above 8 merged down to schema 8, as Prometheus does).
Delta sums, histograms and exponential histograms are dropped with a warning, as Prometheus
does without its delta-to-cumulative conversion (the rest of the request is still accepted).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from ..exposition.protoparse import HistogramInvalid, NativeHistograms
from ..model.batch import STALE_NAN, SampleBatch
from ..model.histogram import UNKNOWN_RESET
from ..model.labels import METRIC_NAME, Labels
from .encoding import DEFAULT_MAX_DECODED_BYTES, decompress_body
from .errors import IngestError

__all__ = ["decode_otlp_metrics", "otlp_metric_name", "otlp_label_name"]

_CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
_NO_RECORDED_VALUE = metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
_IDENTIFYING = ("service.name", "service.namespace", "service.instance.id")

_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
    "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}  # fmt: skip
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}


def _metric_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == ":")


def _tokens(s: str) -> list[str]:
    out = []
    cur: list[str] = []
    for c in s:
        if _metric_char(c):
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def _clean_unit(unit: str) -> str:
    """Invalid characters to ``_``, runs of ``_`` collapsed, a leading ``_`` dropped."""
    out: list[str] = []
    for c in unit:
        if _metric_char(c):
            out.append(c)
        elif not out or out[-1] != "_":
            out.append("_")
    return "".join(out).removeprefix("_")


def _unit_suffixes(unit: str) -> tuple[str, str]:
    main_otel, _, per_otel = unit.partition("/")
    main = per = ""
    main_otel = main_otel.strip()
    if main_otel and "{" not in main_otel and "}" not in main_otel:
        main = _UNITS.get(main_otel, main_otel)
    per_otel = per_otel.strip()
    if per_otel and "{" not in per_otel and "}" not in per_otel:
        per = "per_" + _PER_UNITS.get(per_otel, per_otel)
    return _clean_unit(main), _clean_unit(per)


def otlp_metric_name(name: str, unit: str, kind: str) -> str:
    """Prometheus' name for an OTLP metric; ``kind`` is gauge, counter, histogram or summary."""
    tokens = _tokens(name)
    main, per = _unit_suffixes(unit)
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.removesuffix("_")
        if per in tokens:
            per = ""
    if per:
        main = main.removesuffix("_")
    if main:
        tokens.append(main)
    if per:
        tokens.append(per)
    if kind == "counter":
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    out = "_".join(tokens)
    if out and out[0].isdigit():
        out = "_" + out
    return out


def otlp_label_name(name: str) -> str:
    """Prometheus' label name for an OTLP attribute key ('' if nothing valid remains)."""
    if not name:
        return ""
    reserved = len(name) >= 4 and name.startswith("__") and name.endswith("__")
    body = name[2:-2] if reserved else name
    out: list[str] = []
    for c in body:
        if c.isascii() and (c.isalnum()):
            out.append(c)
        elif not out or out[-1] != "_":
            out.append("_")
    label = "".join(out)
    if reserved:
        return f"__{label}__"
    if not label:
        return ""
    if label[0].isdigit():
        label = "key_" + label
    elif label.startswith("_") and not label.startswith("__"):
        label = "key" + label
    return "" if set(label) == {"_"} else label


def _format_number(f: float) -> str:
    """A double attribute as pdata's ``AsString`` prints it (ES6 number formatting)."""
    if math.isnan(f) or math.isinf(f):
        return f"json: unsupported value: {'NaN' if math.isnan(f) else ('+Inf' if f > 0 else '-Inf')}"
    if f == int(f) and abs(f) < 1e21:
        return str(int(f))
    a = abs(f)
    if a < 1e-6 or a >= 1e21:
        mant, _, exp = repr(f).partition("e")
        return f"{mant}e{int(exp):+d}"
    return np.format_float_positional(f, trim="-")


def _any_json(v: AnyValue) -> object:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_any_json(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_json(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    if kind is None:
        return None
    return getattr(v, kind)


def _any_str(v: AnyValue) -> str:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind == "int_value":
        return str(v.int_value)
    if kind == "double_value":
        return _format_number(v.double_value)
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    if kind is None:
        return ""
    return json.dumps(_any_json(v), separators=(",", ":"))


def _attr_labels(attrs: Iterable[KeyValue], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Sanitized labels; keys that collide after sanitizing are joined with ';' in key order."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for kv in attrs:
        if kv.key in skip:
            continue
        name = otlp_label_name(kv.key)
        if name:
            grouped.setdefault(name, []).append((kv.key, _any_str(kv.value)))
    return {k: ";".join(v for _, v in sorted(vals)) for k, vals in grouped.items()}


def _fmt_bound(x: float) -> str:
    """Go's ``FormatFloat(x, 'f', -1, 64)``, used for ``le`` and ``quantile`` values."""
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if math.isnan(x):
        return "NaN"
    return np.format_float_positional(x, trim="-")


class _Out:
    def __init__(self) -> None:
        self.labels: list[Labels] = []
        self.index: dict[Labels, int] = {}
        self.series: list[int] = []
        self.t: list[int] = []
        self.v: list[float] = []
        self.hists = NativeHistograms()
        self.hist_at: list[int] = []  # sample positions of the native histograms, in row order

    def add(self, labels: dict[str, str], t: int, v: float) -> None:
        lb = Labels(labels)
        idx = self.index.get(lb)
        if idx is None:
            idx = self.index[lb] = len(self.labels)
            self.labels.append(lb)
        self.series.append(idx)
        self.t.append(t)
        self.v.append(v)

    def add_histogram(self, labels: dict[str, str], t: int) -> None:
        """A native-histogram sample whose histogram was just added to ``hists``."""
        self.hist_at.append(len(self.t))
        self.add(labels, t, math.nan)

    def batch(self) -> SampleBatch:
        h = h_index = None
        if self.hist_at:
            h = self.hists.batch()
            h_index = np.full(len(self.t), -1, np.int64)
            h_index[np.array(self.hist_at, np.int64)] = np.arange(len(self.hist_at), dtype=np.int64)
        return SampleBatch(
            self.labels,
            np.array(self.series, dtype=np.int64),
            np.array(self.t, dtype=np.int64),
            np.array(self.v, dtype=np.float64),
            h,
            h_index,
        )


def _exponential_buckets(buckets: metrics_pb2.ExponentialHistogramDataPoint.Buckets, scale_down: int
                         ) -> tuple[list[tuple[int, int]], bytes]:
    """Spans (one per bucket) and counts of OTLP buckets in Prometheus' indexing.

    OTLP bucket ``k`` covers ``(base**k, base**(k+1)]``, Prometheus bucket ``i`` covers
    ``(base**(i-1), base**i]``: index + 1. Merging ``2**scale_down`` neighbours lowers the scale.
    Empty buckets are left out.
    """
    merged: dict[int, float] = {}
    for k, c in enumerate(buckets.bucket_counts):
        if c:
            i = ((buckets.offset + k) >> scale_down) + 1
            merged[i] = merged.get(i, 0.0) + float(c)
    index = sorted(merged)
    spans = [(i - (index[j - 1] + 1) if j else i, 1) for j, i in enumerate(index)]
    return spans, np.array([merged[i] for i in index], "<f8").tobytes()


def _parse(body: bytes, content_type: str) -> ExportMetricsServiceRequest:
    media = content_type.split(";")[0].strip().lower()
    req = ExportMetricsServiceRequest()
    if media == "application/x-protobuf":
        try:
            req.ParseFromString(body)
        except (DecodeError, ValueError, RuntimeError) as err:
            raise IngestError(400, f"invalid OTLP protobuf body: {err}") from None
    elif media == "application/json":
        try:
            json_format.Parse(body.decode("utf-8"), req, ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError, ValueError) as err:
            raise IngestError(400, f"invalid OTLP JSON body: {err}") from None
    else:
        want = "application/x-protobuf or application/json"
        raise IngestError(415, f"unsupported Content-Type {content_type!r}: OTLP uses {want}")
    return req


def decode_otlp_metrics(
    body: bytes,
    content_type: str,
    *,
    content_encoding: str | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    warnings: list[str] | None = None,
) -> SampleBatch:
    """Translate an ``ExportMetricsServiceRequest`` (protobuf or JSON) into samples.

    Metrics Prometheus would not ingest are skipped with a message appended to ``warnings``.
    """
    req = _parse(decompress_body(body, content_encoding, max_decoded_bytes), content_type)
    warn = warnings if warnings is not None else []
    out = _Out()
    for rm in req.resource_metrics:
        res_attrs = {kv.key: _any_str(kv.value) for kv in rm.resource.attributes}
        identity: dict[str, str] = {}
        if "service.name" in res_attrs:
            ns = res_attrs.get("service.namespace")
            name = res_attrs["service.name"]
            identity["job"] = f"{ns}/{name}" if ns else name
        if "service.instance.id" in res_attrs:
            identity["instance"] = res_attrs["service.instance.id"]
        latest = 0
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                latest = max(latest, _metric(metric, identity, out, warn))
        if latest and identity and any(k not in _IDENTIFYING for k in res_attrs):
            info = _attr_labels(rm.resource.attributes, skip=_IDENTIFYING)
            info.update(identity)
            info[METRIC_NAME] = "target_info"
            out.add(info, latest, 1.0)
    return out.batch()


def _metric(metric: metrics_pb2.Metric, identity: dict[str, str], out: _Out, warn: list[str]) -> int:
    """Add one metric's points; return the latest timestamp (ms) seen, 0 if none."""
    kind = metric.WhichOneof("data")
    latest = 0
    if not otlp_metric_name(metric.name, "", "gauge"):
        warn.append(f"metric name {metric.name!r} has no characters Prometheus can use")
        return 0

    def base(dp) -> tuple[dict[str, str], int, bool]:
        labels = _attr_labels(dp.attributes)
        labels.update(identity)
        return labels, dp.time_unix_nano // 1_000_000, bool(dp.flags & _NO_RECORDED_VALUE)

    if kind in ("gauge", "sum"):
        data = getattr(metric, kind)
        prom_kind = "gauge"
        if kind == "sum" and data.is_monotonic:
            if data.aggregation_temporality != _CUMULATIVE:
                warn.append(f"invalid temporality and type combination for metric {metric.name!r}")
                return 0
            prom_kind = "counter"
        name = otlp_metric_name(metric.name, metric.unit, prom_kind)
        for dp in data.data_points:
            labels, t, stale = base(dp)
            labels[METRIC_NAME] = name
            value = float(dp.as_int) if dp.WhichOneof("value") == "as_int" else dp.as_double
            out.add(labels, t, STALE_NAN if stale else value)
            latest = max(latest, t)
    elif kind == "histogram":
        if metric.histogram.aggregation_temporality != _CUMULATIVE:
            warn.append(f"invalid temporality and type combination for metric {metric.name!r}")
            return 0
        name = otlp_metric_name(metric.name, metric.unit, "histogram")
        for dp in metric.histogram.data_points:
            labels, t, stale = base(dp)
            if dp.HasField("sum"):
                out.add({**labels, METRIC_NAME: f"{name}_sum"}, t, STALE_NAN if stale else dp.sum)
            out.add({**labels, METRIC_NAME: f"{name}_count"}, t, STALE_NAN if stale else float(dp.count))
            cumulative = 0
            for bound, count in zip(dp.explicit_bounds, dp.bucket_counts, strict=False):
                cumulative += count
                value = STALE_NAN if stale else float(cumulative)
                out.add({**labels, METRIC_NAME: f"{name}_bucket", "le": _fmt_bound(bound)}, t, value)
            value = STALE_NAN if stale else float(dp.count)
            out.add({**labels, METRIC_NAME: f"{name}_bucket", "le": "+Inf"}, t, value)
            latest = max(latest, t)
    elif kind == "summary":
        name = otlp_metric_name(metric.name, metric.unit, "summary")
        for dp in metric.summary.data_points:
            labels, t, stale = base(dp)
            out.add({**labels, METRIC_NAME: f"{name}_sum"}, t, STALE_NAN if stale else dp.sum)
            out.add({**labels, METRIC_NAME: f"{name}_count"}, t, STALE_NAN if stale else float(dp.count))
            for q in dp.quantile_values:
                value = STALE_NAN if stale else q.value
                out.add({**labels, METRIC_NAME: name, "quantile": _fmt_bound(q.quantile)}, t, value)
            latest = max(latest, t)
    elif kind == "exponential_histogram":
        if metric.exponential_histogram.aggregation_temporality != _CUMULATIVE:
            warn.append(f"invalid temporality and type combination for metric {metric.name!r}")
            return 0
        name = otlp_metric_name(metric.name, metric.unit, "histogram")
        for dp in metric.exponential_histogram.data_points:
            labels, t, stale = base(dp)
            labels[METRIC_NAME] = name
            if stale:
                out.add(labels, t, STALE_NAN)
            elif dp.scale < -4:
                warn.append(f"cannot convert exponential to native histogram for metric {metric.name!r}: "
                            f"scale must be >= -4, was {dp.scale}")
                continue
            else:
                down = max(dp.scale - 8, 0)
                pos_spans, pos = _exponential_buckets(dp.positive, down)
                neg_spans, neg = _exponential_buckets(dp.negative, down)
                try:
                    out.hists.add(schema=dp.scale - down, count=float(dp.count), sum_=dp.sum,
                                  zero_count=float(dp.zero_count), zero_threshold=dp.zero_threshold,
                                  hint=UNKNOWN_RESET, pos_spans=pos_spans, pos=pos, neg_spans=neg_spans,
                                  neg=neg, deltas=False)
                except HistogramInvalid as err:
                    warn.append(f"exponential histogram {metric.name!r} dropped: {err}")
                    continue
                out.add_histogram(labels, t)
            latest = max(latest, t)
    else:
        warn.append(f"metric {metric.name!r} has no data")
    return latest
