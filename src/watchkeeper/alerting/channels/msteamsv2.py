"""Microsoft Teams workflow webhook receiver config (``msteamsv2_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig

__all__ = ["MSTeamsV2Config"]


@dataclass
class MSTeamsV2Config(ChannelConfig):
    KIND = "msteamsv2"
    URL_FIELDS = ("webhook_url",)

    webhook_url: str | None = secret()
    webhook_url_file: str | None = None
    title: str = '{{ template "msteamsv2.default.title" . }}'
    text: str = '{{ template "msteamsv2.default.text" . }}'

    def check(self) -> None:
        super().check()
        if not self.webhook_url and not self.webhook_url_file:
            raise ValueError("one of webhook_url or webhook_url_file must be configured")
        self.exclusive(self.webhook_url, self.webhook_url_file, "webhook_url")
