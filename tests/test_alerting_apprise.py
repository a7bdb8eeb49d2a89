"""The Apprise channel: real Apprise notifying ``json://`` URLs that point at a local HTTP receiver, which
checks the payload Apprise documents for its JSON notifications (version, title, message, attachments,
type), the headers and basic auth; retries notify only the URL that failed; config validation."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conftest import free_port, serving
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.channels import apprise_
from watchkeeper.alerting.channels.sending import ChannelError
from watchkeeper.alerting.check import check_alertmanager
from watchkeeper.alerting.config import dump_config, load_config
from watchkeeper.alerting.dispatch import Notification
from watchkeeper.alerting.errors import ConfigError
from watchkeeper.alerting.notify import Notifier, RetryPolicy
from watchkeeper.alerting.rendering import Templates

S = 1_000_000_000
NOW = 1_800_000_000 * S
FAST = RetryPolicy(initial=0.001, maximum=0.004, give_up_after=5.0)


class JSONReceiver:
    """Records every request; ``fail`` maps a path to the status codes its next requests get."""

    def __init__(self) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.fail: dict[str, list[int]] = {}

        async def record(request: Request) -> Response:
            body = json.loads(await request.body())
            self.requests.append((request.url.path, {k.lower(): v for k, v in request.headers.items()}, body))
            statuses = self.fail.get(request.url.path, [])
            return JSONResponse({}, status_code=statuses.pop(0) if statuses else 200)

        app = Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
        self.app = app

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[JSONReceiver]:
        async with serving(self.app, self.port):
            yield self


def _yaml(urls: list[str], extra: str = "") -> str:
    return f"""
route: {{receiver: ap}}
receivers:
  - name: ap
    apprise_configs:
      - urls: {json.dumps(urls)}
{extra}"""


def _notification(cfg_yaml: str, *, resolved: bool = False) -> Notification:
    cfg = load_config(cfg_yaml)
    kind, index, conf = cfg.receivers["ap"].all_integrations()[0]
    alerts = [Alert(labels={"alertname": "Disk", "instance": "db1"}, annotations={"summary": "disk full"},
                    starts_at=NOW - 60 * S, ends_at=NOW if resolved else None, generator_url="http://prom/g")]
    return Notification("ap", kind, index, conf, '{}:{alertname="Disk"}', {"alertname": "Disk"}, alerts,
                        "first notification", NOW)


async def _send(n: Notification) -> None:
    async with httpx.AsyncClient() as client:
        notifier = Notifier(Templates(), external_url="http://wk.example", client=client)
        await apprise_.send(n.config, notifier.context(n))  # type: ignore[arg-type]


def test_json_url_gets_apprises_documented_payload_with_basic_auth() -> None:
    async def go() -> JSONReceiver:
        async with JSONReceiver().running() as rx:
            await _send(_notification(_yaml([f"json://user:pw@{rx.host}/hook"])))
            return rx

    [(path, headers, body)] = asyncio.run(go()).requests
    assert path == "/hook"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "watchkeeper"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    assert body == {
        "version": "1.0",
        "title": "[FIRING:1] Disk (db1)",
        "message": body["message"],
        "attachments": [],
        "type": "failure",
    }
    assert "Alerts Firing:" in body["message"] and " - instance = db1" in body["message"]


def test_resolved_type_and_custom_templates() -> None:
    extra = ('        title: "{{ .Status }} {{ .CommonLabels.alertname }}"\n'
             '        body: "{{ .CommonAnnotations.summary }}"\n')

    async def go() -> JSONReceiver:
        async with JSONReceiver().running() as rx:
            await _send(_notification(_yaml([f"json://{rx.host}/a"], extra), resolved=True))
            return rx

    [(_, _, body)] = asyncio.run(go()).requests
    assert (body["title"], body["message"], body["type"]) == ("resolved Disk", "disk full", "success")


def test_bad_notify_type_is_a_final_error() -> None:
    n = _notification(_yaml(["json://127.0.0.1:9/x"], '        notify_type: "loud"\n'))
    with pytest.raises(ChannelError) as info:
        asyncio.run(_send(n))
    assert not info.value.retryable and 'notify_type rendered to "loud"' in str(info.value)


def test_failure_is_retryable_and_names_only_the_scheme() -> None:
    async def go() -> ChannelError:
        async with JSONReceiver().running() as rx:
            rx.fail["/down"] = [500]
            with pytest.raises(ChannelError) as info:
                await _send(_notification(_yaml([f"json://user:topsecret@{rx.host}/down"])))
            return info.value

    err = asyncio.run(go())
    assert err.retryable and "json://" in str(err) and "topsecret" not in str(err)
    assert "500" in str(err)  # what Apprise logged about the failure


def test_retry_notifies_only_the_url_that_failed_and_metrics_count() -> None:
    class OneFlush:
        def __init__(self, n: Notification) -> None:
            self.notifications = [n]
            self.succeeded: list[Notification] | None = None

        def complete(self, succeeded: list[Notification]) -> None:
            self.succeeded = list(succeeded)

    async def go() -> tuple[JSONReceiver, str, OneFlush]:
        async with JSONReceiver().running() as rx, httpx.AsyncClient() as client:
            rx.fail["/b"] = [503]
            notifier = Notifier(Templates(), client=client, retry=FAST)
            flush = OneFlush(_notification(_yaml([f"json://{rx.host}/a", f"json://{rx.host}/b"])))
            notifier.submit(flush)  # type: ignore[arg-type]
            await asyncio.wait_for(notifier.drain(), 20)
            await notifier.close()
            return rx, notifier.metrics.text(), flush

    rx, metrics, flush = asyncio.run(go())
    assert [path for path, _, _ in rx.requests] == ["/a", "/b", "/b"]
    assert flush.succeeded == flush.notifications
    assert 'alertmanager_notifications_total{integration="apprise"} 1' in metrics
    assert 'alertmanager_notification_requests_total{integration="apprise"} 2' in metrics
    assert 'alertmanager_notification_requests_failed_total{integration="apprise"} 1' in metrics


@pytest.mark.parametrize(
    ("urls", "extra", "message"),
    [
        ([], "", "missing urls in apprise config"),
        (["nosuchscheme://secret@host"], "", "url #1 (nosuchscheme://...) is not a URL Apprise supports"),
        (["json://h/x", ""], "", "url #2 must be a non-empty string"),
        (["json://h/x"], "        body_format: rtf\n", 'unknown body_format "rtf"'),
        (["json://h/x"], "        http_config: {follow_redirects: true}\n", "http_config is not used"),
        (["json://h/x"], "        token: x\n", "field token not found"),
    ],
)
def test_config_validation(urls: list[str], extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_yaml(urls, extra))
    assert message in str(info.value)
    assert "secret@" not in str(info.value)


def test_defaults_dump_masks_urls_and_check_accepts_it(tmp_path: Path) -> None:
    text = _yaml(["ntfy://alerts-topic", "json://u:p@127.0.0.1:9/x"])
    cfg = load_config(text)
    ap = cfg.receivers["ap"].integrations["apprise_configs"][0]
    assert ap.send_resolved is True and ap.body_format == "text"
    assert ap.title == '{{ template "apprise.default.title" . }}'
    dumped = dump_config(cfg)
    assert "urls: <secret>" in dumped and "alerts-topic" not in dumped
    path = tmp_path / "am.yml"
    path.write_text(text)
    code, out = check_alertmanager([str(path)])
    assert code == 0 and "WARNING" not in out, out
    code, out = check_alertmanager([str(path)], compat="0.25")
    assert code == 1 and "field apprise_configs not found in type config.plain" in out
