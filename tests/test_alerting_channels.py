"""Channel senders against real local peers: an HTTP receiver on 127.0.0.1 that checks each service's
documented body, headers and auth, and a real SMTP server (aiosmtpd) for email, parsed back as MIME.
Also the default templates against amtool 0.25's renderings."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance_data import CONFORMANCE
from conftest import free_port, serving
from watchkeeper.alerting.alert import Alert
from watchkeeper.alerting.channels import discord, msteams, opsgenie, pagerduty, slack, telegram, webhook
from watchkeeper.alerting.channels import email as email_channel
from watchkeeper.alerting.channels.sending import ChannelError, group_hash
from watchkeeper.alerting.config import load_config
from watchkeeper.alerting.dispatch import Notification
from watchkeeper.alerting.notify import Notifier
from watchkeeper.alerting.rendering import Templates
from watchkeeper.template.alertmanager_data import Data

S = 1_000_000_000
NOW = 1_800_000_000 * S
GROUP_KEY = '{}:{alertname="Disk"}'
TMPL = CONFORMANCE / "alertmanager" / "templates"


class Receiver:
    """A local HTTP server recording every request; ``status`` and ``reply`` set its answer."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.status = 200
        self.reply: Any = {"ok": True}

        async def record(request: Request) -> Response:
            body = await request.body()
            self.requests.append((request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                                  {k.lower(): v for k, v in request.headers.items()}, json.loads(body)))
            return JSONResponse(self.reply, status_code=self.status)

        app = Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
        self.app = app

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        async with serving(self.app, self.port):
            yield self


def notification(cfg_yaml: str, *, resolved: bool = False) -> Notification:
    cfg = load_config(cfg_yaml)
    receiver = next(iter(cfg.receivers.values()))
    kind, index, conf = receiver.all_integrations()[0]
    alerts = [
        Alert(labels={"alertname": "Disk", "instance": "db1"}, annotations={"summary": "disk <full>"},
              starts_at=NOW - 60 * S, ends_at=NOW if resolved else None, generator_url="http://prom/g"),
        Alert(labels={"alertname": "Disk", "instance": "db2"}, annotations={"summary": "disk <full>"},
              starts_at=NOW - 60 * S, ends_at=NOW if resolved else None, generator_url="http://prom/g"),
    ]
    return Notification(receiver.name, kind, index, conf, GROUP_KEY, {"alertname": "Disk"}, alerts,
                        "first notification", NOW)


async def send(module: Any, cfg_yaml: str, *, resolved: bool = False) -> None:
    n = notification(cfg_yaml, resolved=resolved)
    async with httpx.AsyncClient() as client:
        notifier = Notifier(Templates(), external_url="http://am.example", client=client)
        await module.send(n.config, notifier.context(n))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_webhook_sends_v4_body_with_basic_auth() -> None:
    async def go() -> Receiver:
        async with Receiver().running() as rx:
            await send(webhook, f"""
route: {{receiver: r}}
receivers:
  - name: r
    webhook_configs:
      - url: {rx.url}/hook
        max_alerts: 1
        http_config: {{basic_auth: {{username: u, password: p}}}}
""")
            return rx

    rx = run(go())
    [(path, headers, body)] = rx.requests
    assert path == "/hook"
    assert headers["authorization"] == "Basic dTpw" and headers["content-type"] == "application/json"
    assert body == {
        "receiver": "r", "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "Disk", "instance": "db1"},
                    "annotations": {"summary": "disk <full>"}, "startsAt": "2027-01-15T07:59:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/g",
                    "fingerprint": body["alerts"][0]["fingerprint"]}],
        "groupLabels": {"alertname": "Disk"}, "commonLabels": {"alertname": "Disk", "instance": "db1"},
        "commonAnnotations": {"summary": "disk <full>"}, "externalURL": "http://am.example",
        "version": "4", "groupKey": GROUP_KEY, "truncatedAlerts": 1,
    }


def test_http_errors_are_classified() -> None:
    async def go(status: int) -> ChannelError:
        async with Receiver().running() as rx:
            rx.status = status
            with pytest.raises(ChannelError) as info:
                await send(webhook, f"route: {{receiver: r}}\nreceivers: [{{name: r, webhook_configs: "
                                    f"[{{url: '{rx.url}/h'}}]}}]\n")
            return info.value

    assert run(go(500)).retryable and run(go(429)).retryable and not run(go(400)).retryable


def test_slack_incoming_webhook_and_post_message() -> None:
    async def go() -> Receiver:
        async with Receiver().running() as rx:
            await send(slack, f"""
route: {{receiver: r}}
receivers:
  - name: r
    slack_configs:
      - api_url: {rx.url}/services/T/B/X
        channel: '#ops'
        text: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ end }}}}'
""")
            await send(slack, f"""
global: {{slack_app_url: '{rx.url}/api/chat.postMessage'}}
route: {{receiver: r}}
receivers: [{{name: r, slack_configs: [{{app_token: xoxb-1, channel: '#ops', send_resolved: true}}]}}]
""", resolved=True)
            rx.reply = {"ok": False, "error": "channel_not_found"}
            with pytest.raises(ChannelError, match="channel_not_found") as info:
                await send(slack, f"""
route: {{receiver: r}}
receivers: [{{name: r, slack_configs: [{{app_token: xoxb-1, app_url: '{rx.url}/api/chat.postMessage'}}]}}]
""")
            assert not info.value.retryable
            return rx

    rx = run(go())
    (p1, h1, b1), (p2, h2, b2), _ = rx.requests
    assert p1 == "/services/T/B/X" and "authorization" not in h1
    att = b1["attachments"][0]
    assert b1["channel"] == "#ops" and b1["username"] == "Alertmanager"
    assert att["title"] == "[FIRING:2] Disk " and att["color"] == "danger" and att["text"] == "db1 db2 "
    assert att["title_link"] == "http://am.example/#/alerts?receiver=r"
    assert att["fallback"] == "[FIRING:2] Disk  | http://am.example/#/alerts?receiver=r"
    assert p2 == "/api/chat.postMessage" and h2["authorization"] == "Bearer xoxb-1"
    assert b2["attachments"][0]["title"] == "[RESOLVED] Disk " and b2["attachments"][0]["color"] == "good"


def test_pagerduty_events_v2_trigger_and_resolve() -> None:
    cfg = """
route: {{receiver: r}}
receivers:
  - name: r
    pagerduty_configs: [{{routing_key: rk-1, url: '{url}/v2/enqueue', severity: critical}}]
"""

    async def go() -> Receiver:
        async with Receiver().running() as rx:
            await send(pagerduty, cfg.format(url=rx.url))
            await send(pagerduty, cfg.format(url=rx.url), resolved=True)
            return rx

    rx = run(go())
    (path, _, trig), (_, _, res) = rx.requests
    assert path == "/v2/enqueue"
    assert trig["routing_key"] == "rk-1" and trig["event_action"] == "trigger"
    assert trig["dedup_key"] == group_hash(GROUP_KEY) == res["dedup_key"] and res["event_action"] == "resolve"
    assert trig["client"] == "Alertmanager" and trig["client_url"] == "http://am.example/#/alerts?receiver=r"
    payload = trig["payload"]
    assert payload["summary"] == "[FIRING:2] Disk " and payload["severity"] == "critical"
    assert payload["source"] == "Alertmanager"
    assert payload["custom_details"]["num_firing"] == "2"


def test_opsgenie_create_and_close_with_genie_key() -> None:
    cfg = ("route: {{receiver: r}}\nreceivers: [{{name: r, opsgenie_configs: "
           "[{{api_key: k1, api_url: '{url}/', tags: 'a, b'}}]}}]\n")

    async def go() -> Receiver:
        async with Receiver().running() as rx:
            await send(opsgenie, cfg.format(url=rx.url))
            await send(opsgenie, cfg.format(url=rx.url), resolved=True)
            return rx

    rx = run(go())
    (p1, h1, b1), (p2, _, b2) = rx.requests
    alias = group_hash(GROUP_KEY)
    assert p1 == "/v2/alerts" and h1["authorization"] == "GenieKey k1"
    assert b1["alias"] == alias and b1["message"] == "[FIRING:2] Disk " and b1["tags"] == ["a", "b"]
    assert p2 == f"/v2/alerts/{alias}/close?identifierType=alias" and "source" in b2


def test_telegram_discord_msteams() -> None:
    async def go() -> Receiver:
        async with Receiver().running() as rx:
            await send(telegram, f"route: {{receiver: r}}\nreceivers: [{{name: r, telegram_configs: "
                                 f"[{{api_url: '{rx.url}', bot_token: 'T0K', chat_id: -100}}]}}]\n")
            await send(discord, f"route: {{receiver: r}}\nreceivers: [{{name: r, discord_configs: "
                                f"[{{webhook_url: '{rx.url}/api/webhooks/1/x'}}]}}]\n")
            await send(msteams, f"route: {{receiver: r}}\nreceivers: [{{name: r, msteams_configs: "
                                f"[{{webhook_url: '{rx.url}/teams'}}]}}]\n")
            return rx

    rx = run(go())
    (pt, _, bt), (pd, _, bd), (pm, _, bm) = rx.requests
    assert pt == "/botT0K/sendMessage" and bt["chat_id"] == -100 and bt["parse_mode"] == "HTML"
    assert bt["text"].startswith("\n\nAlerts Firing:\nLabels:\n - alertname = Disk\n - instance = db1\n")
    assert pd == "/api/webhooks/1/x"
    assert bd["embeds"][0]["title"] == "[FIRING:2] Disk " and bd["embeds"][0]["color"] == 0x992D22
    assert pm == "/teams" and bm["type"] == "MessageCard"
    assert bm["title"] == "[FIRING:2] Disk " and bm["themeColor"] == "8C1A1A"


# -- email ------------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"am", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-days", "1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def _email_cfg(port: int, extra: str = "") -> str:
    return f"""
global: {{smtp_smarthost: '127.0.0.1:{port}', smtp_from: 'am@example.org', smtp_hello: wk.example}}
route: {{receiver: r}}
receivers:
  - name: r
    email_configs:
      - to: 'ops@example.org, dba@example.org'
        headers: {{X-Team: '{{{{ .CommonLabels.alertname }}}}'}}
{extra}"""


def test_email_plain_smtp_html_and_text_parts() -> None:
    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        run(send(email_channel, _email_cfg(port, "        require_tls: false\n")))
    finally:
        ctl.stop()
    [(sender, rcpts, msg)] = box.messages
    assert sender == "am@example.org" and rcpts == ["ops@example.org", "dba@example.org"]
    assert msg["Subject"] == "[FIRING:2] Disk " and msg["X-Team"] == "Disk" and msg["To"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Alerts Firing:" in text and "instance = db2" in text
    assert "disk &lt;full&gt;" in html and "http://am.example/#/alerts?receiver=r" in html


def test_email_starttls_with_auth(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                     authenticator=_authenticator, auth_required=True)
    ctl.start()
    try:
        extra = (f"        auth_username: am\n        auth_password: s3cret\n"
                 f"        tls_config: {{ca_file: '{cert}', insecure_skip_verify: true}}\n")
        run(send(email_channel, _email_cfg(port, extra)))
        # Without credentials the server (auth_required) refuses the mail: permanent 5xx, not retried.
        with pytest.raises(ChannelError) as info:
            anonymous = extra.replace("auth_username: am", "auth_username: ''")
            run(send(email_channel, _email_cfg(port, anonymous)))
        assert not info.value.retryable
    finally:
        ctl.stop()
    assert len(box.messages) == 1


def test_email_implicit_tls(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, ssl_context=tls)
    ctl.start()
    try:
        extra = ("        force_implicit_tls: true\n"
                 "        tls_config: {insecure_skip_verify: true}\n")
        run(send(email_channel, _email_cfg(port, extra), resolved=True))
    finally:
        ctl.stop()
    [(_, _, msg)] = box.messages
    assert msg["Subject"] == "[RESOLVED] Disk "


# -- default templates ---------------------------------------------------------------------------


RENDERED = json.loads((TMPL / "default-v0.25.0.rendered.json").read_text()) if TMPL.is_dir() else {}
CASES = [(i, n, w) for i, defs in RENDERED.get("renderings", {}).items() for n, w in defs.items()
         if isinstance(w, str) and not n.startswith("email.")]


@pytest.mark.parametrize(("inp", "name", "want"), CASES, ids=[f"{i}:{n}" for i, n, _ in CASES])
def test_default_templates_give_alertmanagers_texts(inp: str, name: str, want: str) -> None:
    data = Data.from_webhook(json.loads((TMPL / RENDERED["inputs"][inp]).read_text()))
    assert Templates().execute(name, data) == want


def test_user_templates_override_defaults_and_fields_render(tmp_path: Path) -> None:
    (tmp_path / "mine.tmpl").write_text(
        '{{ define "slack.default.title" }}ALERT {{ .GroupLabels.alertname }}{{ end }}')
    t = Templates([str(tmp_path / "*.tmpl")])
    data = Data.from_webhook({"receiver": "r", "status": "firing", "groupLabels": {"alertname": "X"},
                              "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]})
    assert t.render('{{ template "slack.default.title" . }}!', data) == "ALERT X!"
    assert t.render("plain text", data) == "plain text" and t.render(None, data) == ""
    assert t.render("<{{ .Receiver }}>", data, html=True) == "<r>"
    assert t.render("{{ .CommonLabels.alertname }}", data) == ""  # missing keys render empty, as in Go
