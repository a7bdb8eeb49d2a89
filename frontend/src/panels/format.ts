// Value formatting by Grafana unit id, thresholds and value mappings.
import { Panel, Threshold, ValueMapping } from "./types";

const SI = ["", "K", "M", "G", "T", "P", "E"];
const IEC = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

function fixed(v: number, decimals: number | null | undefined): string {
  if (decimals !== null && decimals !== undefined) return v.toFixed(decimals);
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, "");
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, "");
  return (+v.toPrecision(3)).toString();
}

function scaled(v: number, base: number, prefixes: string[], unit: string, decimals?: number | null): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < prefixes.length - 1) {
    x /= base;
    i++;
  }
  const sep = unit || prefixes[i] ? " " : "";
  return `${fixed(x, decimals)}${sep}${prefixes[i]}${unit}`;
}

function duration(seconds: number, decimals?: number | null): string {
  const a = Math.abs(seconds);
  if (a === 0) return "0 s";
  if (a < 1e-6) return `${fixed(seconds * 1e9, decimals)} ns`;
  if (a < 1e-3) return `${fixed(seconds * 1e6, decimals)} µs`;
  if (a < 1) return `${fixed(seconds * 1e3, decimals)} ms`;
  if (a < 60) return `${fixed(seconds, decimals)} s`;
  if (a < 3600) return `${fixed(seconds / 60, decimals)} min`;
  if (a < 86400) return `${fixed(seconds / 3600, decimals)} hour`;
  if (a < 86400 * 365) return `${fixed(seconds / 86400, decimals)} day`;
  return `${fixed(seconds / (86400 * 365), decimals)} year`;
}

function dtdurations(seconds: number): string {
  let rest = Math.round(Math.abs(seconds));
  const parts: string[] = [];
  for (const [name, size] of [["year", 31536000], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]] as const) {
    const n = Math.floor(rest / size);
    if (n) parts.push(`${n} ${name}${n > 1 ? "s" : ""}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return (seconds < 0 ? "-" : "") + (parts.join(", ") || "0 seconds");
}

/** ``v`` formatted for ``unit`` (Grafana's unit ids; unknown units are appended as text). */
export function formatValue(v: number | null | undefined, unit = "", decimals?: number | null): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "No data";
  if (!isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  switch (unit) {
    case "":
    case "short":
      return scaled(v, 1000, SI, "", decimals);
    case "none":
      return fixed(v, decimals);
    case "percent":
      return `${fixed(v, decimals)}%`;
    case "percentunit":
      return `${fixed(v * 100, decimals)}%`;
    case "bytes":
      return scaled(v, 1024, IEC, "B", decimals);
    case "decbytes":
      return scaled(v, 1000, SI, "B", decimals);
    case "bits":
      return scaled(v, 1000, SI, "b", decimals);
    case "bps":
    case "decbps":
      return scaled(v, 1000, SI, "b/s", decimals);
    case "Bps":
    case "binBps":
      return scaled(v, 1024, IEC, "B/s", decimals);
    case "decBps":
      return scaled(v, 1000, SI, "B/s", decimals);
    case "s":
      return duration(v, decimals);
    case "ms":
      return duration(v / 1e3, decimals);
    case "µs":
    case "us":
      return duration(v / 1e6, decimals);
    case "ns":
      return duration(v / 1e9, decimals);
    case "dtdurations":
      return dtdurations(v);
    case "hertz":
      return scaled(v, 1000, SI, "Hz", decimals);
    case "reqps":
      return scaled(v, 1000, SI, " req/s", decimals).replace("  ", " ");
    case "ops":
      return scaled(v, 1000, SI, " ops/s", decimals).replace("  ", " ");
    case "pps":
      return scaled(v, 1000, SI, " p/s", decimals).replace("  ", " ");
    case "iops":
      return scaled(v, 1000, SI, " io/s", decimals).replace("  ", " ");
    case "rps":
      return scaled(v, 1000, SI, " rd/s", decimals).replace("  ", " ");
    case "wps":
      return scaled(v, 1000, SI, " wr/s", decimals).replace("  ", " ");
    case "celsius":
      return `${fixed(v, decimals)}°C`;
    case "watt":
      return scaled(v, 1000, SI, "W", decimals);
    case "dateTimeAsIso":
      return new Date(v < 1e11 ? v * 1000 : v).toISOString().slice(0, 19).replace("T", " ");
    case "dateTimeFromNow": {
      const s = Date.now() / 1000 - (v < 1e11 ? v : v / 1000);
      return s >= 0 ? `${dtdurations(s)} ago` : `in ${dtdurations(-s)}`;
    }
  }
  if (unit.startsWith("suffix:")) return `${fixed(v, decimals)}${unit.slice(7)}`;
  if (unit.startsWith("prefix:")) return `${unit.slice(7)}${fixed(v, decimals)}`;
  return `${scaled(v, 1000, SI, "", decimals)} ${unit}`;
}

// Grafana's named colours (the common ones), so imported thresholds keep their look.
const NAMED: Record<string, string> = {
  green: "#73bf69", "semi-dark-green": "#56a64b", "dark-green": "#37872d", "light-green": "#96d98d",
  red: "#f2495c", "semi-dark-red": "#e02f44", "dark-red": "#c4162a", "light-red": "#ff7383",
  orange: "#ff9830", "semi-dark-orange": "#fa6400", "dark-orange": "#e55400", "light-orange": "#ffb357",
  yellow: "#fade2a", "semi-dark-yellow": "#f2cc0c", "dark-yellow": "#e0b400", "light-yellow": "#ffee52",
  blue: "#5794f2", "semi-dark-blue": "#3274d9", "dark-blue": "#1f60c4", "light-blue": "#8ab8ff",
  purple: "#b877d9", "semi-dark-purple": "#a352cc", "dark-purple": "#8f3bb8", "light-purple": "#ca95e5",
  text: "#1f2328", transparent: "transparent",
};

export function cssColor(c: string | null | undefined): string {
  if (!c) return "";
  return NAMED[c] || c;
}

/** The colour of ``v`` under ``thresholds`` (the highest step at or below it). */
export function thresholdColor(panel: Panel, v: number | null, fallback = "#3274d9"): string {
  const steps: Threshold[] = panel.thresholds || [];
  if (!steps.length || v === null || Number.isNaN(v)) return fallback;
  let x = v;
  if (panel.thresholds_mode === "percentage") {
    const min = panel.min ?? 0;
    const max = panel.max ?? 100;
    x = max > min ? ((v - min) / (max - min)) * 100 : 0;
  }
  let color = steps[0].color;
  for (const s of steps) if (s.value === null || s.value === undefined || x >= s.value) color = s.color;
  return cssColor(color);
}

/** A value mapping's text and colour for ``v``, if one applies. */
export function mapValue(mappings: ValueMapping[] | undefined, v: number | null): ValueMapping | null {
  for (const m of mappings || []) {
    if (m.value !== null && m.value !== undefined) {
      if (v !== null && String(v) === m.value) return m;
      if (v !== null && Number(m.value) === v) return m;
    } else if (v !== null) {
      const lo = m.from ?? -Infinity;
      const hi = m.to ?? Infinity;
      if (v >= lo && v <= hi) return m;
    }
  }
  return null;
}

/** The text and colour a stat-like panel shows for ``v``. */
export function display(panel: Panel, v: number | null): { text: string; color: string } {
  const mapped = mapValue(panel.mappings, v);
  const color = mapped?.color ? cssColor(mapped.color) : thresholdColor(panel, v);
  return { text: mapped?.text || formatValue(v, panel.unit || "", panel.decimals), color };
}
