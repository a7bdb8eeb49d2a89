"""Conversion of Grafana dashboard JSON into watchkeeper's dashboard format (docs/dashboards.md).

Expressions are carried over unchanged (the UI substitutes ``$var``, ``${var}``, ``[[var]]`` and
Grafana's built-in interval variables the way Grafana does), so most of the work is structural:
rows, panel types and their options, field config and templating. Whatever cannot be carried over
is named in the returned notes; an unsupported panel type becomes a visible placeholder panel.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .model import GRID_COLUMNS, PANEL_TYPES, TIME_RE, UID_RE

__all__ = ["convert_grafana"]

_REDUCERS = {"lastNotNull": "last_not_null", "last": "last", "mean": "mean", "max": "max", "min": "min",
             "sum": "sum", "first": "first", "firstNotNull": "first",
             # singlestat's valueName
             "current": "last_not_null", "avg": "mean", "total": "sum"}
_SORTS = {0: "none", 1: "alpha", 2: "alpha-desc", 3: "numeric", 4: "numeric-desc",
          5: "alpha", 6: "alpha-desc", 7: "alpha", 8: "alpha-desc"}
_SCHEMES = ("oranges", "blues", "greens", "reds", "purples", "spectral")
_LEGEND_CALCS = {"lastNotNull": "last", "last": "last", "mean": "mean", "max": "max", "min": "min"}
_PX_PER_ROW = 30
_NOT_QUERYING = ("text", "row", "dashlist", "news", "welcome", "alertlist", "annolist")
_QUERYING = ("graph", "timeseries", "stat", "singlestat", "gauge", "bargauge", "table", "table-old",
             "heatmap")


class _Notes(list[str]):
    def add(self, where: str, text: str) -> None:
        self.append(f"{where}: {text}" if where else text)


def convert_grafana(data: Any) -> tuple[dict[str, Any], list[str]]:
    """A Grafana dashboard (or the ``{"dashboard": ...}`` import wrapper) as watchkeeper dashboard data.

    Returns the data, ready for ``parse_dashboard``, and human-readable notes about what changed.
    Raises ValueError if ``data`` is not a Grafana dashboard at all.
    """
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        data = data["dashboard"]
    if not isinstance(data, dict) or not ("panels" in data or "rows" in data):
        raise ValueError("not a Grafana dashboard: expected a JSON object with `panels` (or `rows`)")
    notes = _Notes()
    title = str(data.get("title") or "Imported dashboard")
    out: dict[str, Any] = {"title": title, "uid": _uid(data.get("uid"), title)}
    if data.get("description"):
        out["description"] = str(data["description"])
    if data.get("tags"):
        out["tags"] = [str(t) for t in data["tags"]]
    out["time"] = _time(data.get("time"), notes)
    refresh = data.get("refresh")
    out["refresh"] = refresh if isinstance(refresh, str) and refresh and _valid_refresh(refresh) else "off"
    out["variables"] = _variables(data.get("templating", {}).get("list", []) or [], notes)
    if isinstance(data.get("rows"), list) and not data.get("panels"):
        out["panels"] = _old_rows(data["rows"], notes)
    else:
        out["panels"] = _panels(data.get("panels") or [], notes)
    listed = (data.get("annotations") or {}).get("list") or []
    annotations = [a for a in listed if isinstance(a, dict) and not a.get("builtIn")]
    if annotations:
        notes.add("", f"{len(annotations)} annotation queries are not imported")
    if data.get("links"):
        notes.add("", "dashboard links are not imported")
    return out, list(notes)


def _uid(uid: Any, title: str) -> str:
    if isinstance(uid, str) and UID_RE.match(uid):
        return uid
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return slug or "imported"


def _valid_refresh(text: str) -> bool:
    return re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", text) is not None


def _time(t: Any, notes: _Notes) -> dict[str, str]:
    if not isinstance(t, dict):
        return {"from": "now-6h", "to": "now"}
    start, end = str(t.get("from", "now-6h")), str(t.get("to", "now"))
    if TIME_RE.match(start) and TIME_RE.match(end):
        return {"from": start, "to": end}
    notes.add("time", f"range {start} to {end} is not supported; using the last 6 hours")
    return {"from": "now-6h", "to": "now"}


# -- templating ------------------------------------------------------------------------


def _var_query(v: dict[str, Any]) -> str:
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query") or ""
    return str(q or v.get("definition") or "")


def _current(cur: Any) -> str | list[str] | None:
    if not isinstance(cur, dict) or "value" not in cur:
        return None
    value = cur["value"]
    if isinstance(value, list):
        return [str(x) for x in value] or None
    return None if value is None or value == "" else str(value)


def _variables(items: list[Any], notes: _Notes) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for v in items:
        if not isinstance(v, dict):
            continue
        name, kind = str(v.get("name", "")), str(v.get("type", ""))
        where = f"variable {name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.startswith("__"):
            notes.add(where, "the name is not usable as a variable; left out")
            continue
        var: dict[str, Any] = {"name": name, "type": kind}
        if v.get("label"):
            var["label"] = str(v["label"])
        if v.get("hide") == 2:
            var["hide"] = True
        query = _var_query(v)
        if kind == "query":
            if not query.strip():
                notes.add(where, "query variable without a query; left out")
                continue
            var["query"] = query
            if v.get("regex"):
                var["regex"] = str(v["regex"])
            var["sort"] = _SORTS.get(v.get("sort") or 0, "none")
        elif kind == "custom":
            var["options"] = query or ",".join(str(o.get("value", "")) for o in v.get("options") or [])
            if not var["options"]:
                notes.add(where, "custom variable without values; left out")
                continue
        elif kind == "interval":
            var["options"] = [o.strip() for o in query.split(",") if o.strip()]
            if not var["options"]:
                notes.add(where, "interval variable without values; left out")
                continue
            var["auto"] = bool(v.get("auto"))
            if v.get("auto_count"):
                var["auto_count"] = max(1, int(v["auto_count"]))
            if isinstance(v.get("auto_min"), str) and _valid_refresh(v["auto_min"]):
                var["auto_min"] = v["auto_min"]
        elif kind in ("constant", "textbox"):
            var["value"] = query
            if kind == "constant":
                var["hide"] = True
        elif kind == "datasource":
            var["hide"] = True
        else:
            notes.add(where, f"variables of type {kind or '?'} are not supported; left out")
            continue
        if kind in ("query", "custom"):
            if v.get("multi"):
                var["multi"] = True
            if v.get("includeAll"):
                var["include_all"] = True
                if v.get("allValue"):
                    var["all_value"] = str(v["allValue"])
        current = _current(v.get("current"))
        if current is not None and kind not in ("constant", "datasource"):
            var["current"] = current
        out.append(var)
    return out


# -- panels ----------------------------------------------------------------------------


def _grid(pos: Any, y0: int = 0) -> dict[str, int]:
    pos = pos if isinstance(pos, dict) else {}
    w = min(GRID_COLUMNS, max(1, int(pos.get("w") or 12)))
    x = min(GRID_COLUMNS - w, max(0, int(pos.get("x") or 0)))
    y = max(0, int(pos.get("y") or 0) - y0)
    h = min(200, max(1, int(pos.get("h") or 8)))
    return {"x": x, "y": y, "w": w, "h": h}


def _panels(items: list[Any], notes: _Notes) -> list[dict[str, Any]]:
    """Grafana's flat list (a row panel followed by its panels; collapsed rows hold theirs) as sections."""
    out: list[dict[str, Any]] = []
    row: dict[str, Any] | None = None
    row_y = 0
    for p in items:
        if not isinstance(p, dict):
            continue
        if p.get("type") == "row":
            row_y = int((p.get("gridPos") or {}).get("y") or 0) + 1
            row = {"type": "row", "title": str(p.get("title") or ""), "collapsed": bool(p.get("collapsed")),
                   "panels": []}
            out.append(row)
            # A collapsed row keeps its panels inside it, with the positions they had when expanded.
            for child in p.get("panels") or []:
                if isinstance(child, dict):
                    row["panels"].append(_panel(child, notes, row_y))
            continue
        converted = _panel(p, notes, row_y if row is not None else 0)
        (row["panels"] if row is not None else out).append(converted)
    return out


def _old_rows(rows: list[Any], notes: _Notes) -> list[dict[str, Any]]:
    """Pre-5.0 ``rows`` (12-column spans, pixel heights): panels placed left to right."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if not isinstance(r, dict):
            continue
        height = int(re.sub(r"\D", "", str(r.get("height") or "250")) or 250)
        h = max(1, math.ceil(height / _PX_PER_ROW))
        x = y = 0
        panels = []
        for p in r.get("panels") or []:
            if not isinstance(p, dict):
                continue
            w = min(GRID_COLUMNS, max(1, round(float(p.get("span") or 12) * 2)))
            if x + w > GRID_COLUMNS:
                x, y = 0, y + h
            p = dict(p, gridPos={"x": x, "y": y, "w": w, "h": h})
            x += w
            panels.append(_panel(p, notes, 0))
        show_title = r.get("showTitle", True)
        out.append({"type": "row", "title": str(r.get("title") or "") if show_title else "",
                    "collapsed": bool(r.get("collapse")), "panels": panels})
    return out


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _targets(p: dict[str, Any], where: str, notes: _Notes) -> list[dict[str, Any]]:
    out = []
    skipped = 0
    for i, t in enumerate(p.get("targets") or []):
        if not isinstance(t, dict):
            continue
        expr = t.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            skipped += 1
            continue
        target: dict[str, Any] = {"expr": expr, "ref": str(t.get("refId") or chr(ord("A") + i % 26))}
        legend = t.get("legendFormat")
        if isinstance(legend, str) and legend and legend != "__auto":
            target["legend"] = legend
        if t.get("instant"):
            target["instant"] = True
        if isinstance(t.get("interval"), str) and t["interval"]:
            target["interval"] = t["interval"]
        if t.get("hide"):
            target["hide"] = True
        if t.get("format") in ("time_series", "table", "heatmap"):
            target["format"] = t["format"]
        out.append(target)
    if skipped:
        notes.add(where, f"{skipped} target(s) without a PromQL `expr` left out")
    return out


def _thresholds(th: Any) -> tuple[list[dict[str, Any]], str]:
    if not isinstance(th, dict):
        return [], "absolute"
    steps = []
    for s in th.get("steps") or []:
        if isinstance(s, dict) and s.get("color"):
            steps.append({"value": _num(s.get("value")), "color": str(s["color"])})
    base = [s for s in steps if s["value"] is None][:1]
    rest = sorted((s for s in steps if s["value"] is not None), key=lambda s: s["value"])
    return base + rest, "percentage" if th.get("mode") == "percentage" else "absolute"


def _mappings(items: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in items if isinstance(items, list) else []:
        if not isinstance(m, dict):
            continue
        kind, opts = m.get("type"), m.get("options")
        if kind == "value" and isinstance(opts, dict):
            for value, res in opts.items():
                if isinstance(res, dict):
                    out.append(_mapping({"value": str(value)}, res))
        elif kind == "range" and isinstance(opts, dict):
            bounds = {"from": _num(opts.get("from")), "to": _num(opts.get("to"))}
            out.append(_mapping(bounds, opts.get("result")))
        elif kind in (1, "1") or (m.get("op") == "=" and "value" in m):
            out.append(_mapping({"value": str(m.get("value"))}, m))
        elif kind in (2, "2") or ("from" in m and "to" in m):
            out.append(_mapping({"from": _num(m.get("from")), "to": _num(m.get("to"))}, m))
    return [m for m in out if any(m.get(k) is not None for k in ("value", "from", "to"))]


def _mapping(base: dict[str, Any], result: Any) -> dict[str, Any]:
    result = result if isinstance(result, dict) else {}
    out = dict(base, text=str(result.get("text") or ""))
    if result.get("color"):
        out["color"] = str(result["color"])
    return out


def _overrides(fc: dict[str, Any], where: str, notes: _Notes) -> list[dict[str, Any]]:
    out = []
    for o in fc.get("overrides") or []:
        matcher = (o or {}).get("matcher") or {}
        kind, arg = matcher.get("id"), matcher.get("options")
        if kind not in ("byName", "byRegexp") or not isinstance(arg, str):
            notes.add(where, f"field override matcher {kind!r} is not supported; left out")
            continue
        match = arg if kind == "byName" or (arg.startswith("/") and arg.rfind("/") > 0) else f"/{arg}/"
        ov: dict[str, Any] = {"match": match}
        for prop in o.get("properties") or []:
            pid, val = prop.get("id"), prop.get("value")
            if pid == "custom.transform" and val == "negative-Y":
                ov["negative_y"] = True
            elif pid == "color" and isinstance(val, dict) and val.get("fixedColor"):
                ov["color"] = str(val["fixedColor"])
            elif pid == "unit" and isinstance(val, str):
                ov["unit"] = val
            elif pid == "custom.hideFrom" and isinstance(val, dict) and val.get("viz"):
                ov["hidden"] = True
            elif pid == "custom.fillOpacity" and _num(val) is not None:
                ov["fill"] = min(1.0, max(0.0, float(val) / 100))
        if len(ov) > 1:
            out.append(ov)
    return out


def _series_overrides(items: Any) -> list[dict[str, Any]]:
    """The old graph panel's ``seriesOverrides`` (alias is a name or a /regex/)."""
    out = []
    for o in items if isinstance(items, list) else []:
        if not isinstance(o, dict) or not isinstance(o.get("alias"), str):
            continue
        ov: dict[str, Any] = {"match": o["alias"]}
        if o.get("transform") == "negative-Y":
            ov["negative_y"] = True
        if isinstance(o.get("color"), str):
            ov["color"] = o["color"]
        if _num(o.get("fill")) is not None:
            ov["fill"] = min(1.0, max(0.0, float(o["fill"]) / 10))
        if len(ov) > 1:
            out.append(ov)
    return out


def _reduce(calcs: Any, where: str, notes: _Notes) -> str:
    if isinstance(calcs, list):
        calcs = calcs[0] if calcs else None
    calc = calcs if isinstance(calcs, str) else "lastNotNull"
    if calc not in _REDUCERS:
        notes.add(where, f"reduction {calc!r} is not supported; showing the last value")
    return _REDUCERS.get(calc, "last_not_null")


def _panel(p: dict[str, Any], notes: _Notes, y0: int) -> dict[str, Any]:
    kind = str(p.get("type") or "")
    title = str(p.get("title") or "")
    where = f"panel {title!r}" if title else f"panel #{p.get('id', '?')}"
    fc = p.get("fieldConfig") if isinstance(p.get("fieldConfig"), dict) else {}
    defaults = fc.get("defaults") if isinstance(fc.get("defaults"), dict) else {}
    custom = defaults.get("custom") if isinstance(defaults.get("custom"), dict) else {}
    options = p.get("options") if isinstance(p.get("options"), dict) else {}
    out: dict[str, Any] = {"type": kind, "title": title, "grid": _grid(p.get("gridPos"), y0)}
    if p.get("description"):
        out["description"] = str(p["description"])
    if p.get("repeat"):
        notes.add(where, f"repeating by ${p['repeat']} is not supported; one panel shows every value")
    if kind in _QUERYING or kind not in _NOT_QUERYING:
        # A placeholder keeps its queries too: switching its type in the editor brings the panel back.
        out["targets"] = _targets(p, where, notes)
        if isinstance(p.get("interval"), str) and p["interval"]:
            out["interval"] = p["interval"]
        mdp = p.get("maxDataPoints")
        if isinstance(mdp, (int, float)) and 1 <= mdp <= 11_000:
            out["max_data_points"] = int(mdp)
    if isinstance(defaults.get("unit"), str) and defaults["unit"]:
        out["unit"] = defaults["unit"]
    if isinstance(defaults.get("decimals"), int) and 0 <= defaults["decimals"] <= 20:
        out["decimals"] = defaults["decimals"]
    for key in ("min", "max"):
        if _num(defaults.get(key)) is not None:
            out[key] = _num(defaults[key])
    steps, mode = _thresholds(defaults.get("thresholds"))
    if steps:
        out["thresholds"], out["thresholds_mode"] = steps, mode
    mappings = _mappings(defaults.get("mappings"))
    if mappings:
        out["mappings"] = mappings

    if kind == "timeseries":
        out["options"] = _timeseries_options(custom, options)
        out["overrides"] = _overrides(fc, where, notes)
    elif kind == "graph":
        _graph(p, out, where, notes)
    elif kind == "stat":
        out["options"] = {"reduce": _reduce((options.get("reduceOptions") or {}).get("calcs"), where, notes),
                          "graph": options.get("graphMode", "area") != "none",
                          "color_mode": {"background": "background", "background_solid": "background",
                                         "none": "none"}.get(options.get("colorMode"), "value")}
    elif kind == "singlestat":
        _singlestat(p, out, where, notes)
    elif kind == "gauge":
        out["options"] = {"reduce": _reduce((options.get("reduceOptions") or {}).get("calcs"), where, notes)}
    elif kind == "bargauge":
        vertical = options.get("orientation") == "vertical"
        out["options"] = {"reduce": _reduce((options.get("reduceOptions") or {}).get("calcs"), where, notes),
                          "orientation": "vertical" if vertical else "horizontal"}
    elif kind in ("table", "table-old"):
        out["type"] = "table"
    elif kind == "heatmap":
        scheme = (options.get("color") or {}).get("scheme") or (p.get("color") or {}).get("colorScheme")
        scheme = str(scheme or "")
        scheme = scheme.lower().removeprefix("interpolate")
        out["options"] = {"scheme": scheme} if scheme in _SCHEMES else {}
    elif kind == "text":
        content = options.get("content", p.get("content", ""))
        out["options"] = {"content": str(content or "")}
    else:
        notes.add(where, f"panel type {kind or '?'} is not supported; imported as a placeholder")
        out.update(type="placeholder", options={
            "message": f"Panel type “{kind or '?'}” is not supported by watchkeeper.", "original_type": kind})
        for key in ("unit", "decimals", "min", "max", "thresholds", "thresholds_mode", "mappings"):
            out.pop(key, None)
    assert out["type"] in PANEL_TYPES
    _fix_min_max(out)
    return out


def _fix_min_max(out: dict[str, Any]) -> None:
    if out.get("min") is not None and out.get("max") is not None and out["min"] > out["max"]:
        out.pop("min"), out.pop("max")


def _timeseries_options(custom: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    draw = custom.get("drawStyle")
    if draw in ("bars", "points"):
        opts["draw"] = draw
    if _num(custom.get("fillOpacity")) is not None:
        opts["fill"] = min(1.0, max(0.0, float(custom["fillOpacity"]) / 100))
    stacking = (custom.get("stacking") or {}).get("mode")
    if stacking in ("normal", "percent"):
        opts["stack"] = True if stacking == "normal" else "percent"
    if _num(custom.get("lineWidth")) is not None:
        opts["line_width"] = float(custom["lineWidth"])
    legend = options.get("legend") if isinstance(options.get("legend"), dict) else None
    if legend is not None:
        show = legend.get("showLegend", legend.get("displayMode") != "hidden")
        calcs = [_LEGEND_CALCS[c] for c in legend.get("calcs") or [] if c in _LEGEND_CALCS]
        placement = "right" if legend.get("placement") == "right" else "bottom"
        opts["legend"] = {"show": bool(show), "placement": placement, "calcs": calcs}
    return opts


def _graph(p: dict[str, Any], out: dict[str, Any], where: str, notes: _Notes) -> None:
    """The old graph panel (Grafana < 7.4 and many exported dashboards) as a time series."""
    out["type"] = "timeseries"
    opts: dict[str, Any] = {}
    if p.get("bars") and not p.get("lines", True):
        opts["draw"] = "bars"
    elif p.get("points") and not p.get("lines", True):
        opts["draw"] = "points"
    if _num(p.get("fill")) is not None:
        opts["fill"] = min(1.0, max(0.0, float(p["fill"]) / 10))
    if p.get("stack"):
        opts["stack"] = "percent" if p.get("percentage") else True
    if _num(p.get("linewidth")) is not None:
        opts["line_width"] = float(p["linewidth"])
    legend = p.get("legend") if isinstance(p.get("legend"), dict) else {}
    if legend:
        calcs = [c for c, key in (("last", "current"), ("mean", "avg"), ("max", "max"), ("min", "min"))
                 if legend.get(key) and legend.get("values")]
        opts["legend"] = {"show": bool(legend.get("show", True)),
                          "placement": "right" if legend.get("rightSide") else "bottom", "calcs": calcs}
    out["options"] = opts
    yaxes = p.get("yaxes") if isinstance(p.get("yaxes"), list) else []
    if yaxes and isinstance(yaxes[0], dict):
        y = yaxes[0]
        if isinstance(y.get("format"), str) and y["format"] and "unit" not in out:
            out["unit"] = y["format"]
        for key in ("min", "max"):
            if _num(y.get(key)) is not None and key not in out:
                out[key] = _num(y[key])
    if isinstance(p.get("decimals"), int) and 0 <= p["decimals"] <= 20:
        out.setdefault("decimals", p["decimals"])
    overrides = _series_overrides(p.get("seriesOverrides"))
    if any(o.get("yaxis") == 2 for o in p.get("seriesOverrides") or [] if isinstance(o, dict)):
        notes.add(where, "a second y axis is not supported; all series share one axis")
    out["overrides"] = overrides


def _singlestat(p: dict[str, Any], out: dict[str, Any], where: str, notes: _Notes) -> None:
    """The old singlestat panel: a stat, or a gauge when its gauge was shown."""
    gauge = bool((p.get("gauge") or {}).get("show"))
    out["type"] = "gauge" if gauge else "stat"
    reduce = _reduce(p.get("valueName") or "avg", where, notes)
    color_mode = "background" if p.get("colorBackground") else "value" if p.get("colorValue") else "none"
    out["options"] = {"reduce": reduce} if gauge else {
        "reduce": reduce, "graph": bool((p.get("sparkline") or {}).get("show")), "color_mode": color_mode}
    if isinstance(p.get("format"), str) and p["format"] and "unit" not in out:
        out["unit"] = p["format"]
    if isinstance(p.get("decimals"), int) and 0 <= p["decimals"] <= 20:
        out.setdefault("decimals", p["decimals"])
    if gauge:
        g = p["gauge"]
        if _num(g.get("minValue")) is not None:
            out["min"] = _num(g["minValue"])
        if _num(g.get("maxValue")) is not None:
            out["max"] = _num(g["maxValue"])
    colors = [str(c) for c in p.get("colors") or []]
    levels = [_num(x) for x in str(p.get("thresholds") or "").split(",") if x.strip()]
    if colors and levels and None not in levels:
        steps: list[dict[str, Any]] = [{"value": None, "color": colors[0]}]
        for i, level in enumerate(sorted(x for x in levels if x is not None)):
            steps.append({"value": level, "color": colors[min(i + 1, len(colors) - 1)]})
        out["thresholds"] = steps
    mappings = _mappings([dict(m, type=1) for m in p.get("valueMaps") or [] if isinstance(m, dict)]
                         + [dict(m, type=2) for m in p.get("rangeMaps") or [] if isinstance(m, dict)])
    mappings = [m for m in mappings if m.get("value") != "null"]
    if mappings:
        out["mappings"] = mappings
