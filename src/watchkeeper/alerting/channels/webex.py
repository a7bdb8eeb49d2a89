"""Cisco Webex receiver config (``webex_configs``); the bot token goes in ``http_config.authorization``."""

from __future__ import annotations

from dataclasses import dataclass

from ..globalconfig import GlobalConfig
from .base import ChannelConfig

__all__ = ["WebexConfig"]


@dataclass
class WebexConfig(ChannelConfig):
    KIND = "webex"
    URL_FIELDS = ("api_url",)

    api_url: str | None = None
    room_id: str | None = None
    message: str = '{{ template "webex.default.message" . }}'

    def check(self) -> None:
        super().check()
        if not self.room_id:
            raise ValueError("missing room_id on webex_config")
        if not (self.http_config or {}).get("authorization"):
            raise ValueError("missing webex_configs.http_config.authorization")

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        self.api_url = self.api_url or glob.webex_api_url
