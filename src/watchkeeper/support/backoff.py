"""Exponential backoff with jitter, for restarting crashed components and retrying peers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays that double from ``initial`` up to ``maximum`` seconds, with +/- ``jitter`` fraction.

    Jitter keeps many restarting components from retrying in lockstep. ``reset``
    starts over after a component has run well for a while.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    _next: float = field(default=0.0, init=False, repr=False)
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self) -> float:
        """The delay to wait before the next attempt; each call lengthens the following one."""
        base = self._next or self.initial
        self._next = min(base * self.factor, self.maximum)
        spread = base * self.jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))

    def reset(self) -> None:
        self._next = 0.0
