"""``watchkeeper server`` as a real process: default config, reload, signals, restart, bad input."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from conftest import REMOTE_WRITE_HEADERS, Processes, encode_write_request, free_port


def _query(url: str, q: str, **params: str) -> list[dict]:
    r = httpx.get(url + "/api/v1/query", params={"query": q, **params}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


def _wait_for(check, timeout: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


SELF_1S = """\
global:
  scrape_interval: 1s
  external_labels: {{site: test}}
scrape_configs:
  - job_name: self
    static_configs: [{{targets: ["{addr}"]}}]
"""


def test_default_config_scrapes_itself_and_the_host(procs: Processes) -> None:
    wk = procs.watchkeeper()
    def jobs() -> set[str]:
        return {r["metric"]["job"] for r in _query(wk.url, "up == 1")}
    assert _wait_for(lambda: jobs() == {"node", "watchkeeper"}, 40, "both default jobs up")
    assert _query(wk.url, 'watchkeeper_component_restarts_total{component="scrape"}')[0]["value"][1] == "0"
    yaml_text = httpx.get(wk.url + "/api/v1/status/config").json()["data"]["yaml"]
    assert "job_name: node" in yaml_text and "/host/metrics" in yaml_text


def test_reload_applies_good_config_and_keeps_old_on_error(procs: Processes, tmp_path: Path) -> None:
    port = free_port()
    addr = f"127.0.0.1:{port}"
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(SELF_1S.format(addr=addr))
    wk = procs.watchkeeper(config=cfg, port=port)
    _wait_for(lambda: _query(wk.url, 'up{job="self"}'), 20, "self scraped")

    cfg.write_text("global:\n  scrape_intervall: 1s\n")
    r = httpx.post(wk.url + "/-/reload")
    assert r.status_code == 500 and f"{cfg}:2: field scrape_intervall not found in global" in r.text
    assert "job_name: self" in httpx.get(wk.url + "/api/v1/status/config").json()["data"]["yaml"]
    _wait_for(lambda: _query(wk.url, "watchkeeper_config_last_reload_successful == 0"), 10, "failure metric")

    again = f'  - job_name: again\n    static_configs: [{{targets: ["{addr}"]}}]\n'
    cfg.write_text(SELF_1S.format(addr=addr) + again)
    wk.signal(signal.SIGHUP)
    _wait_for(lambda: _query(wk.url, 'up{job="again"}'), 20, "new job after SIGHUP")
    _wait_for(lambda: _query(wk.url, "watchkeeper_config_last_reload_successful == 1"), 10, "success metric")
    # Federation carries the external labels.
    fed = httpx.get(wk.url + "/federate", params={"match[]": 'up{job="again"}'}).text
    assert 'site="test"' in fed
    assert "config reload failed, keeping the previous config" in wk.log()


def test_data_survives_a_clean_restart(procs: Processes, tmp_path: Path) -> None:
    data = tmp_path / "data"
    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    wk = procs.watchkeeper(data_dir=data, config=cfg)
    now = int(time.time() * 1000)
    body = encode_write_request([({"__name__": "kept", "k": "v"}, [(now - 2000, 1.0), (now - 1000, 2.0)])])
    assert httpx.post(wk.url + "/api/v1/write", content=body, headers=REMOTE_WRITE_HEADERS).status_code == 204
    assert wk.stop() == 0
    assert "storage closed" in wk.log()
    wk2 = procs.watchkeeper(data_dir=data, config=cfg)
    got = _query(wk2.url, "kept[10s]", time=str(now / 1000))
    assert [v for _, v in got[0]["values"]] == ["1", "2"]


def test_bad_config_or_busy_port_fail_fast(procs: Processes, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yml"
    cfg.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n")
    p = procs.watchkeeper(config=cfg, wait=False)
    assert p.proc.wait(30) == 1
    assert f"{cfg}:3: scrape_configs[0].scrape_interval" in p.log()
    wk = procs.watchkeeper()
    port = int(wk.url.rsplit(":", 1)[1])
    busy = procs.watchkeeper(port=port, data_dir=tmp_path / "other", wait=False)
    assert busy.proc.wait(30) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in busy.log()
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    unusable = procs.watchkeeper(data_dir=not_a_dir / "data", wait=False)
    assert unusable.proc.wait(30) == 1
    assert "Not a directory" in unusable.log()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(procs: Processes, sig: int) -> None:
    wk = procs.watchkeeper()
    wk.signal(sig)
    assert wk.proc.wait(20) == 0
    assert "storage closed" in wk.log()


def test_otlp_exporter_pushes_metrics(procs: Processes, tmp_path: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    wk = procs.watchkeeper(config=cfg)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=wk.url + "/v1/metrics"),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": "shop"}), metric_readers=[reader])
    counter = provider.get_meter("test").create_counter("orders", unit="1")
    counter.add(7, {"region": "eu"})
    assert provider.force_flush(10_000)
    provider.shutdown()
    got = _wait_for(lambda: _query(wk.url, '{__name__=~"orders.*", job="shop"}'), 10, "OTLP samples")
    assert got[0]["value"][1] == "7"


def test_bad_push_bodies_leave_the_server_and_its_data_intact(procs: Processes, tmp_path: Path) -> None:
    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    wk = procs.watchkeeper(config=cfg)
    now = int(time.time() * 1000)
    good = encode_write_request([({"__name__": "safe"}, [(now - 1000, 42.0)])])
    assert httpx.post(wk.url + "/api/v1/write", content=good, headers=REMOTE_WRITE_HEADERS).status_code == 204
    bad = [
        ("/api/v1/write", b"\x00\xff garbage", REMOTE_WRITE_HEADERS, 400),
        ("/api/v1/write", good[: len(good) // 2], REMOTE_WRITE_HEADERS, 400),
        ("/api/v1/write", good, {**REMOTE_WRITE_HEADERS, "Content-Type": "application/json"}, 415),
        ("/api/v1/write", b"x" * (40 << 20), REMOTE_WRITE_HEADERS, 413),
        ("/api/v1/import/prometheus", b"metric{ 1\n", {}, 400),
        ("/v1/metrics", b"\x0a\xff\xff\xff", {"Content-Type": "application/x-protobuf"}, 400),
        ("/v1/metrics", b"{}", {"Content-Type": "text/csv"}, 415),
    ]
    for path, body, headers, status in bad:
        r = httpx.post(wk.url + path, content=body, headers=headers, timeout=30)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.text.strip(), path
    assert httpx.get(wk.url + "/-/healthy").status_code == 200
    assert _query(wk.url, "safe")[0]["value"][1] == "42"
    assert 'watchkeeper_ingest_rejected_requests_total{code="413",endpoint="remote_write"} 1' in \
        httpx.get(wk.url + "/metrics").text


def test_small_requests_do_not_stall_on_delayed_acks(procs: Processes, tmp_path: Path) -> None:
    """Responses go out with TCP_NODELAY; without it each keep-alive request waits ~40 ms."""
    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    wk = procs.watchkeeper(config=cfg)
    times = []
    with httpx.Client() as client:
        for _ in range(30):
            t = time.perf_counter()
            assert client.get(wk.url + "/-/healthy").status_code == 200
            times.append(time.perf_counter() - t)
    assert sorted(times)[len(times) // 2] < 0.03
