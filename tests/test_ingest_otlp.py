"""OTLP metrics: Prometheus' name translation, and bodies from the real OpenTelemetry SDK."""

from __future__ import annotations

import gzip
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from watchkeeper.ingest.errors import IngestError
from watchkeeper.ingest.otlp import decode_otlp_metrics, otlp_label_name, otlp_metric_name
from watchkeeper.model.batch import is_stale


@pytest.mark.parametrize(
    "name, unit, kind, want",
    [
        ("http.server.duration", "s", "histogram", "http_server_duration_seconds"),
        ("requests.count", "1", "counter", "requests_count_total"),
        ("memory.usage", "By", "gauge", "memory_usage_bytes"),
        ("system.network.io", "By/s", "gauge", "system_network_io_bytes_per_second"),
        ("cpu.utilization", "1", "gauge", "cpu_utilization_ratio"),
        ("foo_total", "", "counter", "foo_total"),
        ("foo.total.bar", "", "counter", "foo_bar_total"),
        ("1foo", "", "gauge", "_1foo"),
        ("foo__bar", "", "gauge", "foo_bar"),
        ("active", "{requests}", "gauge", "active"),
        ("seconds.used", "s", "gauge", "seconds_used"),
        ("speed", "m/s", "gauge", "speed_meters_per_second"),
        ("temp", "Cel", "gauge", "temp_celsius"),
        ("rate", "1/s", "gauge", "rate_per_second"),
        ("odd", "req/{x}", "gauge", "odd_req"),
    ],
)
def test_metric_names(name: str, unit: str, kind: str, want: str) -> None:
    assert otlp_metric_name(name, unit, kind) == want


@pytest.mark.parametrize(
    "key, want",
    [
        ("http.method", "http_method"),
        ("123abc", "key_123abc"),
        ("_foo", "key_foo"),
        ("__foo__", "__foo__"),
        ("foo..bar", "foo_bar"),
        ("ü", "key_"),
    ],
)
def test_label_names(key: str, want: str) -> None:
    assert otlp_label_name(key) == want


# ---- the real SDK exporting over HTTP to a local receiver ----------------------------------


@pytest.fixture
def receiver():
    bodies: list[tuple[object, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            bodies.append((self.headers, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()
            self.wfile.write(b"")

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/metrics", bodies
    server.shutdown()
    server.server_close()


def _export(endpoint: str, *, delta: bool = False) -> None:
    exporter = OTLPMetricExporter(
        endpoint=endpoint,
        preferred_temporality={Counter: AggregationTemporality.DELTA} if delta else None,
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create(
        {
            "service.name": "checkout",
            "service.namespace": "shop",
            "service.instance.id": "pod-7",
            "host.name": "h1",
        }
    )
    provider = MeterProvider(metric_readers=[reader], resource=resource)
    meter = provider.get_meter("test-meter", "1.0")
    requests = meter.create_counter("http.requests", unit="{request}")
    requests.add(3, {"http.method": "GET", "http.route": "/a"})
    requests.add(2, {"http.method": "POST", "http.route": "/a"})
    meter.create_up_down_counter("queue.size", unit="By").add(-5, {"queue": "q1"})
    duration = meter.create_histogram("http.server.duration", unit="ms")
    for v in (3.0, 30.0, 300.0):
        duration.record(v, {"http.method": "GET"})
    meter.create_observable_gauge(
        "cpu.utilization", callbacks=[lambda options: [Observation(0.25, {"cpu": "0"})]], unit="1"
    )
    provider.force_flush()
    provider.shutdown()


def _series(batch) -> dict[str, float]:
    out = {}
    for i in range(len(batch)):
        out[str(batch.labels[int(batch.series[i])])] = float(batch.v[i])
    return out


def test_sdk_export_translates_like_prometheus(receiver) -> None:
    endpoint, bodies = receiver
    _export(endpoint)
    assert bodies
    headers, body = bodies[0]
    warnings: list[str] = []
    batch = decode_otlp_metrics(
        body, headers["Content-Type"], content_encoding=headers.get("Content-Encoding"), warnings=warnings
    )
    got = _series(batch)
    ident = 'instance="pod-7", job="shop/checkout"'
    assert got[f'http_requests_total{{http_method="GET", http_route="/a", {ident}}}'] == 3
    assert got[f'http_requests_total{{http_method="POST", http_route="/a", {ident}}}'] == 2
    assert got[f'queue_size_bytes{{{ident}, queue="q1"}}'] == -5
    assert got[f'cpu_utilization_ratio{{cpu="0", {ident}}}'] == 0.25
    h = f'http_method="GET", {ident}'
    assert got[f"http_server_duration_milliseconds_count{{{h}}}"] == 3
    assert got[f"http_server_duration_milliseconds_sum{{{h}}}"] == 333
    assert got[f'http_server_duration_milliseconds_bucket{{{h}, le="5"}}'] == 1
    assert got[f'http_server_duration_milliseconds_bucket{{{h}, le="50"}}'] == 2
    assert got[f'http_server_duration_milliseconds_bucket{{{h}, le="500"}}'] == 3
    assert got[f'http_server_duration_milliseconds_bucket{{{h}, le="+Inf"}}'] == 3
    info = [k for k in got if k.startswith("target_info")]
    assert len(info) == 1 and 'host_name="h1"' in info[0] and ident in info[0]
    assert 'service_name' not in info[0]
    assert warnings == []
    now_ms = batch.t.max()
    assert abs(int(now_ms) - int(__import__("time").time() * 1000)) < 60_000


def test_sdk_delta_counter_is_dropped_with_warning(receiver) -> None:
    endpoint, bodies = receiver
    _export(endpoint, delta=True)
    warnings: list[str] = []
    batch = decode_otlp_metrics(bodies[0][1], "application/x-protobuf", warnings=warnings)
    names = {lb.name for lb in batch.labels}
    assert "http_requests_total" not in names and "queue_size_bytes" in names
    assert any("http.requests" in w and "temporality" in w for w in warnings)


def _request() -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    kv = rm.resource.attributes.add(key="service.name")
    kv.value.string_value = "svc"
    m = rm.scope_metrics.add().metrics.add(name="rpc.latency", unit="s")
    dp = m.summary.data_points.add(time_unix_nano=1_700_000_000_123_456_789, count=4, sum=2.5)
    dp.quantile_values.add(quantile=0.5, value=0.4)
    dp.quantile_values.add(quantile=0.99, value=1.5)
    attr = dp.attributes.add(key="flag")
    attr.value.bool_value = True
    g = rm.scope_metrics[0].metrics.add(name="temp", unit="Cel")
    gp = g.gauge.data_points.add(time_unix_nano=1_700_000_000_000_000_000, as_int=21)
    gp.flags = metrics_pb2.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
    return req


def test_summary_json_gzip_and_stale() -> None:
    req = _request()
    as_json = json_format.MessageToJson(req).encode()
    for body, ctype, enc in [
        (req.SerializeToString(), "application/x-protobuf", None),
        (as_json, "application/json", None),
        (gzip.compress(req.SerializeToString()), "application/x-protobuf", "gzip"),
    ]:
        batch = decode_otlp_metrics(body, ctype, content_encoding=enc)
        got = _series(batch)
        assert got['rpc_latency_seconds{flag="true", job="svc", quantile="0.99"}'] == 1.5
        assert got['rpc_latency_seconds_count{flag="true", job="svc"}'] == 4
        assert int(batch.t[0]) == 1_700_000_000_123
        stale = [str(batch.labels[int(s)]) for s in batch.series[is_stale(batch.v)]]
        assert stale == ['temp_celsius{job="svc"}']
        assert not any(lb.name == "target_info" for lb in batch.labels)  # only identifying attributes


def test_errors() -> None:
    with pytest.raises(IngestError) as err:
        decode_otlp_metrics(b"x", "text/plain")
    assert err.value.status == 415
    with pytest.raises(IngestError) as err:
        decode_otlp_metrics(b"\xff\xff\xff", "application/x-protobuf")
    assert err.value.status == 400
    with pytest.raises(IngestError) as err:
        decode_otlp_metrics(b"{not json", "application/json")
    assert err.value.status == 400


def test_special_values_survive() -> None:
    req = ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add(name="g")
    m.gauge.data_points.add(time_unix_nano=5_000_000, as_double=math.inf)
    batch = decode_otlp_metrics(req.SerializeToString(), "application/x-protobuf")
    assert batch.v.tolist() == [math.inf] and batch.t.tolist() == [5]
