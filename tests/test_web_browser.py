"""The web UI in headless Chromium (Debian's, driven by Playwright) against a real server with real data.

The server scrapes itself and a target that is down, evaluates rules that fire, runs an in-process
Alertmanager (one receiver a local webhook that answers, one a closed port) and holds alerts posted
to its API v2. Every page is opened, must show that data, and must log no console errors.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from conftest import Processes, free_port
from watchkeeper.web import static_dir
from watchkeeper.web.screenshots import (
    CHROMIUM,
    PAGES,
    push_demo_data,
    screenshot_pages,
)

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="chromium not installed"),
    pytest.mark.skipif(not (static_dir() / "app.js").is_file(), reason="web UI not built"),
]

RULES = """groups:
  - name: demo
    interval: 1s
    rules:
      - alert: DemoAlwaysFiring
        expr: vector(1)
        labels: {severity: critical}
        annotations: {summary: "fires for the UI test"}
      - record: demo:requests:rate
        expr: sum(rate(demo_requests_total[1m]))
"""

ALERTMANAGER = """route:
  receiver: team
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
receivers:
  - name: pager
    webhook_configs: [{{url: "http://127.0.0.1:{hook}/hook"}}]
  - name: team
    webhook_configs: [{{url: "http://127.0.0.1:{dead}/hook"}}]
"""

# Alerts posted to the API v2: a group of three that the silence test silences one of.
POSTED = [{"alertname": "DiskFull", "instance": f"db-{i}", "severity": "warning", "team": "storage"}
          for i in range(1, 4)]


class _Hook(BaseHTTPRequestHandler):
    """A webhook receiver that accepts every notification."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _post(url: str, *labelsets: dict[str, str]) -> None:
    httpx.post(url + "/api/v2/alerts", json=[{"labels": ls} for ls in labelsets]).raise_for_status()


def _post_alerts(url: str) -> None:
    body = [{"labels": ls, "annotations": {"summary": f"{ls['instance']} is 97% full"}} for ls in POSTED]
    httpx.post(url + "/api/v2/alerts", json=body).raise_for_status()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("web")
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    ps = Processes(tmp)
    try:
        port = free_port()
        (tmp / "rules.yml").write_text(RULES)
        cfg = tmp / "watchkeeper.yml"
        cfg.write_text(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{tmp / 'rules.yml'}"]
scrape_configs:
  - job_name: watchkeeper
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: broken
    static_configs: [{{targets: ["127.0.0.1:{free_port()}"], labels: {{team: "ui-test"}}}}]
    relabel_configs:
      - {{source_labels: [team], target_label: owner}}
  - job_name: filtered
    static_configs: [{{targets: ["127.0.0.1:9"], labels: {{env: "staging"}}}}]
    relabel_configs:
      - {{source_labels: [env], regex: staging, action: drop}}
""")
        am = tmp / "alertmanager.yml"
        am.write_text(ALERTMANAGER.format(hook=hook.server_address[1], dead=free_port()))
        p = ps.watchkeeper("--alertmanager.config", str(am), config=cfg, port=port)
        push_demo_data(p.url)
        _post_alerts(p.url)
        yield p.url
    finally:
        ps.stop_all()
        hook.shutdown()
        hook.server_close()


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
    # Firing alerts by severity come from the Alertmanager: the rule's critical one, three posted warnings.
    sync_api.expect(page.locator("#stat-alerts-detail")).to_contain_text("critical 1", timeout=15_000)
    sync_api.expect(page.locator('#severity-bar [data-severity="critical"] .n')).to_have_text("1")
    assert int(page.locator('#severity-bar [data-severity="warning"] .n').inner_text()) >= 2
    sync_api.expect(page.locator("#stat-storage-size")).to_contain_text("B")
    sync_api.expect(page.locator("#stat-ingest-rate")).not_to_have_text("–")
    # The ingest chart is drawn by uPlot once two snapshots arrived.
    sync_api.expect(page.locator("#ingest-chart canvas")).to_have_count(1)
    events = page.locator("#latest-events tr.event")
    sync_api.expect(events.first).to_be_visible()
    sync_api.expect(page.locator("#latest-events")).to_contain_text("DiskFull")
    # A new alert event reaches the open page live (not necessarily as the newest row: retries of
    # the notifications to the closed-port receiver keep adding events of their own).
    _post(server, {"alertname": "OverviewLive", "severity": "info"})
    sync_api.expect(events.filter(has_text="OverviewLive")).not_to_have_count(0, timeout=5_000)


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
    page.click("#dropped-toggle")  # targets relabeling dropped, with their discovered labels
    sync_api.expect(page.locator("tr.dropped-target")).to_contain_text('env="staging"')


def test_rules_page(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/rules")
    group = page.locator('section.group[data-group="demo"]')
    sync_api.expect(group.locator("tr.rule")).to_have_count(2)
    sync_api.expect(group).to_contain_text("alert: DemoAlwaysFiring")
    sync_api.expect(group).to_contain_text("record: demo:requests:rate")
    sync_api.expect(group.locator("tr.rule").first.locator(".badge").first).to_have_text("firing")
    sync_api.expect(group).to_contain_text("1 active")
    sync_api.expect(group).to_contain_text("ms")


def _group(page, alertname: str):  # type: ignore[no-untyped-def]
    return page.locator(f'section.alert-group[data-alertname="{alertname}"]')


def test_alerts_page_groups_by_route_and_filters(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/rules")
    page.click('nav a[href="/alerts"]')  # client-side navigation
    disk = _group(page, "DiskFull")
    sync_api.expect(disk.locator("div.alert")).to_have_count(3)
    sync_api.expect(disk.locator(".group-head")).to_contain_text("→ team")
    sync_api.expect(disk.locator(".group-head")).to_contain_text('alertname="DiskFull"')
    assert disk.locator("div.alert.sev-warning").count() == 3
    sync_api.expect(disk).to_contain_text("db-1 is 97% full")
    rule = _group(page, "DemoAlwaysFiring")
    sync_api.expect(rule.locator("div.alert.sev-critical")).to_have_count(1)
    sync_api.expect(rule.locator(".group-head")).to_contain_text("→ pager")
    sync_api.expect(rule).to_contain_text("fires for the UI test")
    # Alertmanager-style matcher filter, receiver filter, and a click on a label adds it to the filter.
    page.fill("#alert-filter", '{severity="critical"}')
    sync_api.expect(disk).to_have_count(0)
    sync_api.expect(rule.locator("div.alert")).to_have_count(1)
    assert "filter=" in page.url
    page.fill("#alert-filter", "severity=~warn")
    sync_api.expect(page.locator("#filter-error")).to_be_hidden()
    sync_api.expect(disk.locator("div.alert")).to_have_count(0)  # anchored, like Alertmanager's RE2
    page.fill("#alert-filter", "severity=~(")
    sync_api.expect(page.locator("#filter-error")).to_be_visible()
    page.fill("#alert-filter", "")
    page.select_option("#alert-receiver", "team")
    sync_api.expect(rule).to_have_count(0)
    disk.locator("div.alert").first.locator('button.chip-btn:has-text("instance=")').click()
    sync_api.expect(disk.locator("div.alert")).to_have_count(1)
    assert page.input_value("#alert-filter").startswith('{instance="db-')


def test_silence_from_the_alerts_page_end_to_end(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/alerts")
    row = _group(page, "DiskFull").locator("div.alert", has_text='instance="db-2"')
    row.locator("a.silence-btn").click()  # one click: the form, pre-filled with the alert's labels
    sync_api.expect(page.locator("#silence-form")).to_be_visible()
    assert "/silences?new=1" in page.url
    names = page.locator("#matcher-rows .m-name")
    sync_api.expect(names).to_have_count(4)
    assert [names.nth(i).input_value() for i in range(4)] == ["alertname", "instance", "severity", "team"]
    assert page.locator("#matcher-rows .m-value").nth(1).input_value() == "db-2"
    sync_api.expect(page.locator("#preview-head")).to_have_text("Affected alerts (1)")
    sync_api.expect(page.locator("#silence-preview")).to_contain_text('instance="db-2"')
    # Dropping the instance matcher widens the preview to the whole group.
    page.locator("#matcher-rows .matcher-row").nth(1).locator(".m-remove").click()
    sync_api.expect(page.locator("#preview-head")).to_have_text("Affected alerts (3)")
    page.click("#add-matcher")
    page.locator("#matcher-rows .m-name").last.fill("instance")
    page.locator("#matcher-rows .m-op").last.select_option("=~")
    page.locator("#matcher-rows .m-value").last.fill("db-2")
    sync_api.expect(page.locator("#preview-head")).to_have_text("Affected alerts (1)")
    page.fill("#silence-duration", "3h")
    page.click("#silence-submit")
    sync_api.expect(page.locator("#silence-error")).to_contain_text("Say who")  # validation before sending
    page.fill("#silence-creator", "ui-test")
    page.fill("#silence-comment", "disk being replaced")
    page.click("#silence-submit")
    card = page.locator("div.silence.highlight")
    sync_api.expect(card).to_contain_text("disk being replaced")
    sync_api.expect(card.locator(".badge")).to_have_text("active")
    silence_id = card.get_attribute("data-silence-id")
    assert page.url.endswith(f"/silences?id={silence_id}")

    silences = httpx.get(server + "/api/v2/silences").json()
    mine = next(s for s in silences if s["id"] == silence_id)
    assert mine["createdBy"] == "ui-test" and mine["status"]["state"] == "active"
    assert {(m["name"], m["value"], m["isRegex"]) for m in mine["matchers"]} == {
        ("alertname", "DiskFull", False), ("severity", "warning", False), ("team", "storage", False),
        ("instance", "db-2", True)}
    ends = time.mktime(time.strptime(mine["endsAt"][:19], "%Y-%m-%dT%H:%M:%S"))
    starts = time.mktime(time.strptime(mine["startsAt"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(ends - starts - 3 * 3600) < 5

    alert = httpx.get(server + "/api/v2/alerts", params={"filter": 'instance="db-2"'}).json()
    assert alert[0]["status"]["silencedBy"] == [silence_id]
    # The alerts page hides silenced alerts by default, and shows them marked when asked to.
    page.click('nav a[href="/alerts"]')
    disk = _group(page, "DiskFull")
    sync_api.expect(disk.locator("div.alert")).to_have_count(2)
    page.check("#show-silenced")
    silenced = disk.locator("div.alert", has_text='instance="db-2"')
    sync_api.expect(silenced.locator("a.badge.silenced")).to_have_text("silenced")
    silenced.locator("a.badge.silenced").click()  # leads to the silence
    sync_api.expect(page.locator("div.silence.highlight")).to_have_attribute("data-silence-id", silence_id)


def test_silences_page_edits_and_expires(server: str, page) -> None:  # type: ignore[no-untyped-def]
    doc = {"matchers": [{"name": "alertname", "value": "DemoAlwaysFiring", "isRegex": False}],
           "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
           "createdBy": "api", "comment": "to be edited"}
    sid = httpx.post(server + "/api/v2/silences", json=doc).json()["silenceID"]
    page.goto(server + "/silences")
    card = page.locator(f'div.silence[data-silence-id="{sid}"]')
    sync_api.expect(card).to_contain_text("to be edited")
    sync_api.expect(page.locator('#silence-tabs [data-state="active"]')).to_contain_text("Active (")
    card.locator("a.edit").click()
    sync_api.expect(page.locator("#silence-comment")).to_have_value("to be edited")
    sync_api.expect(page.locator("#matcher-rows .m-value")).to_have_value("DemoAlwaysFiring")
    sync_api.expect(page.locator("#preview-head")).to_have_text("Affected alerts (1)")
    page.fill("#silence-comment", "edited in the UI")
    page.click("#silence-submit")
    edited = page.locator("div.silence.highlight")
    sync_api.expect(edited).to_contain_text("edited in the UI")
    new_id = edited.get_attribute("data-silence-id")
    assert new_id == sid  # same matchers and start: updated in place, as Alertmanager does
    assert httpx.get(f"{server}/api/v2/silence/{new_id}").json()["comment"] == "edited in the UI"
    edited.locator("button.expire").click()
    sync_api.expect(page.locator(f'div.silence[data-silence-id="{new_id}"]')).to_have_count(0)
    page.click('#silence-tabs [data-state="expired"]')
    sync_api.expect(page.locator(f'div.silence[data-silence-id="{new_id}"] .badge')).to_have_text("expired")
    assert httpx.get(f"{server}/api/v2/silence/{new_id}").json()["status"]["state"] == "expired"


def test_event_log_page_filters_and_follows_new_events(server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/events")
    rows = page.locator("#events-body tr.event")
    sync_api.expect(page.locator('#events-body tr.event[data-kind="alert"]').first).to_be_visible()
    sync_api.expect(page.locator("#events-body")).to_contain_text('alertname="DiskFull"')
    # Notifications: the pager webhook answers, the team one is a closed port.
    notification = page.locator('#events-body tr.event[data-kind="notification"]')
    sync_api.expect(notification.first).to_be_visible(timeout=15_000)
    page.select_option("#events-outcome", "success")
    sync_api.expect(rows.first).to_contain_text("pager")
    assert all("success" in t for t in rows.all_inner_texts())
    assert "outcome=success" in page.url
    page.select_option("#events-outcome", "")
    page.select_option("#events-range", "custom")  # a range that ended long ago holds nothing
    page.fill("#events-from", "2000-01-01 00:00:00")
    page.fill("#events-to", "2000-01-02 00:00")
    page.press("#events-to", "Enter")
    sync_api.expect(page.locator("#events-info")).to_have_text("0 events")
    assert "to=2000-01-02" in page.url
    page.select_option("#events-range", "1h")
    page.uncheck("#kind-notification")
    page.uncheck("#kind-silence")
    page.fill("#events-filter", 'alertname="LiveEvent"')
    sync_api.expect(page.locator("#events-info")).to_have_text("0 events")
    _post(server, {"alertname": "LiveEvent", "severity": "warning"})
    sync_api.expect(rows).to_have_count(1, timeout=5_000)  # pushed, no reload
    sync_api.expect(rows.first).to_contain_text("firing")
    sync_api.expect(rows.first).to_have_class(re.compile(r"\bsev-warning\b"))


def test_screenshot_command_photographs_every_page(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    written = screenshot_pages(browser, server, tmp_path, settle=False)
    assert [p.name for p in written] == [f"{name}.png" for name, *_ in PAGES]
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000


def test_without_an_alertmanager_the_pages_fall_back(server: str, page) -> None:  # type: ignore[no-untyped-def]
    """A server without --alertmanager.config: its shell names no "alertmanager" feature (simulated by
    rewriting the shell), so the alerts page lists the rules' alerts and the silences page says why not."""
    def shell_without_am(route) -> None:  # type: ignore[no-untyped-def]
        html = route.fetch().text().replace('content="alertmanager"', 'content=""')
        route.fulfill(status=200, content_type="text/html", body=html)

    page.route(re.compile(r".*/(alerts|silences)(\?.*)?$"), shell_without_am)
    page.goto(server + "/alerts")
    rows = _group(page, "DemoAlwaysFiring").locator("div.alert")
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(rows.locator(".badge.firing")).to_have_text("firing")
    assert page.locator("a.silence-btn").count() == 0 and page.locator("#alert-receiver").count() == 0
    page.goto(server + "/silences")
    sync_api.expect(page.locator("p.empty")).to_contain_text("runs no Alertmanager")
