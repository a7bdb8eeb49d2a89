"""Screenshots of every UI page: ``watchkeeper screenshots --out docs/screenshots``.

Starts ``watchkeeper demo`` on a free loopback port (or uses ``--url``), waits until the scripted
incidents have fired a few alerts, silences one of them, and photographs each page in headless
Chromium via Playwright (the test extra; it drives the system Chromium, nothing is downloaded).
The browser tests photograph their own server with ``PAGES`` through ``screenshot_pages``.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PAGES", "DEMO_PAGES", "pages", "push_demo_data", "demo_server",
           "prepare_demo", "screenshot_pages", "take_screenshots", "add_arguments", "run", "main"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# file name, path and query, CSS selector showing the page has drawn its data, then wait ms
Shot = tuple[str, str, str, int]


def pages(graph_expr: str, table_expr: str, dashboard: str, live_ms: int = 6000) -> list[Shot]:
    """Every page of the UI, with these queries on the query explorer and this dashboard opened;
    the overview's live chart (one point a second) gets ``live_ms`` to draw a line."""
    return [
        ("overview", "/", "#ingest-chart canvas", live_ms),
        ("query-graph", f"/graph?g0.expr={quote(graph_expr)}&g0.tab=0&g0.range_input=1h",
         "#graph-chart canvas", 1500),
        ("query-table", f"/graph?g0.expr={quote(table_expr)}&g0.tab=1", "#result-table", 1500),
        ("alerts", "/alerts", "section.alert-group", 1500),
        ("silences", "/silences", '#silence-tabs [data-state="active"]', 1000),
        ("events", "/events", "#events-body tr.event", 1000),
        ("rules", "/rules", "section.group", 1500),
        ("targets", "/targets", "section.pool", 1500),
        ("dashboards", "/dashboards", "#dash-list", 1000),
        ("dashboard", f"/dashboards?uid={quote(dashboard)}", 'div.page[data-state="loaded"]', 1500),
    ]


# For a server fed by ``push_demo_data`` (the browser tests); the built-in dashboard of the server itself.
PAGES = pages("rate(demo_requests_total[1m])", "demo_requests_total", "watchkeeper")
# For ``watchkeeper demo``: its fleet.
DEMO_PAGES = pages('100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[2m])))',
                   "sort_desc(instance:node_cpu_utilisation:rate1m)", "demo-fleet", live_ms=40_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def push_demo_data(url: str) -> None:
    """Ten minutes of two counters, one sample every 10 s, ending now, through the import API."""
    now = int(time.time() * 1000)
    lines = []
    for i in range(61):
        t = now - 600_000 + i * 10_000
        lines.append(f'demo_requests_total{{instance="web-1",job="demo"}} {i * 10} {t}')
        lines.append(f'demo_requests_total{{instance="web-2",job="demo"}} {i * 25} {t}')
    r = httpx.post(url + "/api/v1/import/prometheus", content="\n".join(lines) + "\n")
    r.raise_for_status()


@contextlib.contextmanager
def demo_server(directory: Path, *, speed: float = 3.0, history: str = "6h",
                timeout_s: float = 90.0) -> Iterator[str]:
    """``watchkeeper demo`` on a free loopback port with its data in ``directory``; yields its URL and
    stops it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "watchkeeper.cli.main", "demo", "--listen", f"127.0.0.1:{port}",
            "--data-dir", str(directory / "data"), "--demo.speed", f"{speed:g}", "--demo.history", history]
    with open(directory / "demo.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"demo exited with {proc.returncode}; see {log.name}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/-/ready", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"demo not ready after {timeout_s}s")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def prepare_demo(url: str, *, firing: int = 3, timeout_s: float = 180.0) -> None:
    """Wait until ``firing`` alerts fire, then silence the oldest (already notified), so the alerts,
    silences and event log pages have something to show."""
    deadline = time.monotonic() + timeout_s
    alerts: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        got = httpx.get(url + "/api/v2/alerts", timeout=10).json()
        alerts = [a for a in got if a["status"]["state"] == "active"]
        if len(alerts) >= firing:
            break
        time.sleep(2)
    if not alerts:
        raise TimeoutError(f"no alert fired within {timeout_s}s")
    oldest = min(alerts, key=lambda a: a["startsAt"])
    now = time.time()
    httpx.post(url + "/api/v2/silences", timeout=10, json={
        "matchers": [{"name": k, "value": oldest["labels"][k], "isRegex": False, "isEqual": True}
                     for k in ("alertname", "instance")],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 2 * 3600)),
        "createdBy": "oncall@example.com", "comment": "Known issue, fix is being rolled out",
    }).raise_for_status()


def screenshot_pages(browser: Any, url: str, out: Path, settle: bool = True,
                     shots: list[Shot] | None = None) -> list[Path]:
    """One full-page PNG per entry of ``shots`` (default ``PAGES``) with a Playwright browser; raises if a
    page draws no data. ``settle=False`` skips the pause that lets live panels fill (for tests)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        for name, path, ready, settle_ms in shots or PAGES:
            page.goto(url + path)
            page.wait_for_selector(ready, timeout=15_000)
            if settle:
                page.wait_for_timeout(settle_ms)
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            written.append(target)
    finally:
        page.close()
    return written


def take_screenshots(url: str, out: Path, chromium: str = CHROMIUM,
                     shots: list[Shot] | None = None) -> list[Path]:
    """Launch headless Chromium and photograph every page of the UI at ``url``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("screenshots need Playwright: pip install '.[test]'") from None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            return screenshot_pages(browser, url, out, shots=shots)
        finally:
            browser.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="docs/screenshots", help="directory for the PNGs")
    parser.add_argument("--url", help="photograph this running server instead of starting a demo")
    parser.add_argument("--chromium", default=CHROMIUM, help="Chromium executable")


def run(args: argparse.Namespace) -> int:
    """Photograph ``--url``, or a fresh ``watchkeeper demo`` once its first alerts fire."""
    out = Path(args.out)
    if args.url:
        paths = take_screenshots(args.url.rstrip("/"), out, args.chromium, DEMO_PAGES)
    else:
        with tempfile.TemporaryDirectory(prefix="wk-screens-") as tmp, demo_server(Path(tmp)) as url:
            prepare_demo(url)
            paths = take_screenshots(url, out, args.chromium, DEMO_PAGES)
    for p in paths:
        print(p)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
