// Table panel: one row per label set, one column per label and one value column per query.
import { h } from "../dom";
import { display } from "./format";
import { PanelData } from "./query";
import { Panel } from "./types";

export function renderTable(body: HTMLElement, panel: Panel, data: PanelData): () => void {
  const refs = [...new Set(data.series.map((s) => s.ref))];
  // Several queries are joined on their labels, so the metric name (which differs) is left out then.
  const labelNames = [...new Set(data.series.flatMap((s) => Object.keys(s.labels)))]
    .filter((n) => refs.length < 2 || n !== "__name__").sort((a, b) => (a === "__name__" ? -1 : b === "__name__" ? 1 : a.localeCompare(b)));
  const rows = new Map<string, { labels: Record<string, string>; values: Map<string, number | null> }>();
  for (const s of data.series) {
    const key = JSON.stringify(labelNames.map((n) => s.labels[n] ?? ""));
    const row = rows.get(key) || { labels: s.labels, values: new Map() };
    row.values.set(s.ref, s.values[s.values.length - 1] ?? null);
    rows.set(key, row);
  }
  const valueCols = refs.length > 1 ? refs.map((r) => `Value #${r}`) : ["Value"];
  const table = h("table.data.panel-table", null,
    h("thead", null, h("tr", null, ...labelNames.map((n) => h("th", null, n)), ...valueCols.map((c) => h("th", null, c)))),
    h("tbody", null, ...[...rows.values()].map((r) =>
      h("tr", null, ...labelNames.map((n) => h("td", null, r.labels[n] ?? "")),
        ...refs.map((ref) => {
          const v = r.values.has(ref) ? r.values.get(ref)! : null;
          const { text, color } = display(panel, v);
          return h("td.num", { style: panel.thresholds?.length ? `color:${color}` : "" }, r.values.has(ref) ? text : "");
        })))));
  body.append(h("div.table-scroll", null, table));
  return () => undefined;
}
