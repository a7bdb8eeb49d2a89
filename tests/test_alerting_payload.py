"""Webhook payload (version 4): rebuilt from the recorded Alertmanager 0.25 bodies, byte for byte."""

from __future__ import annotations

import json

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.channels.webhook import webhook_message
from watchkeeper.alerting.notifydata import quote_meta, template_data
from watchkeeper.alerting.timefmt import parse_rfc3339_ns

SCEN = CONFORMANCE / "alertmanager" / "scenarios"
TMPL = CONFORMANCE / "alertmanager" / "templates"


def _bodies() -> list[dict]:
    out = []
    if SCEN.is_dir():
        out += [
            n["payload"] for n in json.loads((SCEN / "timing-run-am0.25.json").read_text())["notifications"]
        ]
    if TMPL.is_dir():
        out += [json.loads(p.read_text()) for p in sorted(TMPL.glob("data-*.json"))]
    return out


def _alerts(body: dict) -> tuple[list[Alert], int]:
    alerts = []
    now = 0
    for a in body["alerts"]:
        ends = parse_rfc3339_ns(a["endsAt"])
        alerts.append(
            Alert(
                labels=a["labels"],
                annotations=a["annotations"],
                starts_at=parse_rfc3339_ns(a["startsAt"]) or 0,
                ends_at=ends,
                generator_url=a["generatorURL"],
            )
        )
        now = max(now, ends or 0)
    return alerts, now + 1


@pytest.mark.skipif(not SCEN.is_dir(), reason="conformance data not present")
@pytest.mark.parametrize(
    "body", _bodies(), ids=lambda b: f"{b.get('groupKey')}-{b['status']}-{len(b['alerts'])}"
)
def test_recorded_body_rebuilt_exactly(body: dict) -> None:
    alerts, now = _alerts(body)
    if "version" not in body:  # captured template data (templates/data-*.json): the body minus webhook fields
        ours = template_data(body["receiver"], body["groupLabels"], alerts, now, body["externalURL"])
        assert json.dumps(ours) == json.dumps(body)
        return
    ours = webhook_message(
        body["receiver"],
        body["groupKey"],
        body["groupLabels"],
        alerts,
        now=now,
        external_url=body["externalURL"],
    )
    assert json.dumps(ours) == json.dumps(body)


def test_truncation_and_all_resolved_status() -> None:
    alerts = [
        Alert(labels={"alertname": "A", "i": str(i)}, annotations={"s": "x"}, starts_at=1, ends_at=5)
        for i in range(3)
    ]
    msg = webhook_message("team.x", "{}:{}", {}, alerts, now=10, external_url="http://am", max_alerts=2)
    assert msg["truncatedAlerts"] == 1 and len(msg["alerts"]) == 2
    assert msg["status"] == "resolved" and msg["receiver"] == "team\\.x"
    assert msg["commonLabels"] == {"alertname": "A"} and msg["commonAnnotations"] == {"s": "x"}
    assert msg["alerts"][0]["endsAt"] == "1970-01-01T00:00:00.000000005Z"


def test_quote_meta() -> None:
    assert quote_meta(r"a.b+c*d?e(f)g|h[i]j{k}l^m$n\o") == r"a\.b\+c\*d\?e\(f\)g\|h\[i\]j\{k\}l\^m\$n\\o"
