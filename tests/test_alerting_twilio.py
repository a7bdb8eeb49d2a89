"""SMS through Twilio's Messages API: config validation, and the exact request (path, form fields, basic
auth, headers) checked by a local HTTP receiver standing in for api.twilio.com; retries resend only to the
recipients that failed; metrics per integration."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conftest import free_port, serving
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.channels import twilio
from watchkeeper.alerting.channels.sending import ChannelError
from watchkeeper.alerting.check import check_alertmanager
from watchkeeper.alerting.config import dump_config, load_config
from watchkeeper.alerting.dispatch import Notification
from watchkeeper.alerting.errors import ConfigError
from watchkeeper.alerting.notify import Notifier, RetryPolicy
from watchkeeper.alerting.rendering import Templates

S = 1_000_000_000
NOW = 1_800_000_000 * S
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "s3cr3t-token"
FAST = RetryPolicy(initial=0.001, maximum=0.004, give_up_after=2.0)


class TwilioStub:
    """Stands in for api.twilio.com: records each request; ``fail`` maps a recipient to the status codes
    its next requests get (then 201, with a Message resource as Twilio answers)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/2010-04-01/"
        self.requests: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []
        self.fail: dict[str, list[int]] = {}

        async def messages(request: Request) -> Response:
            raw = (await request.body()).decode()
            form = parse_qs(raw, keep_blank_values=True)
            self.requests.append((request.url.path, {k.lower(): v for k, v in request.headers.items()}, form))
            statuses = self.fail.get(form["To"][0], [])
            if statuses:
                code = statuses.pop(0)
                return JSONResponse({"code": 21211, "message": f"stub error {code}", "status": code},
                                    status_code=code)
            return JSONResponse({"sid": "SM" + "0" * 32, "status": "queued", "to": form["To"][0],
                                 "body": form["Body"][0]}, status_code=201)

        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        app = Starlette(routes=[Route(path, messages, methods=["POST"])])
        self.app = app

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TwilioStub]:
        async with serving(self.app, self.port):
            yield self


class OneFlush:
    """What the notifier needs of a dispatcher flush: its notifications, and where results go."""

    def __init__(self, n: Notification) -> None:
        self.notifications = [n]
        self.succeeded: list[Notification] | None = None

    def complete(self, succeeded: list[Notification]) -> None:
        self.succeeded = list(succeeded)


def _yaml(api_url: str, extra: str = "", to: str = '["+15550002222", "+15550003333"]') -> str:
    return f"""
route: {{receiver: sms}}
receivers:
  - name: sms
    twilio_configs:
      - api_url: {api_url}
        account_sid: {SID}
        auth_token: {TOKEN}
        from: "+15550001111"
        to: {to}
{extra}"""


def _notification(cfg_yaml: str, *, resolved: bool = False, summary: str = "disk full") -> Notification:
    cfg = load_config(cfg_yaml)
    receiver = cfg.receivers["sms"]
    kind, index, conf = receiver.all_integrations()[0]
    alerts = [Alert(labels={"alertname": "Disk", "instance": f"db{i}"}, annotations={"summary": summary},
                    starts_at=NOW - 60 * S, ends_at=NOW if resolved else None) for i in (1, 2)]
    return Notification("sms", kind, index, conf, '{}:{alertname="Disk"}', {"alertname": "Disk"}, alerts,
                        "first notification", NOW)


async def _send(n: Notification) -> None:
    async with httpx.AsyncClient() as client:
        notifier = Notifier(Templates(), external_url="http://wk.example", client=client)
        await twilio.send(n.config, notifier.context(n))  # type: ignore[arg-type]


def test_sends_one_form_post_per_recipient_with_basic_auth() -> None:
    async def go() -> TwilioStub:
        async with TwilioStub().running() as stub:
            await _send(_notification(_yaml(stub.url)))
            return stub

    stub = asyncio.run(go())
    assert len(stub.requests) == 2
    auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    for (path, headers, form), to in zip(stub.requests, ["+15550002222", "+15550003333"], strict=True):
        assert path == f"/2010-04-01/Accounts/{SID}/Messages.json"
        assert headers["authorization"] == auth
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        assert headers["accept"] == "application/json"
        assert form == {"To": [to], "From": ["+15550001111"], "Body": ["[FIRING:2] Disk "]}


def test_resolved_text_messaging_service_and_custom_template() -> None:
    extra = '        message: "{{ .Status }}: {{ .CommonAnnotations.summary }}"\n'
    cfg = _yaml("URL", extra, to='"+15550002222"').replace('from: "+15550001111"',
                                                          "messaging_service_sid: MG" + "ab" * 16)

    async def go() -> TwilioStub:
        async with TwilioStub().running() as stub:
            await _send(_notification(cfg.replace("URL", stub.url), resolved=True))
            return stub

    [(_, _, form)] = asyncio.run(go()).requests
    assert form == {"To": ["+15550002222"], "MessagingServiceSid": ["MG" + "ab" * 16],
                    "Body": ["resolved: disk full"]}


def test_long_body_is_cut_to_twilios_1600_characters() -> None:
    extra = '        message: "{{ .CommonAnnotations.summary }}"\n'

    async def go() -> TwilioStub:
        async with TwilioStub().running() as stub:
            await _send(_notification(_yaml(stub.url, extra, to='["+15550002222"]'), summary="é" * 2000))
            return stub

    [(_, _, form)] = asyncio.run(go()).requests
    body = form["Body"][0]
    assert len(body) == twilio.MAX_BODY == 1600
    assert body == "é" * 1599 + "…"
    assert twilio.truncate_body("x" * 1600) == "x" * 1600


def test_auth_token_file_is_read_at_send_time(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    cfg = _yaml("URL", to='["+15550002222"]')
    cfg = cfg.replace(f"auth_token: {TOKEN}", f"auth_token_file: {token_file}")

    async def go() -> TwilioStub:
        async with TwilioStub().running() as stub:
            await _send(_notification(cfg.replace("URL", stub.url)))
            return stub

    [(_, headers, _)] = asyncio.run(go()).requests
    assert headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:from-file".encode()).decode()


def test_errors_are_classified_and_name_the_recipient() -> None:
    async def go(code: int) -> ChannelError:
        async with TwilioStub().running() as stub:
            stub.fail["+15550002222"] = [code]
            with pytest.raises(ChannelError) as info:
                await _send(_notification(_yaml(stub.url, to='["+15550002222"]')))
            return info.value

    e500, e429, e400 = asyncio.run(go(500)), asyncio.run(go(429)), asyncio.run(go(400))
    assert e500.retryable and e429.retryable and not e400.retryable
    assert "SMS to +15550002222" in str(e400) and "stub error 400" in str(e400)
    assert TOKEN not in str(e400) and SID not in str(e400)  # the URL holds the SID: only the host is shown


def test_retry_sends_only_to_the_recipient_that_failed_and_metrics_count() -> None:
    """Through the notifier: one recipient gets a 503 twice, then succeeds; the other is paged once."""

    async def go() -> tuple[TwilioStub, str, OneFlush]:
        async with TwilioStub().running() as stub, httpx.AsyncClient() as client:
            stub.fail["+15550003333"] = [503, 503]
            notifier = Notifier(Templates(), client=client, retry=FAST)
            flush = OneFlush(_notification(_yaml(stub.url)))
            notifier.submit(flush)  # type: ignore[arg-type]
            await asyncio.wait_for(notifier.drain(), 10)
            await notifier.close()
            return stub, notifier.metrics.text(), flush

    stub, metrics, flush = asyncio.run(go())
    sent = [form["To"][0] for _, _, form in stub.requests]
    assert sent == ["+15550002222", "+15550003333", "+15550003333", "+15550003333"]
    assert flush.succeeded == flush.notifications
    assert 'alertmanager_notifications_total{integration="twilio"} 1' in metrics
    assert 'alertmanager_notifications_failed_total{integration="twilio"} 0' in metrics
    assert 'alertmanager_notification_requests_total{integration="twilio"} 3' in metrics
    assert 'alertmanager_notification_requests_failed_total{integration="twilio"} 2' in metrics
    assert 'alertmanager_notification_latency_seconds_count{integration="twilio"} 1' in metrics


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("account_sid: " + SID, "account_sid: nope"), 'invalid account_sid "nope"'),
        ((f"        account_sid: {SID}\n", ""), "missing account_sid in twilio config"),
        ((f"auth_token: {TOKEN}", "x: y"), "field x not found"),
        ((f"auth_token: {TOKEN}", "auth_token_file: /t"), ""),
        ((f"auth_token: {TOKEN}", f"auth_token: {TOKEN}\n        auth_token_file: /t"),
         "at most one of auth_token & auth_token_file must be configured"),
        ((f"        auth_token: {TOKEN}\n", ""), "one of auth_token or auth_token_file must be configured"),
        (('        from: "+15550001111"\n', ""), "exactly one of from or messaging_service_sid"),
        (('from: "+15550001111"', 'from: "+1"\n        messaging_service_sid: MG' + "0" * 32),
         "exactly one of from or messaging_service_sid"),
        (('from: "+15550001111"', "messaging_service_sid: MGx"), 'invalid messaging_service_sid "MGx"'),
        (('to: ["+15550002222", "+15550003333"]', "to: []"), "missing to in twilio config"),
        (('to: ["+15550002222", "+15550003333"]', 'to: "+15550002222"'), ""),
        (("api_url: http://x/", "api_url: ftp://x/"), 'unsupported scheme "ftp" for URL'),
    ],
)
def test_config_validation(change: tuple[str, str], message: str) -> None:
    text = _yaml("http://x/").replace(*change)
    if not message:
        cfg = load_config(text).receivers["sms"].integrations["twilio_configs"][0]
        assert isinstance(cfg.to, list)
        return
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert message in str(info.value)


def test_defaults_dump_masks_the_token_and_check_accepts_it(tmp_path: Path) -> None:
    cfg = load_config(_yaml(twilio.DEFAULT_API_URL))
    tw = cfg.receivers["sms"].integrations["twilio_configs"][0]
    assert tw.send_resolved is True and tw.api_url == "https://api.twilio.com/2010-04-01/"
    assert tw.message == '{{ template "twilio.default.message" . }}'
    dumped = dump_config(cfg)
    assert TOKEN not in dumped and "auth_token: <secret>" in dumped and "from: '+15550001111'" in dumped
    path = tmp_path / "am.yml"
    path.write_text(_yaml(twilio.DEFAULT_API_URL))
    code, out = check_alertmanager([str(path)])
    assert code == 0 and "WARNING" not in out, out
    # Alertmanager 0.25 (amtool) has no twilio_configs: in its mode the key is unknown, as amtool says.
    code, out = check_alertmanager([str(path)], compat="0.25")
    assert code == 1 and "field twilio_configs not found in type config.plain" in out
