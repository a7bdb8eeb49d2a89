"""The web UI in headless Chromium (Debian's, driven by Playwright) against a real server with real data.

Every page is opened, must show the data the server holds, and must log no console errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Processes, free_port
from watchkeeper.web import static_dir
from watchkeeper.web.screenshots import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGES,
    demo_config,
    push_demo_data,
    screenshot_pages,
)

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="chromium not installed"),
    pytest.mark.skipif(not (static_dir() / "app.js").is_file(), reason="web UI not built"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("web")
    ps = Processes(tmp)
    try:
        port = free_port()
        p = ps.watchkeeper(config=demo_config(tmp, port), port=port)
        push_demo_data(p.url)
        yield p.url
    finally:
        ps.stop_all()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def expected_errors() -> list[str]:
    """Texts of console errors a test provokes on purpose (Chromium logs every failed request)."""
    return []


@pytest.fixture
def page(browser, expected_errors: list[str]) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh page that fails the test if the app logs a console error or throws."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"{m.text} at {m.location}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(10_000)
    yield pg
    ctx.close()
    assert [e for e in errors if not any(x in e for x in expected_errors)] == [], errors


def test_overview_shows_live_status(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/")
    sync_api.expect(page.locator("#live-state")).to_have_text("● live")
    sync_api.expect(page.locator("#stat-head-series")).not_to_have_text("–")
    assert int(page.locator("#stat-head-series").inner_text()) >= 2
    sync_api.expect(page.locator("#stat-targets-down")).to_have_text("1", timeout=15_000)
    assert int(page.locator("#stat-targets-up").inner_text()) >= 1
    sync_api.expect(page.locator("#stat-alerts")).to_have_text("1", timeout=15_000)
    sync_api.expect(page.locator("#stat-alerts-detail")).to_have_text("critical 1")
    sync_api.expect(page.locator("#stat-storage-size")).to_contain_text("B")
    sync_api.expect(page.locator("#stat-ingest-rate")).not_to_have_text("–")
    # The ingest chart is drawn by uPlot once two snapshots arrived.
    sync_api.expect(page.locator("#ingest-chart canvas")).to_have_count(1)


def test_query_explorer_graph_table_and_shared_url(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/graph")
    page.fill("#expr", "demo_req")
    sync_api.expect(page.locator("#autocomplete li").first).to_have_text("demo_requests_total")
    page.keyboard.press("Enter")  # accepts the suggestion
    assert page.input_value("#expr") == "demo_requests_total"
    page.fill("#range-input", "15m")
    page.click("#execute")
    sync_api.expect(page.locator("#graph-chart canvas")).to_have_count(1)
    legend = page.locator("#graph-chart .u-legend .u-series")
    sync_api.expect(legend).to_have_count(3)  # the time column and two series
    sync_api.expect(legend.nth(1)).to_contain_text('instance="web-1"')
    legend.nth(1).click()  # uPlot hides a series when its legend entry is clicked
    sync_api.expect(legend.nth(1)).to_have_class("u-series u-off")
    assert "g0.expr=demo_requests_total" in page.url and "g0.range_input=15m" in page.url

    page.click("#tab-table")
    rows = page.locator("#result-table tbody tr")
    sync_api.expect(rows).to_have_count(2)
    sync_api.expect(rows.nth(0)).to_contain_text('demo_requests_total{instance="web-1", job="demo"}')

    shared = page.url
    page.goto("about:blank")
    page.goto(shared)  # a shared link restores the query and its view
    sync_api.expect(page.locator("#result-table tbody tr")).to_have_count(2)
    assert page.input_value("#expr") == "demo_requests_total"


def test_autocomplete_of_label_names_and_values(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/graph")
    page.click("#expr")
    page.keyboard.type('demo_requests_total{inst')
    sync_api.expect(page.locator("#autocomplete li")).to_have_text(["instance"])
    page.keyboard.press("Tab")
    page.keyboard.type('="web')
    sync_api.expect(page.locator("#autocomplete li")).to_have_text(["web-1", "web-2"])
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.input_value("#expr") == 'demo_requests_total{instance="web-2'


def _seconds(duration: str) -> int:
    """"1h", "8m59s" as the explorer writes them."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", duration))


def test_drag_zooms_by_requerying_and_buttons_pan(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/graph?g0.expr=demo_requests_total&g0.range_input=1h")
    over = page.locator("#graph-chart .u-over")
    sync_api.expect(over).to_have_count(1)
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.8, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=5)
    page.mouse.up()
    # 15% of 1h was selected: the explorer now shows those ~9 minutes, ending at a fixed time.
    sync_api.expect(page.locator("#range-input")).not_to_have_value("1h")
    assert 500 <= _seconds(page.input_value("#range-input")) <= 580
    end = page.input_value("#end-input")
    assert end and "g0.end_input=" in page.url
    sync_api.expect(page.locator("#graph-chart canvas")).to_have_count(1)
    page.click("#pan-back")
    sync_api.expect(page.locator("#end-input")).not_to_have_value(end)
    assert page.input_value("#end-input") < end  # ISO text in UTC sorts like time
    before = _seconds(page.input_value("#range-input"))
    page.click("#zoom-out")
    assert _seconds(page.input_value("#range-input")) == 2 * before


def test_live_graph_follows_new_points(server: str, page) -> None:  # type: ignore[no-untyped-def]
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    page.goto(server + "/graph?g0.expr=up&g0.range_input=5m&g0.step_input=1s&g0.live=1")
    sync_api.expect(page.locator("#graph-chart canvas")).to_have_count(1)
    sync_api.expect(page.locator("#query-info")).to_contain_text("live")
    assert page.is_disabled("#end-input")
    page.wait_for_function("() => true", timeout=1000)
    deadline = 40
    while deadline and sum('"type":"points"' in f for f in frames) < 2:
        page.wait_for_timeout(250)
        deadline -= 1
    assert sum('"type":"range"' in f for f in frames) == 1
    assert sum('"type":"points"' in f for f in frames) >= 2
    assert "g0.live=1" in page.url


def test_query_error_position_is_highlighted(server: str, page, expected_errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    expected_errors.append("status of 400 (Bad Request)")
    page.goto(server + "/graph?g0.tab=1")
    page.fill("#expr", "sum(rate(demo_requests_total[1m])")
    page.click("#execute")
    sync_api.expect(page.locator("#query-error")).to_contain_text("parse error")
    sync_api.expect(page.locator("#error-expr mark")).to_have_count(1)


def test_targets_page_shows_health_and_relabeling(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/targets")
    broken = page.locator('section.pool[data-pool="broken"]')
    sync_api.expect(broken.locator(".badge")).to_have_text("DOWN", timeout=15_000)
    sync_api.expect(broken.locator("td.error-text")).not_to_be_empty()
    sync_api.expect(broken).to_contain_text('owner="ui-test"')
    broken.locator("button.relabel-toggle").click()
    sync_api.expect(broken.locator(".discovered")).to_contain_text("__address__=")
    own = page.locator('section.pool[data-pool="watchkeeper"]')
    sync_api.expect(own.locator(".badge")).to_have_text("UP", timeout=15_000)


def test_rules_and_alerts_pages(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/rules")
    group = page.locator('section.group[data-group="demo"]')
    sync_api.expect(group.locator("tr.rule")).to_have_count(2)
    sync_api.expect(group).to_contain_text("alert: DemoAlwaysFiring")
    sync_api.expect(group).to_contain_text("record: demo:requests:rate")
    page.click('nav a[href="/alerts"]')  # client-side navigation
    alerts = page.locator('section.alert-group[data-alertname="DemoAlwaysFiring"] tr.alert')
    sync_api.expect(alerts).to_have_count(1)
    sync_api.expect(alerts).to_contain_text("firing")
    sync_api.expect(alerts).to_contain_text("fires for the UI test")


def test_screenshot_command_photographs_every_page(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    written = screenshot_pages(browser, server, tmp_path, settle=False)
    assert [p.name for p in written] == [f"{name}.png" for name, *_ in PAGES]
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
