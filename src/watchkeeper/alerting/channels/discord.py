"""Discord receiver config (``discord_configs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..schema import secret
from .base import ChannelConfig
from .sending import SendContext, post_json, read_secret

__all__ = ["DiscordConfig", "send"]


@dataclass
class DiscordConfig(ChannelConfig):
    KIND = "discord"
    URL_FIELDS = ("webhook_url",)

    webhook_url: str | None = secret()
    webhook_url_file: str | None = None
    title: str = '{{ template "discord.default.title" . }}'
    message: str = '{{ template "discord.default.message" . }}'
    content: str | None = None
    username: str | None = None
    avatar_url: str | None = None

    def check(self) -> None:
        super().check()
        if not self.webhook_url and not self.webhook_url_file:
            raise ValueError("one of webhook_url or webhook_url_file must be configured")
        self.exclusive(self.webhook_url, self.webhook_url_file, "webhook_url")


_FIRING_COLOR, _RESOLVED_COLOR = 0x992D22, 0x2ECC71


async def send(cfg: DiscordConfig, ctx: SendContext) -> None:
    """Webhook execute with one embed (title ≤ 256, description ≤ 4096 characters, Discord's limits)."""
    body: dict[str, Any] = {
        "embeds": [
            {
                "title": ctx.render(cfg.title)[:256],
                "description": ctx.render(cfg.message)[:4096],
                "color": _FIRING_COLOR if ctx.firing else _RESOLVED_COLOR,
            }
        ]
    }
    if cfg.content:
        body["content"] = ctx.render(cfg.content)[:2000]
    if cfg.username:
        body["username"] = cfg.username
    if cfg.avatar_url:
        body["avatar_url"] = cfg.avatar_url
    url = read_secret(cfg.webhook_url, cfg.webhook_url_file)
    await post_json(ctx, url, body, http_config=cfg.http_config)
