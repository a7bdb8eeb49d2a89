"""Inhibition: an alert matching a rule's target side is muted while a firing alert matching its source
side has the same values for the rule's ``equal`` labels (absent counts as ``""`` on both sides).

An alert that matches both sides of a rule cannot be inhibited through that rule by a source that also
matches both sides (so it cannot inhibit itself).

Sources are indexed by (``equal`` label names, their values) and then by rule, so asking about a target
costs one dictionary lookup per distinct ``equal`` list, and target matchers (regexes) are evaluated only
for rules that have a source with the target's values. Rules whose side has an equality matcher on a
non-empty value are only considered for label sets holding that pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..model.matchers import Matcher, MatchType
from .alert import Alert
from .config import InhibitRule

__all__ = ["Inhibitor"]


def _all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


@dataclass(frozen=True)
class _Source:
    ends_at: int | None
    also_target: bool


class _Prefilter:
    """The rules whose matchers *might* match a label set, found without evaluating them all."""

    def __init__(self, sides: Sequence[Sequence[Matcher]]) -> None:
        self._by_pair: dict[tuple[str, str], list[int]] = {}
        self._always: list[int] = []
        for i, matchers in enumerate(sides):
            eq = next((m for m in matchers if m.type is MatchType.EQUAL and m.value), None)
            if eq is None:
                self._always.append(i)
            else:
                self._by_pair.setdefault((eq.name, eq.value), []).append(i)

    def candidates(self, labels: Mapping[str, str]) -> list[int]:
        found = list(self._always)
        for pair in labels.items():
            found += self._by_pair.get(pair, ())
        return found


# equal names -> equal values -> rule index -> fingerprint -> source facts
_Table = dict[tuple[str, ...], dict[tuple[str, ...], dict[int, dict[str, _Source]]]]


class Inhibitor:
    """Tracks source alerts for every rule; ``mutes`` answers for one target label set at a time."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self._rules = list(rules)
        self._sources = _Prefilter([r.source_matchers for r in self._rules])
        self._targets = _Prefilter([r.target_matchers for r in self._rules])
        self._table: _Table = {r.equal: {} for r in self._rules}
        self._where: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], int]]] = {}

    def put(self, alert: Alert) -> None:
        """Record (or update) an alert; only rules whose source side it matches keep it."""
        fp = alert.fingerprint
        self.delete(fp)
        places = []
        for i in self._sources.candidates(alert.labels):
            rule = self._rules[i]
            if not _all(rule.source_matchers, alert.labels):
                continue
            key = tuple(alert.labels.get(n, "") for n in rule.equal)
            per_rule = self._table[rule.equal].setdefault(key, {})
            per_rule.setdefault(i, {})[fp] = _Source(alert.ends_at, _all(rule.target_matchers, alert.labels))
            places.append((rule.equal, key, i))
        if places:
            self._where[fp] = places

    def delete(self, fingerprint: str) -> None:
        """Forget an alert (when the alert store drops it)."""
        for names, key, i in self._where.pop(fingerprint, ()):
            per_rule = self._table[names][key]
            bucket = per_rule[i]
            del bucket[fingerprint]
            if not bucket:
                del per_rule[i]
                if not per_rule:
                    del self._table[names][key]

    def mutes(self, labels: Mapping[str, str], now: int) -> str | None:
        """The fingerprint of an alert inhibiting ``labels`` at ``now`` (ns), or ``None``."""
        hits: dict[int, dict[str, _Source]] = {}
        for names, by_key in self._table.items():
            per_rule = by_key.get(tuple(labels.get(n, "") for n in names))
            if per_rule:
                hits.update(per_rule)
        if not hits:
            return None
        for i in sorted(set(self._targets.candidates(labels)).intersection(hits)):
            rule = self._rules[i]
            if not _all(rule.target_matchers, labels):
                continue
            two_sided = _all(rule.source_matchers, labels)
            for fp, src in hits[i].items():
                if src.ends_at is not None and src.ends_at <= now:
                    continue  # resolved sources do not inhibit
                if two_sided and src.also_target:
                    continue
                return fp
        return None
