// Overview: health at a glance, pushed over the stream: the status channel (one snapshot a second),
// and with an in-process Alertmanager the alerts channel (firing alerts by severity, silenced ones
// apart) and the events channel (the latest alert events and notifications, as they happen).
import { AmAlert, AmEvent, formatBytes, hasAlertmanager, severityClass } from "../api";
import { TimeChart } from "../chart";
import { clear, h } from "../dom";
import { Stream } from "../stream";
import { eventRow } from "./events";

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
const LATEST_EVENTS = 10;
const SEVERITIES = ["critical", "warning", "info", "other"];

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
  const withAm = hasAlertmanager();
  const up = card("stat-targets-up", "Targets up");
  const down = card("stat-targets-down", "Targets down");
  const rate = card("stat-ingest-rate", "Ingest rate (samples/s)");
  const series = card("stat-head-series", "Series in head");
  const size = card("stat-storage-size", "Storage size");
  const alerts = card("stat-alerts", "Firing alerts");
  alerts.el.append(h("a.card-link", { href: "/alerts" }, "all alerts →"));
  const live = h("span.live", { id: "live-state" }, "connecting…");
  const chartBox = h("div.chart-box", { id: "ingest-chart" });
  const severityBar = h("div.severity-bar", { id: "severity-bar" });
  const eventsBody = h("tbody", { id: "latest-events" },
    h("tr.empty-row", null, h("td", { colspan: 2, class: "empty" }, "No alert events yet.")));
  clear(
    root,
    h("div.page-head", null, h("h1", null, "Overview"), live),
    h("div.cards", null, up.el, down.el, rate.el, series.el, size.el, alerts.el),
    withAm ? severityBar : null,
    h("div.overview-cols", null,
      h("div", null, h("h2", null, "Ingest rate, last 5 minutes"), chartBox),
      withAm ? h("div", null, h("h2", null, "Latest alert events ", h("a.muted", { href: "/events" }, "event log →")),
        h("table.data.events-mini", null, eventsBody)) : null),
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
    if (!withAm) {
      const firing = Object.values(s.alerts.firing).reduce((a, b) => a + b, 0);
      alerts.value.textContent = String(firing);
      alerts.el.classList.toggle("bad", firing > 0);
      alerts.detail.textContent = [severityText(s.alerts.firing), s.alerts.pending ? `${s.alerts.pending} pending` : ""]
        .filter(Boolean).join(" · ");
    }
    if (s.ingestRate === null) return;
    xs.push(s.time);
    ys.push(s.ingestRate);
    while (xs.length && xs[0] < s.time - HISTORY_S) {
      xs.shift();
      ys.shift();
    }
    chart.setData([xs, ys]);
  });

  if (withAm) {
    // Alertmanager's view: what fires (and is not silenced or inhibited), by severity.
    const current = new Map<string, AmAlert>();
    stream.subscribe("alerts", { channel: "alerts" }, (msg) => {
      if (msg.type !== "alerts") return;
      if (msg.data.full) current.clear();
      for (const fp of msg.data.removed as string[]) current.delete(fp);
      for (const a of msg.data.alerts as AmAlert[]) current.set(a.fingerprint, a);
      const firing: Record<string, number> = {};
      const bySeverity: Record<string, number> = {};
      let muted = 0;
      for (const a of current.values()) {
        if (a.status.state !== "active") {
          muted++;
          continue;
        }
        firing[a.labels.severity || ""] = (firing[a.labels.severity || ""] || 0) + 1;
        const cls = severityClass(a.labels);
        bySeverity[cls] = (bySeverity[cls] || 0) + 1;
      }
      const total = Object.values(firing).reduce((a, b) => a + b, 0);
      alerts.value.textContent = String(total);
      alerts.el.classList.toggle("bad", total > 0);
      alerts.detail.textContent = [severityText(firing), muted ? `${muted} silenced/inhibited` : ""].filter(Boolean).join(" · ");
      clear(severityBar, ...SEVERITIES.map((sev) => h("a", { class: `sev-box sev-${sev}${bySeverity[sev] ? "" : " zero"}`,
        href: sev === "other" ? "/alerts" : `/alerts?filter=${encodeURIComponent(`severity="${sev}"`)}`, "data-severity": sev },
        h("span.n", null, String(bySeverity[sev] || 0)), ` ${sev}`)));
    });
    stream.subscribe("events", { channel: "events", history: LATEST_EVENTS, kind: ["alert", "notification"] }, (msg) => {
      if (msg.type !== "events") return;
      const fresh = msg.data.events as AmEvent[];
      if (!fresh.length) return;
      eventsBody.querySelector("tr.empty-row")?.remove();
      for (const e of fresh) {
        const row = eventRow(e, true);
        if (!msg.data.initial) row.classList.add("new");
        eventsBody.prepend(row);
      }
      while (eventsBody.children.length > LATEST_EVENTS) eventsBody.lastElementChild!.remove();
    });
  }

  return () => {
    stream.close();
    chart.destroy();
  };
}
