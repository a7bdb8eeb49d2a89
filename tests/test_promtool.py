"""promtool and Grafana-style API calls give the same answers from watchkeeper as from Prometheus 2.42.

The same remote-write requests go to a real Prometheus (with its receiver
enabled) and to watchkeeper; then identical queries are compared.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import REMOTE_WRITE_HEADERS, Proc, Processes, encode_write_request

pytestmark = pytest.mark.peer

STEP_MS = 15_000
N = 40


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, Proc, int]]:
    """(watchkeeper, prometheus, end time in ms) holding the same data; shared by this module's tests."""
    tmp_path = tmp_path_factory.mktemp("pair")
    procs = Processes(tmp_path)
    try:
        yield _start_pair(procs, tmp_path)
    finally:
        procs.stop_all()


def _start_pair(procs: Processes, tmp_path: Path) -> tuple[Proc, Proc, int]:
    cfg = tmp_path / "empty.yml"
    cfg.write_text("scrape_configs: []\n")
    wk = procs.watchkeeper(config=cfg)
    prom = procs.prometheus("scrape_configs: []\n", "--web.enable-remote-write-receiver")
    end = (int(time.time() * 1000) // 1000) * 1000 - 60_000
    start = end - (N - 1) * STEP_MS
    series = []
    for inst in ("a", "b", "c"):
        for code in ("200", "500"):
            k = ord(inst) * (2 if code == "500" else 1)
            series.append(({"__name__": "http_requests_total", "job": "api", "instance": inst, "code": code},
                           [(start + i * STEP_MS, float(k * i)) for i in range(N)]))
    series.append(({"__name__": "temperature_celsius", "job": "sensor", "room": "hall"},
                   [(start + i * STEP_MS, 20 + math.sin(i / 5) * 3.3) for i in range(N)]))
    for name, scale in (("tiny", 1e-9), ("huge", 1.5e20)):
        points = [(start + i * STEP_MS, scale * i) for i in range(N)]
        series.append(({"__name__": name, "job": "sensor"}, points))
    body = encode_write_request(series)
    for p in (wk, prom):
        r = httpx.post(p.url + "/api/v1/write", content=body, headers=REMOTE_WRITE_HEADERS, timeout=10)
        assert r.status_code in (200, 204), r.text
    return wk, prom, end


def _promtool(tool: str, *args: str) -> str:
    out = subprocess.run([tool, "query", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


QUERIES = [
    "http_requests_total",
    "rate(http_requests_total[1m])",
    "sum by (instance) (rate(http_requests_total[2m]))",
    'http_requests_total{code="500"} / ignoring(code) http_requests_total{code="200"}',
    "temperature_celsius",
    "avg_over_time(temperature_celsius[3m])",
    "tiny",
    "huge",
    "histogram_quantile(0.9, sum by (le) (rate(nothing_bucket[5m])))",
    "1 + 2",
    "topk(2, http_requests_total)",
]


def _same_output(ours: str, theirs: str) -> None:
    """Equal text, except that numbers may differ in the last bits.

    Prometheus 2.42 and watchkeeper (which follows Prometheus 3) sum floats in
    different orders inside rate() and friends; everything else must match exactly.
    """
    a, b = ours.split(), theirs.split()
    assert len(a) == len(b), (ours, theirs)
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            raise AssertionError(f"{x!r} != {y!r}\n{ours}\n{theirs}") from None
        assert math.isclose(fx, fy, rel_tol=1e-12), (x, y)


def _same_json(ours: object, theirs: object) -> None:
    """Equal JSON, sample values compared as in ``_same_output``."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), (ours, theirs)
        for k in ours:
            _same_json(ours[k], theirs[k])
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs), (ours, theirs)
        for x, y in zip(ours, theirs, strict=True):
            _same_json(x, y)
    elif ours != theirs:
        _same_output(str(ours), str(theirs))


@pytest.mark.parametrize("expr", QUERIES)
def test_promtool_instant_and_range_agree(pair, promtool: str, expr: str) -> None:  # type: ignore
    wk, prom, end = pair
    # Evaluation times fall between samples: Prometheus 2.42's closed range windows and the
    # left-open windows of Prometheus 3 (which watchkeeper follows) then select the same samples.
    at = f"{end / 1000 - 29.5:.3f}"
    _same_output(_promtool(promtool, "instant", "--time", at, wk.url, expr),
                 _promtool(promtool, "instant", "--time", at, prom.url, expr))
    rng = ["--start", f"{end / 1000 - 400.5:.3f}", "--end", f"{end / 1000 - 0.5:.3f}", "--step", "30s"]
    _same_output(_promtool(promtool, "range", *rng, wk.url, expr),
                 _promtool(promtool, "range", *rng, prom.url, expr))


def test_promtool_series_and_labels_agree(pair, promtool: str) -> None:  # type: ignore[no-untyped-def]
    wk, prom, _ = pair
    for args in (["series", "--match", "http_requests_total"],
                 ["series", "--match", '{job="sensor"}', "--match", '{code="500"}'],
                 ["labels", "job"], ["labels", "__name__"], ["labels", "instance"]):
        if args[0] == "series":
            ours, theirs = (_promtool(promtool, *args, p.url) for p in (wk, prom))
        else:
            ours, theirs = (_promtool(promtool, args[0], p.url, args[1]) for p in (wk, prom))
        assert ours == theirs, args
        assert ours.strip()


def test_grafana_style_calls_agree(pair) -> None:  # type: ignore[no-untyped-def]
    """The requests Grafana's Prometheus data source sends, compared body for body."""
    wk, prom, end = pair
    s, e = f"{end / 1000 - 600.5:.1f}", f"{end / 1000 - 0.5:.1f}"
    calls = [
        ("POST", "/api/v1/query_range", {"query": "sum(rate(http_requests_total[1m])) by (code)", "start": s,
                                         "end": e, "step": "15"}),
        ("POST", "/api/v1/query", {"query": "count(http_requests_total)", "time": e}),
        ("GET", "/api/v1/labels", {"start": s, "end": e}),
        ("GET", "/api/v1/label/__name__/values", {"start": s, "end": e}),
        ("GET", "/api/v1/label/instance/values", {"match[]": 'http_requests_total{code="200"}', "start": s,
                                                  "end": e}),
        ("POST", "/api/v1/series", {"match[]": '{__name__="temperature_celsius"}', "start": s, "end": e}),
        ("GET", "/api/v1/query_range", {"query": "bad syntax (", "start": s, "end": e, "step": "15"}),
        ("GET", "/api/v1/query_range", {"query": "up", "start": e, "end": s, "step": "15"}),
    ]
    for method, path, params in calls:
        answers = []
        for p in (wk, prom):
            if method == "POST":
                r = httpx.post(p.url + path, data=params, timeout=10)
            else:
                r = httpx.get(p.url + path, params=params, timeout=10)
            answers.append((r.status_code, r.json()))
        assert answers[0][0] == answers[1][0], (path, params)
        if answers[0][1]["status"] == "error":
            # 2.42 words a range query's parse error without Prometheus 3's "invalid parameter" prefix.
            assert answers[0][1]["errorType"] == answers[1][1]["errorType"]
            assert answers[0][1]["error"].endswith(answers[1][1]["error"])
        else:
            _same_json(answers[0][1], answers[1][1])


CHECK_CONFIGS = [
    "global: {scrape_interval: 15s}\nscrape_configs:\n  - job_name: a\n"
    "    static_configs: [{targets: [x:1]}]\n",
    "global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n",
    "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
    "scrape_configs:\n  - job_name: a\n    scrape_interval: 1x\n",
    "scrape_configs:\n  - job_name: a\n    unknown_field: 1\n",
    "remote_write:\n  - url: http://x:9201/write\n    queue_config: {capacity: 100}\n",
    "remote_write:\n  - name: missing-url\n",
    "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['a:9093']}]\n",
    "global:\n  external_labels: {'0x': y}\n",
    "",
]


@pytest.mark.parametrize("text", CHECK_CONFIGS)
def test_check_config_agrees_with_promtool(promtool: str, tmp_path: Path, text: str) -> None:
    from watchkeeper.cli.main import main

    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(text)
    theirs = subprocess.run([promtool, "check", "config", str(cfg)], capture_output=True, timeout=60)
    assert main(["check", "config", str(cfg)]) == theirs.returncode
