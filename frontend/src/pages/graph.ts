// Query explorer: PromQL editor with autocomplete, error position, graph and table, shareable URL.
// The URL uses Prometheus' own parameters (g0.expr, g0.tab, g0.range_input, ...) so its links work here.
import { apiGet, ApiError, formatDuration, MatrixSeries, parseDuration, QueryData, seriesName } from "../api";
import { alignMatrix, matrixChart, TimeChart } from "../chart";
import { clear, h } from "../dom";
import { Stream, StreamMessage } from "../stream";

const MAX_SUGGESTIONS = 50;

interface QueryState {
  expr: string;
  tab: "graph" | "table";
  range: string;
  end: string; // "" means now; else "YYYY-MM-DDTHH:MM:SS" (UTC)
  step: string; // "" means automatic
  live: boolean; // graph follows new points over /api/v1/stream
}

function isoUtc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19);
}

function readState(params: URLSearchParams): QueryState {
  return {
    expr: params.get("g0.expr") || "",
    tab: params.get("g0.tab") === "1" ? "table" : "graph",
    range: params.get("g0.range_input") || "1h",
    end: params.get("g0.end_input") || "",
    step: params.get("g0.step_input") || "",
    live: params.get("g0.live") === "1",
  };
}

function writeState(s: QueryState): void {
  const p = new URLSearchParams();
  p.set("g0.expr", s.expr);
  p.set("g0.tab", s.tab === "table" ? "1" : "0");
  p.set("g0.range_input", s.range);
  if (s.end) p.set("g0.end_input", s.end);
  if (s.step) p.set("g0.step_input", s.step);
  if (s.live) p.set("g0.live", "1");
  history.replaceState(null, "", `${location.pathname}?${p}`);
}

/** Line and column of a PromQL parse error ("1:18: parse error: ..."), as the API reports it. */
export function errorPosition(message: string): { line: number; col: number } | null {
  const m = /(\d+):(\d+): parse error/.exec(message);
  return m ? { line: +m[1], col: +m[2] } : null;
}

function highlightError(expr: string, message: string): HTMLElement | null {
  const pos = errorPosition(message);
  if (!pos) return null;
  const lines = expr.split("\n");
  let offset = 0;
  for (let i = 0; i < pos.line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset = Math.min(offset + pos.col - 1, expr.length);
  const at = expr.slice(offset, offset + 1) || " ";
  return h("pre.error-expr", { id: "error-expr" }, expr.slice(0, offset), h("mark", null, at), expr.slice(offset + 1));
}

/** Add an instant result's samples to the live series; drop points older than ``oldest``. True when a
 *  series appeared or vanished, which needs a new chart (uPlot's series list is fixed). */
function appendPoints(series: MatrixSeries[], data: QueryData, oldest: number): boolean {
  let changed = false;
  const samples =
    data.resultType === "vector" ? data.result
    : data.resultType === "scalar" ? [{ metric: {}, value: data.result }]
    : [];
  const byName = new Map(series.map((s) => [seriesName(s.metric), s]));
  for (const { metric, value } of samples) {
    let s = byName.get(seriesName(metric));
    if (!s) {
      s = { metric, values: [] };
      series.push(s);
      byName.set(seriesName(metric), s);
      changed = true;
    }
    s.values.push(value);
  }
  for (let i = series.length - 1; i >= 0; i--) {
    const vals = series[i].values;
    let cut = 0;
    while (cut < vals.length && vals[cut][0] < oldest) cut++;
    if (cut) vals.splice(0, cut);
    if (!vals.length) {
      series.splice(i, 1);
      changed = true;
    }
  }
  return changed;
}

/** What the word at the cursor is: a metric name, a label name, or a value of a given label. */
function completionContext(text: string): { kind: "metric" | "label" | "value"; prefix: string; label?: string } {
  const value = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)$/.exec(text);
  if (value && text.lastIndexOf("{") > text.lastIndexOf("}")) return { kind: "value", prefix: value[3], label: value[1] };
  const word = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(text)?.[0] || "";
  const open = text.lastIndexOf("{") > text.lastIndexOf("}");
  // Inside braces, or after by(/without(, a word is a label name.
  const grouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$/.test(text);
  return { kind: open || grouping ? "label" : "metric", prefix: word };
}

export function graphPage(root: HTMLElement, params: URLSearchParams): () => void {
  const state = readState(params);
  const expr = h("textarea.expr", { id: "expr", rows: 2, spellcheck: false, placeholder: "Expression (press Enter to run)" }) as HTMLTextAreaElement;
  expr.value = state.expr;
  const suggest = h("ul.suggest", { id: "autocomplete", hidden: true });
  const run = h("button.primary", { id: "execute", type: "button" }, "Execute");
  const rangeIn = h("input", { id: "range-input", value: state.range, size: 6, title: "Range, e.g. 1h" }) as HTMLInputElement;
  const endIn = h("input", { id: "end-input", value: state.end, placeholder: "now", size: 19, title: "End time (UTC), e.g. 2024-01-02T15:04:05" }) as HTMLInputElement;
  const stepIn = h("input", { id: "step-input", value: state.step, placeholder: "auto", size: 6, title: "Resolution step" }) as HTMLInputElement;
  const tabGraph = h("button.tab", { id: "tab-graph", type: "button" }, "Graph");
  const tabTable = h("button.tab", { id: "tab-table", type: "button" }, "Table");
  const back = h("button", { id: "pan-back", type: "button", title: "Earlier by half the range" }, "◀");
  const forward = h("button", { id: "pan-forward", type: "button", title: "Later by half the range" }, "▶");
  const zoomOut = h("button", { id: "zoom-out", type: "button", title: "Double the range" }, "−");
  const liveBox = h("input", { id: "live", type: "checkbox", checked: state.live }) as HTMLInputElement;
  const errorBox = h("div.error", { id: "query-error", hidden: true });
  const info = h("div.muted", { id: "query-info" });
  const output = h("div.output", { id: "query-output" });
  let chart: TimeChart | null = null;
  let generation = 0;
  let stream: Stream | null = null;

  clear(
    root,
    h("h1", null, "Query"),
    h("div.editor", null, expr, suggest, run),
    h("div.controls", null, tabGraph, tabTable,
      h("label", null, "Range ", rangeIn), zoomOut, back, h("label", null, "End ", endIn), forward,
      h("label", null, "Step ", stepIn), h("label", { title: "Follow new points as they arrive" }, liveBox, " Live")),
    errorBox,
    info,
    output,
  );

  // --- autocomplete ---------------------------------------------------------------
  const cache = new Map<string, Promise<string[]>>();
  const values = (path: string): Promise<string[]> => {
    if (!cache.has(path)) cache.set(path, apiGet<string[]>(path).catch(() => []));
    return cache.get(path)!;
  };
  let selected = -1;
  let items: string[] = [];
  let replaceLen = 0;

  const closeSuggest = () => {
    suggest.hidden = true;
    items = [];
    selected = -1;
  };
  const renderSuggest = () => {
    clear(suggest, ...items.map((it, i) => h("li", { class: i === selected ? "sel" : "", onmousedown: (e: Event) => {
      e.preventDefault();
      accept(i);
    } }, it)));
    suggest.hidden = items.length === 0;
  };
  const accept = (i: number) => {
    const pos = expr.selectionStart;
    const text = items[i];
    expr.value = expr.value.slice(0, pos - replaceLen) + text + expr.value.slice(pos);
    const cursor = pos - replaceLen + text.length;
    expr.setSelectionRange(cursor, cursor);
    closeSuggest();
    expr.focus();
  };
  const updateSuggest = async () => {
    const before = expr.value.slice(0, expr.selectionStart);
    const ctx = completionContext(before);
    let pool: string[];
    if (ctx.kind === "value") pool = await values(`/api/v1/label/${encodeURIComponent(ctx.label!)}/values`);
    else if (ctx.kind === "label") pool = await values("/api/v1/labels");
    else pool = ctx.prefix ? await values("/api/v1/label/__name__/values") : [];
    if (ctx.kind !== "value" && !ctx.prefix) return closeSuggest();
    const lower = ctx.prefix.toLowerCase();
    items = pool.filter((v) => v.toLowerCase().startsWith(lower) && v !== ctx.prefix).slice(0, MAX_SUGGESTIONS);
    replaceLen = ctx.prefix.length;
    selected = items.length ? 0 : -1;
    renderSuggest();
  };
  expr.addEventListener("input", () => void updateSuggest());
  expr.addEventListener("blur", () => closeSuggest());
  expr.addEventListener("keydown", (e: KeyboardEvent) => {
    if (!suggest.hidden && items.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        selected = (selected + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        renderSuggest();
        e.preventDefault();
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey)) {
        accept(selected < 0 ? 0 : selected);
        e.preventDefault();
        return;
      }
      if (e.key === "Escape") {
        closeSuggest();
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      void execute();
    }
  });

  // --- execution ------------------------------------------------------------------
  const endSeconds = (): number => {
    if (!endIn.value.trim()) return Date.now() / 1000;
    const t = Date.parse(endIn.value.trim().replace(" ", "T") + (/[zZ]|[+-]\d\d:?\d\d$/.test(endIn.value) ? "" : "Z"));
    if (!isFinite(t)) throw new ApiError("input", `cannot parse end time "${endIn.value}"`);
    return t / 1000;
  };
  const showError = (message: string) => {
    clear(errorBox, h("div", null, message));
    const marked = highlightError(expr.value, message);
    if (marked) errorBox.append(marked);
    errorBox.hidden = false;
  };
  const setTab = (tab: "graph" | "table") => {
    state.tab = tab;
    tabGraph.classList.toggle("active", tab === "graph");
    tabTable.classList.toggle("active", tab === "table");
  };

  async function execute(): Promise<void> {
    const my = ++generation;
    closeSuggest();
    errorBox.hidden = true;
    state.expr = expr.value;
    state.range = rangeIn.value.trim() || "1h";
    state.end = endIn.value.trim();
    state.step = stepIn.value.trim();
    state.live = liveBox.checked && state.tab === "graph";
    if (state.live) state.end = endIn.value = "";
    endIn.disabled = state.live;
    stream?.close();
    stream = null;
    writeState(state);
    if (!state.expr.trim()) {
      clear(output);
      info.textContent = "";
      return;
    }
    const started = performance.now();
    try {
      const end = endSeconds();
      if (state.tab === "graph") {
        const range = parseDuration(state.range);
        if (!(range > 0)) throw new ApiError("input", `cannot parse range "${state.range}"`);
        const step = state.step ? parseDuration(state.step) : Math.max(Math.floor(range / 250), 1);
        if (!(step > 0)) throw new ApiError("input", `cannot parse step "${state.step}"`);
        if (state.live) return follow(range, step);
        const data = await apiGet<QueryData>("/api/v1/query_range", {
          query: state.expr, start: String(end - range), end: String(end), step: String(step),
        });
        if (my !== generation) return;
        drawGraph(data.result as MatrixSeries[], step, performance.now() - started, [end - range, end]);
      } else {
        const data = await apiGet<QueryData>("/api/v1/query", { query: state.expr, time: String(end) });
        if (my !== generation) return;
        drawTable(data, performance.now() - started);
      }
    } catch (e) {
      if (my !== generation) return;
      showError(e instanceof Error ? e.message : String(e));
    }
  }

  /** Live graph: the query's history once, then its new points from the stream every step. */
  function follow(range: number, step: number): void {
    let series: MatrixSeries[] = [];
    stream = new Stream();
    stream.subscribe("graph", { channel: "query", query: state.expr, range, step }, (msg: StreamMessage) => {
      if (msg.type === "error") return showError(msg.error || "stream error");
      if (msg.type === "range") {
        series = msg.data.result as MatrixSeries[];
        drawGraph(series, step, null);
      } else if (msg.type === "points") {
        const added = appendPoints(series, msg.data as QueryData, Date.now() / 1000 - range);
        if (added || !chart) drawGraph(series, step, null);
        else chart.setData(alignMatrix(series));
      }
    });
  }

  function drawGraph(series: MatrixSeries[], step: number, ms: number | null, xRange?: [number, number]): void {
    chart?.destroy();
    chart = null;
    clear(output);
    const took = ms === null ? `live, a new point every ${formatDuration(step)}` : `${ms.toFixed(0)} ms`;
    info.textContent = `${series.length} series · step ${formatDuration(step)} · ${took} · drag to zoom in, click a legend entry to hide it`;
    if (!series.length) {
      output.append(h("div.empty", null, "No data points in this range."));
      return;
    }
    const box = h("div.chart-box", { id: "graph-chart" });
    output.append(box);
    chart = matrixChart(box, series, { height: 400, onSelect: zoomTo, xRange });
  }

  function drawTable(data: QueryData, ms: number): void {
    chart?.destroy();
    chart = null;
    const rows: HTMLElement[] = [];
    if (data.resultType === "vector") {
      for (const s of data.result) rows.push(h("tr", null, h("td", null, seriesName(s.metric)), h("td.num", null, s.value[1])));
    } else if (data.resultType === "matrix") {
      for (const s of data.result) {
        const vals = s.values.map(([t, v]) => `${v} @${t}`).join("\n");
        rows.push(h("tr", null, h("td", null, seriesName(s.metric)), h("td.num.pre", null, vals)));
      }
    } else {
      rows.push(h("tr", null, h("td", null, data.resultType), h("td.num", null, data.result[1])));
    }
    info.textContent = `${rows.length} result${rows.length === 1 ? "" : "s"} · ${ms.toFixed(0)} ms`;
    clear(output, h("table.data", { id: "result-table" },
      h("thead", null, h("tr", null, h("th", null, "Series"), h("th", null, "Value"))),
      h("tbody", null, rows.length ? rows : [h("tr", null, h("td.empty", { colspan: 2 }, "Empty query result"))])));
  }

  /** Zooming re-queries the selected span, so the finer detail comes from the server. */
  function zoomTo(from: number, to: number): void {
    liveBox.checked = false;
    endIn.value = isoUtc(to);
    rangeIn.value = formatDuration(Math.max(Math.round(to - from), 1));
    stepIn.value = "";
    void execute();
  }

  function shift(factor: number): void {
    const range = parseDuration(rangeIn.value) || 3600;
    let end: number;
    try {
      end = endSeconds() + factor * range;
    } catch (e) {
      return showError(e instanceof Error ? e.message : String(e));
    }
    liveBox.checked = false;
    endIn.value = end >= Date.now() / 1000 ? "" : isoUtc(end);
    void execute();
  }

  run.addEventListener("click", () => void execute());
  back.addEventListener("click", () => shift(-0.5));
  forward.addEventListener("click", () => shift(0.5));
  zoomOut.addEventListener("click", () => {
    rangeIn.value = formatDuration(2 * (parseDuration(rangeIn.value) || 3600));
    void execute();
  });
  liveBox.addEventListener("change", () => void execute());
  tabGraph.addEventListener("click", () => { setTab("graph"); void execute(); });
  tabTable.addEventListener("click", () => { setTab("table"); void execute(); });
  for (const inp of [rangeIn, endIn, stepIn]) {
    inp.addEventListener("keydown", (e: KeyboardEvent) => { if (e.key === "Enter") void execute(); });
  }
  setTab(state.tab);
  if (state.expr) void execute();
  else expr.focus();

  return () => {
    generation++;
    stream?.close();
    chart?.destroy();
  };
}
