"""Webhook receiver config (``webhook_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig

__all__ = ["WebhookConfig"]


@dataclass
class WebhookConfig(ChannelConfig):
    KIND = "webhook"
    GO_TYPE = "config.plain"
    URL_FIELDS = ("url",)

    url: str | None = secret()
    url_file: str | None = None
    max_alerts: int = 0
    timeout: str | None = None

    def check(self) -> None:
        super().check()
        if not self.url and not self.url_file:
            raise ValueError("one of url or url_file must be configured")
        self.exclusive(self.url, self.url_file, "url")
        if not isinstance(self.max_alerts, int) or self.max_alerts < 0:
            raise ValueError(f"max_alerts must be a non-negative integer, got {self.max_alerts!r}")
