"""Telegram receiver config (``telegram_configs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig
from .sending import SendContext, post_json, read_secret

__all__ = ["TelegramConfig", "send"]


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


_MAX_TEXT = 4096


async def send(cfg: TelegramConfig, ctx: SendContext) -> None:
    """Bot API ``sendMessage`` (text cut to Telegram's 4096 characters)."""
    token = read_secret(cfg.bot_token, cfg.bot_token_file)
    chat = cfg.chat_id if cfg.chat_id is not None else int(read_secret(None, cfg.chat_id_file) or 0)
    body: dict[str, Any] = {
        "chat_id": chat,
        "text": ctx.render(cfg.message)[:_MAX_TEXT],
        "parse_mode": cfg.parse_mode,
        "disable_notification": cfg.disable_notifications,
    }
    if cfg.message_thread_id:
        body["message_thread_id"] = cfg.message_thread_id
    url = f"{str(cfg.api_url).rstrip('/')}/bot{token}/sendMessage"
    await post_json(ctx, url, body, http_config=cfg.http_config)
