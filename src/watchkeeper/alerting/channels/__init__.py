"""Notification channels: one module per channel, each owning its config dataclass.

``CHANNEL_CONFIGS`` is the one registry: receiver key (``webhook_configs``) to config class.
"""

from __future__ import annotations

from .apprise_ import AppriseConfig
from .base import ChannelConfig
from .discord import DiscordConfig
from .email import EmailConfig
from .incidentio import IncidentioConfig
from .jira import JiraConfig
from .logfile import FileConfig
from .mattermost import MattermostConfig
from .msteams import MSTeamsConfig
from .msteamsv2 import MSTeamsV2Config
from .opsgenie import OpsGenieConfig
from .pagerduty import PagerdutyConfig
from .pushover import PushoverConfig
from .rocketchat import RocketchatConfig
from .slack import SlackConfig
from .sns import SNSConfig
from .telegram import TelegramConfig
from .twilio import TwilioConfig
from .victorops import VictorOpsConfig
from .webex import WebexConfig
from .webhook import WebhookConfig
from .wechat import WechatConfig

__all__ = ["ChannelConfig", "CHANNEL_CONFIGS"]

# Order is Alertmanager's receiver field order, which is also the order integrations are built in.
CHANNEL_CONFIGS: dict[str, type[ChannelConfig]] = {
    "discord_configs": DiscordConfig,
    "email_configs": EmailConfig,
    "incidentio_configs": IncidentioConfig,
    "pagerduty_configs": PagerdutyConfig,
    "slack_configs": SlackConfig,
    "webhook_configs": WebhookConfig,
    "opsgenie_configs": OpsGenieConfig,
    "wechat_configs": WechatConfig,
    "pushover_configs": PushoverConfig,
    "victorops_configs": VictorOpsConfig,
    "sns_configs": SNSConfig,
    "telegram_configs": TelegramConfig,
    "webex_configs": WebexConfig,
    "msteams_configs": MSTeamsConfig,
    "msteamsv2_configs": MSTeamsV2Config,
    "jira_configs": JiraConfig,
    "rocketchat_configs": RocketchatConfig,
    "mattermost_configs": MattermostConfig,
    # watchkeeper's additions (Alertmanager has no such receiver keys).
    "twilio_configs": TwilioConfig,
    "apprise_configs": AppriseConfig,
    "file_configs": FileConfig,
}
