"""Inhibition: an alert matching a rule's target side is muted while a firing alert matching its source
side has the same values for the rule's ``equal`` labels (absent counts as ``""`` on both sides).

An alert that matches both sides of a rule cannot be inhibited through that rule by a source that also
matches both sides (so it cannot inhibit itself). Sources are indexed per rule by their ``equal`` values,
so checking a target costs one dictionary lookup per rule whose target side it matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .alert import Alert
from .config import InhibitRule

__all__ = ["Inhibitor"]


def _all(matchers: Sequence, labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


@dataclass
class _Source:
    ends_at: int | None
    also_target: bool


@dataclass
class _RuleIndex:
    rule: InhibitRule
    # equal-label values -> fingerprint -> source alert facts
    sources: dict[tuple[str, ...], dict[str, _Source]] = field(default_factory=dict)
    key_of: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(n, "") for n in self.rule.equal)


class Inhibitor:
    """Tracks source alerts for every rule; ``mutes`` answers for one target label set at a time."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self._rules = [_RuleIndex(r) for r in rules]

    def put(self, alert: Alert) -> None:
        """Record (or update) an alert; only rules whose source side it matches keep it."""
        fp = alert.fingerprint
        for idx in self._rules:
            if not _all(idx.rule.source_matchers, alert.labels):
                continue
            key = idx.key(alert.labels)
            idx.key_of[fp] = key
            idx.sources.setdefault(key, {})[fp] = _Source(
                alert.ends_at, _all(idx.rule.target_matchers, alert.labels)
            )

    def delete(self, fingerprint: str) -> None:
        """Forget an alert (when the alert store drops it)."""
        for idx in self._rules:
            key = idx.key_of.pop(fingerprint, None)
            if key is not None:
                bucket = idx.sources[key]
                bucket.pop(fingerprint, None)
                if not bucket:
                    del idx.sources[key]

    def mutes(self, labels: Mapping[str, str], now: int) -> str | None:
        """The fingerprint of an alert inhibiting ``labels`` at ``now`` (ns), or ``None``."""
        for idx in self._rules:
            if not _all(idx.rule.target_matchers, labels):
                continue
            bucket = idx.sources.get(idx.key(labels))
            if not bucket:
                continue
            two_sided = _all(idx.rule.source_matchers, labels)
            for fp, src in bucket.items():
                if src.ends_at is not None and src.ends_at <= now:
                    continue  # resolved sources do not inhibit
                if two_sided and src.also_target:
                    continue
                return fp
        return None
