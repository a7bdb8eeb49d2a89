"""The web UI's server side: page shell, static assets, and the /api/v1/stream WebSocket protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson
import pytest
from starlette.testclient import TestClient

from watchkeeper.alerting.config import load_config
from watchkeeper.alerting.service import AlertmanagerService
from watchkeeper.api.alertmanager_v2 import alertmanager_v2_routes
from watchkeeper.api.app import create_app
from watchkeeper.api.context import ApiContext
from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.promql.engine import Engine
from watchkeeper.storage.db import TSDB
from watchkeeper.web import UI_PATHS, create_web_routes, static_dir
from watchkeeper.web.status import StatusSampler, dir_bytes
from watchkeeper.web.stream import MAX_SUBSCRIPTIONS

BUILT = (static_dir() / "app.js").is_file()
needs_assets = pytest.mark.skipif(not BUILT, reason="web UI not built (pip install . or npm run build)")


class _Targets:
    def targets(self, state: str = "any", scrape_pool: str = "") -> dict:
        return {"activeTargets": [{"health": "up"}, {"health": "up"}, {"health": "down"}],
                "droppedTargets": []}


def _context(db: TSDB, pool: ThreadPoolExecutor) -> ApiContext:
    async def reload() -> None:
        return None

    return ApiContext(
        storage=db, engine=Engine(timeout_s=10), executor=pool, lookback_ms=lambda: 300_000,
        external_labels=dict, config_yaml=lambda: "", flags={}, runtime_info=dict,
        scrape_manager=_Targets, reload=reload, is_ready=lambda: True, own_metrics=lambda: b"")


def _load(db: TSDB, now_ms: int) -> None:
    """Two series of a counter, one sample every 5 s over the last 10 minutes."""
    n = 121
    t = np.tile(now_ms - 600_000 + np.arange(n) * 5_000, 2)
    v = np.concatenate([np.arange(n) * 1.0, np.arange(n) * 2.0])
    labels = [Labels({"__name__": "demo_total", "instance": i}) for i in ("a", "b")]
    db.append(SampleBatch(labels, np.repeat(np.arange(2), n), t, v))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[TestClient, ApiContext]]:
    db = TSDB(tmp_path / "data")
    _load(db, int(time.time() * 1000))
    with ThreadPoolExecutor(2) as pool:
        ctx = _context(db, pool)
        with TestClient(create_app(ctx)) as client:
            yield client, ctx
    db.close()


@needs_assets
def test_every_page_path_serves_the_shell(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    for path in UI_PATHS:
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert '<div id="app"></div>' in r.text and "/static/app.js?v=" in r.text


@needs_assets
def test_static_assets_are_served(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "uPlot" in js.text or "u-legend" in js.text  # the charting library is bundled
    css = client.get("/static/app.css")
    assert css.status_code == 200 and ".u-legend" in css.text  # uPlot's stylesheet is bundled too


def test_api_routes_keep_precedence(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    r = client.get("/api/v1/query", params={"query": "count(demo_total)"})
    assert r.json()["data"]["result"][0]["value"][1] == "2"
    assert client.get("/api/v1/nonexistent").status_code == 404


def test_missing_assets_explain_how_to_build(tmp_path: Path) -> None:
    db = TSDB(None)
    with ThreadPoolExecutor(1) as pool:
        from starlette.applications import Starlette

        app = Starlette(routes=create_web_routes(_context(db, pool), directory=tmp_path / "nothing"))
        with TestClient(app) as client:
            r = client.get("/graph")
            assert r.status_code == 503 and "pip install ." in r.text
            assert client.get("/static/app.js").status_code == 404
    db.close()


def test_status_snapshot_counts_targets_series_and_bytes(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, ctx = env
    sampler = StatusSampler(ctx)
    first = sampler.sample()
    assert first["ingestRate"] is None  # one snapshot has nothing to compare with
    assert first["targets"] == {"up": 2, "down": 1, "unknown": 0}
    assert first["alerts"] == {"firing": {}, "pending": 0}  # this server runs no rules
    assert first["headSeries"] == 2 and first["headSamples"] == 242
    assert first["storageBytes"] == dir_bytes(tmp_path / "data") > 0  # the WAL holds the samples
    now = int(time.time() * 1000)
    ctx.storage.append(SampleBatch([Labels({"__name__": "x"})], np.zeros(50, np.int64),
                                   now + np.arange(50, dtype=np.int64), np.ones(50)))
    second = sampler.sample()
    assert second["headSamples"] == 292
    assert second["ingestRate"] > 0


def test_stream_status_channel(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"type": "subscribe", "id": "s", "channel": "status"})
        msg = ws.receive_json()
        assert msg["type"] == "status" and msg["id"] == "s"
        assert msg["data"]["headSeries"] == 2 and msg["data"]["targets"]["down"] == 1
        t0 = time.monotonic()
        again = ws.receive_json()  # pushed again within the promised 2 s
        assert again["type"] == "status" and time.monotonic() - t0 < 2.0


def test_stream_query_channel_sends_history_then_new_points(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"type": "subscribe", "id": "q", "channel": "query", "query": "demo_total",
                      "range": 300, "step": 1})
        first = ws.receive_json()
        assert first["type"] == "range" and first["data"]["resultType"] == "matrix"
        series = {s["metric"]["instance"]: s["values"] for s in first["data"]["result"]}
        assert set(series) == {"a", "b"} and len(series["a"]) > 50
        nxt = ws.receive_json()
        assert nxt["type"] == "points" and nxt["data"]["resultType"] == "vector"
        assert {s["metric"]["instance"] for s in nxt["data"]["result"]} == {"a", "b"}
        assert nxt["data"]["result"][0]["value"][0] >= series["a"][-1][0]


def test_stream_reports_bad_requests_per_subscription(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "subscribe", "id": "c", "channel": "nope"})
        assert ws.receive_json() == {"type": "error", "id": "c", "error": "unknown channel 'nope'"}
        ws.send_json({"type": "subscribe", "id": "e", "channel": "query", "query": "sum(", "step": 1})
        err = ws.receive_json()
        assert err["type"] == "error" and err["id"] == "e" and "parse error" in err["error"]
        ws.send_json({"type": "subscribe", "id": "r", "channel": "query", "query": "up", "range": 10**9,
                      "step": 1})
        assert "points" in ws.receive_json()["error"]
        ws.send_json({"type": "subscribe", "id": "x", "channel": "query", "query": "up", "step": "5s"})
        assert ws.receive_json()["error"] == "step must be a number of seconds"


def test_stream_unsubscribe_and_subscription_limit(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    with client.websocket_connect("/api/v1/stream") as ws:
        for i in range(MAX_SUBSCRIPTIONS):
            ws.send_json({"type": "subscribe", "id": f"q{i}", "channel": "query", "query": "1", "step": 60})
            assert ws.receive_json()["type"] == "points"  # the current value, then nothing for 60 s
        ws.send_json({"type": "subscribe", "id": "over", "channel": "query", "query": "1", "step": 60})
        assert ws.receive_json() == {"type": "error", "id": "over",
                                     "error": f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"}
        ws.send_json({"type": "unsubscribe", "id": "q0"})
        ws.send_json({"type": "subscribe", "id": "s", "channel": "status"})
        assert ws.receive_json()["type"] == "status"  # room again after the unsubscribe


def test_stream_failed_subscription_frees_its_slot_and_binary_frames_work(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    failing = 'label_replace(vector(1), "x", "y", "z", "(")'  # parses, fails when evaluated
    with client.websocket_connect("/api/v1/stream") as ws:
        for i in range(MAX_SUBSCRIPTIONS + 1):  # each ends at once, so none keeps its slot
            ws.send_bytes(orjson.dumps({"type": "subscribe", "id": f"e{i}", "channel": "query",
                                        "query": failing, "step": 60}))
            reply = ws.receive_json()
            assert reply["id"] == f"e{i}" and "invalid regular expression" in reply["error"]


def test_stream_query_without_history_sends_the_current_value_at_once(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    with client.websocket_connect("/api/v1/stream") as ws:
        t0 = time.monotonic()
        ws.send_json({"type": "subscribe", "id": "q", "channel": "query", "query": "count(demo_total)",
                      "step": 60})
        msg = ws.receive_json()
        assert time.monotonic() - t0 < 5
        assert msg["type"] == "points" and msg["data"]["result"][0]["value"][1] == "2"


# -- the alerts and events channels (an in-process Alertmanager) ------------------------------------

AM_CONFIG = """route: {receiver: default, group_by: [alertname], group_wait: 1h}
receivers: [{name: default}]
"""


@pytest.fixture
def am_env(tmp_path: Path) -> Iterator[tuple[TestClient, AlertmanagerService]]:
    from starlette.applications import Starlette

    db = TSDB(None)
    svc = AlertmanagerService(load_config(AM_CONFIG))
    with ThreadPoolExecutor(1) as pool:
        ctx = _context(db, pool)
        ctx.alertmanager = lambda: svc
        app = Starlette(routes=[*alertmanager_v2_routes(svc), *create_web_routes(ctx)])
        with TestClient(app) as client:
            yield client, svc
    db.close()


def _post_alerts(client: TestClient, *labelsets: dict[str, str], resolved: bool = False) -> None:
    now = time.time()
    body = [{"labels": ls, "annotations": {"summary": "s"},
             **({"endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 1))} if resolved else {})}
            for ls in labelsets]
    assert client.post("/api/v2/alerts", json=body).status_code == 200


@needs_assets
def test_shell_tells_the_app_whether_an_alertmanager_runs(env, am_env) -> None:  # type: ignore[no-untyped-def]
    without, _ = env
    with_am, _ = am_env
    assert '<meta name="watchkeeper-features" content="">' in without.get("/alerts").text
    assert '<meta name="watchkeeper-features" content="alertmanager">' in with_am.get("/silences").text


def test_stream_alerts_channel_sends_alerts_groups_then_changes(am_env) -> None:  # type: ignore[no-untyped-def]
    client, _ = am_env
    _post_alerts(client, {"alertname": "A", "instance": "1", "severity": "critical"},
                 {"alertname": "A", "instance": "2", "severity": "critical"},
                 {"alertname": "B", "instance": "1", "severity": "warning"})
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"type": "subscribe", "id": "a", "channel": "alerts"})
        first = ws.receive_json()
        assert first["type"] == "alerts" and first["data"]["full"] is True
        alerts = {a["fingerprint"]: a for a in first["data"]["alerts"]}
        assert len(alerts) == 3 and first["data"]["removed"] == []
        assert all(a["status"]["state"] == "active" and a["receivers"] == [{"name": "default"}]
                   for a in alerts.values())
        groups = {g["labels"]["alertname"]: g for g in first["data"]["groups"]}
        assert set(groups) == {"A", "B"} and len(groups["A"]["fingerprints"]) == 2
        assert groups["A"]["receiver"] == {"name": "default"}
        # A silence changes one alert's status; a resolve removes another; nothing else is re-sent.
        silence = {"matchers": [{"name": "alertname", "value": "B", "isRegex": False, "isEqual": True}],
                   "startsAt": "2000-01-01T00:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
                   "createdBy": "test", "comment": "quiet"}
        sid = client.post("/api/v2/silences", json=silence).json()["silenceID"]
        _post_alerts(client, {"alertname": "A", "instance": "2", "severity": "critical"}, resolved=True)
        t0 = time.monotonic()
        seen_silenced, removed = False, []
        while not (seen_silenced and removed) and time.monotonic() - t0 < 5:
            msg = ws.receive_json()
            assert msg["data"]["full"] is False
            for a in msg["data"]["alerts"]:
                assert a["labels"]["alertname"] == "B"
                seen_silenced = a["status"] == {"state": "suppressed", "silencedBy": [sid], "inhibitedBy": []}
            removed += msg["data"]["removed"]
            if "groups" in msg["data"]:
                assert {g["labels"]["alertname"]: len(g["fingerprints"]) for g in msg["data"]["groups"]} \
                    == {"A": 1, "B": 1}
        assert seen_silenced and len(removed) == 1 and alerts[removed[0]]["labels"]["instance"] == "2"
        assert time.monotonic() - t0 < 2.5  # at most ~2 s behind


def test_stream_alerts_channel_filters_by_matchers(am_env) -> None:  # type: ignore[no-untyped-def]
    client, _ = am_env
    _post_alerts(client, {"alertname": "A", "severity": "critical"}, {"alertname": "B", "severity": "info"})
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"type": "subscribe", "id": "a", "channel": "alerts", "filter": ['severity=~"crit.*"']})
        data = ws.receive_json()["data"]
        assert [a["labels"]["alertname"] for a in data["alerts"]] == ["A"]
        assert [g["labels"] for g in data["groups"]] == [{"alertname": "A"}]
        ws.send_json({"type": "subscribe", "id": "b", "channel": "alerts", "filter": "severity=~("})
        err = ws.receive_json()
        assert err["id"] == "b" and "bad matcher" in err["error"]
        ws.send_json({"type": "subscribe", "id": "c", "channel": "events", "history": 5000})
        assert ws.receive_json() == {"type": "error", "id": "c",
                                     "error": "history must be a whole number from 0 to 1000"}
        ws.send_json({"type": "subscribe", "id": "d", "channel": "events", "kind": 3})
        assert ws.receive_json()["error"] == "kind must be a string or a list of them"


def test_stream_events_channel_sends_history_then_new_entries(am_env) -> None:  # type: ignore[no-untyped-def]
    client, _ = am_env
    _post_alerts(client, {"alertname": "Old", "team": "x"}, {"alertname": "Other", "team": "y"})
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"type": "subscribe", "id": "e", "channel": "events", "history": 10,
                      "kind": ["alert"], "filter": ['team="x"']})
        first = ws.receive_json()
        assert first["type"] == "events" and first["data"]["initial"] is True
        assert [e["labels"]["alertname"] for e in first["data"]["events"]] == ["Old"]
        assert first["data"]["events"][0]["time"].endswith("Z")
        t0 = time.monotonic()
        _post_alerts(client, {"alertname": "New", "team": "x"}, {"alertname": "Hidden", "team": "y"})
        nxt = ws.receive_json()
        assert time.monotonic() - t0 < 2.5
        assert nxt["data"]["initial"] is False and nxt["data"]["dropped"] == 0
        assert [(e["kind"], e["labels"]["alertname"], e["status"]) for e in nxt["data"]["events"]] \
            == [("alert", "New", "firing")]
        # A silence is an event of its own kind, outside this subscription's filter.
        ws.send_json({"type": "subscribe", "id": "s", "channel": "events", "kind": "silence"})
        assert ws.receive_json()["data"] == {"initial": True, "events": [], "dropped": 0}
        silence = {"matchers": [{"name": "team", "value": "x", "isRegex": False}],
                   "startsAt": "2000-01-01T00:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
                   "createdBy": "t", "comment": "c"}
        client.post("/api/v2/silences", json=silence)
        msg = ws.receive_json()
        assert msg["id"] == "s" and msg["data"]["events"][0]["action"] == "created"


def test_event_cursor_bounds_a_push_and_sends_nothing_twice() -> None:
    from watchkeeper.web.feeds import EventCursor
    from watchkeeper.web.stream import _events_message

    clock = iter(range(10**6))
    svc = AlertmanagerService(load_config(AM_CONFIG), clock=lambda: 1_000_000_000_000 + next(clock) // 3)
    cursor = EventCursor([], set(), None, None)
    assert cursor.start(svc, 5) == []
    for i in range(700):  # three events share each clock value
        svc.events.record("alert", labels={"n": str(i)})
    fresh = cursor.poll(svc)
    assert [e["labels"]["n"] for e in fresh] == [str(i) for i in range(700)]
    data = orjson.loads(_events_message("x", fresh, initial=False))["data"]
    assert data["dropped"] == 200 and len(data["events"]) == 500
    assert data["events"][-1]["labels"]["n"] == "699"
    svc.events.record("alert", labels={"n": "new"})
    assert [e["labels"]["n"] for e in cursor.poll(svc)] == ["new"]
    assert cursor.poll(svc) == []


def test_alerts_and_events_channels_need_an_alertmanager(env) -> None:  # type: ignore[no-untyped-def]
    client, _ = env
    with client.websocket_connect("/api/v1/stream") as ws:
        ws.send_json({"type": "subscribe", "id": "a", "channel": "alerts"})
        assert "runs no Alertmanager" in ws.receive_json()["error"]


def test_alert_feed_resends_alerts_whose_receivers_a_reload_changed() -> None:
    from watchkeeper.alerting.alert import Alert
    from watchkeeper.web.feeds import AlertCursor, AlertFeed

    svc = AlertmanagerService(load_config(AM_CONFIG))
    now = time.time_ns()
    svc.put_alerts([Alert(labels={"alertname": "A"}, starts_at=now, updated_at=now)])
    feed, cursor = AlertFeed(svc, 0.0), AlertCursor([])
    first = orjson.loads(cursor.update(feed.snapshot()) or "null")
    assert first["alerts"][0]["receivers"] == [{"name": "default"}]
    assert cursor.update(feed.snapshot()) is None  # nothing changed
    svc.reload(load_config("route: {receiver: other}\nreceivers: [{name: other}]\n"))
    svc.put_alerts([Alert(labels={"alertname": "A"}, starts_at=now, updated_at=now)])
    again = orjson.loads(cursor.update(feed.snapshot()) or "null")
    assert again["full"] is False and again["alerts"][0]["receivers"] == [{"name": "other"}]
    assert again["groups"][0]["receiver"] == {"name": "other"}
