"""Dashboards in headless Chromium (Debian's, driven by Playwright) against a real server with real data.

A Grafana dashboard shaped like "Node Exporter Full" is imported through the UI and must draw its
panels with populated variables; every panel type draws; an edit saved in the UI lands in the file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import Processes, free_port
from watchkeeper.web import static_dir
from watchkeeper.web.screenshots import CHROMIUM

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="chromium not installed"),
    pytest.mark.skipif(not (static_dir() / "app.js").is_file(), reason="web UI not built"),
]

FIXTURE = Path(__file__).parent / "fixtures" / "grafana_node_exporter_full.json"
API = "/api/watchkeeper/v1/dashboards"

# One panel of every type over pushed demo data (a counter and histogram buckets).
ALL_PANELS = {
    "title": "All panel types",
    "uid": "all-panels",
    "time": {"from": "now-15m", "to": "now"},
    "variables": [
        {
            "name": "inst",
            "type": "query",
            "query": "label_values(demo_requests_total, instance)",
            "multi": True,
            "include_all": True,
            "current": ["$__all"],
        },
        {"name": "iv", "type": "interval", "options": ["1m", "2m"], "auto": True, "current": "1m"},
    ],
    "panels": [
        {
            "type": "timeseries",
            "title": "Requests $inst",
            "grid": {"x": 0, "y": 0, "w": 12, "h": 8},
            "unit": "reqps",
            "targets": [
                {"expr": 'rate(demo_requests_total{instance=~"$inst"}[$iv])', "legend": "{{instance}}"}
            ],
        },
        {
            "type": "heatmap",
            "title": "Latency",
            "grid": {"x": 12, "y": 0, "w": 12, "h": 8},
            "unit": "s",
            "targets": [{"expr": "sum by (le) (rate(demo_latency_seconds_bucket[1m]))"}],
        },
        {
            "type": "stat",
            "title": "Total",
            "grid": {"x": 0, "y": 8, "w": 6, "h": 4},
            "targets": [{"expr": "sum(demo_requests_total)"}],
        },
        {
            "type": "gauge",
            "title": "Share",
            "grid": {"x": 6, "y": 8, "w": 6, "h": 4},
            "unit": "percent",
            "targets": [
                {"expr": '100 * sum(demo_requests_total{instance="web-1"}) / sum(demo_requests_total)'}
            ],
        },
        {
            "type": "bargauge",
            "title": "Per instance",
            "grid": {"x": 12, "y": 8, "w": 6, "h": 4},
            "targets": [{"expr": "demo_requests_total", "legend": "{{instance}}"}],
        },
        {
            "type": "table",
            "title": "Table",
            "grid": {"x": 18, "y": 8, "w": 6, "h": 4},
            "targets": [{"expr": "demo_requests_total"}],
        },
        {
            "type": "text",
            "title": "Notes",
            "grid": {"x": 0, "y": 12, "w": 24, "h": 2},
            "options": {"content": "Demo data for the browser test."},
        },
    ],
}


def _push_demo_data(url: str) -> None:
    """Ten minutes of a counter per instance and a latency histogram, one sample every 10 s, ending now."""
    now = int(time.time() * 1000)
    lines = []
    bounds = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
    for i in range(61):
        t = now - 600_000 + i * 10_000
        lines.append(f'demo_requests_total{{instance="web-1",job="demo"}} {i * 10} {t}')
        lines.append(f'demo_requests_total{{instance="web-2",job="demo"}} {i * 25} {t}')
        cumulative = 0
        for k, le in enumerate(bounds):
            cumulative += i * (k + 1 if k < 3 else 6 - k)
            lines.append(f'demo_latency_seconds_bucket{{le="{le}"}} {cumulative} {t}')
    httpx.post(
        url + "/api/v1/import/prometheus", content="\n".join(lines) + "\n", timeout=30
    ).raise_for_status()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("dash")
    dash_dir = tmp / "dashboards"
    dash_dir.mkdir()
    (dash_dir / "all-panels.yaml").write_text(yaml.safe_dump(ALL_PANELS, sort_keys=False))
    ps = Processes(tmp)
    try:
        port = free_port()
        cfg = tmp / "watchkeeper.yml"
        cfg.write_text(f"""global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: watchkeeper
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: node
    metrics_path: /host/metrics
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
""")
        p = ps.watchkeeper("--dashboards.dir", str(dash_dir), config=cfg, port=port)
        _push_demo_data(p.url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # host metrics arrive with the first scrapes of /host/metrics
            query = {"query": "count(rate(node_cpu_seconds_total[5s]))"}
            if httpx.get(p.url + "/api/v1/query", params=query, timeout=30).json()["data"]["result"]:
                break
            time.sleep(0.2)
        yield p.url, dash_dir
    finally:
        ps.stop_all()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that fails the test if the app logs a console error or throws."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"{m.text} at {m.location}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(15_000)
    yield pg
    ctx.close()
    assert errors == []


def _loaded(page: Any) -> None:
    page.wait_for_selector('[data-page="dashboards"][data-state="loaded"]')


def test_list_shows_built_in_and_directory_dashboards(server: tuple[str, Path], page: Any) -> None:
    url, _ = server
    page.goto(url + "/dashboards")
    rows = page.locator("#dash-list tbody tr")
    sync_api.expect(rows).to_have_count(3)
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.uid)")) == [
        "all-panels",
        "host",
        "watchkeeper",
    ]


def test_grafana_import_draws_panels_with_variables(server: tuple[str, Path], page: Any) -> None:
    url, dash_dir = server
    page.goto(url + "/dashboards")
    page.click("#dash-import")
    # Pasted in one go (typing 80 kB through fill() takes long on a busy machine).
    page.locator("#import-json").evaluate("(el, text) => { el.value = text; }", FIXTURE.read_text())
    page.click("#import-run")
    page.wait_for_url("**/dashboards?uid=rYdddlPWk*")
    _loaded(page)
    assert (dash_dir / "rYdddlPWk.yaml").is_file()
    sync_api.expect(page.locator("#import-notes")).to_contain_text("piechart is not supported")
    # Variables: job and node from label_values(...) queries; diskdevices is hidden, datasource too.
    assert page.locator('select[data-var="job"] option').all_inner_texts() == ["node"]
    port = url.rsplit(":", 1)[1]
    assert page.locator('select[data-var="node"] option').all_inner_texts() == [f"127.0.0.1:{port}"]
    assert page.locator('[data-var="diskdevices"], [data-var="datasource"]').count() == 0
    # The two expanded rows: 11 + 4 panels, none failing, each drawing its data.
    panels = page.locator(".dash-panel")
    sync_api.expect(panels).to_have_count(15)
    assert page.locator(".panel-state.err").count() == 0
    for kind, n in (("timeseries", 4), ("gauge", 5), ("stat", 5), ("bargauge", 1)):
        assert page.locator(f'.dash-panel[data-type="{kind}"]').count() == n
    assert page.locator('.dash-panel[data-type="timeseries"] canvas').count() == 4
    assert page.locator('.dash-panel[data-type="gauge"] svg.gauge').count() == 5
    cpu_cores = page.locator('.dash-panel[data-type="stat"]').filter(has_text="CPU Cores")
    assert cpu_cores.locator(".stat-value").inner_text().isdigit()
    assert "var-job=node" in page.url and "var-node=" in page.url
    # A collapsed row draws its panels when opened, the unsupported one as a visible placeholder.
    page.get_by_role("button", name="Systemd").click()
    _loaded(page)
    sync_api.expect(page.locator(".panel-placeholder")).to_contain_text("piechart")


def test_every_panel_type_draws(server: tuple[str, Path], page: Any) -> None:
    url, _ = server
    page.goto(url + "/dashboards?uid=all-panels")
    _loaded(page)
    assert page.locator(".panel-state.err").count() == 0
    assert page.locator(".panel-empty").count() == 0
    assert page.locator('.dash-panel[data-type="timeseries"] canvas').count() == 1
    assert page.locator('.dash-panel[data-type="heatmap"] canvas').count() == 1
    assert page.locator('.dash-panel[data-type="stat"] .stat-value').inner_text() == "2.1 K"
    assert page.locator('.dash-panel[data-type="gauge"] svg text').text_content() == "28.6%"
    assert page.locator(".bar-row").count() == 2
    assert page.locator(".panel-table tbody tr").count() == 2
    sync_api.expect(page.locator(".panel-text")).to_have_text("Demo data for the browser test.")
    # The heatmap's cells are drawn on uPlot's canvas: it is not blank.
    painted = page.locator('.dash-panel[data-type="heatmap"] canvas').evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )
    assert painted > 1000
    # Multi-value variable with All: the title shows the regex alternation.
    assert page.locator(".panel-title").first.inner_text() == "Requests (web-1|web-2)"
    # A time range preset and a variable choice go into the URL.
    page.select_option("#dash-range", "30m")
    _loaded(page)
    assert "from=now-30m" in page.url
    page.select_option('select[data-var="iv"]', label="2m")
    _loaded(page)
    assert "var-iv=2m" in page.url


def test_edit_and_save_round_trip(server: tuple[str, Path], page: Any) -> None:
    url, dash_dir = server
    page.goto(url + "/dashboards?uid=all-panels")
    _loaded(page)
    page.click("#dash-edit")
    page.locator('.dash-panel[data-type="stat"] [data-action="edit"]').click()
    page.fill("#pe-title", "Total requests")
    page.fill("#pe-unit", "short")
    page.locator('#panel-editor textarea[data-target="0"]').fill("sum(demo_requests_total) * 2")
    page.click("#pe-apply")
    page.locator('.dash-panel[data-type="text"] [data-action="remove"]').click()
    page.click("#dash-add-panel")
    page.fill("#pe-title", "Added")
    page.click("#pe-apply")
    page.click("#dash-save")
    sync_api.expect(page.locator("#dash-saved")).to_contain_text("all-panels.yaml")
    _loaded(page)
    sync_api.expect(page.locator('.dash-panel[data-type="stat"] .stat-value')).to_have_text("4.2 K")
    saved = yaml.safe_load((dash_dir / "all-panels.yaml").read_text())
    titles = [p["title"] for p in saved["panels"]]
    assert "Total requests" in titles and "Added" in titles and "Notes" not in titles
    stat = next(p for p in saved["panels"] if p["title"] == "Total requests")
    assert stat["targets"] == [{"expr": "sum(demo_requests_total) * 2"}] and stat["unit"] == "short"
    api = httpx.get(f"{url}{API}/all-panels").json()["data"]["dashboard"]
    assert [p["title"] for p in api["panels"]] == titles
    # Reloading the page shows the saved version.
    page.reload()
    _loaded(page)
    assert page.locator(".panel-title").all_inner_texts().count("Added") == 1


def test_built_in_dashboards_draw_without_errors(server: tuple[str, Path], page: Any) -> None:
    url, _ = server
    for uid, kinds in (
        ("host", ("timeseries", "gauge", "stat", "bargauge", "table")),
        ("watchkeeper", ("timeseries", "stat")),
    ):
        page.goto(f"{url}/dashboards?uid={uid}&from=now-5m")
        _loaded(page)
        assert page.locator(".panel-state.err").count() == 0, uid
        for kind in kinds:
            assert (
                page.locator(f'.dash-panel[data-type="{kind}"] .panel-empty').count()
                < page.locator(f'.dash-panel[data-type="{kind}"]').count()
            ), (uid, kind)
        assert json.loads(page.evaluate("JSON.stringify(document.querySelectorAll('canvas').length)")) >= 5
