"""The HTTP API in-process (Starlette TestClient) over a real in-memory TSDB and PromQL engine."""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import REMOTE_WRITE_HEADERS, encode_write_request
from watchkeeper.api.app import create_app
from watchkeeper.api.context import ApiContext
from watchkeeper.config import load_config_text, redacted_yaml
from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine
from watchkeeper.storage.db import TSDB

with warnings.catch_warnings():
    # Starlette nudges towards another HTTP client package; httpx is what this project uses.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

T0 = 1_700_000_000_000  # ms
CONFIG = """\
global:
  external_labels: {region: eu}
scrape_configs:
  - job_name: node
    basic_auth: {username: u, password: hunter2}
"""


def _load(db: TSDB) -> None:
    """Two counters and a gauge, one sample every 15 s for 10 minutes from T0."""
    labels = [Labels({"__name__": "http_requests_total", "job": "api", "instance": "a"}),
              Labels({"__name__": "http_requests_total", "job": "api", "instance": "b"}),
              Labels({"__name__": "temperature", "job": "sensor", "room": "hall"})]
    n = 41
    t = np.tile(T0 + np.arange(n) * 15_000, 3)
    v = np.concatenate([np.arange(n) * 10.0, np.arange(n) * 20.0, np.full(n, 21.5)])
    db.append(SampleBatch(labels, np.repeat(np.arange(3), n), t, v))


class _Reloader:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    async def __call__(self) -> None:
        self.calls += 1
        if self.fail:
            raise ValueError("x.yml:3: field bogus not found in global")


@pytest.fixture
def api() -> Iterator[tuple[TestClient, ApiContext, _Reloader]]:
    db = TSDB(None)
    _load(db)
    cfg = load_config_text(CONFIG).config
    reloader = _Reloader()
    with ThreadPoolExecutor(4) as pool:
        ctx = ApiContext(
            storage=db, engine=Engine(timeout_s=10), executor=pool, lookback_ms=lambda: 300_000,
            external_labels=lambda: dict(cfg.global_.external_labels), config_yaml=lambda: redacted_yaml(cfg),
            flags={"query.timeout": "2m"}, runtime_info=lambda: {"CWD": "/"}, scrape_manager=lambda: None,
            reload=reloader, is_ready=lambda: True, own_metrics=lambda: b"# TYPE x gauge\nx 1\n",
            host_metrics=lambda: b"# TYPE node_load1 gauge\nnode_load1 0.5\n", max_body_bytes=64 << 10,
            build_info={"version": "0.1.0"})
        with TestClient(create_app(ctx)) as client:
            yield client, ctx, reloader
    db.close()


def _ok(r) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success"
    return body


def test_instant_query_vector(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    body = _ok(client.get("/api/v1/query", params={"query": "http_requests_total", "time": T0 / 1000 + 60}))
    assert body["data"]["resultType"] == "vector"
    got = {r["metric"]["instance"]: r["value"] for r in body["data"]["result"]}
    assert got == {"a": [1_700_000_060, "40"], "b": [1_700_000_060, "80"]}


def test_instant_query_scalar_string_and_rfc3339_time(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    body = _ok(client.get("/api/v1/query", params={"query": "1 + 1.5", "time": "2023-11-14T22:13:20.5Z"}))
    assert body["data"] == {"resultType": "scalar", "result": [1700000000.5, "2.5"]}
    body = _ok(client.get("/api/v1/query", params={"query": '"hi"', "time": "100"}))
    assert body["data"] == {"resultType": "string", "result": [100, "hi"]}


def test_range_query_matrix_by_get_and_form_post(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    params = {"query": "rate(http_requests_total[1m])", "start": str(T0 / 1000 + 120),
              "end": str(T0 / 1000 + 240), "step": "60s"}
    body = _ok(client.get("/api/v1/query_range", params=params))
    assert body["data"]["resultType"] == "matrix"
    series = body["data"]["result"]
    assert [s["metric"] for s in series] == [{"instance": "a", "job": "api"}, {"instance": "b", "job": "api"}]
    rate = "0.6666666666666666"
    assert series[0]["values"] == [[1_700_000_120, rate], [1_700_000_180, rate], [1_700_000_240, rate]]
    posted = _ok(client.post("/api/v1/query_range", data=params))
    assert posted == body


@pytest.mark.parametrize(("path", "params", "status", "etype", "message"), [
    ("/api/v1/query", {"query": "sum(", "time": "1"}, 400, "bad_data",
     'invalid parameter "query": 1:5: parse'),
    ("/api/v1/query", {"query": "up", "time": "yesterday"}, 400, "bad_data",
     'invalid parameter "time": Invalid time value for \'time\': '
     'cannot parse "yesterday" to a valid timestamp'),
    ("/api/v1/query_range", {"query": "up", "end": "10", "step": "1"}, 400, "bad_data",
     'invalid parameter "start": cannot parse "" to a valid timestamp'),
    ("/api/v1/query_range", {"query": "up", "start": "10", "end": "5", "step": "1"}, 400, "bad_data",
     'invalid parameter "end": end timestamp must not be before start time'),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "5", "step": "0"}, 400, "bad_data",
     'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
     "Try a positive integer"),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "5", "step": "x"}, 400, "bad_data",
     'invalid parameter "step": cannot parse "x" to a valid duration'),
    ("/api/v1/query_range", {"query": "up", "start": "0", "end": "20000", "step": "1"}, 400, "bad_data",
     "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution "
     "(?step=XX)"),
    ("/api/v1/query", {"query": "up", "timeout": "soon"}, 400, "bad_data", 'invalid parameter "timeout"'),
    ("/api/v1/series", {}, 400, "bad_data", "no match[] parameter provided"),
    ("/api/v1/series", {"match[]": "up{"}, 400, "bad_data", 'invalid parameter "match[]"'),
    ("/api/v1/label/0bad/values", {}, 400, "bad_data", 'invalid label name: "0bad"'),
    ("/api/v1/admin/tsdb/delete_series", {"match[]": "up"}, 503, "unavailable", "admin APIs disabled"),
])
def test_errors_have_prometheus_shape(api, path, params, status, etype, message) -> None:  # type: ignore
    client, _, _ = api
    r = client.post(path, data=params) if "admin" in path else client.get(path, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == etype
    assert body["error"].startswith(message), body["error"]


def test_execution_errors_are_422(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    r = client.get("/api/v1/query", params={
        "query": 'label_replace(http_requests_total, "instance", "x", "", "")', "time": str(T0 / 1000 + 60)})
    assert r.status_code == 422, r.text
    assert r.json()["errorType"] == "execution"


def test_warnings_are_reported(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    params = {"query": "rate(temperature[5m])", "time": str(T0 / 1000 + 600)}
    body = _ok(client.get("/api/v1/query", params=params))
    assert any("counter" in w for w in body.get("infos", []) + body.get("warnings", []))


def test_series_labels_and_values(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    body = _ok(client.get("/api/v1/series", params={"match[]": ["http_requests_total", "temperature"]}))
    assert body["data"] == [
        {"__name__": "http_requests_total", "instance": "a", "job": "api"},
        {"__name__": "http_requests_total", "instance": "b", "job": "api"},
        {"__name__": "temperature", "job": "sensor", "room": "hall"},
    ]
    limited = _ok(client.get("/api/v1/series", params={"match[]": "http_requests_total", "limit": "1"}))
    assert len(limited["data"]) == 1 and limited["warnings"] == ["results truncated due to limit"]
    assert _ok(client.get("/api/v1/labels"))["data"] == ["__name__", "instance", "job", "room"]
    assert _ok(client.post("/api/v1/labels", data={"match[]": "temperature"}))["data"] == [
        "__name__", "job", "room"]
    assert _ok(client.get("/api/v1/label/job/values"))["data"] == ["api", "sensor"]
    assert _ok(client.get("/api/v1/label/__name__/values", params={"match[]": '{job="api"}'}))["data"] == [
        "http_requests_total"]
    # Outside the data's time range nothing is found.
    assert _ok(client.get("/api/v1/series", params={"match[]": "temperature", "start": "0", "end": "1"}))[
        "data"] == []


def test_status_endpoints(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    assert _ok(client.get("/api/v1/status/buildinfo"))["data"]["version"] == "0.1.0"
    yaml_text = _ok(client.get("/api/v1/status/config"))["data"]["yaml"]
    assert "<secret>" in yaml_text and "hunter2" not in yaml_text
    assert _ok(client.get("/api/v1/status/flags"))["data"]["query.timeout"] == "2m"
    assert _ok(client.get("/api/v1/status/runtimeinfo"))["data"]["CWD"] == "/"
    tsdb = _ok(client.get("/api/v1/status/tsdb"))["data"]
    assert tsdb["headStats"]["numSeries"] == 3
    assert tsdb["seriesCountByMetricName"][0] == {"name": "http_requests_total", "value": 2}
    assert _ok(client.get("/api/v1/targets"))["data"]["activeTargets"] == []
    assert _ok(client.get("/api/v1/metadata"))["data"] == {}


def test_health_ready_reload(api) -> None:  # type: ignore[no-untyped-def]
    client, _, reloader = api
    assert client.get("/-/healthy").status_code == 200
    assert client.get("/-/ready").status_code == 200
    assert client.post("/-/reload").status_code == 200 and reloader.calls == 1
    reloader.fail = True
    r = client.post("/-/reload")
    assert r.status_code == 500 and "field bogus" in r.text
    assert client.get("/-/reload").status_code == 405


def test_metrics_endpoints(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    r = client.get("/metrics")
    assert r.status_code == 200 and r.text == "# TYPE x gauge\nx 1\n"
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "node_load1 0.5" in client.get("/host/metrics").text


def test_federate_adds_external_labels(api) -> None:  # type: ignore[no-untyped-def]
    client, ctx, _ = api
    now = T0 + 600_000
    ctx.storage.append(SampleBatch([Labels({"__name__": "fresh", "job": "j", "region": "own"}),
                                    Labels({"__name__": "fresh", "job": "k"})],
                                   np.array([0, 1]), np.array([now, now]), np.array([1.0, 2e6])))
    import watchkeeper.api.federate as fed

    orig = fed.now_ms
    fed.now_ms = lambda: now + 1000  # type: ignore[assignment]
    try:
        r = client.get("/federate", params={"match[]": ["fresh", "temperature"]})
    finally:
        fed.now_ms = orig  # type: ignore[assignment]
    assert r.status_code == 200
    assert r.text == (
        "# TYPE fresh untyped\n"
        f'fresh{{job="j",region="own"}} 1 {now}\n'
        f'fresh{{job="k",region="eu"}} 2e+06 {now}\n'
        "# TYPE temperature untyped\n"
        f'temperature{{job="sensor",region="eu",room="hall"}} 21.5 {T0 + 600_000}\n')
    assert client.get("/federate").status_code == 400


def test_remote_write_then_query(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    body = encode_write_request([({"__name__": "pushed", "src": "rw"}, [(T0, 1.5), (T0 + 1000, 2.5)])])
    r = client.post("/api/v1/write", content=body, headers=REMOTE_WRITE_HEADERS)
    assert r.status_code == 204, r.text
    got = _ok(client.get("/api/v1/query", params={"query": "pushed[5s]", "time": str(T0 / 1000 + 1)}))
    assert got["data"]["result"] == [{"metric": {"__name__": "pushed", "src": "rw"},
                                      "values": [[1_700_000_000, "1.5"], [1_700_000_001, "2.5"]]}]


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"garbage\xff\x00", REMOTE_WRITE_HEADERS, 400),
    (encode_write_request([({"__name__": "x"}, [(T0, 1.0)])]),
     {**REMOTE_WRITE_HEADERS, "Content-Type": "text/plain"}, 415),
    (encode_write_request([({"__name__": "x"}, [(T0, 1.0)])]),
     {**REMOTE_WRITE_HEADERS, "Content-Encoding": "gzip"}, 415),
    (b"\x00" * (65 << 10), REMOTE_WRITE_HEADERS, 413),
])
def test_bad_remote_write_bodies_are_refused(api, body, headers, status) -> None:  # type: ignore
    client, ctx, _ = api
    before = ctx.storage.stats()["headStats"]["numSamples"]
    r = client.post("/api/v1/write", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.text.strip()
    assert ctx.storage.stats()["headStats"]["numSamples"] == before
    assert sum(ctx.ingest.rejected.values()) == 1


def test_delete_series_when_enabled(api) -> None:  # type: ignore[no-untyped-def]
    client, ctx, _ = api
    ctx.admin_api = True
    r = client.post("/api/v1/admin/tsdb/delete_series", data={"match[]": "temperature"})
    assert r.status_code == 204
    assert _ok(client.get("/api/v1/series", params={"match[]": "temperature"}))["data"] == []


def test_import_text_format(api) -> None:  # type: ignore[no-untyped-def]
    client, ctx, _ = api
    text = f"# TYPE imported gauge\nimported{{a=\"1\"}} 3.5 {T0}\nimported{{a=\"2\"}} 4 {T0}\n"
    r = client.post("/api/v1/import/prometheus", params={"extra_label": "src=file"}, content=text.encode())
    assert r.status_code == 204, r.text
    got = _ok(client.get("/api/v1/query", params={"query": "imported", "time": str(T0 / 1000)}))
    assert {r["metric"]["a"]: (r["metric"]["src"], r["value"][1]) for r in got["data"]["result"]} == {
        "1": ("file", "3.5"), "2": ("file", "4")}
    bad = client.post("/api/v1/import/prometheus", content=b"imported{a=\"1\" 3\n")
    assert bad.status_code == 400 and "line 1" in bad.text
    assert ctx.ingest.samples["import"] == 2


def test_exemplar_queries_are_checked_and_empty(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = api
    assert _ok(client.get("/api/v1/query_exemplars", params={"query": "up", "start": "0", "end": "10"}))[
        "data"] == []
    assert client.get("/api/v1/query_exemplars", params={"query": "up{"}).status_code == 400


def test_client_disconnect_cancels_the_query() -> None:
    """The worker's cancel event is set as soon as the client goes away."""
    from starlette.requests import Request

    from watchkeeper.api.errors import ApiError
    from watchkeeper.api.query import _run

    async def scenario() -> bool:
        messages = [{"type": "http.request", "body": b"", "more_body": False}, {"type": "http.disconnect"}]

        async def receive() -> dict:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        request = Request({"type": "http", "method": "GET", "path": "/api/v1/query", "headers": [],
                           "query_string": b""}, receive)
        seen = threading.Event()

        def work(cancel: threading.Event) -> bytes:
            if cancel.wait(5):
                seen.set()
            raise ApiError("canceled", "query was canceled in expression evaluation")

        with ThreadPoolExecutor(1) as pool:
            ctx = SimpleNamespace(executor=pool)
            with pytest.raises(ApiError, match="canceled"):
                await _run(ctx, request, work)  # type: ignore[arg-type]
        return seen.is_set()

    assert asyncio.run(scenario())


def test_remote_write_2_counts_histograms_apart(api) -> None:  # type: ignore[no-untyped-def]
    from test_ingest_histograms import EXP, GAUGE, snappy, v2_body
    from watchkeeper.ingest.remote_write import PROTO_V2

    client, _, _ = api
    body = snappy(v2_body([({"__name__": "h", "job": "b"}, [], [GAUGE, {**EXP, "t": 4000}]),
                           ({"__name__": "f", "job": "b"}, [(10, 1.0)], [])]))
    r = client.post("/api/v1/write", content=body, headers={
        "Content-Type": f"application/x-protobuf;proto={PROTO_V2}", "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "2.0.0"})
    assert r.status_code == 204, r.text
    assert r.headers["X-Prometheus-Remote-Write-Samples-Written"] == "1"
    assert r.headers["X-Prometheus-Remote-Write-Histograms-Written"] == "2"
