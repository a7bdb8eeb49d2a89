"""PagerDuty receiver config (``pagerduty_configs``): Events API v2 routing key or v1 service key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["PagerdutyConfig"]


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
