// Silences, as Alertmanager's UI has them: the list by state (active, pending, expired) with expire,
// edit and recreate; a form (matchers editor, start and duration or end, creator, comment) with a live
// preview of the alerts its matchers select. Editing posts the silence with its id: the API updates it
// in place or, when Alertmanager would (matchers changed, or it is no longer running), expires it and
// creates a new one.
//   /silences            the list (?state=active|pending|expired, ?filter=matchers, ?id= highlights one)
//   /silences?new=1      the form (?filter= pre-fills the matchers: "silence this alert")
//   /silences?edit=ID    the form for an existing silence (&recreate=1: a new one from an expired one)
import {
  AmAlert, amFetch, formatDuration, formatMatcher, formatMatchers, formatRelative, formatTime, fromAmMatcher,
  hasAlertmanager, Matcher, matcherTest, parseDuration, parseMatchers, parseUtc, Silence, toAmMatcher, utcText,
} from "../api";
import { clear, errorText, h, navigate, polling } from "../dom";

const CREATOR_KEY = "watchkeeper.silence.createdBy";
const PREVIEW_LIMIT = 50;
const STATES = ["active", "pending", "expired"] as const;

export function silencesPage(root: HTMLElement, params: URLSearchParams): () => void {
  if (!hasAlertmanager()) {
    clear(root, h("h1", null, "Silences"), h("p.empty", null,
      "This server runs no Alertmanager: give its config an alertmanager: section (or start it with --alertmanager.config alertmanager.yml) to route, silence and notify alerts."));
    return () => {};
  }
  if (params.get("new") || params.get("edit")) return silenceForm(root, params);
  return silenceList(root, params);
}

function matchersText(s: Silence): string {
  return formatMatchers(s.matchers.map(fromAmMatcher));
}

function silenceList(root: HTMLElement, params: URLSearchParams): () => void {
  let state = (STATES as readonly string[]).includes(params.get("state") || "") ? params.get("state")! : "active";
  const highlight = params.get("id") || "";
  const filter = h("input", { id: "silence-filter", size: 40, value: params.get("filter") || "",
    placeholder: 'filter: alertname="HighLatency"', spellcheck: false }) as HTMLInputElement;
  const tabs = h("div.tabs", { id: "silence-tabs" });
  const errorBox = h("div.error", { hidden: true });
  const body = h("div", { id: "silences" }, "Loading…");
  clear(root,
    h("div.page-head", null, h("h1", null, "Silences"), h("a", { class: "button primary", id: "new-silence", href: "/silences?new=1" }, "New silence")),
    h("div.controls", null, filter), tabs, errorBox, body);
  let silences: Silence[] = [];
  let scrolled = false;

  const expire = async (s: Silence) => {
    try {
      await amFetch("DELETE", `/silence/${encodeURIComponent(s.id)}`);
      await load();
    } catch (e) {
      errorBox.textContent = `Could not expire ${s.id}: ${errorText(e)}`;
      errorBox.hidden = false;
    }
  };

  const render = () => {
    let tests: ((s: Silence) => boolean)[] = [];
    try {
      // Alertmanager's list filter: each filter matcher must match the value of a matcher of that name.
      tests = parseMatchers(filter.value).map((m) => {
        const t = matcherTest(m);
        return (s: Silence) => s.matchers.some((sm) => sm.name === m.name && t({ [m.name]: sm.value }));
      });
      errorBox.hidden = true;
    } catch (e) {
      errorBox.textContent = `Filter: ${errorText(e)}`;
      errorBox.hidden = false;
    }
    const shown = silences.filter((s) => tests.every((t) => t(s)));
    const count = (st: string) => shown.filter((s) => s.status.state === st).length;
    clear(tabs, ...STATES.map((st) => h("button", { type: "button", class: `tab${st === state ? " active" : ""}`, "data-state": st,
      onclick: () => {
        state = st;
        sync();
        render();
      } }, `${st[0].toUpperCase()}${st.slice(1)} (${count(st)})`)));
    const list = shown.filter((s) => s.status.state === state);
    if (!list.length) return clear(body, h("p.empty", null, `No ${state} silences.`));
    clear(body, ...list.map((s) => h("div", { class: `silence${s.id === highlight ? " highlight" : ""}`, "data-silence-id": s.id },
      h("div.silence-head", null,
        h("span.labels", null, s.matchers.map((m) => h("span.chip", null, formatMatcher(fromAmMatcher(m))))),
        h("span", { class: `badge ${s.status.state}` }, s.status.state)),
      h("div.silence-times", null,
        s.status.state === "pending" ? `starts ${formatRelative(s.startsAt)} (${formatTime(s.startsAt)} UTC) · ` : "",
        s.status.state === "expired" ? `expired ${formatRelative(s.endsAt)}` : `ends ${formatRelative(s.endsAt)}`,
        ` (${formatTime(s.endsAt)} UTC) · created by `, h("b", null, s.createdBy), ` · id ${s.id}`),
      h("div.comment", null, s.comment),
      h("div.actions", null,
        s.status.state === "expired"
          ? h("a", { class: "button", href: `/silences?edit=${encodeURIComponent(s.id)}&recreate=1` }, "Recreate")
          : [h("a", { class: "button edit", href: `/silences?edit=${encodeURIComponent(s.id)}` }, "Edit"),
            h("button", { type: "button", class: "expire", onclick: () => void expire(s) }, "Expire")],
        h("a", { class: "button", href: `/alerts?filter=${encodeURIComponent(matchersText(s))}&silenced=1&active=0` }, "Silenced alerts")))));
    if (highlight && !scrolled) {
      body.querySelector(".highlight")?.scrollIntoView({ block: "center" });
      scrolled = true;
    }
  };

  const sync = () => {
    const p = new URLSearchParams();
    if (state !== "active") p.set("state", state);
    if (filter.value.trim()) p.set("filter", filter.value.trim());
    if (highlight) p.set("id", highlight);
    history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p : ""));
  };

  async function load(): Promise<void> {
    try {
      silences = await amFetch<Silence[]>("GET", "/silences");
      if (highlight && !scrolled) {
        const s = silences.find((x) => x.id === highlight);
        if (s) state = s.status.state;
      }
      render();
    } catch (e) {
      clear(body, h("div.error", null, `Could not load silences: ${errorText(e)}`));
    }
  }
  filter.addEventListener("input", () => {
    sync();
    render();
  });
  return polling(load);
}

function silenceForm(root: HTMLElement, params: URLSearchParams): () => void {
  const editId = params.get("edit") || "";
  const recreate = params.get("recreate") === "1";
  let kept: { text: string; iso: string } | null = null; // the edited silence's start, to the nanosecond
  const title = h("h1", null, editId && !recreate ? "Edit silence" : "New silence");
  const rows = h("div.matcher-rows", { id: "matcher-rows" });
  const start = h("input", { id: "silence-start", size: 22, value: utcText(Date.now()) }) as HTMLInputElement;
  const duration = h("input", { id: "silence-duration", size: 10, value: "2h" }) as HTMLInputElement;
  const end = h("input", { id: "silence-end", size: 22 }) as HTMLInputElement;
  const creator = h("input", { id: "silence-creator", size: 30, value: localStorage.getItem(CREATOR_KEY) || "" }) as HTMLInputElement;
  const comment = h("textarea", { id: "silence-comment", rows: 3, cols: 60 }) as HTMLTextAreaElement;
  const submit = h("button", { type: "submit", class: "primary", id: "silence-submit" }, editId && !recreate ? "Update" : "Create") as HTMLButtonElement;
  const errorBox = h("div.error", { id: "silence-error", hidden: true });
  const previewHead = h("h2", { id: "preview-head" }, "Affected alerts");
  const preview = h("div", { id: "silence-preview" });
  const form = h("form.silence-form", { id: "silence-form" },
    h("div.field", null, h("label", null, "Matchers"), rows,
      h("button", { type: "button", class: "link", id: "add-matcher", onclick: () => {
        addRow({ name: "", op: "=", value: "" });
        schedulePreview();
      } }, "+ add matcher")),
    h("div.field.times", null,
      h("label", null, "Start (UTC)", start), h("label", null, "Duration", duration), h("label", null, "End (UTC)", end)),
    h("div.field", null, h("label", null, "Created by", creator)),
    h("div.field", null, h("label", null, "Comment", comment)),
    errorBox,
    h("div.actions", null, submit, h("a", { class: "button", href: "/silences" }, "Cancel")));
  clear(root, title, form, previewHead, preview);

  const addRow = (m: Matcher) => {
    const name = h("input", { class: "m-name", size: 20, value: m.name, placeholder: "label", spellcheck: false }) as HTMLInputElement;
    const op = h("select", { class: "m-op" }, ...["=", "!=", "=~", "!~"].map((o) => h("option", { value: o }, o))) as HTMLSelectElement;
    op.value = m.op;
    const value = h("input", { class: "m-value", size: 36, value: m.value, placeholder: "value", spellcheck: false }) as HTMLInputElement;
    const row = h("div.matcher-row", null, name, op, value,
      h("button", { type: "button", class: "link m-remove", title: "remove", onclick: () => {
        row.remove();
        schedulePreview();
      } }, "✕"));
    for (const el of [name, op, value]) el.addEventListener("input", schedulePreview);
    rows.append(row);
  };

  const matchers = (): Matcher[] => [...rows.querySelectorAll(".matcher-row")].map((r) => ({
    name: (r.querySelector(".m-name") as HTMLInputElement).value.trim(),
    op: (r.querySelector(".m-op") as HTMLSelectElement).value as Matcher["op"],
    value: (r.querySelector(".m-value") as HTMLInputElement).value,
  })).filter((m) => m.name || m.value);

  const endFromDuration = () => {
    const s = parseUtc(start.value);
    const d = parseDuration(duration.value);
    if (isFinite(s) && d > 0) end.value = utcText(s + d * 1000);
  };
  const durationFromEnd = () => {
    const s = parseUtc(start.value);
    const e = parseUtc(end.value);
    if (isFinite(s) && isFinite(e) && e > s) duration.value = formatDuration(Math.round((e - s) / 1000));
  };
  start.addEventListener("input", endFromDuration);
  duration.addEventListener("input", endFromDuration);
  end.addEventListener("input", durationFromEnd);

  // Preview: the alerts these matchers select now, whether or not something already mutes them.
  let previewTimer = 0;
  let previewSeq = 0;
  function schedulePreview(): void {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(() => void runPreview(), 300);
  }
  async function runPreview(): Promise<void> {
    const ms = matchers();
    const seq = ++previewSeq;
    if (!ms.length || ms.some((m) => !m.name)) {
      previewHead.textContent = "Affected alerts";
      clear(preview, h("p.empty", null, "Add a matcher to see the alerts it selects."));
      return;
    }
    const p = new URLSearchParams([["silenced", "true"], ["inhibited", "true"], ["active", "true"]]);
    for (const m of ms) p.append("filter", formatMatcher(m));
    try {
      const found = await amFetch<AmAlert[]>("GET", "/alerts", p);
      if (seq !== previewSeq) return;
      previewHead.textContent = `Affected alerts (${found.length})`;
      if (!found.length) return clear(preview, h("p.empty", null, "No active alert matches."));
      clear(preview, h("div.preview-list", null, found.slice(0, PREVIEW_LIMIT).map((a) => h("div.preview-alert", { "data-fingerprint": a.fingerprint },
        h("span.labels", null, Object.keys(a.labels).sort().map((k) => h("span.chip", null, `${k}="${a.labels[k]}"`))),
        a.status.silencedBy.length ? h("span.badge.silenced", null, "silenced") : null))),
      found.length > PREVIEW_LIMIT ? h("p.muted", null, `… and ${found.length - PREVIEW_LIMIT} more`) : null);
    } catch (e) {
      if (seq !== previewSeq) return;
      previewHead.textContent = "Affected alerts";
      clear(preview, h("div.error", null, errorText(e)));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errorBox.hidden = true;
    const fail = (text: string) => {
      errorBox.textContent = text;
      errorBox.hidden = false;
    };
    const ms = matchers();
    if (!ms.length) return fail("A silence needs at least one matcher.");
    const bad = ms.find((m) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name));
    if (bad) return fail(`Invalid label name "${bad.name}".`);
    const s = parseUtc(start.value);
    const e = parseUtc(end.value);
    if (!isFinite(s) || !isFinite(e)) return fail("Start and end must be times like 2026-01-31 12:00:00 (UTC).");
    if (e <= s) return fail("The end must be after the start.");
    if (!creator.value.trim()) return fail("Say who creates the silence.");
    if (!comment.value.trim()) return fail("Say why: the comment is required.");
    localStorage.setItem(CREATOR_KEY, creator.value.trim());
    const body = {
      ...(editId && !recreate ? { id: editId } : {}),
      matchers: ms.map(toAmMatcher),
      startsAt: kept && kept.text === start.value ? kept.iso : new Date(s).toISOString(),
      endsAt: new Date(e).toISOString(),
      createdBy: creator.value.trim(),
      comment: comment.value.trim(),
    };
    submit.disabled = true;
    try {
      const { silenceID } = await amFetch<{ silenceID: string }>("POST", "/silences", undefined, body);
      navigate(`/silences?id=${encodeURIComponent(silenceID)}`);
    } catch (err) {
      fail(`Could not save the silence: ${errorText(err)}`);
    } finally {
      submit.disabled = false;
    }
  });

  let cancelled = false;
  const init = async () => {
    if (editId) {
      try {
        const s = await amFetch<Silence>("GET", `/silence/${encodeURIComponent(editId)}`);
        if (cancelled) return;
        s.matchers.map(fromAmMatcher).forEach(addRow);
        creator.value = s.createdBy;
        comment.value = s.comment;
        if (!recreate) {
          start.value = utcText(Date.parse(s.startsAt));
          // The field shows whole seconds; an untouched start is sent back exactly, so an edit of an
          // active silence that keeps its start and matchers updates it in place, as in Alertmanager.
          kept = { text: start.value, iso: s.startsAt };
          end.value = utcText(Date.parse(s.endsAt));
          durationFromEnd();
        } else {
          endFromDuration();
        }
      } catch (e) {
        errorBox.textContent = `Could not load silence ${editId}: ${errorText(e)}`;
        errorBox.hidden = false;
      }
    } else {
      let prefill: Matcher[] = [];
      try {
        prefill = parseMatchers(params.get("filter") || "");
      } catch (e) {
        errorBox.textContent = `Could not read the matchers from the link: ${errorText(e)}`;
        errorBox.hidden = false;
      }
      (prefill.length ? prefill : [{ name: "", op: "=" as const, value: "" }]).forEach(addRow);
      endFromDuration();
    }
    void runPreview();
  };
  void init();
  return () => {
    cancelled = true;
    window.clearTimeout(previewTimer);
  };
}
