// Dashboards: the list (with import of Grafana JSON) and one dashboard's view, with variables, time range,
// auto-refresh and an edit mode that saves back to the dashboard's file.
import { apiGet, parseDuration } from "../api";
import { clear, errorText, h, navigate } from "../dom";
import "../panels/dashboards.css";
import { PanelView } from "../panels/panel";
import { QueryContext } from "../panels/query";
import { Dashboard, DashboardMeta, Item, PANEL_TYPES, Panel, Row, Target, isRow } from "../panels/types";
import { ALL, TimeRange, VarState, parseTime, resolveVariable, usedVariables } from "../panels/vars";

const API = "/api/watchkeeper/v1/dashboards";
const RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d"];
const REFRESHES = ["off", "5s", "10s", "30s", "1m", "5m", "15m", "1h"];

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const resp = await fetch(path, {
    method,
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const doc = await resp.json().catch(() => ({ status: "error", error: `HTTP ${resp.status}` }));
  if (doc.status !== "success") throw new Error(doc.error || `HTTP ${resp.status}`);
  return doc.data as T;
}

export function dashboardsPage(root: HTMLElement, params: URLSearchParams): () => void {
  const uid = params.get("uid");
  return uid ? dashboardView(root, uid, params) : dashboardList(root);
}

// ---- list ----------------------------------------------------------------------------------------

function dashboardList(root: HTMLElement): () => void {
  const body = h("div");
  const importBtn = h("button.primary", { id: "dash-import", onclick: () => importDialog(root) }, "Import Grafana JSON");
  const newBtn = h("button", { id: "dash-new", onclick: () => newDashboard() }, "New dashboard");
  clear(root, h("div.page-head", null, h("h1", null, "Dashboards"), importBtn, newBtn), body);
  const load = async () => {
    try {
      const data = await apiGet<{ dashboards: DashboardMeta[]; errors: { file: string; error: string }[] }>(API);
      clear(body,
        data.errors.length ? h("div.error", { id: "dash-errors" }, "Dashboard files that could not be loaded:\n",
          ...data.errors.map((e) => `• ${e.file}: ${e.error}\n`)) : null,
        data.dashboards.length ? h("table.data", { id: "dash-list" },
          h("thead", null, h("tr", null, h("th", null, "Title"), h("th", null, "Tags"), h("th", null, "File"), h("th", null, ""))),
          h("tbody", null, ...data.dashboards.map((d) => h("tr", { "data-uid": d.uid },
            h("td", null, h("a", { href: `/dashboards?uid=${encodeURIComponent(d.uid)}` }, d.title),
              d.description ? h("div.muted", null, d.description) : null),
            h("td", null, h("span.labels", null, ...d.tags.map((t) => h("span.chip", null, t)))),
            h("td", null, d.builtin ? h("span.badge", null, "built-in") : h("code", null, d.file)),
            h("td", null, d.builtin ? null : h("button.link", {
              onclick: async () => {
                if (!confirm(`Delete dashboard "${d.title}" (${d.file})?`)) return;
                await send("DELETE", `${API}/${encodeURIComponent(d.uid)}`).catch((e) => alert(errorText(e)));
                void load();
              },
            }, "delete")))))) : h("div.empty", null, "No dashboards yet."));
    } catch (e) {
      clear(body, h("div.error", null, errorText(e)));
    }
  };
  void load();
  return () => undefined;
}

async function newDashboard(): Promise<void> {
  const title = prompt("Title of the new dashboard");
  if (!title) return;
  const uid = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "dashboard";
  try {
    await send("PUT", `${API}/${uid}`, { title, uid, panels: [] });
    navigate(`/dashboards?uid=${uid}&edit=1`);
  } catch (e) {
    alert(errorText(e));
  }
}

function importDialog(root: HTMLElement): void {
  const text = h("textarea.expr", { id: "import-json", rows: 16, placeholder: "Paste a Grafana dashboard JSON here" }) as HTMLTextAreaElement;
  const overwrite = h("input", { type: "checkbox", id: "import-overwrite" }) as HTMLInputElement;
  const out = h("div");
  const dlg = h("dialog.dash-dialog", { id: "import-dialog" }) as HTMLDialogElement;
  const file = h("input", {
    type: "file", accept: ".json,application/json",
    onchange: async () => {
      const f = (file as HTMLInputElement).files?.[0];
      if (f) text.value = await f.text();
    },
  });
  const run = async () => {
    let doc: unknown;
    try {
      doc = JSON.parse(text.value);
    } catch (e) {
      clear(out, h("div.error", null, `Not valid JSON: ${errorText(e)}`));
      return;
    }
    try {
      const res = await send<{ dashboard: Dashboard; notes: string[] }>("POST", `${API}/import${overwrite.checked ? "?overwrite=true" : ""}`, doc);
      dlg.close();
      dlg.remove();
      const notes = res.notes.length ? `&notes=${encodeURIComponent(res.notes.join("\n"))}` : "";
      navigate(`/dashboards?uid=${encodeURIComponent(res.dashboard.uid)}${notes}`);
    } catch (e) {
      clear(out, h("div.error", { id: "import-error" }, errorText(e)));
    }
  };
  dlg.append(h("h2", null, "Import a Grafana dashboard"), file, text,
    h("div.controls", null, h("label", null, overwrite, " replace a dashboard with the same uid"),
      h("button.primary", { id: "import-run", onclick: run }, "Import"),
      h("button", { onclick: () => (dlg.close(), dlg.remove()) }, "Cancel")), out);
  root.append(dlg);
  dlg.showModal();
}

// ---- view ----------------------------------------------------------------------------------------

interface ViewState {
  dash: Dashboard;
  meta: DashboardMeta;
  vars: Map<string, VarState>;
  from: string;
  to: string;
  refresh: string;
  editing: boolean;
  dirty: boolean;
}

function rangeOf(s: ViewState): TimeRange {
  const now = Date.now() / 1000;
  return { from: parseTime(s.from, now), to: parseTime(s.to, now) };
}

function dashboardView(root: HTMLElement, uid: string, params: URLSearchParams): () => void {
  let views: PanelView[] = [];
  let timer = 0;
  let stopped = false;
  let state: ViewState | null = null;
  const head = h("div.dash-head");
  const varBar = h("div.dash-vars", { id: "dash-vars" });
  const notesBox = h("div");
  const gridBox = h("div.dash-grid", { id: "dash-grid" });
  clear(root, head, varBar, notesBox, gridBox);
  if (params.get("notes")) {
    notesBox.append(h("div.notice", { id: "import-notes" }, "Imported. Notes:\n", ...params.get("notes")!.split("\n").map((n) => `• ${n}\n`)));
  }

  const syncUrl = () => {
    if (!state) return;
    const q = new URLSearchParams({ uid });
    q.set("from", state.from);
    q.set("to", state.to);
    if (state.refresh !== "off") q.set("refresh", state.refresh);
    for (const [name, v] of state.vars) {
      if (v.def.type === "constant" || v.def.type === "datasource") continue;
      for (const val of v.selected) q.append(`var-${name}`, val === ALL ? "$__all" : val);
    }
    if (state.editing) q.set("edit", "1");
    history.replaceState(null, "", `/dashboards?${q}`);
  };

  const ctx = (): QueryContext => ({
    range: rangeOf(state!),
    vars: state!.vars,
    scrapeInterval: parseDuration(state!.meta.scrape_interval || "15s") || 15,
  });

  const loadPanels = async () => {
    if (!state) return;
    const started = performance.now();
    root.dataset.state = "loading";
    let c: QueryContext;
    try {
      c = ctx();
    } catch (e) {
      clear(notesBox, h("div.error", null, errorText(e)));
      return;
    }
    await Promise.all(views.map((v) => v.load(c).catch(() => undefined)));
    if (stopped) return;
    root.dataset.state = "loaded";
    root.dataset.drawMs = String(Math.round(performance.now() - started));
  };

  const schedule = () => {
    window.clearTimeout(timer);
    if (!state || state.refresh === "off") return;
    const s = parseDuration(state.refresh);
    if (!(s > 0)) return;
    timer = window.setTimeout(async () => {
      await loadPanels();
      if (!stopped) schedule();
    }, Math.max(1000, s * 1000));
  };

  const resolveFrom = async (start: number, fromUrl: boolean) => {
    const s = state!;
    const range = rangeOf(s);
    const defs = s.dash.variables;
    const changed = new Set<string>(start > 0 ? [defs[start - 1].name] : []);
    for (let i = start; i < defs.length; i++) {
      const def = defs[i];
      const uses = usedVariables(def.query || "");
      const dependsOnChange = [...uses].some((u) => changed.has(u));
      if (start > 0 && !dependsOnChange && s.vars.has(def.name)) continue;
      const wanted = fromUrl && params.getAll(`var-${def.name}`).length ? params.getAll(`var-${def.name}`) : s.vars.get(def.name)?.selected ?? null;
      s.vars.set(def.name, await resolveVariable(def, s.vars, range, wanted));
      changed.add(def.name);
    }
  };

  const renderVars = () => {
    const s = state!;
    clear(varBar);
    s.dash.variables.forEach((def, i) => {
      const v = s.vars.get(def.name);
      if (!v || def.hide || def.type === "constant" || def.type === "datasource") return;
      const onChange = async (selected: string[]) => {
        v.selected = selected;
        await resolveFrom(i + 1, false);
        renderVars();
        syncUrl();
        void loadPanels();
      };
      let control: HTMLElement;
      if (def.type === "textbox") {
        const input = h("input", { value: v.selected[0] ?? "", "data-var": def.name }) as HTMLInputElement;
        input.addEventListener("change", () => void onChange([input.value]));
        control = input;
      } else if (def.multi) {
        control = multiSelect(def.name, v, onChange);
      } else {
        const sel = h("select", { "data-var": def.name },
          ...v.options.map((o) => h("option", { value: o.value, selected: v.selected.includes(o.value) }, o.text))) as HTMLSelectElement;
        sel.addEventListener("change", () => void onChange([sel.value]));
        control = sel;
      }
      varBar.append(h("label.dash-var", { title: v.error || "" }, h("span", null, def.label || def.name), control,
        v.error ? h("span.badge.err", { title: v.error }, "!") : null));
    });
  };

  const rebuild = () => {
    const s = state!;
    for (const v of views) v.destroy();
    views = [];
    clear(gridBox);
    const sections: { row: Row | null; panels: Panel[] }[] = [];
    let loose: Panel[] = [];
    for (const item of s.dash.panels) {
      if (isRow(item)) {
        if (loose.length) sections.push({ row: null, panels: loose });
        loose = [];
        sections.push({ row: item, panels: item.panels });
      } else loose.push(item);
    }
    if (loose.length || !sections.length) sections.push({ row: null, panels: loose });
    for (const sec of sections) {
      const grid = h("div.panel-grid");
      if (sec.row) {
        const row = sec.row;
        const toggle = h("button.row-title", {
          "aria-expanded": String(!row.collapsed),
          onclick: () => {
            row.collapsed = !row.collapsed;
            rebuild();
            void loadPanels();
          },
        }, `${row.collapsed ? "▸" : "▾"} ${row.title || "Row"}`, h("span.muted", null, ` (${row.panels.length} panels)`));
        gridBox.append(h("div.dash-row", null, toggle));
        if (row.collapsed) continue;
      }
      for (const p of sec.panels) {
        const view: PanelView = new PanelView(p, s.editing, {
          onEdit: () => panelEditor(root, p, () => {
            s.dirty = true;
            rebuild();
            void loadPanels();
          }),
          onRemove: () => {
            sec.panels.splice(sec.panels.indexOf(p), 1);
            if (!sec.row) s.dash.panels.splice(s.dash.panels.indexOf(p), 1);
            s.dirty = true;
            rebuild();
            void loadPanels();
          },
        });
        views.push(view);
        grid.append(view.el);
      }
      gridBox.append(grid);
    }
  };

  const renderHead = () => {
    const s = state!;
    const preset = RANGES.find((r) => s.from === `now-${r}` && s.to === "now");
    const rangeSel = h("select", { id: "dash-range" },
      ...RANGES.map((r) => h("option", { value: r, selected: r === preset }, `Last ${r}`)),
      h("option", { value: "custom", selected: !preset }, "Custom…")) as HTMLSelectElement;
    const fromIn = h("input", { id: "dash-from", value: s.from, size: 18, title: "now, now-6h, or YYYY-MM-DD HH:MM (UTC)" }) as HTMLInputElement;
    const toIn = h("input", { id: "dash-to", value: s.to, size: 18 }) as HTMLInputElement;
    const custom = h("span.dash-custom", { hidden: !!preset }, fromIn, " to ", toIn,
      h("button", {
        onclick: () => {
          try {
            const now = Date.now() / 1000;
            if (parseTime(fromIn.value, now) >= parseTime(toIn.value, now)) throw new Error("the start must be before the end");
          } catch (e) {
            alert(errorText(e));
            return;
          }
          s.from = fromIn.value.trim();
          s.to = toIn.value.trim();
          void timeChanged();
        },
      }, "Apply"));
    rangeSel.addEventListener("change", () => {
      if (rangeSel.value === "custom") {
        custom.hidden = false;
        return;
      }
      s.from = `now-${rangeSel.value}`;
      s.to = "now";
      void timeChanged();
    });
    const refreshSel = h("select", { id: "dash-refresh", title: "auto-refresh" },
      ...REFRESHES.map((r) => h("option", { value: r, selected: r === s.refresh }, r === "off" ? "Auto-refresh off" : `Every ${r}`))) as HTMLSelectElement;
    refreshSel.addEventListener("change", () => {
      s.refresh = refreshSel.value;
      syncUrl();
      schedule();
    });
    const editBtns = s.editing
      ? [
        h("button", { id: "dash-add-panel", onclick: () => addPanel() }, "Add panel"),
        h("button.primary", { id: "dash-save", onclick: () => void save() }, "Save"),
        h("button", { id: "dash-cancel", onclick: () => navigate(`/dashboards?uid=${encodeURIComponent(uid)}`) }, "Cancel"),
      ]
      : [h("button", { id: "dash-edit", onclick: () => setEditing(true) }, "Edit")];
    clear(head,
      h("h1", null, h("a.muted", { href: "/dashboards" }, "Dashboards"), " / ", h("span", { id: "dash-title" }, s.dash.title)),
      s.meta.builtin ? h("span.badge", { title: "Saving writes a copy into the dashboards directory" }, "built-in") : null,
      h("span.dash-spacer"),
      rangeSel, custom, refreshSel,
      h("button", { id: "dash-reload", title: "refresh now", onclick: () => void loadPanels() }, "↻"),
      ...editBtns);
  };

  const timeChanged = async () => {
    syncUrl();
    renderHead();
    await resolveFrom(0, false);
    renderVars();
    await loadPanels();
  };

  const setEditing = (on: boolean) => {
    state!.editing = on;
    renderHead();
    rebuild();
    syncUrl();
    void loadPanels();
  };

  const addPanel = () => {
    const s = state!;
    const last = s.dash.panels[s.dash.panels.length - 1];
    const list: Item[] | Panel[] = last && isRow(last) ? last.panels : s.dash.panels;
    const bottom = Math.max(0, ...list.filter((p): p is Panel => !isRow(p)).map((p) => p.grid.y + p.grid.h));
    const panel: Panel = { type: "timeseries", title: "New panel", grid: { x: 0, y: bottom, w: 12, h: 8 }, targets: [{ expr: "up" }], options: {} };
    (list as Panel[]).push(panel);
    panelEditor(root, panel, () => {
      s.dirty = true;
      rebuild();
      void loadPanels();
    });
  };

  const save = async () => {
    const s = state!;
    try {
      const res = await send<{ dashboard: Dashboard; meta: DashboardMeta }>("PUT", `${API}/${encodeURIComponent(uid)}`, s.dash);
      s.dash = res.dashboard;
      s.meta = res.meta;
      s.dirty = false;
      clear(notesBox, h("div.notice", { id: "dash-saved" }, `Saved to ${res.meta.file}.`));
      setEditing(false);
    } catch (e) {
      clear(notesBox, h("div.error", { id: "dash-save-error" }, `Not saved: ${errorText(e)}`));
    }
  };

  const start = async () => {
    try {
      const res = await apiGet<{ dashboard: Dashboard; meta: DashboardMeta }>(`${API}/${encodeURIComponent(uid)}`);
      const d = res.dashboard;
      state = {
        dash: d, meta: res.meta, vars: new Map(),
        from: params.get("from") || d.time.from, to: params.get("to") || d.time.to,
        refresh: params.get("refresh") || d.refresh || "off", editing: params.get("edit") === "1", dirty: false,
      };
      document.title = `${d.title} · watchkeeper`;
      renderHead();
      await resolveFrom(0, true);
      if (stopped) return;
      renderVars();
      rebuild();
      syncUrl();
      await loadPanels();
      schedule();
    } catch (e) {
      clear(root, h("div.error", { id: "dash-error" }, errorText(e)), h("a", { href: "/dashboards" }, "All dashboards"));
    }
  };
  void start();
  const beforeUnload = (e: BeforeUnloadEvent) => {
    if (state?.dirty) e.preventDefault();
  };
  window.addEventListener("beforeunload", beforeUnload);
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    window.removeEventListener("beforeunload", beforeUnload);
    for (const v of views) v.destroy();
  };
}

function multiSelect(name: string, v: VarState, onChange: (selected: string[]) => void): HTMLElement {
  const summary = () => (v.selected.includes(ALL) ? "All" : v.selected.map((s) => v.options.find((o) => o.value === s)?.text ?? s).join(" + ") || "None");
  const boxes = v.options.map((o) => {
    const cb = h("input", { type: "checkbox", value: o.value, checked: v.selected.includes(o.value) }) as HTMLInputElement;
    cb.addEventListener("change", () => {
      let sel = boxes.filter((b) => b.checked).map((b) => b.value);
      if (o.value === ALL && cb.checked) sel = [ALL];
      else if (sel.length > 1) sel = sel.filter((s) => s !== ALL);
      onChange(sel.length ? sel : [v.options[0]?.value ?? ""]);
    });
    return cb;
  });
  return h("details.multi", { "data-var": name }, h("summary", null, summary()),
    h("div.multi-options", null, ...v.options.map((o, i) => h("label", null, boxes[i], " ", o.text))));
}

// ---- panel editor --------------------------------------------------------------------------------

function panelEditor(root: HTMLElement, panel: Panel, applied: () => void): void {
  const dlg = h("dialog.dash-dialog", { id: "panel-editor" }) as HTMLDialogElement;
  const title = h("input", { id: "pe-title", value: panel.title, size: 40 }) as HTMLInputElement;
  const type = h("select", { id: "pe-type" }, ...PANEL_TYPES.map((t) => h("option", { value: t, selected: t === panel.type }, t))) as HTMLSelectElement;
  const unit = h("input", { id: "pe-unit", value: panel.unit || "", size: 12, placeholder: "short, bytes, s, percent…" }) as HTMLInputElement;
  const w = h("input", { id: "pe-w", type: "number", min: 1, max: 24, value: String(panel.grid.w) }) as HTMLInputElement;
  const hh = h("input", { id: "pe-h", type: "number", min: 1, max: 60, value: String(panel.grid.h) }) as HTMLInputElement;
  const targets: Target[] = panel.targets.map((t) => ({ ...t }));
  const list = h("div.pe-targets");
  const drawTargets = () => {
    clear(list, ...targets.map((t, i) => {
      const expr = h("textarea.expr", { rows: 2, "data-target": i }) as HTMLTextAreaElement;
      expr.value = t.expr;
      expr.addEventListener("input", () => (t.expr = expr.value));
      const legend = h("input", { value: t.legend || "", placeholder: "legend, e.g. {{instance}}", size: 30 }) as HTMLInputElement;
      legend.addEventListener("input", () => (t.legend = legend.value));
      const instant = h("input", { type: "checkbox", checked: !!t.instant }) as HTMLInputElement;
      instant.addEventListener("change", () => (t.instant = instant.checked));
      return h("div.pe-target", null, h("b", null, t.ref || String.fromCharCode(65 + i)), expr,
        h("div.controls", null, legend, h("label", null, instant, " instant"),
          h("button.link", { onclick: () => (targets.splice(i, 1), drawTargets()) }, "remove query")));
    }));
  };
  drawTargets();
  const close = () => (dlg.close(), dlg.remove());
  dlg.append(h("h2", null, "Edit panel"),
    h("div.controls", null, h("label", null, "Title ", title), h("label", null, "Type ", type), h("label", null, "Unit ", unit),
      h("label", null, "Width ", w), h("label", null, "Height ", hh)),
    list,
    h("div.controls", null,
      h("button", { onclick: () => (targets.push({ expr: "", ref: String.fromCharCode(65 + targets.length) }), drawTargets()) }, "Add query"),
      h("span.dash-spacer"),
      h("button.primary", {
        id: "pe-apply",
        onclick: () => {
          panel.title = title.value;
          if (panel.type !== type.value) panel.options = {};
          panel.type = type.value as Panel["type"];
          panel.unit = unit.value.trim();
          panel.grid.w = Math.min(24, Math.max(1, Number(w.value) || 12));
          panel.grid.x = Math.min(panel.grid.x, 24 - panel.grid.w);
          panel.grid.h = Math.max(1, Number(hh.value) || 8);
          panel.targets = targets.filter((t) => t.expr.trim());
          close();
          applied();
        },
      }, "Apply"),
      h("button", { onclick: close }, "Cancel")));
  root.append(dlg);
  dlg.showModal();
}
