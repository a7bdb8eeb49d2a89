// Rules: groups, each rule's state, health, last evaluation, duration and error, from /api/v1/rules.
import { apiGet, formatAgo, formatDuration } from "../api";
import { clear, errorText, h, labelChips, polling } from "../dom";

export interface RuleAlert {
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
  alerts?: RuleAlert[];
}

interface Group {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
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
            h("td", null, r.type === "alerting" ? [h("span", { class: `badge ${r.state}` }, r.state || ""),
              h("div.muted", null, [r.alerts?.length ? `${r.alerts.length} active` : "",
                r.duration ? `for ${formatDuration(r.duration)}` : ""].filter(Boolean).join(" · "))] : ""),
            h("td", null, h("span", { class: `badge ${r.health === "ok" ? "up" : r.health === "err" ? "down" : "unknown"}` }, r.health)),
            h("td", null, formatAgo(r.lastEvaluation)),
            h("td.num", null, `${(r.evaluationTime * 1000).toFixed(2)} ms`),
            h("td.error-text", null, r.lastError || ""))))))));
    } catch (e) {
      clear(body, h("div.error", null, `Could not load rules: ${errorText(e)}`));
    }
  });
}
