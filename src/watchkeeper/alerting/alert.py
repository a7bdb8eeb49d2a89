"""An alert as Alertmanager holds it: labels, annotations, times in nanoseconds, and its merge rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .keys import fingerprint

__all__ = ["Alert"]


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
