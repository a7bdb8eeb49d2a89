"""An inverted index of the alert store's label sets, so that matchers select alerts in bulk.

Listing 10,000 alerts asks, for every alert, which silences and inhibition rules match it. Asked one
alert at a time that is alerts x rules matcher calls in Python; asked the other way round — which
alerts does this matcher list select — each matcher is evaluated once per distinct *value* of its label
and the rest is set algebra in C. A fingerprint's label set never changes, so the index only changes
when an alert is added to or dropped from the store, not when Prometheus re-sends it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model.matchers import Matcher, MatchType

__all__ = ["LabelIndex"]

_FEW = 64  # below this many candidates, test the remaining matchers on each label set


class LabelIndex:
    """``name -> value -> fingerprints`` over the alerts added; ``labels`` keeps each label set."""

    def __init__(self) -> None:
        self.labels: dict[str, Mapping[str, str]] = {}
        self._postings: dict[str, dict[str, set[str]]] = {}
        self.version = 0  # bumped whenever the set of fingerprints changes

    def add(self, fp: str, labels: Mapping[str, str]) -> None:
        if fp in self.labels:
            return
        self.labels[fp] = labels
        for name, value in labels.items():
            self._postings.setdefault(name, {}).setdefault(value, set()).add(fp)
        self.version += 1

    def remove(self, fp: str) -> None:
        labels = self.labels.pop(fp, None)
        if labels is None:
            return
        for name, value in labels.items():
            by_value = self._postings[name]
            fps = by_value[value]
            fps.discard(fp)
            if not fps:
                del by_value[value]
                if not by_value:
                    del self._postings[name]
        self.version += 1

    def postings(self, name: str, value: str) -> set[str]:
        """The fingerprints with label ``name`` = ``value`` (non-empty); do not modify the set."""
        return self._postings.get(name, {}).get(value) or set()

    def select(self, matchers: Sequence[Matcher]) -> set[str]:
        """The fingerprints whose label sets all ``matchers`` match (a missing label is ``""``); a new set."""
        # Matchers that need the label present select from its posting lists (each distinct value is
        # tested once); the others only remove alerts, on the label sets themselves once few are left.
        need = [m for m in matchers if not m.matches("")]
        rest = [m for m in matchers if m.matches("")]
        if need:
            sets = sorted((self._present(m) for m in need), key=len)
            out = sets[0].intersection(*sets[1:])
        else:
            out = set(self.labels)
        for k, m in enumerate(rest):
            if len(out) <= _FEW:
                labels = self.labels
                return {fp for fp in out if all(r.matches(labels[fp].get(r.name, "")) for r in rest[k:])}
            for value, fps in self._postings.get(m.name, {}).items():
                if not m.matches(value):
                    out -= fps
        return out

    def _present(self, m: Matcher) -> set[str]:
        """Fingerprints with a value of ``m.name`` that ``m`` matches (do not modify the result)."""
        by_value = self._postings.get(m.name, {})
        if m.type is MatchType.EQUAL:
            return by_value.get(m.value) or set()
        hits = [fps for value, fps in by_value.items() if m.matches(value)]
        return hits[0] if len(hits) == 1 else set().union(*hits)
