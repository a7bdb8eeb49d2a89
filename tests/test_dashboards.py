"""Dashboards: file format validation, the watched directory, the HTTP API and Grafana import."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.testclient import TestClient

from watchkeeper.dashboards import (
    BUILTIN_DIR,
    DashboardError,
    DashboardLibrary,
    NotFound,
    ReadOnly,
    convert_grafana,
    dashboard_routes,
    dump_dashboard,
    parse_dashboard,
)
from watchkeeper.dashboards.model import Panel, Row
from watchkeeper.promql.parser import parse as parse_promql

FIXTURES = Path(__file__).parent / "fixtures"
NODE_EXPORTER_FULL = FIXTURES / "grafana_node_exporter_full.json"
API = "/api/watchkeeper/v1/dashboards"


def _panel(**kw: Any) -> dict[str, Any]:
    return {"type": "timeseries", "title": "p", "targets": [{"expr": "up"}], **kw}


def _dash(**kw: Any) -> dict[str, Any]:
    return {"title": "T", "uid": "t", "panels": [_panel()], **kw}


# -- format ------------------------------------------------------------------------------------


def test_minimal_dashboard_gets_defaults_and_uid_from_file_name() -> None:
    d = parse_dashboard({"title": "Mine"}, default_uid="mine")
    assert (d.uid, d.time.from_, d.time.to, d.refresh) == ("mine", "now-1h", "now", "off")


def test_panels_without_grid_flow_left_to_right_and_wrap() -> None:
    d = parse_dashboard(_dash(panels=[_panel(), _panel(grid={"w": 8, "h": 4}), _panel(), _panel()]))
    grids = [(p.grid.x, p.grid.y, p.grid.w, p.grid.h) for p in d.panels if isinstance(p, Panel) and p.grid]
    assert grids == [(0, 0, 12, 8), (12, 0, 8, 4), (0, 8, 12, 8), (12, 8, 12, 8)]


def test_rows_hold_panels_and_grafana_threshold_form_is_accepted() -> None:
    th = {"mode": "percentage", "steps": [{"value": None, "color": "green"}, {"value": 80, "color": "red"}]}
    d = parse_dashboard(
        _dash(
            panels=[
                {
                    "type": "row",
                    "title": "R",
                    "collapsed": True,
                    "panels": [_panel(type="gauge", thresholds=th)],
                }
            ]
        )
    )
    row = d.panels[0]
    assert isinstance(row, Row) and row.collapsed
    assert row.panels[0].thresholds_mode == "percentage"
    assert [t.value for t in row.panels[0].thresholds] == [None, 80]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"panelz": []}, "panelz: Extra inputs are not permitted"),
        ({"title": ""}, "title: String should have at least 1 character"),
        ({"uid": "bad uid!"}, "uid: invalid uid 'bad uid!'"),
        ({"refresh": "soon"}, "refresh: invalid refresh 'soon'"),
        ({"time": {"from": "yesterday"}}, "time.from: invalid time 'yesterday'"),
        ({"panels": [_panel(type="piechart")]}, "panels[0].type: Input should be 'timeseries'"),
        (
            {"panels": [_panel(grid={"x": 20, "w": 10})]},
            "panels[0].grid: x + w = 30 is wider than the 24-column grid",
        ),
        ({"panels": [_panel(grid={"w": 0})]}, "panels[0].grid.w: Input should be greater than or equal to 1"),
        ({"panels": [_panel(options={"reduce": "last"})]}, "unknown option 'reduce' for a timeseries panel"),
        (
            {"panels": [_panel(type="stat", options={"reduce": "median"})]},
            "option reduce: 'median' is not one of",
        ),
        ({"panels": [_panel(min=5, max=1)]}, "min 5.0 is greater than max 1.0"),
        (
            {"panels": [_panel(thresholds=[{"value": 9, "color": "red"}, {"value": 1, "color": "green"}])]},
            "thresholds must be sorted by value",
        ),
        (
            {"panels": [_panel(targets=[{"expr": "up", "legnd": "x"}])]},
            "panels[0].targets[0].legnd: Extra inputs",
        ),
        ({"panels": [_panel(interval="5 minutes")]}, "panels[0].interval: invalid interval '5 minutes'"),
        (
            {"panels": [{"type": "row", "panels": [_panel(unit=3)]}]},
            "panels[0].panels[0].unit: Input should be a valid string",
        ),
        ({"variables": [{"name": "a", "type": "query"}]}, "query variable 'a' has no query"),
        (
            {
                "variables": [
                    {"name": "a", "type": "custom", "options": "x"},
                    {"name": "a", "type": "custom", "options": "y"},
                ]
            },
            "variable 'a' is defined twice",
        ),
        ({"variables": [{"name": "1a", "type": "custom", "options": "x"}]}, "invalid variable name '1a'"),
        (
            {"variables": [{"name": "i", "type": "interval", "options": ["1m", "often"]}]},
            "invalid interval option 'often'",
        ),
        (
            {"variables": [{"name": "q", "type": "query", "query": "up", "regex": "/(unclosed/"}]},
            "invalid regex",
        ),
    ],
)
def test_validation_errors_say_where_and_why(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DashboardError) as e:
        parse_dashboard(_dash(**change))
    assert message in str(e.value), e.value.problems


def test_compact_dump_round_trips_and_keeps_grids_explicit() -> None:
    d = parse_dashboard(_dash(panels=[_panel(), {"type": "row", "title": "r", "panels": [_panel()]}]))
    data = dump_dashboard(d, compact=True)
    assert data["panels"][0]["grid"] == {"x": 0, "y": 0, "w": 12, "h": 8}
    assert data["panels"][1]["panels"][0]["grid"] == {"x": 0, "y": 0, "w": 12, "h": 8}
    assert "refresh" not in data and "thresholds" not in data["panels"][0]
    assert dump_dashboard(parse_dashboard(data)) == dump_dashboard(d)


# -- library -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data))


def test_directory_loads_yaml_and_json_and_reports_bad_files(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", {"title": "A"})
    _write(tmp_path / "b.json", {"title": "B", "uid": "bee"})
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    _write(tmp_path / "invalid.yaml", {"title": "I", "panels": [{"type": "nope"}]})
    _write(tmp_path / "dup.yaml", {"title": "Dup", "uid": "bee"})
    (tmp_path / "notes.txt").write_text("ignored")
    lib = DashboardLibrary(tmp_path, builtin_dir=None)
    assert [e.uid for e in lib.list()] == ["a", "bee"]
    errors = {Path(e.file).name: e.error for e in lib.errors()}
    assert set(errors) == {"broken.yml", "invalid.yaml", "dup.yaml"}
    assert errors["broken.yml"].startswith("invalid YAML at line 2")
    assert "panels[0].type" in errors["invalid.yaml"]
    assert "uid 'bee' is already used by b.json" in errors["dup.yaml"]


def test_changes_are_picked_up_after_the_poll_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    lib = DashboardLibrary(tmp_path, builtin_dir=None, poll_interval=2.0, clock=clock)
    path = tmp_path / "a.yaml"
    _write(path, {"title": "One"})
    assert lib.get("a").dashboard.title == "One"
    _write(path, {"title": "Two"})
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
    assert lib.get("a").dashboard.title == "One"  # within the poll interval: no re-scan
    clock.now += 2.5
    assert lib.get("a").dashboard.title == "Two"
    path.unlink()
    clock.now += 2.5
    with pytest.raises(NotFound):
        lib.get("a")


def test_save_keeps_the_file_and_its_format_atomically(tmp_path: Path) -> None:
    _write(tmp_path / "j.json", {"title": "J"})
    lib = DashboardLibrary(tmp_path, builtin_dir=None)
    entry = lib.save("j", _dash(uid="j", title="J2"))
    assert entry.path == tmp_path / "j.json"
    assert json.loads((tmp_path / "j.json").read_text())["title"] == "J2"
    new = lib.save("fresh", {"title": "Fresh", "panels": []})
    assert new.path == tmp_path / "fresh.yaml" and yaml.safe_load(new.path.read_text())["uid"] == "fresh"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.yaml", "j.json"]  # no temporary files left
    with pytest.raises(DashboardError, match="differs from 'j'"):
        lib.save("j", _dash(uid="other"))
    with pytest.raises(DashboardError):
        lib.save("j", {"title": "J", "panels": [{"type": "bad"}]})
    assert json.loads((tmp_path / "j.json").read_text())["title"] == "J2"  # an invalid save changes nothing


def test_builtins_are_read_only_and_a_saved_copy_overrides_them(tmp_path: Path) -> None:
    lib = DashboardLibrary(tmp_path / "dashboards")
    assert lib.get("host").builtin
    with pytest.raises(ReadOnly):
        lib.delete("host")
    data = dump_dashboard(lib.get("host").dashboard)
    data["title"] = "My host"
    copy_entry = lib.save("host", data)
    assert not copy_entry.builtin and copy_entry.path == tmp_path / "dashboards" / "host.yaml"
    assert lib.get("host").dashboard.title == "My host"
    lib.delete("host")
    assert lib.get("host").builtin and lib.get("host").dashboard.title == "Host"


def test_without_a_directory_nothing_can_be_written() -> None:
    lib = DashboardLibrary(None)
    with pytest.raises(ReadOnly):
        lib.save("x", {"title": "X"})


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.iterdir()), ids=lambda p: p.name)
def test_builtin_dashboards_load_and_their_queries_parse(path: Path) -> None:
    dash = parse_dashboard(yaml.safe_load(path.read_text()), default_uid=path.stem)
    panels = [p for item in dash.panels for p in (item.panels if isinstance(item, Row) else [item])]
    assert len(panels) >= 10
    for p in panels:
        for t in p.targets:
            expr = (
                re.sub(r"\$__rate_interval|\$__interval", "1m", t.expr)
                .replace("$job", "j")
                .replace("$instance", "i")
            )
            parse_promql(expr)


# -- HTTP API ----------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    lib = DashboardLibrary(tmp_path / "dashboards", poll_interval=0)
    app = Starlette(routes=dashboard_routes(lib, scrape_interval_ms=lambda: 30_000))
    with TestClient(app) as c:
        yield c


def test_api_list_get_put_delete(client: TestClient, tmp_path: Path) -> None:
    listed = client.get(API).json()["data"]
    assert {d["uid"] for d in listed["dashboards"]} == {"host", "watchkeeper"} and listed["errors"] == []
    got = client.get(f"{API}/host").json()["data"]
    assert got["meta"]["builtin"] and got["meta"]["scrape_interval"] == "30s"
    assert got["dashboard"]["panels"][0]["type"] == "row"
    r = client.put(f"{API}/mine", json=_dash(uid="mine", title="Mine"))
    assert r.status_code == 200 and r.json()["data"]["meta"]["file"] == "mine.yaml"
    assert (tmp_path / "dashboards" / "mine.yaml").is_file()
    # The full document the API returns can be sent back unchanged (what the UI's save does).
    full = client.get(f"{API}/mine").json()["data"]["dashboard"]
    full["panels"][0]["title"] = "renamed"
    assert client.put(f"{API}/mine", json={"dashboard": full}).status_code == 200
    assert client.get(f"{API}/mine").json()["data"]["dashboard"]["panels"][0]["title"] == "renamed"
    assert client.delete(f"{API}/mine").json() == {"status": "success", "data": None}
    assert client.get(f"{API}/mine").status_code == 404


@pytest.mark.parametrize(
    "method, path, body, status, error",
    [
        ("GET", "/nope", None, 404, "dashboard 'nope' not found"),
        ("DELETE", "/host", None, 403, "built in and cannot be deleted"),
        ("PUT", "/x", {"title": "X", "panels": [{"type": "pie"}]}, 400, "invalid dashboard: panels[0].type"),
        ("PUT", "/x", {"title": "X", "uid": "y"}, 400, "differs from 'x'"),
        ("PUT", "/x", "not json{", 400, "request body is not valid JSON"),
        ("POST", "/import", {"title": "no panels"}, 400, "not a Grafana dashboard"),
    ],
)
def test_api_errors(client: TestClient, method: str, path: str, body: Any, status: int, error: str) -> None:
    content = body if isinstance(body, str) else json.dumps(body) if body is not None else None
    r = client.request(method, API + path, content=content)
    assert r.status_code == status
    doc = r.json()
    assert doc["status"] == "error" and error in doc["error"], doc


def test_api_import_saves_and_refuses_to_overwrite_unless_asked(client: TestClient) -> None:
    grafana = json.loads(NODE_EXPORTER_FULL.read_text())
    r = client.post(f"{API}/import", json=grafana)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["dashboard"]["uid"] == "rYdddlPWk" and data["meta"]["file"] == "rYdddlPWk.yaml"
    assert any("piechart" in n for n in data["notes"])
    again = client.post(f"{API}/import", json=grafana)
    assert again.status_code == 409 and "already exists" in again.json()["error"]
    assert client.post(f"{API}/import?overwrite=true", json=grafana).status_code == 200
    assert client.post(f"{API}/import", json={"dashboard": grafana, "overwrite": True}).status_code == 200


# -- Grafana import ----------------------------------------------------------------------------


def _flat(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for item in data["panels"] for p in (item["panels"] if item["type"] == "row" else [item])]


def test_node_exporter_full_imports_every_panel_unchanged() -> None:
    grafana = json.loads(NODE_EXPORTER_FULL.read_text())
    data, notes = convert_grafana(grafana)
    dash = parse_dashboard(data)
    source = [p for p in grafana["panels"] if p["type"] != "row"]
    source += [c for p in grafana["panels"] if p["type"] == "row" for c in p["panels"]]
    converted = _flat(data)
    assert len(converted) == len(source) == 27
    # Rows: the flat (expanded) ones gather the panels after them, collapsed ones keep theirs.
    assert [(r["title"], r["collapsed"], len(r["panels"])) for r in data["panels"]] == [
        ("Quick CPU / Mem / Disk", False, 11),
        ("Basic CPU / Mem / Net / Disk", False, 4),
        ("CPU / Memory / Net / Disk", True, 6),
        ("Memory Meminfo", True, 2),
        ("Systemd", True, 2),
        ("Network Netstat", True, 2),
    ]
    # Expressions and legends are carried over as they are, $__rate_interval and all.
    src_exprs = sorted(t["expr"] for p in source for t in p.get("targets", []))
    assert sorted(t["expr"] for p in converted for t in p.get("targets", [])) == src_exprs
    assert sum("$__rate_interval" in e for e in src_exprs) >= 15
    by_title = {p["title"]: p for p in converted}
    assert by_title["CPU Busy"]["type"] == "gauge" and by_title["CPU Busy"]["max"] == 100
    assert by_title["Uptime"]["unit"] == "s" and by_title["Uptime"]["targets"][0]["instant"] is True
    assert by_title["Pressure"]["type"] == "bargauge" and by_title["Pressure"]["unit"] == "percentunit"
    assert by_title["CPU Basic"]["options"]["stack"] == "percent"
    assert by_title["Network Traffic Basic"]["overrides"] == [{"match": "/.*trans.*/", "negative_y": True}]
    assert by_title["Network Traffic Basic"]["targets"][0]["legend"] == "recv {{device}}"
    assert by_title["Network Interfaces"]["type"] == "table"
    assert by_title["Systemd Units State"]["type"] == "placeholder"
    assert "piechart" in by_title["Systemd Units State"]["options"]["message"]
    # Grid positions inside rows count from the row.
    assert by_title["CPU Basic"]["grid"] == {"x": 0, "y": 0, "w": 12, "h": 7}
    assert by_title["Memory Active / Inactive"]["grid"] == {"x": 0, "y": 0, "w": 12, "h": 10}
    assert {v.name: (v.type, v.query or v.options) for v in dash.variables} == {
        "datasource": ("datasource", []),
        "job": ("query", "label_values(node_uname_info, job)"),
        "node": ("query", 'label_values(node_uname_info{job="$job"}, instance)'),
        "diskdevices": ("custom", "[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+"),
    }
    assert (dash.time.from_, dash.refresh, dash.uid, dash.tags) == ("now-24h", "1m", "rYdddlPWk", ["linux"])
    assert notes == [
        "panel 'Systemd Units State': panel type piechart is not supported; imported as a placeholder",
        "dashboard links are not imported",
    ]


def _grafana(*panels: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"title": "G", "uid": "g", "schemaVersion": 30, "panels": list(panels), **kw}


def _convert_one(panel: dict[str, Any]) -> dict[str, Any]:
    data, _ = convert_grafana(_grafana(panel))
    parse_dashboard(data)
    return data["panels"][0]


@pytest.mark.parametrize(
    "panel, expected",
    [
        (
            {
                "type": "singlestat",
                "format": "bytes",
                "valueName": "current",
                "sparkline": {"show": True},
                "thresholds": "80,90",
                "colors": ["green", "orange", "red"],
                "colorValue": True,
                "valueMaps": [
                    {"op": "=", "value": "0", "text": "down"},
                    {"op": "=", "value": "null", "text": "N/A"},
                ],
            },
            {
                "type": "stat",
                "unit": "bytes",
                "options": {"reduce": "last_not_null", "graph": True, "color_mode": "value"},
                "thresholds": [
                    {"value": None, "color": "green"},
                    {"value": 80.0, "color": "orange"},
                    {"value": 90.0, "color": "red"},
                ],
                "mappings": [{"value": "0", "text": "down"}],
            },
        ),
        (
            {
                "type": "singlestat",
                "gauge": {"show": True, "minValue": 0, "maxValue": 200},
                "valueName": "max",
            },
            {"type": "gauge", "min": 0.0, "max": 200.0, "options": {"reduce": "max"}},
        ),
        (
            {
                "type": "graph",
                "lines": True,
                "stack": True,
                "fill": 5,
                "linewidth": 2,
                "yaxes": [{"format": "Bps", "min": "0"}, {"format": "short"}],
                "seriesOverrides": [
                    {"alias": "/out/", "transform": "negative-Y"},
                    {"alias": "errors", "color": "#f00"},
                ],
            },
            {
                "type": "timeseries",
                "unit": "Bps",
                "min": 0.0,
                "options": {"fill": 0.5, "stack": True, "line_width": 2.0},
                "overrides": [{"match": "/out/", "negative_y": True}, {"match": "errors", "color": "#f00"}],
            },
        ),
        (
            {"type": "graph", "bars": True, "lines": False, "stack": True, "percentage": True},
            {"type": "timeseries", "options": {"draw": "bars", "stack": "percent"}},
        ),
        (
            {
                "type": "timeseries",
                "fieldConfig": {
                    "defaults": {
                        "unit": "ms",
                        "decimals": 1,
                        "min": 0,
                        "max": 10,
                        "custom": {"drawStyle": "points", "fillOpacity": 25},
                    },
                    "overrides": [
                        {
                            "matcher": {"id": "byName", "options": "x"},
                            "properties": [{"id": "custom.hideFrom", "value": {"viz": True}}],
                        }
                    ],
                },
                "options": {
                    "legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "lastNotNull"]}
                },
            },
            {
                "type": "timeseries",
                "unit": "ms",
                "decimals": 1,
                "min": 0.0,
                "max": 10.0,
                "overrides": [{"match": "x", "hidden": True}],
                "options": {
                    "draw": "points",
                    "fill": 0.25,
                    "legend": {"show": True, "placement": "right", "calcs": ["mean", "last"]},
                },
            },
        ),
        (
            {
                "type": "stat",
                "options": {
                    "reduceOptions": {"calcs": ["max"]},
                    "graphMode": "none",
                    "colorMode": "background",
                },
                "fieldConfig": {
                    "defaults": {
                        "mappings": [
                            {"type": "value", "options": {"1": {"text": "Up", "color": "green"}}},
                            {"type": "range", "options": {"from": 5, "to": 10, "result": {"text": "high"}}},
                        ]
                    }
                },
            },
            {
                "type": "stat",
                "options": {"reduce": "max", "graph": False, "color_mode": "background"},
                "mappings": [
                    {"value": "1", "text": "Up", "color": "green"},
                    {"from": 5.0, "to": 10.0, "text": "high"},
                ],
            },
        ),
        (
            {
                "type": "bargauge",
                "options": {"orientation": "vertical", "reduceOptions": {"calcs": ["mean"]}},
            },
            {"type": "bargauge", "options": {"reduce": "mean", "orientation": "vertical"}},
        ),
        ({"type": "table-old"}, {"type": "table"}),
        (
            {"type": "heatmap", "color": {"colorScheme": "interpolateBlues"}},
            {"type": "heatmap", "options": {"scheme": "blues"}},
        ),
        (
            {"type": "text", "options": {"content": "# Hello"}},
            {"type": "text", "options": {"content": "# Hello"}},
        ),
        (
            {"type": "grafana-worldmap-panel", "title": "Map"},
            {
                "type": "placeholder",
                "options": {
                    "message": "Panel type “grafana-worldmap-panel” is not supported by watchkeeper.",
                    "original_type": "grafana-worldmap-panel",
                },
            },
        ),
        (
            {"type": "gauge", "gridPos": {"x": 20, "y": 3, "w": 10, "h": 0}},
            {"grid": {"x": 14, "y": 3, "w": 10, "h": 8}},
        ),
        (
            {"type": "gauge", "gridPos": {"x": 2, "y": 1, "w": 30, "h": 500}},
            {"grid": {"x": 0, "y": 1, "w": 24, "h": 200}},
        ),
    ],
)
def test_grafana_panel_conversion(panel: dict[str, Any], expected: dict[str, Any]) -> None:
    out = _convert_one(panel)
    for key, value in expected.items():
        assert out[key] == value, (key, out)


def test_grafana_targets_keep_queries_and_drop_non_promql_ones() -> None:
    panel = {
        "type": "timeseries",
        "title": "t",
        "interval": "30s",
        "maxDataPoints": 500,
        "targets": [
            {
                "expr": "rate(x[$__rate_interval])",
                "legendFormat": "{{a}}",
                "refId": "Q",
                "interval": "1m",
                "instant": True,
                "hide": True,
                "format": "time_series",
            },
            {"expr": "y", "legendFormat": "__auto"},
            {"refId": "C", "rawSql": "select 1"},
        ],
    }
    data, notes = convert_grafana(_grafana(panel))
    out = data["panels"][0]
    assert out["targets"] == [
        {
            "expr": "rate(x[$__rate_interval])",
            "ref": "Q",
            "legend": "{{a}}",
            "instant": True,
            "interval": "1m",
            "hide": True,
            "format": "time_series",
        },
        {"expr": "y", "ref": "B"},
    ]
    assert (out["interval"], out["max_data_points"]) == ("30s", 500)
    assert notes == ["panel 't': 1 target(s) without a PromQL `expr` left out"]


def test_grafana_variables() -> None:
    templating = {
        "list": [
            {
                "type": "query",
                "name": "job",
                "query": "label_values(up, job)",
                "multi": True,
                "includeAll": True,
                "allValue": ".+",
                "current": {"text": "All", "value": ["$__all"]},
                "sort": 4,
                "regex": "/(.*)/",
            },
            {"type": "query", "name": "q", "query": {"query": "query_result(up)", "refId": "x"}, "hide": 2},
            {"type": "custom", "name": "env", "query": "prod,staging", "current": {"value": "prod"}},
            {
                "type": "interval",
                "name": "iv",
                "query": "1m,10m,1h",
                "auto": True,
                "auto_count": 30,
                "auto_min": "1m",
            },
            {"type": "constant", "name": "c", "query": "42"},
            {"type": "textbox", "name": "tb", "query": "hello"},
            {"type": "datasource", "name": "ds", "query": "prometheus"},
            {"type": "adhoc", "name": "filters"},
            {"type": "query", "name": "bad-name", "query": "up"},
        ]
    }
    data, notes = convert_grafana(_grafana(templating=templating))
    dash = parse_dashboard(data)
    got = {v.name: v.model_dump(exclude_defaults=True) for v in dash.variables}
    assert got == {
        "job": {
            "name": "job",
            "type": "query",
            "query": "label_values(up, job)",
            "regex": "/(.*)/",
            "sort": "numeric-desc",
            "multi": True,
            "include_all": True,
            "all_value": ".+",
            "current": ["$__all"],
        },
        "q": {"name": "q", "type": "query", "hide": True, "query": "query_result(up)"},
        "env": {"name": "env", "type": "custom", "options": "prod,staging", "current": "prod"},
        "iv": {
            "name": "iv",
            "type": "interval",
            "options": ["1m", "10m", "1h"],
            "auto": True,
            "auto_count": 30,
            "auto_min": "1m",
        },
        "c": {"name": "c", "type": "constant", "hide": True, "value": "42"},
        "tb": {"name": "tb", "type": "textbox", "value": "hello"},
        "ds": {"name": "ds", "type": "datasource", "hide": True},
    }
    assert notes == [
        "variable filters: variables of type adhoc are not supported; left out",
        "variable bad-name: the name is not usable as a variable; left out",
    ]


def test_grafana_old_rows_and_dashboard_fields() -> None:
    old = {
        "title": "Old one!",
        "schemaVersion": 14,
        "time": {"from": "now/d", "to": "now/d"},
        "refresh": False,
        "annotations": {"list": [{"name": "deploys", "expr": "changes(x[1m])"}]},
        "rows": [
            {
                "title": "R1",
                "height": "300px",
                "collapse": True,
                "panels": [
                    {"type": "graph", "span": 6, "targets": [{"expr": "a"}]},
                    {"type": "singlestat", "span": 6, "targets": [{"expr": "b"}]},
                    {"type": "graph", "span": 12, "targets": [{"expr": "c"}]},
                ],
            }
        ],
    }
    data, notes = convert_grafana(old)
    dash = parse_dashboard(data)
    assert (dash.uid, dash.refresh, dash.time.from_) == ("old-one", "off", "now-6h")
    row = dash.panels[0]
    assert isinstance(row, Row) and row.collapsed and row.title == "R1"
    assert [(p.grid.x, p.grid.y, p.grid.w, p.grid.h) for p in row.panels if p.grid] == [
        (0, 0, 12, 10),
        (12, 0, 12, 10),
        (0, 10, 24, 10),
    ]
    assert notes == [
        "time: range now/d to now/d is not supported; using the last 6 hours",
        "1 annotation queries are not imported",
    ]


def test_grafana_flat_rows_make_positions_relative() -> None:
    panels = [
        _panel_g("a", 0),
        {"type": "row", "title": "R", "gridPos": {"y": 8, "h": 1, "w": 24}, "panels": []},
        _panel_g("b", 9),
        _panel_g("c", 17),
    ]
    data, _ = convert_grafana(_grafana(*panels))
    assert data["panels"][0]["title"] == "a" and data["panels"][0]["grid"]["y"] == 0
    row = data["panels"][1]
    assert [(p["title"], p["grid"]["y"]) for p in row["panels"]] == [("b", 0), ("c", 8)]


def _panel_g(title: str, y: int) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 8},
        "targets": [{"expr": "up"}],
    }


@pytest.mark.parametrize("doc", [[], {"title": "x"}, "text", {"dashboard": {"title": "x"}}])
def test_grafana_import_rejects_what_is_not_a_dashboard(doc: Any) -> None:
    with pytest.raises(ValueError, match="not a Grafana dashboard"):
        convert_grafana(doc)


def test_grafana_import_does_not_modify_its_input() -> None:
    grafana = json.loads(NODE_EXPORTER_FULL.read_text())
    before = copy.deepcopy(grafana)
    convert_grafana({"dashboard": grafana})
    assert grafana == before
