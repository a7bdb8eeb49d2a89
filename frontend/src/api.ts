// Thin client of watchkeeper's Prometheus-compatible HTTP API.

export type Labels = Record<string, string>;
export type SamplePair = [number, string];
export interface MatrixSeries { metric: Labels; values: SamplePair[] }
export interface VectorSample { metric: Labels; value: SamplePair }
export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar"; result: SamplePair }
  | { resultType: "string"; result: SamplePair };

export class ApiError extends Error {
  constructor(public errorType: string, message: string) {
    super(message);
  }
}

export async function apiGet<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const qs = new URLSearchParams(params).toString();
  const resp = await fetch(path + (qs ? "?" + qs : ""), { headers: { Accept: "application/json" } });
  let body: { status: string; data?: T; errorType?: string; error?: string };
  try {
    body = await resp.json();
  } catch {
    throw new ApiError("http", `${path}: HTTP ${resp.status}`);
  }
  if (body.status !== "success") throw new ApiError(body.errorType || "http", body.error || `HTTP ${resp.status}`);
  return body.data as T;
}

/** Metric name and labels in PromQL selector syntax, as Prometheus' UI prints a series. */
export function seriesName(m: Labels): string {
  const name = m.__name__ || "";
  const rest = Object.keys(m)
    .filter((k) => k !== "__name__")
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`);
  return rest.length ? `${name}{${rest.join(", ")}}` : name || "{}";
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function formatAgo(iso: string): string {
  const t = Date.parse(iso);
  if (!isFinite(t) || t <= 0) return "never";
  const s = (Date.now() - t) / 1000;
  if (s < 60) return `${s.toFixed(1)}s ago`;
  if (s < 3600) return `${(s / 60).toFixed(1)}m ago`;
  return `${(s / 3600).toFixed(1)}h ago`;
}

/** Prometheus duration text ("1h30m", "15s") to seconds; NaN when it is not one. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)/g;
  const mult: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  let used = 0;
  for (const m of text.trim().matchAll(re)) {
    total += parseFloat(m[1]) * mult[m[2]];
    used += m[0].length;
  }
  if (used === 0 || used !== text.trim().length) {
    const n = Number(text);
    return text.trim() !== "" && isFinite(n) ? n : NaN;
  }
  return total;
}

/** Seconds as Prometheus writes durations: "1h30m", "14m59s", "0.5s". */
export function formatDuration(seconds: number): string {
  if (!(seconds > 0)) return "0s";
  let rest = Math.round(seconds * 1000) / 1000;
  let out = "";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    const n = Math.floor(rest / size);
    if (n) out += `${n}${unit}`;
    rest -= n * size;
  }
  if (rest) out += `${+rest.toFixed(3)}s`;
  return out;
}

// ---- Alertmanager API v2 (plain JSON bodies, errors as a JSON string or {code, message}) ----

export interface AmStatus { state: "active" | "suppressed" | "unprocessed"; silencedBy: string[]; inhibitedBy: string[] }
export interface AmAlert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL: string;
  receivers: { name: string }[];
  status: AmStatus;
}
export interface AmMatcher { name: string; value: string; isRegex: boolean; isEqual?: boolean }
export interface Silence {
  id: string;
  matchers: AmMatcher[];
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  createdBy: string;
  comment: string;
  status: { state: "active" | "pending" | "expired" };
}
export interface AmEvent {
  time: string;
  kind: "alert" | "silence" | "notification";
  [field: string]: any;
}

/** Whether this server runs an Alertmanager (the page shell says so; its /api/v2 paths exist only then). */
export function hasAlertmanager(): boolean {
  const meta = document.querySelector('meta[name="watchkeeper-features"]');
  return (meta?.getAttribute("content") || "").split(/\s+/).includes("alertmanager");
}

export async function amFetch<T>(method: string, path: string, params?: URLSearchParams, body?: unknown): Promise<T> {
  const qs = params && [...params].length ? "?" + params.toString() : "";
  const resp = await fetch("/api/v2" + path + qs, {
    method,
    headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let doc: any = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = text;
  }
  if (!resp.ok) {
    const message = typeof doc === "string" ? doc : doc?.message || `HTTP ${resp.status}`;
    throw new ApiError("alertmanager", message);
  }
  return doc as T;
}

// ---- Alertmanager matchers: name="v", name!="v", name=~"re", name!~"re"; a list in {…} or comma-separated ----

export interface Matcher { name: string; op: "=" | "!=" | "=~" | "!~"; value: string }

const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^,}"]*?)\s*(?:,|$)/;

/** Parse matcher text as Alertmanager's filter box takes it; throws Error naming the bad part. */
export function parseMatchers(text: string): Matcher[] {
  let body = text.trim();
  if (body.startsWith("{")) {
    if (!body.endsWith("}")) throw new Error("missing closing }");
    body = body.slice(1, -1);
  }
  const out: Matcher[] = [];
  while (body.trim()) {
    const m = MATCHER_RE.exec(body);
    if (!m) throw new Error(`bad matcher: ${body.trim()}`);
    const unquote = (s: string) => (s.startsWith('"') ? (JSON.parse(s) as string) : s);
    out.push({ name: unquote(m[1]), op: m[2] as Matcher["op"], value: unquote(m[3]) });
    body = body.slice(m[0].length);
  }
  return out;
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

export function formatMatchers(ms: Matcher[]): string {
  return `{${ms.map(formatMatcher).join(", ")}}`;
}

/** A matcher as a predicate (regular expressions anchored, as Alertmanager's RE2 ones are). */
export function matcherTest(m: Matcher): (labels: Labels) => boolean {
  if (m.op === "=" || m.op === "!=") {
    const eq = m.op === "=";
    return (l) => ((l[m.name] ?? "") === m.value) === eq;
  }
  const re = new RegExp(`^(?:${m.value})$`);
  const pos = m.op === "=~";
  return (l) => re.test(l[m.name] ?? "") === pos;
}

export function toAmMatcher(m: Matcher): AmMatcher {
  return { name: m.name, value: m.value, isRegex: m.op.endsWith("~"), isEqual: !m.op.startsWith("!") };
}

export function fromAmMatcher(m: AmMatcher): Matcher {
  const eq = m.isEqual !== false;
  return { name: m.name, value: m.value, op: m.isRegex ? (eq ? "=~" : "!~") : eq ? "=" : "!=" };
}

/** Matchers selecting exactly these labels (what "silence this alert" pre-fills). */
export function labelMatchers(labels: Labels): Matcher[] {
  return Object.keys(labels).sort().map((name) => ({ name, op: "=" as const, value: labels[name] }));
}

/** Severity label as a CSS class suffix ("critical", "warning", "info", else "other"). */
export function severityClass(labels: Labels): string {
  const s = (labels.severity || "").toLowerCase();
  if (["critical", "page", "error", "high"].includes(s)) return "critical";
  if (["warning", "warn", "medium"].includes(s)) return "warning";
  if (["info", "low", "none"].includes(s)) return "info";
  return "other";
}

/** RFC 3339 as short local-independent UTC text: "2026-11-22 04:05:06". */
export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  return isFinite(t) ? new Date(t).toISOString().slice(0, 19).replace("T", " ") : iso;
}

/** "in 1h30m" / "3m ago" for a time relative to now. */
export function formatRelative(iso: string): string {
  const t = Date.parse(iso);
  if (!isFinite(t)) return "";
  const s = (t - Date.now()) / 1000;
  return s >= 0 ? `in ${formatDuration(Math.round(s))}` : `${formatDuration(Math.round(-s))} ago`;
}

/** Milliseconds as "2026-11-22 04:05:06" (UTC), as the forms show times. */
export function utcText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** "2026-11-22 04:05:06" or "2026-11-22 04:05" (UTC), or anything Date.parse takes, to ms; NaN otherwise. */
export function parseUtc(text: string): number {
  const t = text.trim();
  if (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?$/.test(t)) return Date.parse(t.replace(" ", "T") + "Z");
  return Date.parse(t);
}
