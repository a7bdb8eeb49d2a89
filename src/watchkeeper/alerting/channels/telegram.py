"""Telegram receiver config (``telegram_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["TelegramConfig"]


@dataclass
class TelegramConfig(ChannelConfig):
    KIND = "telegram"
    URL_FIELDS = ("api_url",)

    api_url: str | None = None
    bot_token: str | None = secret()
    bot_token_file: str | None = None
    chat_id: int | None = None
    chat_id_file: str | None = None
    message_thread_id: int | None = None
    message: str = '{{ template "telegram.default.message" . }}'
    disable_notifications: bool = False
    parse_mode: str = "HTML"

    def check(self) -> None:
        super().check()
        self.exclusive(self.bot_token, self.bot_token_file, "bot_token")
        if not self.chat_id and not self.chat_id_file:
            raise ValueError("missing chat_id or chat_id_file on telegram_config")
        if self.parse_mode not in ("MarkdownV2", "Markdown", "HTML", ""):
            raise ValueError(
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"
            )

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        self.api_url = self.api_url or glob.telegram_api_url
        if not self.bot_token and not self.bot_token_file:
            if not glob.telegram_bot_token and not glob.telegram_bot_token_file:
                raise ValueError("missing bot_token or bot_token_file on telegram_config")
            self.bot_token, self.bot_token_file = glob.telegram_bot_token, glob.telegram_bot_token_file
