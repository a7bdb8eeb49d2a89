// Targets: per scrape pool, each target's health, last scrape, duration, error, and its labels before
// (discovered) and after relabeling.
import { apiGet, formatAgo } from "../api";
import { clear, h, labelChips } from "../dom";

interface Target {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: "up" | "down" | "unknown";
}

interface TargetsData {
  activeTargets: Target[];
  droppedTargets: { discoveredLabels: Record<string, string> }[];
}

const REFRESH_MS = 5000;

export function targetsPage(root: HTMLElement): () => void {
  const filter = h("input", { id: "target-filter", placeholder: "Filter by endpoint or labels", size: 40 }) as HTMLInputElement;
  const unhealthy = h("input", { id: "only-unhealthy", type: "checkbox" }) as HTMLInputElement;
  const body = h("div", { id: "targets" }, "Loading…");
  const errorBox = h("div.error", { hidden: true });
  clear(root, h("h1", null, "Targets"),
    h("div.controls", null, filter, h("label", null, unhealthy, " only unhealthy")), errorBox, body);
  const expanded = new Set<string>(); // scrape URLs showing their labels before relabeling
  let showDropped = false;
  let data: TargetsData | null = null;
  let timer = 0;
  let stopped = false;

  const render = () => {
    if (!data) return;
    const needle = filter.value.trim().toLowerCase();
    const pools = new Map<string, Target[]>();
    for (const t of data.activeTargets) {
      const text = (t.scrapeUrl + " " + JSON.stringify(t.labels)).toLowerCase();
      if (needle && !text.includes(needle)) continue;
      if (unhealthy.checked && t.health === "up") continue;
      if (!pools.has(t.scrapePool)) pools.set(t.scrapePool, []);
      pools.get(t.scrapePool)!.push(t);
    }
    const sections = [...pools].sort(([a], [b]) => a.localeCompare(b)).map(([pool, targets]) => {
      const upCount = targets.filter((t) => t.health === "up").length;
      const rows = targets.map((t) => {
        const key = pool + "\u0000" + t.scrapeUrl;
        const open = expanded.has(key);
        const toggle = h("button.link", { type: "button", class: "relabel-toggle", onclick: () => {
          if (open) expanded.delete(key);
          else expanded.add(key);
          render();
        } }, open ? "hide discovered labels" : "show discovered labels");
        return h("tr", { class: `target health-${t.health}` },
          h("td", null, h("a", { href: t.scrapeUrl }, t.scrapeUrl)),
          h("td", null, h("span", { class: `badge ${t.health}` }, t.health.toUpperCase())),
          h("td", null, labelChips(t.labels), h("div", null, toggle),
            open ? h("div.discovered", null, h("div.muted", null, "Before relabeling:"), labelChips(t.discoveredLabels)) : null),
          h("td", null, formatAgo(t.lastScrape)),
          h("td.num", null, `${(t.lastScrapeDuration * 1000).toFixed(1)} ms`),
          h("td.error-text", null, t.lastError));
      });
      return h("section.pool", { "data-pool": pool },
        h("h2", null, `${pool} `, h("span.muted", null, `(${upCount}/${targets.length} up)`)),
        h("table.data", null,
          h("thead", null, h("tr", null, ...["Endpoint", "State", "Labels", "Last scrape", "Duration", "Error"].map((c) => h("th", null, c)))),
          h("tbody", null, rows)));
    });
    // Targets relabeling dropped, with the labels they were discovered with (what Prometheus' service
    // discovery page shows), to debug a relabel_configs that keeps too little.
    const n = data.droppedTargets.length;
    const dropped = n ? h("section.dropped", { id: "dropped-targets" },
      h("p.muted", null, `${n} target${n === 1 ? "" : "s"} dropped by relabeling. `,
        h("button.link", { type: "button", id: "dropped-toggle", onclick: () => {
          showDropped = !showDropped;
          render();
        } }, showDropped ? "hide" : "show")),
      showDropped ? h("table.data", null, h("tbody", null, data.droppedTargets.map((t) =>
        h("tr.dropped-target", null, h("td", null, labelChips(t.discoveredLabels)))))) : null) : null;
    clear(body, ...(sections.length ? sections : [h("p.empty", null, "No targets match.")]), dropped);
  };

  const load = async () => {
    try {
      data = await apiGet<TargetsData>("/api/v1/targets");
      errorBox.hidden = true;
      render();
    } catch (e) {
      errorBox.textContent = `Could not load targets: ${e instanceof Error ? e.message : e}`;
      errorBox.hidden = false;
    }
    if (!stopped) timer = window.setTimeout(load, REFRESH_MS);
  };
  filter.addEventListener("input", render);
  unhealthy.addEventListener("change", render);
  void load();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
