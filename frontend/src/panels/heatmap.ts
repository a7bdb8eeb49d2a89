// Heatmap of histogram buckets: uPlot provides scales, axes and cursor; the cells are drawn by a series'
// ``paths`` callback on uPlot's canvas (the way Grafana's own heatmap uses uPlot).
import uPlot from "uplot";
import { h } from "../dom";
import { formatValue } from "./format";
import { PanelData, align } from "./query";
import { Panel } from "./types";
import { timeAxis, valueAxisSize } from "./timeseries";
import { TimeRange } from "./vars";

const SCHEMES: Record<string, string[]> = {
  oranges: ["#fff5eb", "#fdae6b", "#e6550d", "#7f2704"],
  blues: ["#f7fbff", "#9ecae1", "#3182bd", "#08306b"],
  greens: ["#f7fcf5", "#a1d99b", "#31a354", "#00441b"],
  reds: ["#fff5f0", "#fc9272", "#de2d26", "#67000d"],
  purples: ["#fcfbfd", "#bcbddc", "#756bb1", "#3f007d"],
  spectral: ["#5e4fa2", "#66c2a5", "#e6f598", "#fee08b", "#f46d43", "#9e0142"],
};
const LEVELS = 32;

function rgb(hex: string): number[] {
  const n = parseInt(hex.slice(1), 16);
  return [n >> 16, (n >> 8) & 255, n & 255];
}

/** ``LEVELS`` colours from the scheme's first to last stop. */
function palette(name: string): string[] {
  const stops = (SCHEMES[name] || SCHEMES.oranges).map(rgb);
  return Array.from({ length: LEVELS }, (_, i) => {
    const f = ((i + 1) / LEVELS) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(f));
    const t = f - k;
    const c = stops[k].map((a, j) => Math.round(a + (stops[k + 1][j] - a) * t));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  });
}

export interface Buckets { les: number[]; xs: number[]; counts: (number | null)[][] }

/** Series with an ``le`` label summed per bucket and de-cumulated: counts[bucket][time]. */
export function toBuckets(data: PanelData): Buckets | null {
  const withLe = data.series.filter((s) => s.labels.le !== undefined);
  if (!withLe.length) return null;
  const { xs, ys } = align(withLe);
  const byLe = new Map<number, (number | null)[]>();
  withLe.forEach((s, i) => {
    const le = s.labels.le === "+Inf" ? Infinity : parseFloat(s.labels.le);
    if (Number.isNaN(le)) return;
    const acc = byLe.get(le) || new Array(xs.length).fill(null);
    ys[i].forEach((v, j) => (acc[j] = v === null ? acc[j] : (acc[j] ?? 0) + v));
    byLe.set(le, acc);
  });
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => byLe.get(le)!);
  const counts = cum.map((col, i) => col.map((v, j) => (v === null ? null : Math.max(0, v - (i ? cum[i - 1][j] ?? 0 : 0)))));
  return { les, xs, counts };
}

export function renderHeatmap(body: HTMLElement, panel: Panel, data: PanelData, range: TimeRange): () => void {
  const b = toBuckets(data);
  if (!b) {
    body.append(h("div.panel-empty", null, data.series.length ? "No `le` label: a heatmap needs histogram buckets" : "No data"));
    return () => undefined;
  }
  const colors = palette(panel.options?.scheme || "oranges");
  const nb = b.les.length;
  let maxCount = 0;
  for (const col of b.counts) for (const v of col) if (v !== null && v > maxCount) maxCount = v;
  const step = data.step;
  const label = (i: number) => (i === 0 ? "0" : b.les[i - 1] === Infinity ? "+Inf" : formatValue(b.les[i - 1], panel.unit || "", panel.decimals));
  const drawCells = (u: uPlot): null => {
    const ctx = u.ctx;
    const paths = colors.map(() => new Path2D());
    const { left, top, width, height } = u.bbox;
    for (let i = 0; i < nb; i++) {
      const y0 = u.valToPos(i + 1, "y", true);
      const y1 = u.valToPos(i, "y", true);
      const row = b.counts[i];
      for (let j = 0; j < b.xs.length; j++) {
        const v = row[j];
        if (v === null || v <= 0) continue;
        const x0 = u.valToPos(b.xs[j] - step, "x", true);
        const x1 = u.valToPos(b.xs[j], "x", true);
        const level = Math.min(LEVELS - 1, Math.floor((v / maxCount) * LEVELS));
        // A hairline gap between cells only where cells are wide enough to keep their colour readable.
        const gx = x1 - x0 > 6 ? 1 : 0;
        paths[level].rect(x0, y0, Math.max(1, x1 - x0 - gx), Math.max(1, y1 - y0 - 1));
      }
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    paths.forEach((p, k) => {
      ctx.fillStyle = colors[k];
      ctx.fill(p);
    });
    ctx.restore();
    return null;
  };
  const info = h("div.heatmap-info", null, "\u00a0");
  const wrap = h("div.ts-wrap");
  body.append(wrap, info);
  const size = () => ({ width: Math.max(100, body.clientWidth), height: Math.max(60, body.clientHeight - 20) });
  const plot = new uPlot(
    {
      ...size(),
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => [range.from, range.to] }, y: { auto: false, range: () => [0, nb] } },
      axes: [
        timeAxis(),
        {
          size: valueAxisSize, font: "11px system-ui",
          splits: (u) => {
            const every = Math.max(1, Math.ceil(nb / Math.max(1, u.bbox.height / devicePixelRatio / 18)));
            return Array.from({ length: nb + 1 }, (_, i) => i).filter((i) => i % every === 0);
          },
          values: (_u, splits) => splits.map(label),
        },
      ],
      series: [{}, { label: "buckets", stroke: "transparent", paths: drawCells, points: { show: false } }],
      hooks: {
        setCursor: [(u) => {
          const { idx, top } = u.cursor;
          if (idx === null || idx === undefined || top === undefined || top < 0) return;
          const i = Math.floor(u.posToVal(top, "y"));
          if (i < 0 || i >= nb) return;
          const when = new Date(b.xs[idx] * 1000).toISOString().slice(11, 19);
          info.textContent = `${when}  ${label(i)} – ${label(i + 1)}: ${formatValue(b.counts[i][idx], "short")}`;
        }],
      },
    },
    [b.xs, new Array(b.xs.length).fill(0)] as uPlot.AlignedData,
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
