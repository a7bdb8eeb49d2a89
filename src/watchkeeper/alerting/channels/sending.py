"""What every channel's ``send`` gets and may raise: the rendered notification context, the HTTP client,
and ``ChannelError`` whose ``retryable`` flag drives the retry stage (Alertmanager's rule: network
errors, 429 and 5xx are retried; other 4xx are final)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ...template.alertmanager_data import Data
from ..alert import Alert
from ..durations import parse_duration
from ..rendering import Templates

__all__ = ["ChannelError", "SendContext", "read_secret", "post_json", "post_form", "group_hash", "USER_AGENT"]

USER_AGENT = "watchkeeper-alertmanager/1"
DEFAULT_TIMEOUT = 10.0


class ChannelError(Exception):
    """A failed send; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class SendContext:
    """One integration's notification: the webhook-shaped ``payload`` (``template_data``), the same as
    template ``data``, and the shared HTTP client."""

    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: Sequence[Alert]
    payload: dict[str, Any]
    data: Data
    templates: Templates
    client: httpx.AsyncClient
    now: int
    external_url: str

    def render(self, text: str | None, *, html: bool = False) -> str:
        return self.templates.render(text, self.data, html=html)

    @property
    def firing(self) -> bool:
        return self.payload["status"] == "firing"


def read_secret(value: str | None, path: str | None) -> str:
    """The inline value, or the stripped content of its ``*_file`` variant (read at send time, so a
    rotated secret is picked up without a reload)."""
    if value:
        return value
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    return ""


def group_hash(group_key: str) -> str:
    """Alertmanager's dedup/alias key for SaaS incidents: SHA-256 of the group key, hex."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def _auth_headers(http_config: Mapping[str, Any] | None) -> dict[str, str]:
    """``authorization`` (type + credentials), ``bearer_token`` and ``basic_auth`` of ``http_config``."""
    hc = http_config or {}
    auth = hc.get("authorization") or {}
    if auth.get("credentials") or auth.get("credentials_file"):
        cred = read_secret(auth.get("credentials"), auth.get("credentials_file"))
        return {"Authorization": f"{auth.get('type') or 'Bearer'} {cred}"}
    if hc.get("bearer_token") or hc.get("bearer_token_file"):
        return {"Authorization": "Bearer " + read_secret(hc.get("bearer_token"), hc.get("bearer_token_file"))}
    basic = hc.get("basic_auth") or {}
    if basic.get("username") is not None:
        pw = read_secret(basic.get("password"), basic.get("password_file"))
        token = base64.b64encode(f"{basic['username']}:{pw}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


async def post_json(
    ctx: SendContext,
    url: str,
    body: Any,
    *,
    http_config: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: str | None = None,
) -> httpx.Response:
    """POST ``body`` as JSON; raises ``ChannelError`` classified by status (2xx is success)."""
    h = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **_auth_headers(http_config)}
    h.update(headers or {})
    return await _post(ctx, url, h, timeout, json=body)


async def post_form(
    ctx: SendContext,
    url: str,
    fields: Mapping[str, str],
    *,
    http_config: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: str | None = None,
) -> httpx.Response:
    """POST ``fields`` form-encoded (``application/x-www-form-urlencoded``), classified as ``post_json``."""
    h = {"User-Agent": USER_AGENT, **_auth_headers(http_config)}
    h.update(headers or {})
    return await _post(ctx, url, h, timeout, data=dict(fields))


async def _post(
    ctx: SendContext, url: str, headers: Mapping[str, str], timeout: str | None, **body: Any
) -> httpx.Response:
    try:
        resp = await ctx.client.post(
            url, headers=headers, timeout=parse_duration(timeout) if timeout else DEFAULT_TIMEOUT, **body
        )
    except httpx.HTTPError as exc:
        raise ChannelError(f"POST {_redact(url)}: {exc!r}", retryable=True) from None
    if resp.status_code // 100 != 2:
        retry = resp.status_code == 429 or resp.status_code >= 500
        raise ChannelError(
            f"unexpected status code {resp.status_code} from {_redact(url)}: {resp.text[:200]}",
            retryable=retry,
        )
    return resp


def _redact(url: str) -> str:
    """URLs often carry the secret (Slack/Discord webhooks, Telegram bot tokens): show the host only."""
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.host}/<redacted>"
