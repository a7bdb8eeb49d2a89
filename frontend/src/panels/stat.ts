// Stat, gauge and bar gauge panels: one reduced value per series, coloured by thresholds.
// The stat sparkline is a small uPlot chart; gauges are an SVG arc, bar gauges CSS bars.
import uPlot from "uplot";
import { h } from "../dom";
import { display, thresholdColor } from "./format";
import { PanelData, Reducer, reduce } from "./query";
import { Panel, Series } from "./types";

function values(panel: Panel, data: PanelData): { s: Series; v: number | null }[] {
  const how = (panel.options?.reduce || "last_not_null") as Reducer;
  return data.series.map((s) => ({ s, v: reduce(s.values, how) }));
}

function grid(body: HTMLElement, n: number, cls: string): HTMLElement {
  const cols = Math.ceil(Math.sqrt(n * Math.max(1, body.clientWidth / Math.max(1, body.clientHeight))));
  const el = h(`div.${cls}`, { style: `grid-template-columns: repeat(${Math.max(1, Math.min(n, cols))}, 1fr)` });
  body.append(el);
  return el;
}

/** The largest font (up to 34 px) that fits ``text`` on one line in the cell. */
function fitText(el: HTMLElement, cell: HTMLElement, text: string): void {
  const byWidth = (cell.clientWidth - 8) / (Math.max(1, text.length) * 0.62);
  const byHeight = cell.clientHeight * 0.42;
  el.style.fontSize = `${Math.max(10, Math.min(34, byWidth, byHeight))}px`;
}

export function renderStat(body: HTMLElement, panel: Panel, data: PanelData): () => void {
  const items = values(panel, data);
  const mode = panel.options?.color_mode || "value";
  const showGraph = panel.options?.graph !== false;
  const el = grid(body, items.length, "stat-grid");
  const plots: uPlot[] = [];
  for (const { s, v } of items) {
    const { text, color } = display(panel, v);
    const cell = h("div.stat-cell", { style: mode === "background" ? `background:${color};color:#fff` : "" },
      items.length > 1 ? h("div.stat-name", null, s.name) : null,
      h("div.stat-value", { style: mode === "value" ? `color:${color}` : "" }, text));
    el.append(cell);
    fitText(cell.querySelector(".stat-value") as HTMLElement, cell, text);
    if (showGraph && s.values.length > 1) {
      const spark = h("div.stat-spark");
      cell.append(spark);
      const line = mode === "background" ? "rgba(255,255,255,.8)" : color;
      plots.push(new uPlot({
        width: Math.max(40, cell.clientWidth), height: Math.max(20, Math.round(cell.clientHeight / 3)),
        legend: { show: false }, cursor: { show: false }, axes: [{ show: false }, { show: false }],
        scales: { x: { time: false } },
        series: [{}, { stroke: line, fill: mode === "background" ? "rgba(255,255,255,.2)" : `${color}33`, width: 1 }],
      }, [s.times, s.values] as uPlot.AlignedData, spark));
    }
  }
  return () => plots.forEach((p) => p.destroy());
}

function arc(cx: number, cy: number, r: number, a0: number, a1: number): string {
  const p = (a: number) => `${cx + r * Math.cos(a)} ${cy + r * Math.sin(a)}`;
  return `M ${p(a0)} A ${r} ${r} 0 ${a1 - a0 > Math.PI ? 1 : 0} 1 ${p(a1)}`;
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function renderGauge(body: HTMLElement, panel: Panel, data: PanelData): () => void {
  const min = panel.min ?? 0;
  const max = panel.max ?? 100;
  const el = grid(body, data.series.length, "gauge-grid");
  for (const { s, v } of values(panel, data)) {
    const { text, color } = display(panel, v);
    const frac = v === null ? 0 : Math.min(1, Math.max(0, (v - min) / (max - min || 1)));
    // A 240° dial from 150° to 390° (clockwise, SVG y points down); thresholds as a thin outer band.
    const a0 = (150 * Math.PI) / 180;
    const span = (240 * Math.PI) / 180;
    const g = svg("svg", { viewBox: "0 0 100 80", class: "gauge" });
    g.append(svg("path", { d: arc(50, 45, 34, a0, a0 + span), stroke: "#e5e7eb", "stroke-width": 10, fill: "none" }));
    const steps = panel.thresholds || [];
    steps.forEach((st, i) => {
      const lo = i === 0 ? min : Math.max(min, st.value ?? min);
      const hi = i + 1 < steps.length ? Math.min(max, steps[i + 1].value ?? max) : max;
      if (hi <= lo) return;
      const f0 = (lo - min) / (max - min || 1);
      const f1 = (hi - min) / (max - min || 1);
      g.append(svg("path", { d: arc(50, 45, 41, a0 + f0 * span, a0 + f1 * span), stroke: thresholdColor(panel, lo), "stroke-width": 3, fill: "none" }));
    });
    if (frac > 0) g.append(svg("path", { d: arc(50, 45, 34, a0, a0 + Math.max(frac * span, 0.01)), stroke: color, "stroke-width": 10, fill: "none" }));
    const t = svg("text", { x: 50, y: 50, "text-anchor": "middle", "font-size": text.length > 7 ? 11 : 15, "font-weight": 600, fill: color });
    t.textContent = text;
    g.append(t);
    el.append(h("div.gauge-cell", null, g, data.series.length > 1 ? h("div.stat-name", null, s.name) : null));
  }
  return () => undefined;
}

export function renderBarGauge(body: HTMLElement, panel: Panel, data: PanelData): () => void {
  const min = panel.min ?? 0;
  const items = values(panel, data);
  const max = panel.max ?? Math.max(100, ...items.map((i) => i.v ?? 0));
  const vertical = panel.options?.orientation === "vertical";
  const el = h(`div.bargauge${vertical ? ".vertical" : ""}`);
  body.append(el);
  for (const { s, v } of items) {
    const { text, color } = display(panel, v);
    const pct = v === null ? 0 : Math.min(100, Math.max(0, ((v - min) / (max - min || 1)) * 100));
    const fill = h("div.bar-fill", { style: `${vertical ? "height" : "width"}:${pct}%;background:${color}` });
    el.append(h("div.bar-row", null, h("div.bar-name", { title: s.name }, s.name), h("div.bar-track", null, fill),
      h("div.bar-value", { style: `color:${color}` }, text)));
  }
  return () => undefined;
}
