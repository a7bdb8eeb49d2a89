"""Web UI benchmark in headless Chromium (system package, driven by Playwright) against ``watchkeeper demo``.

- **dashboard**: the demo's 12-panel "Demo fleet" dashboard (timeseries, stat, gauge, table, heatmap)
  over the last ``hours`` of the 20 simulated hosts, opened in a fresh tab. "Drawn" is the first frame
  painted after the dashboard page sets ``data-state="loaded"`` on its root, which it does once every
  panel's queries have answered and its chart is rendered; the time counts from the start of the
  navigation (HTML, script, dashboard JSON, variables, 12 panels' queries, charts). Also reported: the
  page's own ``data-draw-ms`` (the panels' part alone).
- **alerts**: ``alerts`` active alerts posted to the demo's Alertmanager API (plus the demo's own), in
  groups of 10 under its routing (``alertname``, ``instance``). First render: from navigation start to
  the frame after the summary line counts all of them. Filter: a matcher typed into the filter box
  (one ``input`` event) until the summary shows the filtered count and the next frame is painted, then
  the filter cleared the same way; the longest main-thread task (``longtask`` entries) while the page
  loaded says whether it stayed responsive.

There is no Grafana or Prometheus UI on this machine to compare with: the peer column stays empty.
Every figure is the median of ``runs`` runs, each in a new tab, after one warm-up run (the browser's
cache then holds the script, as for a user who has opened the UI before).
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from watchkeeper.web.screenshots import CHROMIUM, CHROMIUM_ARGS, demo_server

from .results import Row, progress

DASHBOARD = "demo-fleet"
PANELS = 12
IDLE_S = 15.0  # one scrape interval of the demo: its background work, measured once
NAMES = ("HighLatency", "HighErrorRate", "DiskFillingUp", "CPUThrottling", "PodCrashLooping",
         "MemoryPressure", "CertificateExpiry", "QueueBacklog", "ReplicaLag", "TargetMissing")

# Runs before the page's own scripts: timestamps of "dashboard loaded" and "all alerts listed" (and the
# frame after each), and the page's long tasks.
_PROBE = """
window.__wk = {longest: 0, tasks: 0};
new PerformanceObserver((l) => { for (const e of l.getEntries()) {
  window.__wk.longest = Math.max(window.__wk.longest, e.duration); window.__wk.tasks++; } })
  .observe({type: "longtask", buffered: true});
const frame = (key) => requestAnimationFrame(() => { window.__wk[key] = performance.now(); });
new MutationObserver(() => {
  const w = window.__wk;
  const page = document.querySelector("div.page[data-state]");
  if (!w.loaded && page && page.dataset.state === "loaded") { w.loaded = performance.now(); frame("drawn"); }
  const s = document.getElementById("alert-summary");
  const m = s && /^(\\d+) of (\\d+) alerts/.exec(s.textContent || "");
  if (!w.listed && m && m[1] === m[2] && +m[2] >= (window.__wkAlerts || 1)) {
    w.listed = performance.now(); frame("listedPainted"); }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""

# One filter change: set the box, fire ``input``, wait until the summary's first number changes and the
# next frame is painted; resolves to the milliseconds that took.
_FILTER = """
async (text) => {
  const box = document.getElementById("alert-filter");
  const summary = document.getElementById("alert-summary");
  const before = summary.textContent;
  const t0 = performance.now();
  box.value = text;
  box.dispatchEvent(new Event("input", {bubbles: true}));
  await new Promise((resolve) => {
    const done = () => requestAnimationFrame(() => resolve());
    if (summary.textContent !== before) return done();
    const obs = new MutationObserver(() => {
      if (summary.textContent !== before) { obs.disconnect(); done(); }
    });
    obs.observe(summary, {subtree: true, childList: true, characterData: true});
  });
  return [performance.now() - t0, summary.textContent];
}
"""


def post_alerts(url: str, n: int) -> None:
    """``n`` firing alerts in groups of 10 (same ``alertname`` and ``instance``), 1,000 per request."""
    docs = [{"labels": {"alertname": NAMES[i % len(NAMES)], "instance": f"bench-{i // 100:04d}",
                        "pod": f"pod-{i // 10 % 10}", "severity": ("warning", "critical", "info")[i % 3],
                        "bench": "ui"},
             "annotations": {"summary": f"benchmark alert {i}"}} for i in range(n)]
    for k in range(0, n, 1000):
        httpx.post(url + "/api/v2/alerts", json=docs[k:k + 1000], timeout=60).raise_for_status()


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


# From the first panel query sent to the last one answered (Resource Timing), in ms.
_QUERY_SPAN = """() => {
  const q = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/v1/query"));
  return Math.max(...q.map((e) => e.responseEnd)) - Math.min(...q.map((e) => e.startTime));
}"""


def _cpu(kind: str) -> dict[int, float]:
    """CPU seconds (user + system) of this process's descendants: the demo server (``kind="server"``) or
    the browser's processes (``"browser"``). Read before a tab closes: a closed tab's process is gone."""
    out = {}
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            is_server = "demo" in p.cmdline() and "watchkeeper.cli.main" in p.cmdline()
            if is_server if kind == "server" else p.name().startswith("chrom"):
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
    return out


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


DashRun = tuple[float, float, float, int, int, float, float]


def _dashboard_run(context: Any, url: str, hours: float) -> DashRun:
    """Times (ms), panel counts, and CPU seconds of the server and of the browser."""
    page = context.new_page()
    try:
        cpu0 = {k: _cpu(k) for k in ("server", "browser")}
        page.goto(f"{url}/dashboards?uid={DASHBOARD}&from=now-{hours:g}h&to=now", wait_until="commit")
        page.wait_for_function("() => window.__wk && window.__wk.drawn", timeout=30_000, polling=50)
        drawn = page.evaluate("window.__wk.drawn")
        server = _used(cpu0["server"], _cpu("server"))
        browser = _used(cpu0["browser"], _cpu("browser"))
        own = float(page.locator("div.page[data-state]").get_attribute("data-draw-ms") or "nan")
        queries = page.evaluate(_QUERY_SPAN)
        panels = page.locator("div.dash-panel").count()
        bad = page.locator("div.dash-panel .panel-state.err, div.dash-panel .panel-empty").count()
        return drawn, own, queries, panels, bad, server, browser
    finally:
        page.close()


def _alerts_run(context: Any, url: str, n: int) -> tuple[float, float, float, float, str]:
    page = context.new_page()
    try:
        page.add_init_script(f"window.__wkAlerts = {n};")
        page.goto(f"{url}/alerts", wait_until="commit")
        page.wait_for_function("() => window.__wk && window.__wk.listedPainted", timeout=60_000, polling=50)
        first = page.evaluate("window.__wk.listedPainted")
        longest = page.evaluate("window.__wk.longest")
        filtered_ms, filtered = page.evaluate(_FILTER, '{instance="bench-0001"}')
        cleared_ms, _ = page.evaluate(_FILTER, "")
        return first, longest, filtered_ms, cleared_ms, filtered
    finally:
        page.close()


def run(work: Path, *, hours: float, alerts: int, runs: int) -> list[Row]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [Row("ui", "skipped", "", None, None, check="playwright not installed")]
    if not Path(CHROMIUM).exists():
        return [Row("ui", "skipped", "", None, None, check=f"{CHROMIUM} not installed")]
    load_before = os.getloadavg()[0]
    with demo_server(work, speed=1.0, history=f"{hours:g}h") as url:
        progress(f"demo ready at {url}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1600, "height": 1000})
                context.add_init_script(_PROBE)
                dash = [_dashboard_run(context, url, hours) for _ in range(runs + 1)][1:]
                before = _cpu("server")
                time.sleep(IDLE_S)
                idle = _used(before, _cpu("server")) / IDLE_S  # scrapes and rule evaluations go on anyway
                progress("dashboard: " + ", ".join(f"{d[0]:.0f} ms" for d in dash))
                progress(f"posting {alerts} alerts")
                post_alerts(url, alerts)  # after the dashboard part, which they would only slow down
                time.sleep(0.5)
                al = [_alerts_run(context, url, alerts) for _ in range(runs + 1)][1:]
                progress("alerts: " + ", ".join(f"{a[0]:.0f}/{a[2]:.0f} ms" for a in al))
            finally:
                browser.close()
    # Everything here is wall-clock time on a machine shared with the server: say how busy it was.
    note = (f"no Grafana/Prometheus UI here to compare with; load average {load_before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} CPUs)")
    panels_ok = all(d[3] == PANELS and d[4] == 0 for d in dash)
    shown = [int(m.group(1)) for *_, s in al if (m := re.match(r"(\d+) of", s))]
    filter_ok = bool(shown) and all(0 < k < alerts for k in shown)
    drawn = _median([d[0] for d in dash])
    return [
        Row("ui", f"{PANELS}-panel dashboard over {hours:g} h drawn", "ms", drawn, None,
            check=("ok" if panels_ok else "PANELS MISSING OR FAILED")
            + (", under 1.5 s" if drawn < 1500 else ", SLOW"),
            note=note),
        Row("ui", "  of which panels' queries and charts", "ms", _median([d[1] for d in dash]), None),
        Row("ui", "  of which first query sent to last answered", "ms", _median([d[2] for d in dash]), None),
        Row("ui", "  server CPU per dashboard load", "CPU-ms", 1000 * _median([d[5] for d in dash]), None),
        Row("ui", "  browser CPU per dashboard load", "CPU-ms", 1000 * _median([d[6] for d in dash]), None),
        Row("ui", "  server CPU when idle, per second", "CPU-ms", 1000 * idle, None),
        Row("ui", f"alerts page, {alerts:,} alerts: first render", "ms", _median([a[0] for a in al]), None,
            check="ok" if al else "", note=note),
        Row("ui", "  filter keystroke to updated list", "ms", _median([a[2] for a in al]), None,
            check="ok" if filter_ok else "FILTER DID NOT NARROW THE LIST"),
        Row("ui", "  filter cleared to full list", "ms", _median([a[3] for a in al]), None),
        Row("ui", "  longest main-thread task while loading", "ms", _median([a[1] for a in al]), None),
    ]
