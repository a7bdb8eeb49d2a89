"""incident.io receiver config (``incidentio_configs``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import secret
from .base import ChannelConfig

__all__ = ["IncidentioConfig"]


@dataclass
class IncidentioConfig(ChannelConfig):
    KIND = "incidentio"
    URL_FIELDS = ("url",)

    url: str | None = secret()
    url_file: str | None = None
    alert_source_token: str | None = secret()
    alert_source_token_file: str | None = None
    max_alerts: int = 0
    timeout: str | None = None

    def check(self) -> None:
        super().check()
        if not self.url and not self.url_file:
            raise ValueError("one of url or url_file must be configured")
        self.exclusive(self.url, self.url_file, "url")
        self.exclusive(self.alert_source_token, self.alert_source_token_file, "alert_source_token")
