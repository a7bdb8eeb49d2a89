// Template variables and time ranges as Grafana has them: values from label queries, "$var" substitution
// with Prometheus regex escaping for multi-value and All selections, and the built-in interval variables.
import { apiGet, formatDuration, parseDuration } from "../api";
import { Variable, VariableOption } from "./types";

export const ALL = "$__all";

/** A variable's choices and the current selection (values, or [ALL]). */
export interface VarState {
  def: Variable;
  options: VariableOption[];
  selected: string[];
  error?: string;
}

// ---- time ----------------------------------------------------------------------------------------

/** "now", "now-6h" or an absolute time (epoch ms as Grafana puts in URLs, or an ISO date) to epoch seconds. */
export function parseTime(text: string, now: number): number {
  const t = text.trim();
  if (t === "now") return now;
  const rel = /^now-(.+)$/.exec(t);
  if (rel) {
    const d = parseDuration(rel[1]);
    if (isFinite(d)) return now - d;
  }
  if (/^\d{10,}$/.test(t)) return Number(t) / (t.length > 11 ? 1000 : 1);
  const ms = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(t) ? t : t.replace(" ", "T") + "Z");
  if (isFinite(ms)) return ms / 1000;
  throw new Error(`invalid time "${text}": use now, now-<duration>, or YYYY-MM-DD HH:MM (UTC)`);
}

export interface TimeRange { from: number; to: number }

// ---- interpolation -------------------------------------------------------------------------------

/** Regex characters escaped twice, for a value going inside a PromQL string used as a regex. */
function promRegexEscape(v: string): string {
  return v.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
}

function plainRegexEscape(v: string): string {
  return v.replace(/[\\$^*{}[\]'+?.()|]/g, "\\$&");
}

/** The values a selection stands for ([ALL] expands to every option). */
function selectedValues(s: VarState): string[] {
  if (s.selected.length === 1 && s.selected[0] === ALL) return s.options.filter((o) => o.value !== ALL).map((o) => o.value);
  return s.selected;
}

function formatVar(s: VarState, fmt: string | undefined): string {
  const all = s.selected.length === 1 && s.selected[0] === ALL;
  if (all && s.def.all_value && !fmt) return s.def.all_value;
  const values = selectedValues(s);
  switch (fmt) {
    case "raw":
    case "csv":
      return values.join(",");
    case "pipe":
      return values.join("|");
    case "regex":
      return values.length === 1 ? plainRegexEscape(values[0]) : `(${values.map(plainRegexEscape).join("|")})`;
    case "text":
      return values.map((v) => s.options.find((o) => o.value === v)?.text ?? v).join(" + ");
  }
  if (!s.def.multi && !s.def.include_all) return (values[0] ?? "").replace(/\\/g, "\\\\").replace(/'/g, "\\\\'");
  const escaped = values.map(promRegexEscape);
  return escaped.length === 1 ? escaped[0] : `(${escaped.join("|")})`;
}

// Grafana's variable syntax: $name, [[name]] or [[name:fmt]], ${name} or ${name:fmt}.
const VAR_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g;

/** Built-in variables of one panel query: ``step`` is its step (seconds), ``scrape`` the scrape interval. */
export function builtins(range: TimeRange, step: number, scrape: number): Record<string, string> {
  const span = Math.max(1, Math.round(range.to - range.from));
  return {
    __interval: formatDuration(step),
    __interval_ms: String(Math.round(step * 1000)),
    __rate_interval: formatDuration(Math.max(step + scrape, 4 * scrape)),
    __range: `${span}s`,
    __range_s: String(span),
    __range_ms: String(span * 1000),
  };
}

/** ``text`` with every known variable replaced; unknown ``$words`` are left as they are. */
export function interpolate(text: string, vars: Map<string, VarState>, extra: Record<string, string> = {}): string {
  return text.replace(VAR_RE, (whole, a, b, bfmt, c, cfmt) => {
    const name = a || b || c;
    if (name in extra) return extra[name];
    const s = vars.get(name);
    if (!s) return whole;
    return formatVar(s, bfmt || cfmt);
  });
}

/** Names of the variables ``text`` uses (to know what to refresh when one changes). */
export function usedVariables(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(VAR_RE)) out.add(m[1] || m[2] || m[4]);
  return out;
}

// ---- resolving options ---------------------------------------------------------------------------

function compileRegex(text: string): RegExp {
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(text);
  return m ? new RegExp(m[1], m[2].replace("g", "")) : new RegExp(text);
}

function applyRegex(values: string[], regex: string | undefined): VariableOption[] {
  if (!regex) return values.map((v) => ({ text: v, value: v }));
  const re = compileRegex(regex);
  const out: VariableOption[] = [];
  for (const v of values) {
    const m = re.exec(v);
    if (!m) continue;
    const g = m.groups || {};
    const value = g.value ?? m[1] ?? m[0];
    out.push({ text: g.text ?? value, value });
  }
  return out;
}

function sortOptions(opts: VariableOption[], sort: Variable["sort"]): VariableOption[] {
  if (!sort || sort === "none") return opts;
  const num = (o: VariableOption) => {
    const m = /-?\d+(\.\d+)?/.exec(o.text);
    return m ? parseFloat(m[0]) : -Infinity;
  };
  const sorted = [...opts].sort(sort.startsWith("numeric") ? (x, y) => num(x) - num(y) : (x, y) => x.text.localeCompare(y.text));
  return sort.endsWith("-desc") ? sorted.reverse() : sorted;
}

function seriesText(metric: Record<string, string>, value: [number, string]): string {
  const { __name__: name = "", ...rest } = metric;
  const labels = Object.keys(rest).map((k) => `${k}="${rest[k]}"`).join(",");
  return `${name}{${labels}} ${value[1]} ${Math.round(value[0] * 1000)}`;
}

async function queryValues(query: string, range: TimeRange): Promise<string[]> {
  const span = { start: String(Math.floor(range.from)), end: String(Math.ceil(range.to)) };
  const q = query.trim();
  let m = /^label_values\(\s*([a-zA-Z_][\w]*)\s*\)$/s.exec(q);
  if (m) return apiGet<string[]>(`/api/v1/label/${encodeURIComponent(m[1])}/values`, span);
  m = /^label_values\((.+),\s*([a-zA-Z_][\w]*)\s*\)$/s.exec(q);
  if (m) {
    const qs = new URLSearchParams({ ...span, "match[]": m[1].trim() });
    return apiGet<string[]>(`/api/v1/label/${encodeURIComponent(m[2])}/values?${qs}`);
  }
  if (/^label_names\(\s*\)$/.test(q)) return apiGet<string[]>("/api/v1/labels", span);
  m = /^metrics\((.*)\)$/s.exec(q);
  if (m) {
    const names = await apiGet<string[]>("/api/v1/label/__name__/values", span);
    const re = m[1].trim() ? new RegExp(m[1].trim()) : null;
    return re ? names.filter((n) => re.test(n)) : names;
  }
  m = /^query_result\((.*)\)$/s.exec(q);
  const expr = m ? m[1] : q;
  const data = await apiGet<{ resultType: string; result: any }>("/api/v1/query", { query: expr, time: String(range.to) });
  if (data.resultType === "vector") return data.result.map((r: any) => seriesText(r.metric, r.value));
  if (data.resultType === "scalar" || data.resultType === "string") return [`{} ${data.result[1]} ${data.result[0] * 1000}`];
  return [];
}

function listOptions(options: Variable["options"]): VariableOption[] {
  if (typeof options === "string") {
    // Grafana's custom variable text: comma-separated, "\," for a literal comma, "text : value" pairs.
    return options
      .split(/(?<!\\),/)
      .map((s) => s.replace(/\\,/g, ",").trim())
      .filter(Boolean)
      .map((s) => {
        const pair = /^(.*?)\s+:\s+(.*)$/.exec(s);
        return pair ? { text: pair[1], value: pair[2] } : { text: s, value: s };
      });
  }
  return (options || []).map((o) => (typeof o === "string" ? { text: o, value: o } : o));
}

/** The "auto" interval: range / auto_count, at least auto_min, in whole seconds. */
export function autoInterval(def: Variable, range: TimeRange): string {
  const min = parseDuration(def.auto_min || "10s") || 10;
  return formatDuration(Math.max(min, Math.ceil((range.to - range.from) / (def.auto_count || 100))));
}

/** Work out a variable's options (querying the server for query variables) and keep a valid selection. */
export async function resolveVariable(def: Variable, vars: Map<string, VarState>, range: TimeRange,
                                      wanted: string[] | null): Promise<VarState> {
  let options: VariableOption[] = [];
  let error: string | undefined;
  switch (def.type) {
    case "query":
      try {
        const values = await queryValues(interpolate(def.query || "", vars, builtins(range, 15, 15)), range);
        options = sortOptions(applyRegex([...new Set(values)], def.regex), def.sort);
        options = options.filter((o, i) => options.findIndex((p) => p.value === o.value) === i);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      break;
    case "custom":
      options = listOptions(def.options);
      break;
    case "interval":
      options = listOptions(def.options);
      if (def.auto) options.unshift({ text: "auto", value: autoInterval(def, range) });
      break;
    case "constant":
    case "textbox":
      options = [{ text: def.value || "", value: def.value || "" }];
      break;
    case "datasource":
      options = [{ text: "watchkeeper", value: "watchkeeper" }];
      break;
  }
  if (def.include_all && (def.type === "query" || def.type === "custom")) options.unshift({ text: "All", value: ALL });
  const initial = wanted ?? (def.current === null || def.current === undefined ? null : ([] as string[]).concat(def.current));
  let selected = (initial || []).filter((v) => options.some((o) => o.value === v || (def.type === "interval" && o.text === v)));
  if (def.type === "interval") selected = selected.map((v) => options.find((o) => o.text === v)?.value ?? v);
  if (def.type === "textbox" && initial && initial.length) selected = [initial[0]];
  if (!def.multi) selected = selected.slice(0, 1);
  if (!selected.length && options.length) selected = [options[0].value];
  return { def, options, selected, error };
}
