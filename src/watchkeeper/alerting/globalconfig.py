"""The ``global:`` block: defaults shared by every receiver, with Alertmanager's default values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .durations import parse_duration
from .schema import Strict, check_http_config, one_of, secret

__all__ = ["GlobalConfig"]


@dataclass
class GlobalConfig(Strict):
    GO_TYPE = "config.plain"

    resolve_timeout: str = "5m"
    http_config: dict[str, Any] | None = None
    smtp_from: str | None = None
    smtp_hello: str = "localhost"
    smtp_smarthost: str | None = None
    smtp_auth_username: str | None = None
    smtp_auth_password: str | None = secret()
    smtp_auth_password_file: str | None = None
    smtp_auth_secret: str | None = secret()
    smtp_auth_secret_file: str | None = None
    smtp_auth_identity: str | None = None
    smtp_require_tls: bool = True
    smtp_tls_config: dict[str, Any] | None = None
    smtp_force_implicit_tls: bool | None = None
    slack_api_url: str | None = secret()
    slack_api_url_file: str | None = None
    slack_app_token: str | None = secret()
    slack_app_token_file: str | None = None
    slack_app_url: str = "https://slack.com/api/chat.postMessage"
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    opsgenie_api_url: str = "https://api.opsgenie.com/"
    opsgenie_api_key: str | None = secret()
    opsgenie_api_key_file: str | None = None
    wechat_api_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    wechat_api_secret: str | None = secret()
    wechat_api_secret_file: str | None = None
    wechat_api_corp_id: str | None = None
    victorops_api_url: str = "https://alert.victorops.com/integrations/generic/20131114/alert/"
    victorops_api_key: str | None = secret()
    victorops_api_key_file: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_token: str | None = secret()
    telegram_bot_token_file: str | None = None
    webex_api_url: str = "https://webexapis.com/v1/messages"
    rocketchat_api_url: str = "https://open.rocket.chat/"
    rocketchat_token: str | None = secret()
    rocketchat_token_file: str | None = None
    rocketchat_token_id: str | None = secret()
    rocketchat_token_id_file: str | None = None
    mattermost_webhook_url: str | None = secret()
    mattermost_webhook_url_file: str | None = None
    jira_api_url: str | None = None

    @property
    def resolve_timeout_seconds(self) -> float:
        return parse_duration(self.resolve_timeout)

    def validate(self) -> None:
        """The global checks Alertmanager makes before looking at receivers (its order and wording)."""
        parse_duration(self.resolve_timeout)
        check_http_config(self.http_config)
        for name in (
            "slack_api_url",
            "slack_app_token",
            "opsgenie_api_key",
            "victorops_api_key",
            "wechat_api_secret",
            "telegram_bot_token",
            "mattermost_webhook_url",
            "rocketchat_token",
            "rocketchat_token_id",
        ):
            one_of(
                getattr(self, name),
                getattr(self, name + "_file"),
                f"at most one of {name} & {name}_file must be configured",
            )
        # A bot token needs the chat.postMessage URL; any other api_url is a webhook, which cannot take one.
        webhook = self.slack_api_url_file or (self.slack_api_url and self.slack_api_url != self.slack_app_url)
        if (self.slack_app_token or self.slack_app_token_file) and webhook:
            raise ValueError(
                "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file "
                "must be configured"
            )
        one_of(
            self.smtp_auth_password,
            self.smtp_auth_password_file,
            "at most one of smtp_auth_password & smtp_auth_password_file must be configured",
        )
        one_of(
            self.smtp_auth_secret,
            self.smtp_auth_secret_file,
            "at most one of smtp_auth_secret & smtp_auth_secret_file must be configured",
        )
