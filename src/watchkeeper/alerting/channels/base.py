"""What every channel's config has in common: ``send_resolved``, ``http_config`` and the two checks.

``check()`` holds the rules Alertmanager applies while parsing the block itself; ``resolve(glob)`` fills in
defaults from ``global:`` (URLs, keys, the HTTP client settings) and raises when a required value is missing
both locally and globally. Both raise ``ValueError`` with Alertmanager's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ..globalconfig import GlobalConfig
from ..schema import Strict, check_http_config

__all__ = ["ChannelConfig", "check_url"]


def check_url(value: Any) -> None:
    """Alertmanager's URL type: absolute http(s) with a host."""
    if value is None:
        return
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https"):
        raise ValueError(f'unsupported scheme "{parts.scheme}" for URL')
    if not parts.netloc:
        raise ValueError("missing host for URL")


@dataclass
class ChannelConfig(Strict):
    """Base of ``<kind>_configs`` entries."""

    KIND: ClassVar[str] = ""
    SEND_RESOLVED: ClassVar[bool] = True
    URL_FIELDS: ClassVar[tuple[str, ...]] = ()

    send_resolved: bool | None = None
    http_config: dict[str, Any] | None = None

    def check(self) -> None:
        """Validation of the block on its own (Alertmanager's ``UnmarshalYAML``)."""
        if self.send_resolved is None:
            self.send_resolved = self.SEND_RESOLVED
        if not isinstance(self.send_resolved, bool):
            raise ValueError(f"send_resolved must be a boolean, got {self.send_resolved!r}")
        check_http_config(self.http_config)
        for name in self.URL_FIELDS:
            check_url(getattr(self, name))

    def resolve(self, glob: GlobalConfig) -> None:
        """Fill in defaults from ``global:``; raise when a required value is missing everywhere."""
        if self.http_config is None:
            self.http_config = glob.http_config

    @staticmethod
    def exclusive(a: Any, b: Any, name: str) -> None:
        if a and b:
            raise ValueError(f"at most one of {name} & {name}_file must be configured")
