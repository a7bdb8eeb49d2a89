"""``static_configs``: fixed target groups."""

from __future__ import annotations

from ..config import StaticConfig
from ..target import TargetGroup
from . import Update

__all__ = ["StaticProvider"]


class StaticProvider:
    """Reports its groups once; sources are ``<index>`` like Prometheus' static provider."""

    def __init__(self, configs: list[StaticConfig]) -> None:
        self.groups = [
            TargetGroup(source=str(i), targets=[{"__address__": t} for t in c.targets], labels=dict(c.labels))
            for i, c in enumerate(configs)
        ]

    async def run(self, update: Update) -> None:
        update(self.groups)
