// Panel queries: step sized to the panel's width (Grafana's maxDataPoints), variables substituted,
// every target of a panel fetched at once.
import { ApiError, parseDuration } from "../api";
import { Panel, Series, Target } from "./types";
import { TimeRange, VarState, builtins, interpolate } from "./vars";

export interface QueryContext {
  range: TimeRange;
  vars: Map<string, VarState>;
  scrapeInterval: number; // seconds
}

export interface PanelData {
  series: Series[];
  step: number;
  errors: string[];
}

async function post<T>(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<T> {
  const resp = await fetch(path, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
    signal,
  });
  let body: any;
  try {
    body = await resp.json();
  } catch {
    throw new ApiError("http", `HTTP ${resp.status}`);
  }
  if (body.status !== "success") throw new ApiError(body.errorType || "http", body.error || `HTTP ${resp.status}`);
  return body.data as T;
}

/** A series' legend: the legend format with {{label}} replaced, or the series' label set. */
export function legendName(format: string | undefined, labels: Record<string, string>): string {
  if (format) return format.replace(/\{\{\s*([a-zA-Z_][\w]*)\s*\}\}/g, (_m, k) => labels[k] ?? "").trim();
  const { __name__: name = "", ...rest } = labels;
  const keys = Object.keys(rest).sort();
  if (!keys.length) return name || "value";
  return `${name}{${keys.map((k) => `${k}="${rest[k]}"`).join(", ")}}`;
}

function minInterval(text: string | undefined, ctx: QueryContext): number {
  if (!text) return 0;
  const d = parseDuration(interpolate(text, ctx.vars));
  return isFinite(d) ? d : 0;
}

/** The step of a panel's range queries, in whole seconds. */
export function panelStep(panel: Panel, target: Target | null, width: number, ctx: QueryContext): number {
  const points = panel.max_data_points || Math.max(50, Math.round(width));
  const span = ctx.range.to - ctx.range.from;
  const raw = Math.max(span / points, minInterval(panel.interval, ctx), minInterval(target?.interval, ctx), 1);
  return Math.ceil(raw);
}

function toNumber(v: string): number | null {
  const f = parseFloat(v);
  return Number.isNaN(f) ? null : f;
}

async function runTarget(panel: Panel, target: Target, index: number, width: number, ctx: QueryContext,
                         signal?: AbortSignal): Promise<{ series: Series[]; step: number }> {
  const step = panelStep(panel, target, width, ctx);
  const expr = interpolate(target.expr, ctx.vars, builtins(ctx.range, step, ctx.scrapeInterval));
  const ref = target.ref || String.fromCharCode(65 + (index % 26));
  const instant = target.instant || panel.type === "table" || target.format === "table";
  if (instant) {
    const data = await post<any>("/api/v1/query", { query: expr, time: String(ctx.range.to) }, signal);
    if (data.resultType === "scalar") {
      return { step, series: [{ name: legendName(target.legend, {}), labels: {}, ref, times: [data.result[0]], values: [toNumber(data.result[1])] }] };
    }
    if (data.resultType !== "vector") return { step, series: [] };
    return {
      step,
      series: data.result.map((r: any) => ({
        name: legendName(target.legend, r.metric), labels: r.metric, ref, times: [r.value[0]], values: [toNumber(r.value[1])],
      })),
    };
  }
  // Aligned to the step so consecutive refreshes ask for the same points (as Grafana does).
  const start = Math.floor(ctx.range.from / step) * step;
  const end = Math.ceil(ctx.range.to / step) * step;
  const data = await post<any>("/api/v1/query_range", { query: expr, start: String(start), end: String(end), step: String(step) }, signal);
  return {
    step,
    series: (data.result || []).map((r: any) => ({
      name: legendName(target.legend, r.metric), labels: r.metric, ref,
      times: r.values.map((p: [number, string]) => p[0]), values: r.values.map((p: [number, string]) => toNumber(p[1])),
    })),
  };
}

/** Every visible target of ``panel`` in parallel; a failing target is reported, the others still show. */
export async function queryPanel(panel: Panel, width: number, ctx: QueryContext, signal?: AbortSignal): Promise<PanelData> {
  const targets = panel.targets.filter((t) => !t.hide && t.expr.trim());
  const results = await Promise.allSettled(targets.map((t, i) => runTarget(panel, t, i, width, ctx, signal)));
  const out: PanelData = { series: [], step: panelStep(panel, null, width, ctx), errors: [] };
  results.forEach((r, i) => {
    if (r.status === "fulfilled") {
      out.series.push(...r.value.series);
      out.step = r.value.step;
    } else if (!(r.reason instanceof DOMException && r.reason.name === "AbortError")) {
      const ref = targets[i].ref || String.fromCharCode(65 + i);
      out.errors.push(`${ref}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    }
  });
  return out;
}

/** Series on one shared time axis; missing points are nulls so lines break there. */
export function align(series: Series[]): { xs: number[]; ys: (number | null)[][] } {
  const times = new Set<number>();
  for (const s of series) for (const t of s.times) times.add(t);
  const xs = Array.from(times).sort((a, b) => a - b);
  const index = new Map<number, number>();
  xs.forEach((t, i) => index.set(t, i));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.times.forEach((t, i) => (col[index.get(t)!] = s.values[i] !== null && isFinite(s.values[i]!) ? s.values[i] : null));
    return col;
  });
  return { xs, ys };
}

export type Reducer = "last" | "last_not_null" | "mean" | "max" | "min" | "sum" | "first";

export function reduce(values: (number | null)[], how: Reducer = "last_not_null"): number | null {
  const nums = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  if (how === "last") return values.length ? values[values.length - 1] : null;
  if (!nums.length) return null;
  switch (how) {
    case "first":
      return nums[0];
    case "mean":
      return nums.reduce((a, b) => a + b, 0) / nums.length;
    case "sum":
      return nums.reduce((a, b) => a + b, 0);
    case "max":
      return Math.max(...nums);
    case "min":
      return Math.min(...nums);
  }
  return nums[nums.length - 1];
}
