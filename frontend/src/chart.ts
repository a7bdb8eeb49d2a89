// Time-series charts: uPlot does the drawing, zoom (drag to select, double-click resets) and legend toggles.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { MatrixSeries, seriesName } from "./api";

const PALETTE = [
  "#3274d9", "#e0752d", "#56a64b", "#e02f44", "#8f3bb8", "#f2cc0c", "#1f9ea0", "#c15c17", "#806eb7", "#70dbed",
];

export function color(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** Series on one shared, sorted time axis (seconds); gaps become nulls so uPlot breaks the line. */
export function alignMatrix(series: MatrixSeries[]): uPlot.AlignedData {
  const times = new Set<number>();
  for (const s of series) for (const [t] of s.values) times.add(t);
  const xs = Float64Array.from(times).sort();
  const index = new Map<number, number>();
  xs.forEach((t, i) => index.set(t, i));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    for (const [t, v] of s.values) {
      const f = parseFloat(v);
      col[index.get(t)!] = isFinite(f) ? f : null;
    }
    return col;
  });
  return [Array.from(xs), ...ys] as uPlot.AlignedData;
}

export interface ChartOptions {
  height?: number;
  legend?: boolean;
  title?: string;
  /** Fixed time axis span (seconds), e.g. the queried range, instead of the span of the data. */
  xRange?: [number, number];
  /** Show the last ``window`` seconds up to the newest point (live charts), however little data there is. */
  window?: number;
  /** Called with the dragged time span (seconds) instead of zooming in locally, e.g. to re-query. */
  onSelect?: (from: number, to: number) => void;
}

function xRange(opts: ChartOptions): uPlot.Scale.Range | undefined {
  if (opts.xRange) return () => opts.xRange!;
  if (opts.window) return (_u, _min, max) => [max - opts.window!, max];
  return undefined;
}

/** A chart that fills ``parent``'s width and follows its resizes; call destroy() when done. */
export class TimeChart {
  plot: uPlot;
  private observer: ResizeObserver;

  constructor(parent: HTMLElement, names: string[], data: uPlot.AlignedData, opts: ChartOptions = {}) {
    const width = Math.max(parent.clientWidth, 300);
    this.plot = new uPlot(
      {
        width,
        height: opts.height ?? 320,
        title: opts.title,
        legend: { show: opts.legend ?? true, live: true },
        cursor: { drag: { x: true, y: false, setScale: !opts.onSelect } },
        hooks: opts.onSelect ? { setSelect: [(u: uPlot) => this.selected(u, opts.onSelect!)] } : {},
        scales: { x: { time: true, range: xRange(opts) } },
        series: [{}, ...names.map((n, i) => ({ label: n, stroke: color(i), width: 1.5, spanGaps: false }))],
        axes: [{}, { size: 60 }],
      },
      data,
      parent,
    );
    this.observer = new ResizeObserver(() => {
      const w = Math.max(parent.clientWidth, 300);
      if (Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height: this.plot.height });
    });
    this.observer.observe(parent);
  }

  private selected(u: uPlot, onSelect: (from: number, to: number) => void): void {
    const { left, width } = u.select;
    if (width < 2) return;
    const from = u.posToVal(left, "x");
    const to = u.posToVal(left + width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    onSelect(from, to);
  }

  setData(data: uPlot.AlignedData): void {
    this.plot.setData(data);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot.destroy();
  }
}

export function matrixChart(parent: HTMLElement, series: MatrixSeries[], opts: ChartOptions = {}): TimeChart {
  return new TimeChart(parent, series.map((s) => seriesName(s.metric)), alignMatrix(series), opts);
}
