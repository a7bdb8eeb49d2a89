"""Mattermost receiver config (``mattermost_configs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["MattermostConfig"]


@dataclass
class MattermostConfig(ChannelConfig):
    KIND = "mattermost"
    URL_FIELDS = ("webhook_url",)

    webhook_url: str | None = secret()
    webhook_url_file: str | None = None
    channel: str | None = None
    username: str | None = None
    text: str = '{{ template "mattermost.default.text" . }}'
    icon_url: str | None = None
    icon_emoji: str | None = None
    attachments: list[dict[str, Any]] | None = None
    props: dict[str, Any] | None = None
    priority: dict[str, Any] | None = None

    def check(self) -> None:
        super().check()
        self.exclusive(self.webhook_url, self.webhook_url_file, "webhook_url")

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        if not self.webhook_url and not self.webhook_url_file:
            if not glob.mattermost_webhook_url and not glob.mattermost_webhook_url_file:
                raise ValueError("missing webhook_url or webhook_url_file on mattermost_config")
            self.webhook_url = glob.mattermost_webhook_url
            self.webhook_url_file = glob.mattermost_webhook_url_file
