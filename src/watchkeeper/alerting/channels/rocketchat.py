"""Rocket.Chat receiver config (``rocketchat_configs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["RocketchatConfig"]


@dataclass
class RocketchatConfig(ChannelConfig):
    KIND = "rocketchat"
    SEND_RESOLVED = False
    URL_FIELDS = ("api_url",)

    api_url: str | None = None
    token: str | None = secret()
    token_file: str | None = None
    token_id: str | None = secret()
    token_id_file: str | None = None
    channel: str | None = None
    color: str = '{{ if eq .Status "firing" }}red{{ else }}green{{ end }}'
    emoji: str = '{{ template "rocketchat.default.emoji" . }}'
    icon_url: str = '{{ template "rocketchat.default.iconurl" . }}'
    text: str = '{{ template "rocketchat.default.text" . }}'
    title: str = '{{ template "rocketchat.default.title" . }}'
    title_link: str = '{{ template "rocketchat.default.titlelink" . }}'
    fields: list[dict[str, Any]] | None = None
    short_fields: bool = False
    image_url: str | None = None
    thumb_url: str | None = None
    link_names: bool = False
    actions: list[dict[str, Any]] | None = None

    def check(self) -> None:
        super().check()
        self.exclusive(self.token, self.token_file, "token")
        self.exclusive(self.token_id, self.token_id_file, "token_id")

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        self.api_url = self.api_url or glob.rocketchat_api_url
        if not self.token_id and not self.token_id_file:
            if not glob.rocketchat_token_id and not glob.rocketchat_token_id_file:
                raise ValueError("no global Rocketchat TokenID set either inline or in a file")
            self.token_id, self.token_id_file = glob.rocketchat_token_id, glob.rocketchat_token_id_file
        if not self.token and not self.token_file:
            if not glob.rocketchat_token and not glob.rocketchat_token_file:
                raise ValueError("no global Rocketchat Token set either inline or in a file")
            self.token, self.token_file = glob.rocketchat_token, glob.rocketchat_token_file
