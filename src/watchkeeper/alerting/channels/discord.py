"""Discord receiver config (``discord_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig

__all__ = ["DiscordConfig"]


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
