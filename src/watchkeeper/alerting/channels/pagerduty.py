"""PagerDuty receiver config (``pagerduty_configs``): Events API v2 routing key or v1 service key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig
from .sending import ChannelError, SendContext, group_hash, post_json, read_secret

__all__ = ["PagerdutyConfig", "send"]


def _default_details() -> dict[str, str]:
    return {
        "firing": '{{ template "pagerduty.default.instances" .Alerts.Firing }}',
        "resolved": '{{ template "pagerduty.default.instances" .Alerts.Resolved }}',
        "num_firing": "{{ .Alerts.Firing | len }}",
        "num_resolved": "{{ .Alerts.Resolved | len }}",
    }


@dataclass
class PagerdutyConfig(ChannelConfig):
    KIND = "pagerduty"
    URL_FIELDS = ("url",)

    service_key: str | None = secret()
    service_key_file: str | None = None
    routing_key: str | None = secret()
    routing_key_file: str | None = None
    url: str | None = None
    client: str = '{{ template "pagerduty.default.client" . }}'
    client_url: str = '{{ template "pagerduty.default.clientURL" . }}'
    description: str = '{{ template "pagerduty.default.description" .}}'
    details: dict[str, Any] = field(default_factory=_default_details)
    images: list[dict[str, Any]] | None = None
    links: list[dict[str, Any]] | None = None
    source: str | None = None
    severity: str = "error"
    class_: str | None = None
    component: str | None = None
    group: str | None = None
    timeout: str | None = None

    RENAMES = {"class": "class_"}

    def check(self) -> None:
        super().check()
        self.exclusive(self.routing_key, self.routing_key_file, "routing_key")
        self.exclusive(self.service_key, self.service_key_file, "service_key")
        if not (self.routing_key or self.routing_key_file or self.service_key or self.service_key_file):
            raise ValueError("missing service or routing key in PagerDuty config")
        if self.details is not None:
            self.details = {**_default_details(), **self.details}
        if self.source is None:
            self.source = self.client

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        self.url = self.url or glob.pagerduty_url


_SUMMARY_MAX = 1024


def pagerduty_event(cfg: PagerdutyConfig, ctx: SendContext) -> dict[str, Any]:
    """An Events API v2 event: ``trigger`` while anything fires, else ``resolve``; the dedup key is the
    SHA-256 of the group key so every notification of a group updates one incident."""
    client = ctx.render(cfg.client)
    summary = ctx.render(cfg.description)
    if len(summary) > _SUMMARY_MAX:
        summary = summary[: _SUMMARY_MAX - 1] + "…"
    payload: dict[str, Any] = {
        "summary": summary,
        "source": ctx.render(cfg.source) if cfg.source else client,
        "severity": ctx.render(cfg.severity),
        "custom_details": {k: ctx.render(v) if isinstance(v, str) else v for k, v in cfg.details.items()},
    }
    for key, value in (("class", cfg.class_), ("component", cfg.component), ("group", cfg.group)):
        if value:
            payload[key] = ctx.render(value)
    event: dict[str, Any] = {
        "routing_key": read_secret(cfg.routing_key, cfg.routing_key_file),
        "event_action": "trigger" if ctx.firing else "resolve",
        "dedup_key": group_hash(ctx.group_key),
        "client": client,
        "client_url": ctx.render(cfg.client_url),
        "payload": payload,
    }
    if cfg.images:
        event["images"] = [{k: ctx.render(v) for k, v in i.items()} for i in cfg.images]
    if cfg.links:
        event["links"] = [{k: ctx.render(v) for k, v in i.items()} for i in cfg.links]
    return event


async def send(cfg: PagerdutyConfig, ctx: SendContext) -> None:
    """Events API v2 only (``routing_key``); the v1 ``service_key`` API is retired by PagerDuty."""
    if not (cfg.routing_key or cfg.routing_key_file):
        raise ChannelError("pagerduty: only routing_key (Events API v2) is supported", retryable=False)
    event = pagerduty_event(cfg, ctx)
    await post_json(ctx, str(cfg.url), event, http_config=cfg.http_config, timeout=cfg.timeout)
