// Query explorer: PromQL editor with autocomplete, error position, graph and table, shareable URL.
// The URL uses Prometheus' own parameters (g0.expr, g0.tab, g0.range_input, ...) so its links work here.
import { apiGet, ApiError, formatDuration, MatrixSeries, parseDuration, QueryData, seriesName } from "../api";
import { matrixChart, TimeChart } from "../chart";
import { clear, h } from "../dom";

const MAX_SUGGESTIONS = 50;

interface QueryState {
  expr: string;
  tab: "graph" | "table";
  range: string;
  end: string; // "" means now; else "YYYY-MM-DDTHH:MM:SS" (UTC)
  step: string; // "" means automatic
}

function readState(params: URLSearchParams): QueryState {
  return {
    expr: params.get("g0.expr") || "",
    tab: params.get("g0.tab") === "1" ? "table" : "graph",
    range: params.get("g0.range_input") || "1h",
    end: params.get("g0.end_input") || "",
    step: params.get("g0.step_input") || "",
  };
}

function writeState(s: QueryState): void {
  const p = new URLSearchParams();
  p.set("g0.expr", s.expr);
  p.set("g0.tab", s.tab === "table" ? "1" : "0");
  p.set("g0.range_input", s.range);
  if (s.end) p.set("g0.end_input", s.end);
  if (s.step) p.set("g0.step_input", s.step);
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
  const errorBox = h("div.error", { id: "query-error", hidden: true });
  const info = h("div.muted", { id: "query-info" });
  const output = h("div.output", { id: "query-output" });
  let chart: TimeChart | null = null;
  let generation = 0;

  clear(
    root,
    h("h1", null, "Query"),
    h("div.editor", null, expr, suggest, run),
    h("div.controls", null, tabGraph, tabTable,
      h("label", null, "Range ", rangeIn), h("label", null, "End ", endIn), h("label", null, "Step ", stepIn)),
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
        const data = await apiGet<QueryData>("/api/v1/query_range", {
          query: state.expr, start: String(end - range), end: String(end), step: String(step),
        });
        if (my !== generation) return;
        drawGraph(data.result as MatrixSeries[], step, performance.now() - started);
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

  function drawGraph(series: MatrixSeries[], step: number, ms: number): void {
    chart?.destroy();
    chart = null;
    clear(output);
    info.textContent = `${series.length} series · step ${formatDuration(step)} · ${ms.toFixed(0)} ms · drag to zoom, double-click to reset, click a legend entry to hide it`;
    if (!series.length) {
      output.append(h("div.empty", null, "No data points in this range."));
      return;
    }
    const box = h("div.chart-box", { id: "graph-chart" });
    output.append(box);
    chart = matrixChart(box, series, { height: 400 });
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

  run.addEventListener("click", () => void execute());
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
    chart?.destroy();
  };
}
