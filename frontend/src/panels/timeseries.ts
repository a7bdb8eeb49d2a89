// Time series panel: uPlot draws lines, bars or points, stacked or not, with Grafana's negative-Y overrides.
import uPlot from "uplot";
import { color } from "../chart";
import { cssColor, formatValue } from "./format";
import { PanelData, align, reduce } from "./query";
import { Override, Panel, Series } from "./types";
import { TimeRange } from "./vars";

const pad = (n: number) => String(n).padStart(2, "0");

/** Room for the longest tick label of a value axis (uPlot calls this again as the labels change). */
export function valueAxisSize(_u: uPlot, values: string[] | null): number {
  const longest = Math.max(3, ...(values || []).map((v) => String(v).length));
  return Math.ceil(longest * 7) + 18;
}

/** One-line local time labels: HH:MM (HH:MM:SS for sub-minute ticks), with the date over spans of days. */
export function timeAxis(): uPlot.Axis {
  return {
    size: 24,
    font: "11px system-ui",
    ticks: { size: 3 },
    values: (u, splits, _ai, _space, incr) => {
      const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
      return splits.map((t) => {
        const d = new Date(t * 1000);
        const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}${incr < 60 ? ":" + pad(d.getSeconds()) : ""}`;
        return span > 86400 * 1.5 ? `${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${hm}` : hm;
      });
    },
  };
}

function matches(o: Override, name: string): boolean {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(o.match);
  if (!m) return o.match === name;
  try {
    return new RegExp(m[1], m[2].replace("g", "")).test(name);
  } catch {
    return false;
  }
}

function overrideFor(panel: Panel, s: Series): Override {
  const out: Override = { match: "" };
  for (const o of panel.overrides || []) if (matches(o, s.name)) Object.assign(out, Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined && v !== false)));
  return out;
}

function alpha(hex: string, a: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

const CALC_NAMES: Record<string, string> = { last: "last", mean: "mean", max: "max", min: "min" };

/** Draw ``data`` into ``body``; returns the cleanup. */
export function renderTimeseries(body: HTMLElement, panel: Panel, data: PanelData, range: TimeRange): () => void {
  const opts = panel.options || {};
  const visible = data.series;
  const { xs, ys } = align(visible);
  const overrides = visible.map((s) => overrideFor(panel, s));
  const stack = opts.stack === true || opts.stack === "percent";
  let cols = ys.map((col, i) => (overrides[i].negative_y ? col.map((v) => (v === null ? null : -v)) : col));
  if (opts.stack === "percent") {
    const totals = xs.map((_, j) => cols.reduce((a, c) => a + Math.abs(c[j] ?? 0), 0));
    cols = cols.map((c) => c.map((v, j) => (v === null || !totals[j] ? v : v / totals[j])));
  }
  const raw = cols;
  if (stack) {
    const acc = new Array(xs.length).fill(0);
    cols = cols.map((c) => c.map((v, j) => (v === null ? null : (acc[j] += v))));
  }
  const unit = opts.stack === "percent" ? "percentunit" : panel.unit || "";
  const legend = opts.legend || {};
  const calcs: string[] = (legend.calcs || []).filter((c: string) => c in CALC_NAMES);
  const draw = opts.draw || "line";
  const fill = typeof opts.fill === "number" ? opts.fill : 0.1;
  const series: uPlot.Series[] = [{}];
  visible.forEach((s, i) => {
    const o = overrides[i];
    const stroke = cssColor(o.color) || color(i);
    const extra = calcs.map((c) => `${CALC_NAMES[c]} ${formatValue(reduce(raw[i], c === "last" ? "last_not_null" : (c as any)), o.unit || unit, panel.decimals)}`);
    series.push({
      label: extra.length ? `${s.name}  ${extra.join("  ")}` : s.name,
      stroke,
      fill: stack || (o.fill ?? fill) > 0 ? alpha(stroke, stack ? Math.max(fill, 0.5) : o.fill ?? fill) : undefined,
      width: opts.line_width ?? 1,
      show: !o.hidden,
      spanGaps: false,
      paths: draw === "bars" ? uPlot.paths.bars!({ size: [0.8, 40] }) : draw === "points" ? () => null : undefined,
      points: { show: draw === "points" ? true : undefined, size: 4 },
      value: (_u, v) => formatValue(v === null ? null : o.negative_y ? -v : v, o.unit || unit, panel.decimals),
    });
  });
  // Stacked areas fill down to the series below, not to zero.
  const bands: uPlot.Band[] = stack ? visible.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })) : [];
  const wrap = document.createElement("div");
  wrap.className = "ts-wrap" + (legend.placement === "right" ? " legend-right" : "");
  body.append(wrap);
  const size = () => ({ width: Math.max(100, body.clientWidth), height: Math.max(60, body.clientHeight - (legend.show === false ? 0 : legendHeight(visible.length, legend.placement))) });
  const plot = new uPlot(
    {
      ...size(),
      legend: { show: legend.show !== false, live: calcs.length > 0 },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: () => [range.from, range.to] },
        y: { range: (_u, min, max) => yRange(panel, min, max) },
      },
      series,
      bands,
      axes: [
        timeAxis(),
        { size: valueAxisSize, font: "11px system-ui", values: (_u, splits) => splits.map((v) => formatValue(v, unit, panel.decimals)) },
      ],
    },
    [xs, ...cols] as uPlot.AlignedData,
    wrap,
  );
  const observer = new ResizeObserver(() => {
    const s = size();
    if (Math.abs(s.width - plot.width) > 2 || Math.abs(s.height - plot.height) > 2) plot.setSize(s);
  });
  observer.observe(body);
  return () => {
    observer.disconnect();
    plot.destroy();
  };
}

function legendHeight(n: number, placement: string | undefined): number {
  if (placement === "right") return 0;
  return Math.min(n, 4) * 19 + 8;
}

function yRange(panel: Panel, min: number | null, max: number | null): [number, number] {
  let lo = panel.min ?? Math.min(min ?? 0, 0);
  let hi = panel.max ?? (max ?? 1);
  if (panel.min === undefined || panel.min === null) lo = min !== null && min < 0 ? min * 1.05 : lo;
  if (panel.max === undefined || panel.max === null) hi = hi > 0 ? hi * 1.05 : hi;
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}
