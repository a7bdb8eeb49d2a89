// Overview: health at a glance, pushed over the stream's status channel (one snapshot a second).
import { formatBytes } from "../api";
import { TimeChart } from "../chart";
import { clear, h } from "../dom";
import { Stream } from "../stream";

interface Status {
  time: number;
  targets: { up: number; down: number; unknown: number };
  alerts: { firing: Record<string, number>; pending: number };
  headSeries: number;
  headSamples: number;
  blocks: number;
  ingestRate: number | null; // null until the server has two snapshots to compare
  storageBytes: number;
}

const HISTORY_S = 300;

function card(id: string, title: string): { el: HTMLElement; value: HTMLElement; detail: HTMLElement } {
  const value = h("div.value", { id }, "–");
  const detail = h("div.detail", { id: `${id}-detail` });
  return { el: h("div.card", null, h("div.title", null, title), value, detail), value, detail };
}

/** "critical 2 · warning 1", most severe first as far as the common names go. */
function severityText(firing: Record<string, number>): string {
  const order = ["critical", "error", "warning", "info"];
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
  return Object.keys(firing)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((s) => `${s || "no severity"} ${firing[s]}`)
    .join(" · ");
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

  const xs: number[] = [];
  const ys: (number | null)[] = [];
  const chart = new TimeChart(chartBox, ["samples/s"], [xs, ys], { height: 220, legend: false, window: HISTORY_S });

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
    rate.value.textContent = s.ingestRate === null ? "–" : s.ingestRate.toFixed(1);
    series.value.textContent = String(s.headSeries);
    size.value.textContent = formatBytes(s.storageBytes);
    const firing = Object.values(s.alerts.firing).reduce((a, b) => a + b, 0);
    alerts.value.textContent = String(firing);
    alerts.el.classList.toggle("bad", firing > 0);
    alerts.detail.textContent = [severityText(s.alerts.firing), s.alerts.pending ? `${s.alerts.pending} pending` : ""]
      .filter(Boolean).join(" · ");
    if (s.ingestRate === null) return;
    xs.push(s.time);
    ys.push(s.ingestRate);
    while (xs.length && xs[0] < s.time - HISTORY_S) {
      xs.shift();
      ys.shift();
    }
    chart.setData([xs, ys]);
  });

  return () => {
    stream.close();
    chart.destroy();
  };
}
