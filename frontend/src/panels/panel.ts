// One dashboard panel: a header (title, state, edit buttons) and a body drawn by the panel type's renderer.
import { h } from "../dom";
import { renderHeatmap } from "./heatmap";
import { PanelData, QueryContext, queryPanel } from "./query";
import { renderBarGauge, renderGauge, renderStat } from "./stat";
import { renderTable } from "./table";
import { renderTimeseries } from "./timeseries";
import { Panel } from "./types";
import { TimeRange, interpolate } from "./vars";

type Renderer = (body: HTMLElement, panel: Panel, data: PanelData, range: TimeRange) => () => void;

const RENDERERS: Record<string, Renderer> = {
  timeseries: renderTimeseries,
  stat: renderStat,
  gauge: renderGauge,
  bargauge: renderBarGauge,
  table: renderTable,
  heatmap: renderHeatmap,
};

export interface PanelHandlers {
  onEdit?: () => void;
  onRemove?: () => void;
}

/** A panel element that (re)loads its data on ``load()``; ``destroy()`` frees its chart. */
export class PanelView {
  el: HTMLElement;
  private body: HTMLElement;
  private state: HTMLElement;
  private title: HTMLElement;
  private cleanup: (() => void) | null = null;
  private abort: AbortController | null = null;
  /** Resolves when the current load has drawn (for tests and the benchmark). */
  loaded: Promise<void> = Promise.resolve();

  constructor(public panel: Panel, editing: boolean, handlers: PanelHandlers) {
    this.title = h("span.panel-title", { title: panel.description || "" });
    this.state = h("span.panel-state");
    const buttons = editing
      ? [h("button.link", { onclick: handlers.onEdit, "data-action": "edit" }, "edit"),
        h("button.link", { onclick: handlers.onRemove, "data-action": "remove" }, "remove")]
      : [];
    this.body = h("div.panel-body");
    this.el = h("div.dash-panel", { "data-type": panel.type },
      h("div.panel-head", null, this.title, this.state, ...buttons), this.body);
    this.place();
  }

  place(): void {
    const g = this.panel.grid;
    this.el.style.gridColumn = `${g.x + 1} / span ${g.w}`;
    this.el.style.gridRow = `${g.y + 1} / span ${g.h}`;
  }

  async load(ctx: QueryContext): Promise<void> {
    this.title.textContent = interpolate(this.panel.title, ctx.vars) || "\u00a0";
    const p = this.panel;
    if (p.type === "text" || p.type === "placeholder") {
      this.draw(() => {
        const text = p.type === "text" ? String(p.options?.content || "") : String(p.options?.message || "This panel type is not supported.");
        const el = h(`div.${p.type === "text" ? "panel-text" : "panel-placeholder"}`, null,
          ...interpolate(text, ctx.vars).split(/\n\s*\n/).map((para) => h("p", null, para)));
        this.body.append(el);
        return () => undefined;
      });
      this.loaded = Promise.resolve();
      return;
    }
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.state.textContent = "loading…";
    this.state.className = "panel-state loading";
    const run = async () => {
      const data = await queryPanel(p, this.body.clientWidth || 400, ctx, abort.signal);
      if (abort.signal.aborted) return;
      this.state.textContent = data.errors.length ? "error" : "";
      this.state.className = "panel-state" + (data.errors.length ? " err" : "");
      this.state.title = data.errors.join("\n");
      this.draw(() => {
        const renderer = RENDERERS[p.type];
        if (!data.series.length) {
          this.body.append(h("div.panel-empty", null, data.errors.length ? data.errors.join("\n") : "No data"));
          return () => undefined;
        }
        return renderer(this.body, p, data, ctx.range);
      });
    };
    this.loaded = run();
    return this.loaded;
  }

  private draw(render: () => () => void): void {
    this.cleanup?.();
    this.body.replaceChildren();
    this.cleanup = render();
  }

  destroy(): void {
    this.abort?.abort();
    this.cleanup?.();
    this.cleanup = null;
  }
}
