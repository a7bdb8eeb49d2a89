"""Inhibition: an alert matching a rule's target side is muted while a firing alert matching its source
side has the same values for the rule's ``equal`` labels (absent counts as ``""`` on both sides).

An alert that matches both sides of a rule cannot be inhibited through that rule by a source that also
matches both sides (so it cannot inhibit itself).

Sources are indexed by (``equal`` label names, their values) and then by rule, so asking about a target
costs one dictionary lookup per distinct ``equal`` list, and target matchers (regexes) are evaluated only
for rules that have a source with the target's values. Rules whose side has an equality matcher on a
non-empty value are only considered for label sets holding that pair.

``mutes_all`` gives the same answers for every alert of the store at once (the API lists them all):
per rule with a firing source, the targets are selected in bulk from the store's ``LabelIndex``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..model.matchers import Matcher, MatchType
from .alert import Alert
from .config import InhibitRule
from .labelindex import LabelIndex

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
# Where one alert is a source: (rule index, equal names, equal values, matches the target side too).
_Place = tuple[int, tuple[str, ...], tuple[str, ...], bool]


class Inhibitor:
    """Tracks source alerts for every rule; ``mutes`` answers for one target label set at a time,
    ``mutes_all`` for every alert of a store. ``version`` changes whenever the sources do."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self._rules = list(rules)
        self._sources = _Prefilter([r.source_matchers for r in self._rules])
        self._targets = _Prefilter([r.target_matchers for r in self._rules])
        self._table: _Table = {r.equal: {} for r in self._rules}
        self._by_rule: list[dict[tuple[str, ...], dict[str, _Source]]] = [{} for _ in self._rules]
        self._where: dict[str, tuple[_Place, ...]] = {}
        # fingerprint -> its places; a label set's places never change, so re-sends skip the matching.
        self._places: dict[str, tuple[_Place, ...]] = {}
        self._target_sets: tuple[tuple[LabelIndex | None, int], dict[int, set[str]]] = ((None, -1), {})
        self.version = 0

    def _places_of(self, alert: Alert) -> tuple[_Place, ...]:
        places = self._places.get(alert.fingerprint)
        if places is None:
            labels = alert.labels
            places = self._places[alert.fingerprint] = tuple(
                (i, r.equal, tuple(labels.get(n, "") for n in r.equal), _all(r.target_matchers, labels))
                for i in self._sources.candidates(labels)
                if _all((r := self._rules[i]).source_matchers, labels)
            )
        return places

    def put(self, alert: Alert) -> None:
        """Record (or update) an alert; only rules whose source side it matches keep it."""
        fp = alert.fingerprint
        places = self._places_of(alert)
        self._remove(fp)
        if not places:
            return
        for i, names, key, also_target in places:
            bucket = self._table[names].setdefault(key, {}).setdefault(i, {})
            bucket[fp] = _Source(alert.ends_at, also_target)
            self._by_rule[i][key] = bucket
        self._where[fp] = places
        self.version += 1

    def delete(self, fingerprint: str) -> None:
        """Forget an alert (when the alert store drops it)."""
        self._remove(fingerprint)
        self._places.pop(fingerprint, None)

    def _remove(self, fingerprint: str) -> None:
        places = self._where.pop(fingerprint, None)
        if places is None:
            return
        for i, names, key, _ in places:
            per_rule = self._table[names][key]
            bucket = per_rule[i]
            del bucket[fingerprint]
            if not bucket:
                del per_rule[i]
                del self._by_rule[i][key]
                if not per_rule:
                    del self._table[names][key]
        self.version += 1

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

    def mutes_all(self, index: LabelIndex, now: int) -> tuple[dict[str, str], int | None]:
        """``{fingerprint: mutes(its labels, now)}`` for every alert of ``index`` that is inhibited, and
        the first time after ``now`` at which a source resolves (the answer may change then; ``None``:
        never)."""
        out: dict[str, str] = {}
        change: int | None = None
        for i, rule in enumerate(self._rules):
            for key, bucket in self._by_rule[i].items():
                first = one_sided = None
                for fp, src in bucket.items():
                    if src.ends_at is not None:
                        if src.ends_at <= now:
                            continue
                        change = src.ends_at if change is None else min(change, src.ends_at)
                    if first is None:
                        first = fp
                    if not src.also_target:
                        one_sided = fp
                        break
                if first is None:
                    continue
                targets = self._target_set(index, i).intersection(
                    *(index.select([Matcher(MatchType.EQUAL, n, v)]) if not v else index.postings(n, v)
                      for n, v in zip(rule.equal, key, strict=True)))
                for t in targets:
                    if t in out:
                        continue  # an earlier rule already inhibits it
                    if first == one_sided:
                        out[t] = first
                    elif not _all(rule.source_matchers, index.labels[t]):
                        out[t] = first
                    elif one_sided is not None:
                        out[t] = one_sided
        return out, change

    def _target_set(self, index: LabelIndex, i: int) -> set[str]:
        """The alerts of ``index`` matching rule ``i``'s target side, kept while the index is unchanged."""
        version, sets = self._target_sets
        if version[0] is not index or version[1] != index.version:
            sets = {}
            self._target_sets = ((index, index.version), sets)
        found = sets.get(i)
        if found is None:
            found = sets[i] = index.select(self._rules[i].target_matchers)
        return found
