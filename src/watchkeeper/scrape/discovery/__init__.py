"""Service discovery: providers that yield target groups for a scrape pool.

A provider's ``run(update)`` calls ``update(groups)`` with its complete current
list of target groups whenever it changes, until cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..target import TargetGroup

__all__ = ["Provider", "Update", "groups_from_json"]

Update = Callable[[list[TargetGroup]], None]


class Provider(Protocol):
    async def run(self, update: Update) -> None:
        """Report target groups via ``update`` until cancelled (static providers may return)."""
        ...


def groups_from_json(data: object, source_prefix: str, meta: dict[str, str]) -> list[TargetGroup]:
    """Validate the ``[{"targets": [...], "labels": {...}}]`` shape shared by file and HTTP SD."""
    if not isinstance(data, list):
        raise ValueError("target group list must be a list")
    out = []
    for i, g in enumerate(data):
        if not isinstance(g, dict):
            raise ValueError(f"target group {i} is not an object")
        extra = set(g) - {"targets", "labels"}
        if extra:
            raise ValueError(f"field {sorted(extra)[0]} not found in type struct")
        targets = g.get("targets") or []
        labels = g.get("labels") or {}
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ValueError("targets must be a list of strings")
        if not isinstance(labels, dict):
            raise ValueError("labels must be an object")
        for k, v in labels.items():
            if not isinstance(k, str) or not k:
                raise ValueError(f'"{k}" is not a valid label name')
            if not isinstance(v, str):
                raise ValueError(f'label value for "{k}" must be a string')
        out.append(
            TargetGroup(
                source=f"{source_prefix}:{i}",
                targets=[{"__address__": t} for t in targets],
                labels={**labels, **meta},
            )
        )
    return out
