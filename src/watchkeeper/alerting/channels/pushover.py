"""Pushover receiver config (``pushover_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..durations import parse_duration
from ..schema import secret
from .base import ChannelConfig

__all__ = ["PushoverConfig"]


@dataclass
class PushoverConfig(ChannelConfig):
    KIND = "pushover"

    user_key: str | None = secret()
    user_key_file: str | None = None
    token: str | None = secret()
    token_file: str | None = None
    title: str = '{{ template "pushover.default.title" . }}'
    message: str = '{{ template "pushover.default.message" . }}'
    url: str = '{{ template "pushover.default.url" . }}'
    url_title: str | None = None
    device: str | None = None
    sound: str | None = None
    priority: str = '{{ if eq .Status "firing" }}2{{ else }}0{{ end }}'
    retry: str = "1m"
    expire: str = "1h"
    ttl: str | None = None
    html: bool = False
    monospace: bool = False

    def check(self) -> None:
        super().check()
        if not self.user_key and not self.user_key_file:
            raise ValueError("one of user_key or user_key_file must be configured")
        self.exclusive(self.user_key, self.user_key_file, "user_key")
        if not self.token and not self.token_file:
            raise ValueError("one of token or token_file must be configured")
        self.exclusive(self.token, self.token_file, "token")
        if self.html and self.monospace:
            raise ValueError("at most one of monospace & html must be configured")
        for d in (self.retry, self.expire, self.ttl):
            if d is not None:
                parse_duration(d)
