// Rules (groups, state, last evaluation, duration, errors) and active alerts, from /api/v1/rules and /alerts.
import { apiGet, formatAgo } from "../api";
import { clear, h, labelChips } from "../dom";

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt?: string;
  value: string;
}

interface Rule {
  name: string;
  query: string;
  type: "alerting" | "recording";
  health: string;
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  state?: string;
  duration?: number;
  labels?: Record<string, string>;
  alerts?: Alert[];
}

interface Group {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

const REFRESH_MS = 5000;

/** Re-run ``load`` every few seconds until the page is left; returns the cleanup. */
function polling(load: () => Promise<void>): () => void {
  let timer = 0;
  let stopped = false;
  const tick = async () => {
    await load();
    if (!stopped) timer = window.setTimeout(tick, REFRESH_MS);
  };
  void tick();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

function failure(box: HTMLElement, what: string, e: unknown): void {
  clear(box, h("div.error", null, `Could not load ${what}: ${e instanceof Error ? e.message : e}`));
}

export function rulesPage(root: HTMLElement): () => void {
  const body = h("div", { id: "rules" }, "Loading…");
  clear(root, h("h1", null, "Rules"), body);
  return polling(async () => {
    try {
      const data = await apiGet<{ groups: Group[] }>("/api/v1/rules");
      if (!data.groups.length) return clear(body, h("p.empty", null, "No rule groups are loaded."));
      clear(body, ...data.groups.map((g) => h("section.group", { "data-group": g.name },
        h("h2", null, g.name, " ", h("span.muted", null,
          `${g.file} · every ${g.interval}s · last ${formatAgo(g.lastEvaluation)} · took ${(g.evaluationTime * 1000).toFixed(1)} ms`)),
        h("table.data", null,
          h("thead", null, h("tr", null, ...["Rule", "State", "Health", "Last evaluation", "Duration", "Error"].map((c) => h("th", null, c)))),
          h("tbody", null, g.rules.map((r) => h("tr", { class: `rule health-${r.health}` },
            h("td", null, h("div.rule-name", null, r.type === "alerting" ? `alert: ${r.name}` : `record: ${r.name}`),
              h("code.expr", null, r.query), r.labels && Object.keys(r.labels).length ? labelChips(r.labels) : null),
            h("td", null, r.type === "alerting" ? h("span", { class: `badge ${r.state}` }, r.state || "") : ""),
            h("td", null, h("span", { class: `badge ${r.health === "ok" ? "up" : r.health === "err" ? "down" : "unknown"}` }, r.health)),
            h("td", null, formatAgo(r.lastEvaluation)),
            h("td.num", null, `${(r.evaluationTime * 1000).toFixed(2)} ms`),
            h("td.error-text", null, r.lastError || ""))))))));
    } catch (e) {
      failure(body, "rules", e);
    }
  });
}

export function alertsPage(root: HTMLElement): () => void {
  const filter = h("input", { id: "alert-filter", placeholder: "Filter by label text", size: 40 }) as HTMLInputElement;
  const body = h("div", { id: "alerts" }, "Loading…");
  clear(root, h("h1", null, "Alerts"), h("div.controls", null, filter), body);
  let alerts: Alert[] = [];
  const render = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = alerts.filter((a) => !needle || JSON.stringify(a.labels).toLowerCase().includes(needle));
    if (!shown.length) return clear(body, h("p.empty", null, alerts.length ? "No alerts match." : "No active alerts."));
    const byName = new Map<string, Alert[]>();
    for (const a of shown) {
      const n = a.labels.alertname || "";
      if (!byName.has(n)) byName.set(n, []);
      byName.get(n)!.push(a);
    }
    clear(body, ...[...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, list]) => h("section.alert-group", { "data-alertname": name },
      h("h2", null, name, " ", h("span.muted", null, `(${list.length})`)),
      h("table.data", null,
        h("thead", null, h("tr", null, ...["State", "Labels", "Active since", "Value", "Summary"].map((c) => h("th", null, c)))),
        h("tbody", null, list.map((a) => h("tr", { class: "alert" },
          h("td", null, h("span", { class: `badge ${a.state}` }, a.state)),
          h("td", null, labelChips(a.labels)),
          h("td", null, a.activeAt ? formatAgo(a.activeAt) : ""),
          h("td.num", null, a.value),
          h("td", null, a.annotations.summary || a.annotations.description || ""))))))));
  };
  filter.addEventListener("input", render);
  return polling(async () => {
    try {
      alerts = (await apiGet<{ alerts: Alert[] }>("/api/v1/alerts")).alerts;
      render();
    } catch (e) {
      failure(body, "alerts", e);
    }
  });
}
