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
