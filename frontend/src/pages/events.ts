// Event log: the Alertmanager's history of alert state changes, silence changes and notification
// attempts (with their outcome), from /api/watchkeeper/v1/alertmanager/events over a time range and
// filters; new entries arrive live over the stream's `events` channel with the same filters.
import {
  AmEvent, amFetch, AmMatcher, formatMatcher, fromAmMatcher, formatTime, hasAlertmanager, Labels, parseDuration,
  parseMatchers, parseUtc, severityClass, utcText,
} from "../api";
import { clear, errorText, h } from "../dom";
import { Stream } from "../stream";

export const EVENTS_PATH = "/api/watchkeeper/v1/alertmanager/events";
const KINDS = ["alert", "notification", "silence"] as const;
const OUTCOMES = ["success", "retry", "failed", "dropped"];
const RANGES = ["15m", "1h", "6h", "24h", "7d"];
const MAX_ROWS = 2000;

export interface EventFilters { matchers: string[]; kinds: string[]; receiver: string; outcome: string }

/** The query string of the events API for these filters (``start``/``end`` in Unix seconds when given). */
export function eventParams(f: EventFilters, startS?: number, limit = MAX_ROWS, endS?: number): URLSearchParams {
  const p = new URLSearchParams();
  if (startS !== undefined) p.set("start", startS.toFixed(3));
  if (endS !== undefined) p.set("end", endS.toFixed(3));
  for (const k of f.kinds) p.append("kind", k);
  if (f.receiver) p.set("receiver", f.receiver);
  if (f.outcome) p.set("outcome", f.outcome);
  for (const m of f.matchers) p.append("filter", m);
  p.set("limit", String(limit));
  return p;
}

export async function fetchEvents(f: EventFilters, startS?: number, limit = MAX_ROWS, endS?: number): Promise<AmEvent[]> {
  const resp = await fetch(`${EVENTS_PATH}?${eventParams(f, startS, limit, endS)}`, { headers: { Accept: "application/json" } });
  const doc = await resp.json();
  if (!resp.ok) throw new Error(typeof doc === "string" ? doc : doc?.message || `HTTP ${resp.status}`);
  return doc as AmEvent[];
}

/** RFC 3339 with any number of fraction digits as text that sorts like the time it names. */
function timeKey(iso: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso);
  return m ? `${m[1]}.${(m[2] || "").padEnd(9, "0")}` : iso;
}

function chips(labels: Labels, first = "alertname"): HTMLElement {
  const keys = Object.keys(labels).sort((a, b) => (a === first ? -1 : b === first ? 1 : a.localeCompare(b)));
  return h("span.labels", null, keys.map((k) => h("span", { class: k === first ? "chip strong" : "chip" }, `${k}="${labels[k]}"`)));
}

/** One event as a table row: time, kind, and what happened. */
export function eventRow(e: AmEvent, compact = false): HTMLElement {
  let what: (HTMLElement | string | null)[];
  if (e.kind === "alert") {
    what = [h("span", { class: `badge ${e.status}` }, e.status), " ", chips(e.labels || {})];
  } else if (e.kind === "notification") {
    const alerts = (e.alerts || []) as { labels: Labels; status: string }[];
    const names = [...new Set(alerts.map((a) => a.labels.alertname || "?"))];
    what = [h("span", { class: `badge outcome-${e.outcome}` }, e.outcome), " ",
      h("b", null, e.receiver), ` via ${e.integration}`, e.attempt > 1 ? ` (attempt ${e.attempt})` : "",
      ` · ${alerts.length} alert${alerts.length === 1 ? "" : "s"}: ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}`,
      e.error && !compact ? h("div.error-text", null, e.error) : null];
  } else {
    const ms = (e.matchers || []) as AmMatcher[];
    what = [h("span", { class: "badge silence-action" }, `silence ${e.action}`), " ",
      h("span.labels", null, ms.map((m) => h("span.chip", null, formatMatcher(fromAmMatcher(m))))),
      compact ? null : h("span.muted", null, ` by ${e.createdBy}: ${e.comment}`)];
  }
  const sev = e.kind === "alert" ? ` sev-${severityClass(e.labels || {})}` : "";
  return h("tr", { class: `event kind-${e.kind}${sev}`, "data-kind": e.kind },
    h("td.num", { title: e.time }, formatTime(e.time)),
    compact ? null : h("td", null, e.kind),
    h("td", null, what));
}

export function eventsPage(root: HTMLElement, params: URLSearchParams): () => void {
  if (!hasAlertmanager()) {
    clear(root, h("h1", null, "Event log"), h("p.empty", null,
      "This server runs no Alertmanager: give its config an alertmanager: section (or start it with --alertmanager.config alertmanager.yml) to record alert and notification history."));
    return () => {};
  }
  const range = h("select", { id: "events-range" }, RANGES.map((r) => h("option", { value: r }, `last ${r}`)),
    h("option", { value: "custom" }, "custom range")) as HTMLSelectElement;
  range.value = [...RANGES, "custom"].includes(params.get("range") || "") ? params.get("range")! : "1h";
  // A custom range: UTC times; an empty "to" means now (and new events keep arriving).
  const from = h("input", { id: "events-from", size: 19, placeholder: "from (UTC)", value: params.get("from") || "" }) as HTMLInputElement;
  const to = h("input", { id: "events-to", size: 19, placeholder: "to (UTC), empty: now", value: params.get("to") || "" }) as HTMLInputElement;
  const custom = h("span.custom-range", { hidden: range.value !== "custom" }, from, " – ", to);
  const filter = h("input", { id: "events-filter", size: 40, value: params.get("filter") || "",
    placeholder: 'alertname="HostDown"', spellcheck: false }) as HTMLInputElement;
  const wantedKinds = params.getAll("kind");
  const kindBoxes = KINDS.map((k) => h("input", { type: "checkbox", value: k, id: `kind-${k}`,
    checked: !wantedKinds.length || wantedKinds.includes(k) }) as HTMLInputElement);
  const receiver = h("select", { id: "events-receiver" }, h("option", { value: "" }, "all receivers")) as HTMLSelectElement;
  const outcome = h("select", { id: "events-outcome" }, h("option", { value: "" }, "any outcome"),
    OUTCOMES.map((o) => h("option", { value: o }, o))) as HTMLSelectElement;
  outcome.value = params.get("outcome") || "";
  const live = h("span.live", { id: "live-state" }, "connecting…");
  const info = h("span.muted", { id: "events-info" });
  const errorBox = h("div.error", { id: "events-error", hidden: true });
  const tbody = h("tbody", { id: "events-body" });
  const table = h("table.data", { id: "events-table" },
    h("thead", null, h("tr", null, h("th", null, "Time (UTC)"), h("th", null, "Kind"), h("th", null, "Event"))), tbody);
  clear(root,
    h("div.page-head", null, h("h1", null, "Event log"), live),
    h("div.controls", null, range, custom, filter, KINDS.map((k, i) => h("label", null, kindBoxes[i], ` ${k}`)), receiver, outcome, info),
    errorBox, table);

  let count = 0;
  let generation = 0;
  const filters = (): EventFilters | null => {
    let matchers: string[] = [];
    try {
      matchers = parseMatchers(filter.value).map(formatMatcher);
    } catch (e) {
      errorBox.textContent = `Filter: ${errorText(e)}`;
      errorBox.hidden = false;
      return null;
    }
    const kinds = kindBoxes.filter((b) => b.checked).map((b) => b.value);
    return { matchers, kinds: kinds.length === KINDS.length ? [] : kinds, receiver: receiver.value, outcome: outcome.value };
  };

  const stream = new Stream();
  let dropped = false; // events logged while the socket was down are fetched again on reconnect
  stream.onState = (ok) => {
    live.textContent = ok ? "● live" : "reconnecting…";
    live.classList.toggle("ok", ok);
    if (ok && dropped) void reload();
    dropped = !ok;
  };

  const setInfo = () => {
    info.textContent = `${count} event${count === 1 ? "" : "s"}${count >= MAX_ROWS ? " (the latest " + MAX_ROWS + ")" : ""}`;
  };

  const reload = async () => {
    const f = filters();
    if (!f) return;
    errorBox.hidden = true;
    const p = new URLSearchParams();
    if (range.value !== "1h") p.set("range", range.value);
    custom.hidden = range.value !== "custom";
    let startS = Date.now() / 1000 - parseDuration(range.value);
    let endS: number | undefined;
    if (range.value === "custom") {
      if (!from.value.trim()) from.value = utcText(Date.now() - 3600_000);
      startS = parseUtc(from.value) / 1000;
      endS = to.value.trim() ? parseUtc(to.value) / 1000 : undefined;
      if (!isFinite(startS) || (endS !== undefined && !isFinite(endS))) {
        errorBox.textContent = "From and to are times like 2026-01-31 12:00:00 (UTC).";
        errorBox.hidden = false;
        return;
      }
      p.set("from", from.value.trim());
      if (to.value.trim()) p.set("to", to.value.trim());
    }
    if (filter.value.trim()) p.set("filter", filter.value.trim());
    for (const k of f.kinds) p.append("kind", k);
    if (f.receiver) p.set("receiver", f.receiver);
    if (f.outcome) p.set("outcome", f.outcome);
    history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p : ""));
    const gen = ++generation;
    // Subscribe first, so nothing logged between the load and the subscription is missed; rows the
    // load already holds are skipped by time.
    let newest = "";
    const early: AmEvent[] = [];
    let loadedYet = false;
    if (endS !== undefined) stream.unsubscribe("events"); // a range in the past gets no new events
    else stream.subscribe("events", { channel: "events", filter: f.matchers, kind: f.kinds, receiver: f.receiver || undefined,
      outcome: f.outcome || undefined }, (msg) => {
      if (gen !== generation) return;
      if (msg.type === "error") {
        errorBox.textContent = `Live updates: ${msg.error}`;
        errorBox.hidden = false;
        return;
      }
      if (msg.data.dropped > 0 && loadedYet) {
        void reload(); // more arrived at once than one push carries: fetch them all
        return;
      }
      const fresh = msg.data.events as AmEvent[];
      if (!loadedYet) {
        early.push(...fresh);
        return;
      }
      prepend(fresh.filter((e) => timeKey(e.time) > newest));
      for (const e of fresh) if (timeKey(e.time) > newest) newest = timeKey(e.time);
    });
    try {
      const events = await fetchEvents(f, startS, MAX_ROWS, endS);
      if (gen !== generation) return;
      tbody.replaceChildren(...events.slice().reverse().map((e) => eventRow(e)));
      count = events.length;
      newest = events.length ? timeKey(events[events.length - 1].time) : "";
      loadedYet = true;
      prepend(early.filter((e) => timeKey(e.time) > newest));
      for (const e of early) if (timeKey(e.time) > newest) newest = timeKey(e.time);
      if (!tbody.children.length) tbody.append(h("tr.empty-row", null, h("td", { colspan: 3, class: "empty" }, "No events in this range.")));
      setInfo();
    } catch (e) {
      errorBox.textContent = `Could not load events: ${errorText(e)}`;
      errorBox.hidden = false;
    }
  };

  const prepend = (events: AmEvent[]) => {
    if (!events.length) return;
    tbody.querySelector("tr.empty-row")?.remove();
    for (const e of events) {
      const row = eventRow(e);
      row.classList.add("new");
      tbody.prepend(row);
      count++;
    }
    while (tbody.children.length > MAX_ROWS) tbody.lastElementChild!.remove();
    setInfo();
  };

  void amFetch<{ name: string }[]>("GET", "/receivers").then((rs) => {
    const keep = params.get("receiver") || "";
    receiver.append(...rs.map((r) => h("option", { value: r.name }, r.name)));
    if (keep) {
      if (!rs.some((r) => r.name === keep)) receiver.append(h("option", { value: keep }, keep));
      receiver.value = keep;
      void reload();
    }
  }).catch(() => {});
  for (const c of [range, receiver, outcome, from, to, ...kindBoxes]) c.addEventListener("change", () => void reload());
  let typing = 0;
  filter.addEventListener("input", () => {
    window.clearTimeout(typing);
    typing = window.setTimeout(() => void reload(), 400);
  });
  if (!params.get("receiver")) void reload();
  return () => {
    window.clearTimeout(typing);
    stream.close();
  };
}
