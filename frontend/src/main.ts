// Entry point: navigation bar and a client-side router over the pages (History API; the server answers
// every page path with the same shell). A page is one entry of PAGES: add a line to add a page (and
// its path to UI_PATHS in src/watchkeeper/web/routes.py).
import "./style.css";
import { clear, h } from "./dom";
import { alertsPage } from "./pages/alerts";
import { dashboardsPage } from "./pages/dashboards";
import { eventsPage } from "./pages/events";
import { graphPage } from "./pages/graph";
import { overviewPage } from "./pages/overview";
import { rulesPage } from "./pages/rules";
import { silencesPage } from "./pages/silences";
import { targetsPage } from "./pages/targets";

/** Draws the page into ``root``; returns what to do when the page is left (close streams, timers). */
export type Page = (root: HTMLElement, params: URLSearchParams) => () => void;

// ``prefix``: the page also owns the paths below its own (``/dashboards/x``).
const PAGES: { path: string; title: string; page: Page; prefix?: boolean }[] = [
  { path: "/", title: "Overview", page: overviewPage },
  { path: "/graph", title: "Query", page: graphPage },
  { path: "/dashboards", title: "Dashboards", page: dashboardsPage },
  { path: "/alerts", title: "Alerts", page: alertsPage },
  { path: "/silences", title: "Silences", page: silencesPage },
  { path: "/events", title: "Events", page: eventsPage },
  { path: "/rules", title: "Rules", page: rulesPage },
  { path: "/targets", title: "Targets", page: targetsPage },
];

const app = document.getElementById("app")!;
const links = PAGES.map((p) => h("a", { href: p.path, "data-path": p.path }, p.title));
const main = h("main", { id: "page" });
clear(app, h("nav.top", null, h("a.brand", { href: "/" }, "watchkeeper"), ...links), main);

let cleanup: (() => void) | null = null;

function route(pathname: string): (typeof PAGES)[number] | undefined {
  return PAGES.find((p) => p.path === pathname || (p.prefix && pathname.startsWith(p.path + "/")));
}

function show(): void {
  cleanup?.();
  cleanup = null;
  const entry = route(location.pathname) || PAGES[0];
  for (const a of links) a.classList.toggle("active", a.dataset.path === entry.path);
  document.title = `${entry.title} · watchkeeper`;
  const root = h("div", { class: "page", "data-page": entry.title.toLowerCase() });
  clear(main, root);
  cleanup = entry.page(root, new URLSearchParams(location.search));
}

document.addEventListener("click", (e) => {
  const a = (e.target as HTMLElement).closest("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !route(url.pathname)) return;
  e.preventDefault();
  history.pushState(null, "", url.pathname + url.search);
  show();
});
window.addEventListener("popstate", show);
show();
