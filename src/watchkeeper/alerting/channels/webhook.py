"""Webhook receiver config (``webhook_configs``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..alert import Alert
from ..notifydata import template_data
from ..schema import secret
from .base import ChannelConfig
from .sending import SendContext, post_json, read_secret

__all__ = ["WebhookConfig", "webhook_message", "send"]


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


def webhook_message(
    receiver: str,
    group_key: str,
    group_labels: Mapping[str, str],
    alerts: Sequence[Alert],
    *,
    now: int,
    external_url: str,
    max_alerts: int = 0,
) -> dict[str, Any]:
    """The version 4 webhook body; with ``max_alerts > 0`` only that many alerts go out and the rest are
    counted in ``truncatedAlerts`` (common labels are computed over what is sent)."""
    truncated = 0
    if max_alerts > 0 and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    body = template_data(receiver, group_labels, alerts, now, external_url)
    body.update({"version": "4", "groupKey": group_key, "truncatedAlerts": truncated})
    return body


async def send(cfg: WebhookConfig, ctx: SendContext) -> None:
    """POST the version 4 body (exactly Alertmanager's) to ``url``."""
    body = webhook_message(
        ctx.receiver,
        ctx.group_key,
        ctx.group_labels,
        ctx.alerts,
        now=ctx.now,
        external_url=ctx.external_url,
        max_alerts=cfg.max_alerts,
    )
    url = read_secret(cfg.url, cfg.url_file)
    await post_json(ctx, url, body, http_config=cfg.http_config, timeout=cfg.timeout)
