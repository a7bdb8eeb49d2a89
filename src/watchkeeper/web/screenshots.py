"""Screenshots of every UI page: ``python -m watchkeeper.web.screenshots --out docs/screenshots``.

Starts a throw-away ``watchkeeper server`` on a free loopback port (or uses ``--url``), fills it with
demo data, a failing target and a firing alert, and photographs each page in headless Chromium via
Playwright (the test extra; it drives the system Chromium, nothing is downloaded). The browser tests
use the same demo set-up.
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

import httpx

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PAGES", "demo_config", "push_demo_data", "demo_server",
           "screenshot_pages", "take_screenshots", "main"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# (file name, path and query, CSS selector that shows the page has drawn its data, then wait ms)
PAGES = [
    ("overview", "/", "#ingest-chart canvas", 6000),  # the live chart needs a few pushes to show a line
    ("query-graph", "/graph?g0.expr=rate(demo_requests_total%5B1m%5D)&g0.tab=0&g0.range_input=15m",
     "#graph-chart canvas", 1500),
    ("query-table", "/graph?g0.expr=demo_requests_total&g0.tab=1", "#result-table", 1500),
    ("targets", "/targets", "section.pool", 1500),
    ("rules", "/rules", "section.group", 1500),
    ("alerts", "/alerts", "section.alert-group", 1500),
]

DEMO_RULES = """groups:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_config(directory: Path, self_port: int) -> Path:
    """A config scraping the server itself and one target that is down, with rules that fire at once."""
    (directory / "rules.yml").write_text(DEMO_RULES)
    cfg = directory / "watchkeeper.yml"
    cfg.write_text(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{directory / 'rules.yml'}"]
scrape_configs:
  - job_name: watchkeeper
    static_configs: [{{targets: ["127.0.0.1:{self_port}"]}}]
  - job_name: broken
    static_configs: [{{targets: ["127.0.0.1:{_free_port()}"], labels: {{team: "ui-test"}}}}]
    relabel_configs:
      - {{source_labels: [team], target_label: owner}}
""")
    return cfg


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
def demo_server(directory: Path, timeout_s: float = 30.0) -> Iterator[str]:
    """A ``watchkeeper server`` with the demo config and data; yields its URL and stops it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "watchkeeper.cli.main", "server", "--listen", f"127.0.0.1:{port}",
            "--data-dir", str(directory / "data"), "--config", str(demo_config(directory, port))]
    with open(directory / "server.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}; see {log.name}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/-/ready", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server not ready after {timeout_s}s")
                time.sleep(0.2)
            push_demo_data(url)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def screenshot_pages(browser: Any, url: str, out: Path, settle: bool = True) -> list[Path]:
    """One full-page PNG per entry of ``PAGES`` with a Playwright browser; raises if a page draws no data.

    ``settle=False`` skips the pause that lets live panels fill (for tests)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        for name, path, ready, settle_ms in PAGES:
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


def take_screenshots(url: str, out: Path, chromium: str = CHROMIUM) -> list[Path]:
    """Launch headless Chromium and photograph every page of the UI at ``url``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit("screenshots need Playwright: pip install '.[test]'") from None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            return screenshot_pages(browser, url, out)
        finally:
            browser.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="directory for the PNGs")
    parser.add_argument("--url", help="photograph this running server instead of starting a demo one")
    parser.add_argument("--chromium", default=CHROMIUM, help="Chromium executable")


def run(args: argparse.Namespace) -> int:
    if args.url:
        paths = take_screenshots(args.url.rstrip("/"), args.out, args.chromium)
    else:
        with tempfile.TemporaryDirectory(prefix="wk-screens-") as tmp, demo_server(Path(tmp)) as url:
            time.sleep(3)  # a few scrapes and rule evaluations, so targets and alerts have state
            paths = take_screenshots(url, args.out, args.chromium)
    for p in paths:
        print(p)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
