// Alerts: the Alertmanager's alerts grouped as its routing tree groups them, kept live by the stream's
// `alerts` channel; filtered like Alertmanager's UI (matchers, receiver, active/silenced/inhibited);
// one click silences an alert or a group. Long lists are drawn incrementally: a group shows its first
// ROWS_STEP alerts and grows on request, the page its first GROUPS_STEP groups; a group's rows are
// only built when it scrolls near the viewport; and a row (and a group) whose visible content did not
// change keeps its DOM between updates. So 5,000 alerts cost a few dozen rows per update.
// Without an in-process Alertmanager the page lists the alerting rules' alerts (/api/v1/alerts).
import {
  AmAlert, apiGet, formatMatchers, formatRelative, hasAlertmanager, labelMatchers,
  Labels, Matcher, matcherTest, parseMatchers, severityClass,
} from "../api";
import { clear, errorText, h, polling, throttle } from "../dom";
import { Stream } from "../stream";
import type { RuleAlert } from "./rules";

const ROWS_STEP = 25; // alerts a group shows at first; "show more" adds 4 times as many
const ROW_HEIGHT_PX = 48; // space held for rows not built yet, so the scrollbar is about right
const GROUPS_STEP = 50;

interface Group { key: string; labels: Labels; receiver: string; fingerprints: string[] }
interface AlertsUpdate {
  full: boolean;
  alerts: AmAlert[];
  removed: string[];
  groups?: { labels: Labels; receiver: { name: string }; fingerprints: string[] }[];
}
type Shown = AmAlert & { ruleState?: string };

export function silenceUrl(matchers: Matcher[]): string {
  return `/silences?new=1&filter=${encodeURIComponent(formatMatchers(matchers))}`;
}

function groupKey(receiver: string, labels: Labels): string {
  return receiver + "\u0000" + formatMatchers(labelMatchers(labels));
}

export function alertsPage(root: HTMLElement, params: URLSearchParams): () => void {
  const withAm = hasAlertmanager();
  const filter = h("input", { id: "alert-filter", size: 50, value: params.get("filter") || "",
    placeholder: '{severity="critical", instance=~"web.*"}', spellcheck: false }) as HTMLInputElement;
  const receiver = h("select", { id: "alert-receiver" }, h("option", { value: "" }, "all receivers")) as HTMLSelectElement;
  const toggle = (id: string, label: string, on: boolean) => {
    const box = h("input", { id, type: "checkbox", checked: on }) as HTMLInputElement;
    return { box, el: h("label", null, box, ` ${label}`) };
  };
  const active = toggle("show-active", "active", params.get("active") !== "0");
  const silenced = toggle("show-silenced", "silenced", params.get("silenced") === "1");
  const inhibited = toggle("show-inhibited", "inhibited", params.get("inhibited") === "1");
  const filterError = h("div.error", { id: "filter-error", hidden: true });
  const summary = h("span.muted", { id: "alert-summary" });
  const live = h("span.live", { id: "live-state" }, withAm ? "connecting…" : "");
  const body = h("div", { id: "alerts" }, "Loading…");
  clear(root,
    h("div.page-head", null, h("h1", null, "Alerts"), live),
    h("div.controls", null, filter, withAm ? [receiver, active.el, silenced.el, inhibited.el] : null, summary),
    filterError, body);
  receiver.value = params.get("receiver") || "";

  const alerts = new Map<string, Shown>();
  let groups: Group[] = [];
  let loaded = false;
  const groupCache = new Map<string, { sig: string; el: HTMLElement }>();
  const rowCache = new Map<string, { sig: string; el: HTMLElement }>(); // by group key + fingerprint
  const sigs = new Map<string, string>(); // what a row shows of an alert (not updatedAt: re-sends change it)
  const remember = (a: Shown) => {
    alerts.set(a.fingerprint, a);
    sigs.set(a.fingerprint, [a.startsAt, a.status.state, a.status.silencedBy.join(), a.status.inhibitedBy.join(),
      a.ruleState || "", a.generatorURL, JSON.stringify(a.annotations)].join("\u0000"));
  };
  const rowsShown = new Map<string, number>();
  const fillers = new WeakMap<Element, () => void>();
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      observer.unobserve(e.target);
      fillers.get(e.target)?.();
    }
  }, { rootMargin: "1000px 0px" });
  const collapsed = new Set<string>();
  let groupsShown = GROUPS_STEP;
  const forget = (key: string) => {
    const cached = groupCache.get(key);
    if (cached) observer.unobserve(cached.el);
    groupCache.delete(key);
  };
  let matchers: ((l: Labels) => boolean)[] = [];

  const addMatcher = (name: string, value: string) => {
    const current = filter.value.trim() ? safeParse(filter.value) : [];
    if (!current) return;
    current.push({ name, op: "=", value });
    filter.value = formatMatchers(current);
    onControls();
  };

  const alertRow = (a: Shown, groupLabels: Labels): HTMLElement => {
    const own = Object.keys(a.labels).filter((k) => !(k in groupLabels)).sort();
    const muted = a.status.silencedBy.length > 0 || a.status.inhibitedBy.length > 0;
    return h("div", { class: `alert sev-${severityClass(a.labels)}${muted ? " muted-alert" : ""}`, "data-fingerprint": a.fingerprint },
      h("div.alert-main", null,
        h("span.labels", null, own.map((k) => h("button", { type: "button", class: "chip chip-btn", title: "add to filter",
          onclick: () => addMatcher(k, a.labels[k]) }, `${k}="${a.labels[k]}"`))),
        h("div.annotation", { title: a.annotations.description || "" },
          a.annotations.summary || a.annotations.description || a.annotations.message || "")),
      h("div.alert-meta", null,
        a.ruleState ? h("span", { class: `badge ${a.ruleState}` }, a.ruleState) : null,
        a.status.silencedBy.map((id) => h("a", { class: "badge silenced", href: `/silences?id=${encodeURIComponent(id)}` }, "silenced")),
        a.status.inhibitedBy.length ? h("span.badge.inhibited", { title: `by ${a.status.inhibitedBy.join(", ")}` }, "inhibited") : null,
        h("span.muted.since", { title: a.startsAt, "data-since": a.startsAt }, formatRelative(a.startsAt)),
        a.generatorURL ? h("a.muted", { href: a.generatorURL, target: "_blank", rel: "noopener" }, "source") : null,
        /^https?:\/\//.test(a.annotations.runbook_url || "")
          ? h("a.muted.runbook", { href: a.annotations.runbook_url, target: "_blank", rel: "noopener" }, "runbook") : null,
        withAm ? h("a", { class: "button silence-btn", href: silenceUrl(labelMatchers(a.labels)) }, "Silence") : null));
  };

  const groupElement = (g: Group, list: Shown[]): HTMLElement => {
    const open = !collapsed.has(g.key);
    const limit = rowsShown.get(g.key) || ROWS_STEP;
    const bySeverity = new Map<string, number>();
    for (const a of list) bySeverity.set(severityClass(a.labels), (bySeverity.get(severityClass(a.labels)) || 0) + 1);
    const head = h("div.group-head", null,
      h("button", { type: "button", class: "link group-toggle", onclick: () => {
        if (open) collapsed.add(g.key);
        else collapsed.delete(g.key);
        forget(g.key);
        draw();
      } }, open ? "▾" : "▸"),
      Object.keys(g.labels).length
        ? h("span.labels", null, Object.keys(g.labels).sort().map((k) => h("span.chip", null, `${k}="${g.labels[k]}"`)))
        : h("span.muted", null, "(not grouped)"),
      g.receiver ? h("span.receiver", null, `→ ${g.receiver}`) : null,
      h("span.count", null, `${list.length} alert${list.length === 1 ? "" : "s"}`),
      ["critical", "warning", "info", "other"].filter((s) => bySeverity.has(s))
        .map((s) => h("span", { class: `sev-count sev-${s}` }, String(bySeverity.get(s)))),
      withAm ? h("a", { class: "silence-group", href: silenceUrl(labelMatchers(g.labels)) }, "Silence group") : null);
    const shownRows = open ? list.slice(0, limit) : [];
    const more = open && list.length > limit
      ? h("button", { type: "button", class: "more", onclick: () => {
        rowsShown.set(g.key, limit + ROWS_STEP * 4);
        forget(g.key);
        draw();
      } }, `Show ${Math.min(ROWS_STEP * 4, list.length - limit)} more (${list.length - limit} hidden)`)
      : null;
    const rows = h("div.alert-list", { style: `min-height: ${shownRows.length * ROW_HEIGHT_PX}px` });
    const section = h("section.alert-group", { "data-group-key": g.key, "data-alertname": g.labels.alertname ?? "" },
      head, rows, more);
    fillers.set(section, () => {
      rows.replaceChildren(...shownRows.map((a) => {
        const key = g.key + "\u0001" + a.fingerprint;
        const sig = sigs.get(a.fingerprint) || "";
        let row = rowCache.get(key);
        if (!row || row.sig !== sig) {
          row = { sig, el: alertRow(a, g.labels) };
          rowCache.set(key, row);
        }
        return row.el;
      }));
      rows.style.minHeight = "";
    });
    observer.observe(section);
    return section;
  };

  const visible = (a: Shown): boolean => {
    const isSilenced = a.status.silencedBy.length > 0;
    const isInhibited = a.status.inhibitedBy.length > 0;
    if (withAm) {
      if (!active.box.checked && !isSilenced && !isInhibited) return false;
      if (!silenced.box.checked && isSilenced) return false;
      if (!inhibited.box.checked && isInhibited) return false;
    }
    return matchers.every((m) => m(a.labels));
  };

  const draw = throttle(() => {
    if (!loaded) return;
    const sections: HTMLElement[] = [];
    let shownAlerts = 0;
    let shownGroups = 0;
    const wanted = receiver.value;
    for (const g of groups) {
      if (wanted && g.receiver !== wanted) continue;
      const list: Shown[] = [];
      for (const fp of g.fingerprints) {
        const a = alerts.get(fp);
        if (a && visible(a)) list.push(a);
      }
      if (!list.length) continue;
      shownAlerts += list.length;
      shownGroups++;
      if (sections.length >= groupsShown) continue;
      const limit = collapsed.has(g.key) ? 0 : rowsShown.get(g.key) || ROWS_STEP;
      const sig = `${list.length}|${list.slice(0, limit).map((a) => a.fingerprint + (sigs.get(a.fingerprint) || "")).join("|")}`;
      let cached = groupCache.get(g.key);
      if (!cached || cached.sig !== sig) {
        if (cached) observer.unobserve(cached.el);
        cached = { sig, el: groupElement(g, list) };
        groupCache.set(g.key, cached);
      }
      sections.push(cached.el);
    }
    const liveKeys = new Set(groups.map((g) => g.key));
    for (const key of [...groupCache.keys()]) if (!liveKeys.has(key)) forget(key);
    if (rowCache.size > 4 * alerts.size + 1000) {
      for (const [key] of rowCache) if (!alerts.has(key.slice(key.indexOf("\u0001") + 1))) rowCache.delete(key);
    }
    summary.textContent = `${shownAlerts} of ${alerts.size} alerts in ${shownGroups} group${shownGroups === 1 ? "" : "s"}`;
    if (shownGroups > sections.length) {
      sections.push(h("button", { type: "button", class: "more", id: "more-groups", onclick: () => {
        groupsShown += GROUPS_STEP;
        draw();
      } }, `Show more groups (${shownGroups - sections.length} hidden)`));
    }
    if (!sections.length) {
      sections.push(h("p.empty", null, alerts.size ? "No alerts match the filters." : "No active alerts."));
    }
    // Re-inserting unchanged groups would still cost a layout of every row: leave the DOM alone then.
    const current = body.children;
    if (current.length !== sections.length || sections.some((el, i) => current[i] !== el)) body.replaceChildren(...sections);
  }, 250);

  const updateReceivers = () => {
    const names = [...new Set(groups.map((g) => g.receiver))].sort();
    const have = [...receiver.options].slice(1).map((o) => o.value);
    if (names.join("\u0000") === have.join("\u0000")) return;
    const keep = receiver.value;
    receiver.replaceChildren(h("option", { value: "" }, "all receivers"), ...names.map((n) => h("option", { value: n }, n)));
    if (keep && !names.includes(keep)) receiver.append(h("option", { value: keep }, keep));
    receiver.value = keep;
  };

  function safeParse(text: string): Matcher[] | null {
    try {
      const ms = parseMatchers(text);
      ms.forEach(matcherTest); // compiles the regular expressions, so a bad one shows here
      filterError.hidden = true;
      return ms;
    } catch (e) {
      filterError.textContent = `Filter: ${errorText(e)}`;
      filterError.hidden = false;
      return null;
    }
  }

  function onControls(): void {
    const parsed = safeParse(filter.value);
    if (parsed) matchers = parsed.map(matcherTest);
    const p = new URLSearchParams();
    if (filter.value.trim()) p.set("filter", filter.value.trim());
    if (receiver.value) p.set("receiver", receiver.value);
    if (!active.box.checked) p.set("active", "0");
    if (silenced.box.checked) p.set("silenced", "1");
    if (inhibited.box.checked) p.set("inhibited", "1");
    history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p : ""));
    groupsShown = GROUPS_STEP;
    draw();
  }
  filter.addEventListener("input", onControls);
  for (const c of [receiver, active.box, silenced.box, inhibited.box]) c.addEventListener("change", onControls);
  onControls();

  // Rows are kept while their alert is unchanged: bring their "5m ago" texts up to date now and then.
  const clock = window.setInterval(() => {
    for (const el of body.querySelectorAll<HTMLElement>("span.since")) el.textContent = formatRelative(el.dataset.since || "");
  }, 15_000);

  if (!withAm) {
    const stop = polling(async () => {
      try {
        const data = await apiGet<{ alerts: RuleAlert[] }>("/api/v1/alerts");
        alerts.clear();
        sigs.clear();
        const byName = new Map<string, string[]>();
        for (const r of data.alerts) {
          const fp = formatMatchers(labelMatchers(r.labels));
          remember({ fingerprint: fp, labels: r.labels, annotations: r.annotations, startsAt: r.activeAt || "",
            endsAt: "", updatedAt: r.activeAt || "", generatorURL: "", receivers: [], ruleState: r.state,
            status: { state: "active", silencedBy: [], inhibitedBy: [] } });
          const name = r.labels.alertname || "";
          if (!byName.has(name)) byName.set(name, []);
          byName.get(name)!.push(fp);
        }
        groups = [...byName].sort(([a], [b]) => a.localeCompare(b))
          .map(([name, fps]) => ({ key: name, labels: { alertname: name }, receiver: "", fingerprints: fps }));
        loaded = true;
        draw();
      } catch (e) {
        clear(body, h("div.error", null, `Could not load alerts: ${errorText(e)}`));
      }
    });
    return () => {
      stop();
      draw.cancel();
      observer.disconnect();
      window.clearInterval(clock);
    };
  }

  const stream = new Stream();
  stream.onState = (ok) => {
    live.textContent = ok ? "● live" : "reconnecting…";
    live.classList.toggle("ok", ok);
  };
  stream.subscribe("alerts", { channel: "alerts" }, (msg) => {
    if (msg.type === "error") {
      clear(body, h("div.error", null, `Could not load alerts: ${msg.error}`));
      return;
    }
    const u = msg.data as AlertsUpdate;
    if (u.full) {
      alerts.clear();
      sigs.clear();
    }
    for (const fp of u.removed) {
      alerts.delete(fp);
      sigs.delete(fp);
    }
    for (const a of u.alerts) remember(a);
    if (u.groups) {
      groups = u.groups
        .map((g) => ({ key: groupKey(g.receiver.name, g.labels), labels: g.labels, receiver: g.receiver.name, fingerprints: g.fingerprints }))
        .sort((a, b) => a.receiver.localeCompare(b.receiver) || a.key.localeCompare(b.key));
      updateReceivers();
    }
    loaded = true;
    draw();
  });
  return () => {
    stream.close();
    draw.cancel();
    observer.disconnect();
    window.clearInterval(clock);
  };
}
