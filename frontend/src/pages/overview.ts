// Overview: health at a glance, pushed over the stream's status channel (one snapshot a second).
import { apiGet, formatBytes } from "../api";
import { TimeChart } from "../chart";
import { clear, h } from "../dom";
import { Stream } from "../stream";

interface Status {
  time: number;
  targets: { up: number; down: number; unknown: number };
  headSeries: number;
  headSamples: number;
  blocks: number;
  ingestRate: number;
  storageBytes: number;
}

interface Alert {
  labels: Record<string, string>;
  state: string;
}

const HISTORY_S = 300;

function card(id: string, title: string): { el: HTMLElement; value: HTMLElement } {
  const value = h("div.value", { id }, "–");
  return { el: h("div.card", null, h("div.title", null, title), value), value };
}

export function overviewPage(root: HTMLElement): () => void {
  const up = card("stat-targets-up", "Targets up");
  const down = card("stat-targets-down", "Targets down");
  const rate = card("stat-ingest-rate", "Ingest rate (samples/s)");
  const series = card("stat-head-series", "Series in head");
  const size = card("stat-storage-size", "Storage size");
  const alerts = card("stat-alerts", "Firing alerts");
  const live = h("span.live", { id: "live-state" }, "connecting…");
  const chartBox = h("div.chart-box", { id: "ingest-chart" });
  clear(
    root,
    h("div.page-head", null, h("h1", null, "Overview"), live),
    h("div.cards", null, up.el, down.el, rate.el, series.el, size.el, alerts.el),
    h("h2", null, "Ingest rate, last 5 minutes"),
    chartBox,
  );
  down.el.classList.add("bad-when-nonzero");

  const xs: number[] = [];
  const ys: (number | null)[] = [];
  const chart = new TimeChart(chartBox, ["samples/s"], [xs, ys], { height: 220, legend: false });

  const stream = new Stream();
  stream.onState = (ok) => {
    live.textContent = ok ? "● live" : "reconnecting…";
    live.classList.toggle("ok", ok);
  };
  stream.subscribe("status", { channel: "status" }, (msg) => {
    if (msg.type !== "status") return;
    const s = msg.data as Status;
    up.value.textContent = String(s.targets.up);
    down.value.textContent = String(s.targets.down);
    down.el.classList.toggle("bad", s.targets.down > 0);
    rate.value.textContent = s.ingestRate.toFixed(1);
    series.value.textContent = String(s.headSeries);
    size.value.textContent = formatBytes(s.storageBytes);
    xs.push(s.time);
    ys.push(s.ingestRate);
    while (xs.length && xs[0] < s.time - HISTORY_S) {
      xs.shift();
      ys.shift();
    }
    chart.setData([xs, ys]);
  });

  // Alerts have no stream channel yet: poll the rules API's alert list.
  let alertTimer = 0;
  let stopped = false;
  const loadAlerts = async () => {
    try {
      const data = await apiGet<{ alerts: Alert[] }>("/api/v1/alerts");
      const firing = data.alerts.filter((a) => a.state === "firing");
      const bySeverity = new Map<string, number>();
      for (const a of firing) {
        const sev = a.labels.severity || "none";
        bySeverity.set(sev, (bySeverity.get(sev) || 0) + 1);
      }
      const parts = [...bySeverity].map(([sev, n]) => `${sev}: ${n}`);
      alerts.value.textContent = String(firing.length);
      alerts.value.title = parts.join(", ");
      alerts.el.classList.toggle("bad", firing.length > 0);
    } catch {
      alerts.value.textContent = "n/a";
    }
    if (!stopped) alertTimer = window.setTimeout(loadAlerts, 5000);
  };
  loadAlerts();

  return () => {
    stopped = true;
    window.clearTimeout(alertTimer);
    stream.close();
    chart.destroy();
  };
}
