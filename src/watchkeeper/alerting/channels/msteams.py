"""Microsoft Teams (Office 365 connector) receiver config (``msteams_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig
from .sending import SendContext, post_json, read_secret

__all__ = ["MSTeamsConfig", "send"]


@dataclass
class MSTeamsConfig(ChannelConfig):
    KIND = "msteams"
    URL_FIELDS = ("webhook_url",)

    webhook_url: str | None = secret()
    webhook_url_file: str | None = None
    title: str = '{{ template "msteams.default.title" . }}'
    summary: str = '{{ template "msteams.default.summary" . }}'
    text: str = '{{ template "msteams.default.text" . }}'

    def check(self) -> None:
        super().check()
        if not self.webhook_url and not self.webhook_url_file:
            raise ValueError("one of webhook_url or webhook_url_file must be configured")
        self.exclusive(self.webhook_url, self.webhook_url_file, "webhook_url")


async def send(cfg: MSTeamsConfig, ctx: SendContext) -> None:
    """An Office 365 connector MessageCard (what Alertmanager's ``msteams`` sends)."""
    body = {
        "@context": "http://schema.org/extensions",
        "type": "MessageCard",
        "title": ctx.render(cfg.title),
        "summary": ctx.render(cfg.summary),
        "text": ctx.render(cfg.text),
        "themeColor": "8C1A1A" if ctx.firing else "2DC72D",
    }
    url = read_secret(cfg.webhook_url, cfg.webhook_url_file)
    await post_json(ctx, url, body, http_config=cfg.http_config)
