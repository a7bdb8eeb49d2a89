"""The alert a rule produces: what the server hands to notification channels."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..model.labels import Labels

__all__ = ["Alert", "AlertState", "RESOLVED_RETENTION_MS"]

# Resolved alerts stay in the rule (and are re-sent) this long, so receivers
# that missed the resolution still learn of it (Prometheus' resolvedRetention).
RESOLVED_RETENTION_MS = 15 * 60_000


class AlertState(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass
class Alert:
    """One alert instance. Times are milliseconds since the epoch; 0 means unset."""

    labels: Labels
    annotations: Labels
    state: AlertState
    active_at: int
    value: float
    fired_at: int = 0
    resolved_at: int = 0
    last_sent_at: int | None = None  # None: never sent (0 is a valid instant in unit tests)
    valid_until: int = 0
    keep_firing_since: int = 0

    def needs_sending(self, ts: int, resend_delay_ms: int) -> bool:
        """Prometheus' ``needsSending``: firing/resolved alerts, resolved ones at once, others each delay."""
        if self.state == AlertState.PENDING:
            return False
        if self.last_sent_at is None:
            return True
        if self.resolved_at > self.last_sent_at:
            return True
        return self.last_sent_at + resend_delay_ms < ts

    def copy(self) -> Alert:
        return Alert(
            self.labels,
            self.annotations,
            self.state,
            self.active_at,
            self.value,
            self.fired_at,
            self.resolved_at,
            self.last_sent_at,
            self.valid_until,
            self.keep_firing_since,
        )
