"""VictorOps (Splunk On-Call) receiver config (``victorops_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig

__all__ = ["VictorOpsConfig"]

_RESERVED = {
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
}


@dataclass
class VictorOpsConfig(ChannelConfig):
    KIND = "victorops"
    URL_FIELDS = ("api_url",)

    api_key: str | None = secret()
    api_key_file: str | None = None
    api_url: str | None = None
    routing_key: str | None = None
    message_type: str = "CRITICAL"
    state_message: str = '{{ template "victorops.default.state_message" . }}'
    entity_display_name: str = '{{ template "victorops.default.entity_display_name" . }}'
    monitoring_tool: str = '{{ template "victorops.default.monitoring_tool" . }}'
    custom_fields: dict[str, str] | None = None

    def check(self) -> None:
        super().check()
        if not self.routing_key:
            raise ValueError("missing Routing key in VictorOps config")
        self.exclusive(self.api_key, self.api_key_file, "api_key")
        for k in self.custom_fields or {}:
            if k in _RESERVED:
                raise ValueError(
                    f"victorOps config contains custom field {k} which cannot be used as it "
                    "conflicts with the fixed/static fields"
                )

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        url = self.api_url or glob.victorops_api_url
        self.api_url = url if url.endswith("/") else url + "/"
        if not self.api_key and not self.api_key_file:
            if not glob.victorops_api_key and not glob.victorops_api_key_file:
                raise ValueError("no global VictorOps API Key set")
            self.api_key, self.api_key_file = glob.victorops_api_key, glob.victorops_api_key_file
