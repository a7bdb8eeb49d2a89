"""The running engine: the recorded Alertmanager 0.25 timing run through the whole service (fake clock,
webhook bodies compared field by field), retries, per-integration isolation, drop-oldest, persistence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance_data import CONFORMANCE
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.config import load_config, load_config_file
from watchkeeper.alerting.matchers import parse_matchers
from watchkeeper.alerting.notify import RetryPolicy
from watchkeeper.alerting.service import AlertmanagerService
from watchkeeper.alerting.silences import Silence

SCEN = CONFORMANCE / "alertmanager" / "scenarios"
S = 1_000_000_000
T0 = 1_800_000_000 * S
FAST = RetryPolicy(initial=0.001, maximum=0.004, give_up_after=0.5)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class Recorder:
    """An httpx transport that records requests and answers with ``respond(request) -> status``."""

    def __init__(self, respond: Callable[[httpx.Request], int] = lambda r: 200) -> None:
        self.requests: list[tuple[float, httpx.Request, Any]] = []
        self.respond = respond
        self.clock: Clock | None = None

    def handler(self, request: httpx.Request) -> httpx.Response:
        t = (self.clock.now - T0) / S if self.clock else 0.0
        self.requests.append((t, request, json.loads(request.content)))
        return httpx.Response(self.respond(request))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def make_service(cfg_text_or_path: str | Path, rec: Recorder, clock: Clock, **kw: Any) -> AlertmanagerService:
    if isinstance(cfg_text_or_path, Path):
        cfg = load_config_file(cfg_text_or_path)
    else:
        cfg = load_config(cfg_text_or_path)
    rec.clock = clock
    return AlertmanagerService(cfg, clock=clock, client=rec.client(), external_url="http://vm:19093",
                               retry=FAST, **kw)


async def advance(svc: AlertmanagerService, clock: Clock, t: float) -> None:
    """Run every group tick up to ``T0 + t`` at its own time, waiting for delivery after each."""
    target = T0 + round(t * S)
    for _ in range(10_000):
        deadline = svc.dispatcher.next_deadline()
        if deadline is None or deadline > target:
            break
        clock.now = deadline
        svc.tick(deadline)
        await svc.notifier.drain()
    clock.now = target


def firing(name: str, **labels: str) -> Alert:
    return Alert(labels={"alertname": name, **labels}, annotations={"summary": f"s {labels.get('instance')}"},
                 generator_url="http://gen/x")


def resolved(name: str, t: float, **labels: str) -> Alert:
    a = firing(name, **labels)
    return Alert(labels=a.labels, annotations=a.annotations, generator_url=a.generator_url,
                 ends_at=T0 + round(t * S))


def _strip_times(payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    out["alerts"] = [
        {k: v for k, v in a.items() if k not in ("startsAt", "endsAt")} for a in payload["alerts"]
    ]
    out["ends"] = [a["endsAt"] == "0001-01-01T00:00:00Z" for a in payload["alerts"]]
    return out


@pytest.mark.skipif(not SCEN.is_dir(), reason="conformance data not present")
def test_recorded_timing_run_end_to_end() -> None:
    async def scenario() -> list[tuple[int, str, dict[str, Any]]]:
        clock, rec = Clock(), Recorder()
        svc = make_service(SCEN / "timing-config.yml", rec, clock)
        svc.silences.set(Silence(tuple(parse_matchers('alertname="G5"')), T0 - S, T0 + 3600 * S))
        svc.put_alerts([
            firing("G1", instance="a"),
            Alert(labels={"alertname": "G2", "instance": "old"}, annotations={"summary": "s old"},
                  starts_at=T0 - 60 * S, generator_url="http://gen/x"),
            firing("G3", instance="flap"),
            firing("G4src", severity="critical", instance="x"),
            firing("G4", severity="warning", instance="x"),
            firing("G4", severity="warning", instance="y"),
            firing("G5", instance="s"),
            firing("G6", team="nores", instance="n"),
        ])
        await advance(svc, clock, 1)
        svc.put_alerts([firing("G1", instance="b"), resolved("G3", 1, instance="flap")])
        await advance(svc, clock, 3)
        svc.put_alerts([firing("G1", instance="c"), resolved("G6", 3, team="nores", instance="n")])
        await advance(svc, clock, 20)
        svc.put_alerts([resolved("G1", 20, instance="a")])
        await advance(svc, clock, 29)
        await svc.stop()
        return [(round(t), r.url.path, body) for t, r, body in rec.requests]

    got = asyncio.run(scenario())
    run = json.loads((SCEN / "timing-run-am0.25.json").read_text())
    want = [(round(n["t_rel_s"]), n["path"], n["payload"]) for n in run["notifications"]]

    def key(x: tuple[int, str, dict[str, Any]]) -> tuple[int, str, str]:
        return (x[0], x[1], x[2]["groupKey"])

    got.sort(key=key)
    want.sort(key=key)
    assert [key(g) for g in got] == [key(w) for w in want]
    for (_, _, g), (_, _, w) in zip(got, want, strict=True):
        assert _strip_times(g) == _strip_times(w)


ONE = """
route:
  receiver: a
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
  routes:
    - matchers: [team="b"]
      receiver: b
receivers:
  - name: a
    webhook_configs: [{url: 'http://a.example/hook'}]
  - name: b
    webhook_configs: [{url: 'http://b.example/hook'}]
"""


def test_retryable_errors_are_retried_until_success() -> None:
    answers = iter([503, 429, 200])

    async def scenario() -> tuple[Recorder, str]:
        clock, rec = Clock(), Recorder(lambda r: next(answers))
        svc = make_service(ONE, rec, clock)
        svc.put_alerts([firing("A", instance="1")])
        await advance(svc, clock, 1)
        await advance(svc, clock, 60)  # logged once: no resend within repeat_interval
        text = svc.metrics_text()
        await svc.stop()
        return rec, text

    rec, text = asyncio.run(scenario())
    assert len(rec.requests) == 3
    assert 'alertmanager_notifications_total{integration="webhook"} 1' in text
    assert 'alertmanager_notifications_failed_total{integration="webhook"} 0' in text
    assert 'alertmanager_notification_requests_failed_total{integration="webhook"} 2' in text


def test_final_error_is_not_retried_and_not_logged() -> None:
    async def scenario() -> tuple[Recorder, str]:
        clock, rec = Clock(), Recorder(lambda r: 400)
        svc = make_service(ONE, rec, clock)
        svc.put_alerts([firing("A", instance="1")])
        await advance(svc, clock, 1)
        assert len(rec.requests) == 1
        await advance(svc, clock, 6)  # the failed notification was not logged: the next tick retries it
        text = svc.metrics_text()
        await svc.stop()
        return rec, text

    rec, text = asyncio.run(scenario())
    assert len(rec.requests) == 2
    assert 'alertmanager_notifications_failed_total{integration="webhook"} 2' in text


def test_a_hanging_channel_does_not_hold_up_others_and_drops_oldest() -> None:
    async def scenario() -> tuple[list[str], list[str], str]:
        release = asyncio.Event()
        seen: list[str] = []
        names: list[str] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request.url.host)
            names.append(json.loads(request.content)["groupLabels"]["alertname"])
            if request.url.host == "a.example":
                await release.wait()
            return httpx.Response(200)

        clock = Clock()
        svc = AlertmanagerService(load_config(ONE), clock=clock, retry=FAST, queue_capacity=1,
                                  client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
        # Three groups for receiver a queue up before its worker runs: with room for one, the two oldest
        # are dropped and the newest is delivered (and then hangs).
        for i in range(3):
            svc.put_alerts([firing(f"A{i}", instance="1")])
        svc.put_alerts([firing("B", team="b", instance="1")])
        clock.now = T0 + S
        svc.tick()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if "b.example" in seen:
                break
        hosts_before_release = list(seen)
        release.set()
        await svc.notifier.drain()
        text = svc.metrics_text()
        await svc.stop()
        return hosts_before_release, names, text

    before, names, text = asyncio.run(scenario())
    assert before == ["a.example", "b.example"]
    assert names == ["A2", "B"]
    assert 'watchkeeper_notifications_dropped_total{integration="webhook"} 2' in text


def test_restart_keeps_alerts_sends_no_duplicate_and_loses_no_resolve(tmp_path: Path) -> None:
    cfg = ONE.replace("webhook_configs: [{url: 'http://a.example/hook'}]",
                      "webhook_configs: [{url: 'http://a.example/hook', send_resolved: true}]")

    async def first() -> int:
        clock, rec = Clock(), Recorder()
        svc = make_service(cfg, rec, clock, data_dir=tmp_path)
        svc.put_alerts([firing("A", instance="1"), firing("A", instance="2")])
        await advance(svc, clock, 2)
        await svc.stop()
        return len(rec.requests)

    async def second() -> list[dict[str, Any]]:
        clock, rec = Clock(), Recorder()
        clock.now = T0 + 30 * S
        svc = make_service(cfg, rec, clock, data_dir=tmp_path)
        assert len(svc.dispatcher.alerts) == 2
        await advance(svc, clock, 40)  # the group re-forms and ticks: nothing new, so nothing is sent
        assert rec.requests == []
        svc.put_alerts([resolved("A", 40, instance="1")])
        await advance(svc, clock, 50)
        await svc.stop()
        return [body for _, _, body in rec.requests]

    assert asyncio.run(first()) == 1
    bodies = asyncio.run(second())
    assert [[a["status"] for a in b["alerts"]] for b in bodies] == [["resolved", "firing"]]


def test_event_log_records_alert_silence_and_notification_events(tmp_path: Path) -> None:
    answers = iter([503, 200, 400])

    async def scenario() -> None:
        clock, rec = Clock(), Recorder(lambda r: next(answers))
        svc = make_service(ONE, rec, clock, data_dir=tmp_path)
        svc.put_alerts([firing("A", instance="1")])
        svc.put_alerts([firing("A", instance="1")])  # no state change: no event
        sid = svc.set_silence(Silence(tuple(parse_matchers('alertname="Z"')), T0, T0 + 60 * S))
        svc.expire_silence(sid)
        await advance(svc, clock, 1)
        svc.put_alerts([firing("B", team="b", instance="2")])
        await advance(svc, clock, 3)
        svc.put_alerts([resolved("A", 3, instance="1")])
        await svc.stop()

    asyncio.run(scenario())
    clock = Clock()
    clock.now = T0 + 10 * S
    svc = AlertmanagerService(load_config(ONE), clock=clock, data_dir=tmp_path)  # replayed from disk
    ev = svc.events
    assert [(e["kind"], e.get("status") or e.get("action") or e.get("outcome")) for e in ev.query()] == [
        ("alert", "firing"), ("silence", "created"), ("silence", "expired"),
        ("notification", "retry"), ("notification", "success"), ("alert", "firing"),
        ("notification", "failed"), ("alert", "resolved"),
    ]
    [ok] = ev.query(kinds=["notification"], outcome="success")
    assert ok["receiver"] == "a" and ok["attempt"] == 2 and ok["alerts"][0]["labels"]["instance"] == "1"
    [failed] = ev.query(receiver="b", outcome="failed")
    assert "400" in failed["error"]
    assert [e["kind"] for e in ev.query(matchers=parse_matchers('instance="2"'))] == ["alert", "notification"]
    assert len(ev.query(start=T0 + 2 * S)) == 2 and len(ev.query(end=T0)) == 3
    assert ev.query(limit=1)[0]["status"] == "resolved"
    clock.now = T0 + 8 * 24 * 3600 * S  # past the 7-day retention
    assert ev.gc() == 8
    ev.close()
    again = AlertmanagerService(load_config(ONE), clock=clock, data_dir=tmp_path).events
    assert len(again) == 0
    again.close()
