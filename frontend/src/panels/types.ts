// The dashboard model as the API returns it (GET /api/watchkeeper/v1/dashboards/{uid}: every field present).

export interface GridPos { x: number; y: number; w: number; h: number }
export interface Threshold { value: number | null; color: string }
export interface ValueMapping { value?: string | null; from?: number | null; to?: number | null; text: string; color?: string | null }
export interface Override { match: string; color?: string | null; negative_y?: boolean; hidden?: boolean; unit?: string | null; fill?: number | null }
export interface Target {
  expr: string;
  legend?: string;
  ref?: string;
  instant?: boolean;
  interval?: string;
  hide?: boolean;
  format?: "time_series" | "table" | "heatmap";
}
export type PanelType = "timeseries" | "stat" | "gauge" | "bargauge" | "table" | "heatmap" | "text" | "placeholder";
export const PANEL_TYPES: PanelType[] = ["timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text"];
export interface Panel {
  type: PanelType;
  title: string;
  description?: string;
  grid: GridPos;
  targets: Target[];
  unit?: string;
  decimals?: number | null;
  min?: number | null;
  max?: number | null;
  thresholds?: Threshold[];
  thresholds_mode?: "absolute" | "percentage";
  mappings?: ValueMapping[];
  overrides?: Override[];
  interval?: string;
  max_data_points?: number | null;
  options: Record<string, any>;
}
export interface Row { type: "row"; title: string; collapsed: boolean; panels: Panel[] }
export type Item = Panel | Row;
export interface VariableOption { text: string; value: string }
export interface Variable {
  name: string;
  type: "query" | "custom" | "interval" | "constant" | "textbox" | "datasource";
  label?: string;
  hide?: boolean;
  query?: string;
  regex?: string;
  sort?: "none" | "alpha" | "alpha-desc" | "numeric" | "numeric-desc";
  multi?: boolean;
  include_all?: boolean;
  all_value?: string | null;
  current?: string | string[] | null;
  options?: (string | VariableOption)[] | string;
  auto?: boolean;
  auto_count?: number;
  auto_min?: string;
  value?: string;
}
export interface Dashboard {
  title: string;
  uid: string;
  description?: string;
  tags?: string[];
  time: { from: string; to: string };
  refresh: string;
  variables: Variable[];
  panels: Item[];
}
export interface DashboardMeta { uid: string; title: string; description: string; tags: string[]; file: string; builtin: boolean; version: string; scrape_interval?: string }

export function isRow(item: Item): item is Row {
  return item.type === "row";
}

/** One drawn series: its legend name, labels, and values on the shared time axis (seconds). */
export interface Series { name: string; labels: Record<string, string>; ref: string; times: number[]; values: (number | null)[] }
