// Entry point: navigation bar and a client-side router over the pages (History API; the server answers
// every page path with the same shell).
import "./style.css";
import { clear, h } from "./dom";
import { graphPage } from "./pages/graph";
import { overviewPage } from "./pages/overview";
import { alertsPage, rulesPage } from "./pages/rules";
import { targetsPage } from "./pages/targets";

type Page = (root: HTMLElement, params: URLSearchParams) => () => void;

const PAGES: { path: string; title: string; page: Page }[] = [
  { path: "/", title: "Overview", page: overviewPage },
  { path: "/graph", title: "Query", page: graphPage },
  { path: "/alerts", title: "Alerts", page: alertsPage },
  { path: "/rules", title: "Rules", page: rulesPage },
  { path: "/targets", title: "Targets", page: targetsPage },
];

const app = document.getElementById("app")!;
const links = PAGES.map((p) => h("a", { href: p.path, "data-path": p.path }, p.title));
const main = h("main", { id: "page" });
clear(app, h("nav.top", null, h("a.brand", { href: "/" }, "watchkeeper"), ...links), main);

let cleanup: (() => void) | null = null;

function show(): void {
  cleanup?.();
  cleanup = null;
  const entry = PAGES.find((p) => p.path === location.pathname) || PAGES[0];
  for (const a of links) a.classList.toggle("active", a.dataset.path === entry.path);
  document.title = `${entry.title} · watchkeeper`;
  const root = h("div", { class: "page", "data-page": entry.title.toLowerCase() });
  clear(main, root);
  cleanup = entry.page(root, new URLSearchParams(location.search));
}

document.addEventListener("click", (e) => {
  const a = (e.target as HTMLElement).closest("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !PAGES.some((p) => p.path === url.pathname)) return;
  e.preventDefault();
  history.pushState(null, "", url.pathname + url.search);
  show();
});
window.addEventListener("popstate", show);
show();
