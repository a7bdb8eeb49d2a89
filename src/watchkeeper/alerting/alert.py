"""An alert as Alertmanager holds it: labels, annotations, times in nanoseconds, and its merge rule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .keys import fingerprint
from .matchers import is_label_name
from .timefmt import parse_rfc3339_ns

__all__ = ["Alert", "parse_postable_alert", "labels_fingerprint"]

# Prometheus re-sends every firing alert each evaluation with the same labels and, per batch, the same
# times: remembering fingerprints, valid label names and parsed times makes a re-send cost a few dict
# lookups instead of a byte-wise FNV hash and a regex per field. Each memo is cleared when it is full.
_MEMO_MAX = 1 << 18
_FINGERPRINTS: dict[frozenset[tuple[str, str]], str] = {}
_TIMES: dict[str, int | None] = {}
_NAMES: set[str] = set()


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """``keys.fingerprint(labels)``, memoized by label set."""
    key = frozenset(labels.items())
    fp = _FINGERPRINTS.get(key)
    if fp is None:
        if len(_FINGERPRINTS) >= _MEMO_MAX:
            _FINGERPRINTS.clear()
        fp = _FINGERPRINTS[key] = fingerprint(labels)
    return fp


def _parse_time(text: str) -> int | None:
    try:
        return _TIMES[text]
    except KeyError:
        pass
    ns = parse_rfc3339_ns(text)
    if len(_TIMES) >= _MEMO_MAX:
        _TIMES.clear()
    _TIMES[text] = ns
    return ns


def _valid_name(name: str) -> bool:
    if name in _NAMES:
        return True
    if not is_label_name(name):
        return False
    if len(_NAMES) >= _MEMO_MAX:
        _NAMES.clear()
    _NAMES.add(name)
    return True


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
        return labels_fingerprint(self.labels)

    def _derive(self, labels: Mapping[str, str], starts_at: int, ends_at: int | None, updated_at: int,
                timeout: bool) -> Alert:
        """A copy with new times (and ``labels``, which must have the same fingerprint); faster than
        ``dataclasses.replace`` and keeps the computed fingerprint."""
        out = Alert(labels, self.annotations, starts_at, ends_at, self.generator_url, updated_at, timeout)
        fp = self.__dict__.get("fingerprint")
        if fp is not None:
            out.__dict__["fingerprint"] = fp
        return out

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
        starts_at = min(old.starts_at, new.starts_at)
        return new._derive(new.labels, starts_at, ends_at, new.updated_at, new.timeout)

    def normalized(self, now: int, resolve_timeout_ns: int) -> Alert:
        """Intake defaults: ``updated_at = now``; a missing ``starts_at`` becomes ``ends_at`` or ``now``; a
        missing ``ends_at`` becomes ``now + resolve_timeout`` and is marked as a timeout; empty label
        values are dropped."""
        starts = self.starts_at or (self.ends_at if self.ends_at is not None else now)
        timeout = self.ends_at is None
        ends = now + resolve_timeout_ns if timeout else self.ends_at
        labels = self.labels
        if "" in labels.values():
            labels = {k: v for k, v in labels.items() if v != ""}
            return Alert(labels, self.annotations, starts, ends, self.generator_url, now, timeout)
        return self._derive(labels, starts, ends, now, timeout)


def parse_postable_alert(doc: Any) -> Alert:
    """A ``postableAlert`` with Alertmanager's intake checks (defaults are applied by the dispatcher)."""
    if not isinstance(doc, dict):
        raise ValueError("alert must be a JSON object")
    labels = doc.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise ValueError("at least one label pair required")
    for k, v in labels.items():
        if not _valid_name(k):
            raise ValueError(f'invalid name "{k}"')
        if not isinstance(v, str):
            raise ValueError(f'invalid value "{v}"')
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise ValueError("annotations must map names to strings")
    for k in annotations:
        if not _valid_name(k):
            raise ValueError(f'invalid name "{k}"')

    def when(key: str) -> int | None:
        raw = doc.get(key)
        if not raw:
            return None
        try:
            return _parse_time(str(raw))
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
