"""Microsoft Teams (Office 365 connector) receiver config (``msteams_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig

__all__ = ["MSTeamsConfig"]


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
