// Minimal DOM building: h("div.card", {onclick}, children) without a framework.

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

export function h(tag: string, props: Props | null = null, ...children: (Child | Child[])[]): HTMLElement {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = [el.className, v].filter(Boolean).join(" ");
    else if (k in el && typeof v !== "string") (el as unknown as Props)[k] = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replace ``el``'s children (null/false entries are skipped, for conditional parts). */
export function clear(el: HTMLElement, ...children: (Node | null | undefined | false)[]): void {
  el.replaceChildren(...children.filter((c): c is Node => !!c));
}

export function labelChips(labels: Record<string, string>): HTMLElement {
  return h(
    "span.labels",
    null,
    Object.keys(labels)
      .sort()
      .map((k) => h("span.chip", null, `${k}="${labels[k]}"`)),
  );
}

/** Go to another page of the app without a reload (main.ts re-routes on popstate). */
export function navigate(url: string): void {
  history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/** Run ``fn`` at most once per ``ms`` (trailing call kept), e.g. to redraw after bursts of updates. */
export function throttle(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer = 0;
  let last = 0;
  const run = () => {
    timer = 0;
    last = Date.now();
    fn();
  };
  const call = () => {
    if (timer) return;
    timer = window.setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  call.cancel = () => window.clearTimeout(timer);
  return call;
}

/** Re-run ``load`` every ``ms`` until the page is left; returns the cleanup. */
export function polling(load: () => Promise<void>, ms = 5000): () => void {
  let timer = 0;
  let stopped = false;
  const tick = async () => {
    await load();
    if (!stopped) timer = window.setTimeout(tick, ms);
  };
  void tick();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
