"""Slack receiver config (``slack_configs``): incoming webhook URL or bot token with chat.postMessage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig
from .sending import ChannelError, SendContext, post_json, read_secret

__all__ = ["SlackConfig", "POST_MESSAGE_URL", "send"]

POST_MESSAGE_URL = "https://slack.com/api/chat.postMessage"


@dataclass
class SlackConfig(ChannelConfig):
    KIND = "slack"
    SEND_RESOLVED = False
    URL_FIELDS = ("api_url", "app_url")

    api_url: str | None = secret()
    api_url_file: str | None = None
    app_token: str | None = secret()
    app_token_file: str | None = None
    app_url: str | None = None
    channel: str | None = None
    username: str = '{{ template "slack.default.username" . }}'
    color: str = '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
    title: str = '{{ template "slack.default.title" . }}'
    title_link: str = '{{ template "slack.default.titlelink" . }}'
    pretext: str = '{{ template "slack.default.pretext" . }}'
    text: str = '{{ template "slack.default.text" . }}'
    fields: list[dict[str, Any]] | None = None
    short_fields: bool = False
    footer: str = '{{ template "slack.default.footer" . }}'
    fallback: str = '{{ template "slack.default.fallback" . }}'
    callback_id: str = '{{ template "slack.default.callbackid" . }}'
    icon_emoji: str = '{{ template "slack.default.iconemoji" . }}'
    icon_url: str = '{{ template "slack.default.iconurl" . }}'
    image_url: str | None = None
    thumb_url: str | None = None
    link_names: bool = False
    mrkdwn_in: list[str] | None = None
    actions: list[dict[str, Any]] | None = None
    timeout: str | None = None
    update_message: bool = False
    message_text: str | None = None

    def check(self) -> None:
        super().check()
        self.exclusive(self.api_url, self.api_url_file, "api_url")
        self.exclusive(self.app_token, self.app_token_file, "app_token")
        if (
            (self.api_url or self.api_url_file)
            and (self.app_token or self.app_token_file)
            and self.api_url != POST_MESSAGE_URL
        ):
            raise ValueError(
                "at most one of app_token/app_token_file & api_url/api_url_file must be configured"
            )
        for action in self.actions or []:
            if not action.get("type") or not action.get("text"):
                raise ValueError("missing type or text in Slack action configuration")
            if not (action.get("url") or action.get("name")):
                raise ValueError("missing name or url in Slack action configuration")
        for f in self.fields or []:
            if not f.get("title") or not f.get("value"):
                raise ValueError("missing title or value in Slack field configuration")

    def uses_token(self) -> bool:
        return bool(self.app_token or self.app_token_file)

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        if not (self.api_url or self.api_url_file or self.app_token or self.app_token_file):
            if glob.slack_app_token or glob.slack_app_token_file:
                self.app_token, self.app_token_file = glob.slack_app_token, glob.slack_app_token_file
            elif glob.slack_api_url or glob.slack_api_url_file:
                self.api_url, self.api_url_file = glob.slack_api_url, glob.slack_api_url_file
            elif not (self.http_config or {}).get("authorization"):
                raise ValueError("no Slack API URL nor App token set either inline or in a file")
        if self.uses_token() and not self.app_url:
            self.app_url = glob.slack_app_url
        if self.update_message and not self.uses_token() and self.api_url != POST_MESSAGE_URL:
            raise ValueError(
                f"update_message can only be used with bot tokens. api_url must be set to {POST_MESSAGE_URL}"
            )


def slack_message(cfg: SlackConfig, ctx: SendContext) -> dict[str, Any]:
    """The chat.postMessage / incoming-webhook body with one attachment, as Alertmanager builds it."""
    att: dict[str, Any] = {
        "title": ctx.render(cfg.title),
        "title_link": ctx.render(cfg.title_link),
        "pretext": ctx.render(cfg.pretext),
        "text": ctx.render(cfg.text),
        "fallback": ctx.render(cfg.fallback),
        "callback_id": ctx.render(cfg.callback_id),
        "footer": ctx.render(cfg.footer),
        "color": ctx.render(cfg.color),
        "mrkdwn_in": cfg.mrkdwn_in or ["fallback", "pretext", "text"],
    }
    if cfg.image_url:
        att["image_url"] = ctx.render(cfg.image_url)
    if cfg.thumb_url:
        att["thumb_url"] = ctx.render(cfg.thumb_url)
    if cfg.fields:
        att["fields"] = [
            {
                "title": ctx.render(f.get("title")),
                "value": ctx.render(f.get("value")),
                "short": f.get("short", cfg.short_fields),
            }
            for f in cfg.fields
        ]
    if cfg.actions:
        att["actions"] = [
            {k: ctx.render(v) if isinstance(v, str) else v for k, v in a.items()} for a in cfg.actions
        ]
    body: dict[str, Any] = {
        "channel": ctx.render(cfg.channel),
        "username": ctx.render(cfg.username),
        "icon_emoji": ctx.render(cfg.icon_emoji),
        "icon_url": ctx.render(cfg.icon_url),
        "link_names": cfg.link_names,
        "attachments": [att],
    }
    if cfg.message_text:
        body["text"] = ctx.render(cfg.message_text)
    return body


async def send(cfg: SlackConfig, ctx: SendContext) -> None:
    """Incoming webhook (``api_url``) or chat.postMessage with ``Authorization: Bearer <app_token>``;
    a 200 reply with ``"ok": false`` is Slack's way of failing and is not retried."""
    token = read_secret(cfg.app_token, cfg.app_token_file)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = str(cfg.app_url) if token else read_secret(cfg.api_url, cfg.api_url_file)
    resp = await post_json(
        ctx, url, slack_message(cfg, ctx), http_config=cfg.http_config, headers=headers, timeout=cfg.timeout
    )
    if resp.headers.get("content-type", "").startswith("application/json"):
        doc = resp.json()
        if isinstance(doc, dict) and doc.get("ok") is False:
            raise ChannelError(f"slack: {doc.get('error', 'unknown error')}", retryable=False)
