"""Which Alertmanager version's configuration rules to apply: current (``head``) or 0.25 (Debian bookworm).

The file format only grew over time, so 0.25 is HEAD minus the keys it did not know yet (reported as
``yaml: unmarshal errors``) plus a few older message texts. Used by ``check alertmanager --compat 0.25`` to
give amtool 0.25's verdicts; the server always loads configs with the ``head`` rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Dialect", "HEAD", "AM_0_25", "DIALECTS"]


@dataclass(frozen=True)
class Dialect:
    """``removed`` maps a context (``top``, ``global``, ``route``, ``receiver`` or a channel kind such as
    ``slack``) to keys this version does not accept; ``messages`` rewrites HEAD messages to its wording."""

    name: str
    removed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    messages: Mapping[str, str] = field(default_factory=dict)
    # 0.25 had no global Telegram token: every telegram_configs entry needed its own bot_token.
    telegram_token_inline: bool = False

    def removed_in(self, context: str) -> frozenset[str]:
        return self.removed.get(context, frozenset())

    def message(self, text: str) -> str:
        return self.messages.get(text, text)


HEAD = Dialect("head")

AM_0_25 = Dialect(
    "0.25",
    removed={
        "top": frozenset({"tracing"}),
        "route": frozenset({"labels"}),
        "receiver": frozenset(
            {
                "msteams_configs",
                "msteamsv2_configs",
                "jira_configs",
                "rocketchat_configs",
                "incidentio_configs",
                "mattermost_configs",
                # watchkeeper's own additions, unknown to every Alertmanager
                "twilio_configs",
                "apprise_configs",
                "file_configs",
            }
        ),
        "global": frozenset(
            {
                "slack_app_token",
                "slack_app_token_file",
                "slack_app_url",
                "telegram_bot_token",
                "telegram_bot_token_file",
                "wechat_api_secret_file",
                "rocketchat_api_url",
                "rocketchat_token",
                "rocketchat_token_file",
                "rocketchat_token_id",
                "rocketchat_token_id_file",
                "mattermost_webhook_url",
                "mattermost_webhook_url_file",
                "jira_api_url",
                "smtp_auth_secret",
                "smtp_auth_secret_file",
                "smtp_tls_config",
                "smtp_force_implicit_tls",
            }
        ),
        "slack": frozenset(
            {"app_token", "app_token_file", "app_url", "update_message", "message_text", "timeout"}
        ),
        "telegram": frozenset({"bot_token_file", "chat_id_file", "message_thread_id"}),
        "wechat": frozenset({"api_secret_file"}),
        "email": frozenset({"auth_secret", "auth_secret_file", "force_implicit_tls", "threading"}),
        "webhook": frozenset({"timeout"}),
        "pagerduty": frozenset({"timeout"}),
        "discord": frozenset({"webhook_url_file", "content", "username", "avatar_url"}),
    },
    messages={
        "no Slack API URL nor App token set either inline or in a file": (
            "no global Slack API URL set either inline or in a file"
        ),
        "no global Wechat Api Secret set either inline or in a file": "no global Wechat ApiSecret set",
        "missing bot_token or bot_token_file on telegram_config": "missing bot_token on telegram_config",
    },
    telegram_token_inline=True,
)

DIALECTS = {d.name: d for d in (HEAD, AM_0_25)}
