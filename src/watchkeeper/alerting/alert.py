"""An alert as Alertmanager holds it: labels, annotations, times in nanoseconds, and its merge rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .keys import fingerprint
from .matchers import is_label_name
from .timefmt import parse_rfc3339_ns

__all__ = ["Alert", "parse_postable_alert"]


@dataclass(frozen=True)
class Alert:
    """Times are ns since the epoch. ``ends_at`` is ``None`` when unknown; ``timeout`` marks an ``ends_at``
    that came from resolve_timeout rather than from the sender."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: int = 0
    ends_at: int | None = None
    generator_url: str = ""
    updated_at: int = 0
    timeout: bool = False

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    def resolved(self, now: int) -> bool:
        """Resolved at ``now`` (ns) iff ``ends_at`` is set and not after ``now``."""
        return self.ends_at is not None and self.ends_at <= now

    def merge(self, other: Alert, now: int) -> Alert:
        """Alertmanager's ``Alert.Merge``: the younger alert wins, keeping the earlier start.

        The ``ends_at`` of the older alert survives when both are resolved and it is later, or when the
        younger one is firing and the older one's ``ends_at`` is later and did not come from a timeout.
        """
        old, new = (self, other) if other.updated_at >= self.updated_at else (other, self)
        ends_at = new.ends_at
        later = old.ends_at is not None and (new.ends_at is None or old.ends_at > new.ends_at)
        if new.resolved(now):
            if old.resolved(now) and later:
                ends_at = old.ends_at
        elif later and not old.timeout:
            ends_at = old.ends_at
        return dataclasses.replace(new, starts_at=min(old.starts_at, new.starts_at), ends_at=ends_at)

    def normalized(self, now: int, resolve_timeout_ns: int) -> Alert:
        """Intake defaults: ``updated_at = now``; a missing ``starts_at`` becomes ``ends_at`` or ``now``; a
        missing ``ends_at`` becomes ``now + resolve_timeout`` and is marked as a timeout; empty label
        values are dropped."""
        starts = self.starts_at or (self.ends_at if self.ends_at is not None else now)
        timeout = self.ends_at is None
        ends = now + resolve_timeout_ns if timeout else self.ends_at
        labels = {k: v for k, v in self.labels.items() if v != ""}
        return dataclasses.replace(
            self, labels=labels, starts_at=starts, ends_at=ends, updated_at=now, timeout=timeout
        )


def parse_postable_alert(doc: Any) -> Alert:
    """A ``postableAlert`` with Alertmanager's intake checks (defaults are applied by the dispatcher)."""
    if not isinstance(doc, dict):
        raise ValueError("alert must be a JSON object")
    labels = doc.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise ValueError("at least one label pair required")
    for k, v in labels.items():
        if not is_label_name(k):
            raise ValueError(f'invalid name "{k}"')
        if not isinstance(v, str):
            raise ValueError(f'invalid value "{v}"')
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise ValueError("annotations must map names to strings")
    for k in annotations:
        if not is_label_name(k):
            raise ValueError(f'invalid name "{k}"')

    def when(key: str) -> int | None:
        raw = doc.get(key)
        if not raw:
            return None
        try:
            return parse_rfc3339_ns(str(raw))
        except ValueError as exc:
            raise ValueError(f"{key} in body must be of type date-time: {exc}") from None

    starts, ends = when("startsAt"), when("endsAt")
    if starts is not None and ends is not None and ends < starts:
        raise ValueError("start time must be before end time")
    return Alert(
        labels=labels,
        annotations=annotations,
        starts_at=starts or 0,
        ends_at=ends,
        generator_url=str(doc.get("generatorURL") or ""),
    )
