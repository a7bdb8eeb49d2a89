"""Silences: validation, state at a time, Alertmanager's update-or-replace rule, and a persisted store.

The store writes every change to ``silences.json`` in its directory (write to a temporary file, fsync,
rename), so silences survive a restart or a crash; Alertmanager only snapshots periodically. Times are
integer nanoseconds (see ``timefmt``); the clock is a callable returning them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import re2

from ..model.matchers import Matcher, MatchType
from .matchers import is_label_name
from .timefmt import format_rfc3339_ns, parse_rfc3339_ns

__all__ = ["Silence", "SilenceState", "Silences", "SilenceError", "SilenceNotFound", "validate_silence"]

DEFAULT_RETENTION_NS = 120 * 3600 * 1_000_000_000
FILE_NAME = "silences.json"


class SilenceError(ValueError):
    """A silence Alertmanager would reject (HTTP 400)."""


class SilenceNotFound(KeyError):
    """No silence with that id (HTTP 404)."""


class SilenceState(enum.Enum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Silence:
    """A silence; ``id`` is empty until the store assigns one."""

    matchers: tuple[Matcher, ...]
    starts_at: int
    ends_at: int
    created_by: str = ""
    comment: str = ""
    id: str = ""
    updated_at: int = 0

    def state(self, now: int) -> SilenceState:
        """Pending before ``starts_at``, expired after ``ends_at``, active in between (both inclusive)."""
        if now < self.starts_at:
            return SilenceState.PENDING
        if now > self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)

    def to_json(self) -> dict[str, object]:
        """The API v2 shape (without ``status``, which depends on the time)."""
        return {
            "id": self.id,
            "matchers": [
                {
                    "name": m.name,
                    "value": m.value,
                    "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
                    "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX),
                }
                for m in self.matchers
            ],
            "startsAt": format_rfc3339_ns(self.starts_at),
            "endsAt": format_rfc3339_ns(self.ends_at),
            "updatedAt": format_rfc3339_ns(self.updated_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> Silence:
        """Parse the API v2 shape; raises ``SilenceError`` on bad matchers or times."""
        matchers = []
        for m in doc.get("matchers") or []:  # type: ignore[union-attr]
            is_regex, is_equal = bool(m.get("isRegex")), m.get("isEqual", True) is not False
            op = {
                (False, True): MatchType.EQUAL,
                (False, False): MatchType.NOT_EQUAL,
                (True, True): MatchType.REGEX,
                (True, False): MatchType.NOT_REGEX,
            }[(is_regex, is_equal)]
            try:
                matchers.append(Matcher(op, str(m.get("name", "")), str(m.get("value", ""))))
            except re2.error as exc:
                raise SilenceError(f"invalid regular expression {m.get('value')!r}: {exc}") from None

        def when(key: str) -> int:
            raw = doc.get(key)
            try:
                return (parse_rfc3339_ns(str(raw)) or 0) if raw else 0
            except ValueError as exc:
                raise SilenceError(str(exc)) from None

        return cls(
            matchers=tuple(matchers),
            starts_at=when("startsAt"),
            ends_at=when("endsAt"),
            created_by=str(doc.get("createdBy", "")),
            comment=str(doc.get("comment", "")),
            id=str(doc.get("id") or ""),
            updated_at=when("updatedAt"),
        )


def validate_silence(s: Silence) -> None:
    """Alertmanager's ``validateSilence`` checks (except the id, which the store assigns)."""
    if not s.matchers:
        raise SilenceError("at least one matcher required")
    for i, m in enumerate(s.matchers):
        if not is_label_name(m.name):
            raise SilenceError(f'invalid label matcher {i}: invalid label name "{m.name}"')
    if all(m.matches_empty for m in s.matchers):
        raise SilenceError("at least one matcher must not match the empty string")
    if not s.starts_at:
        raise SilenceError("invalid zero start timestamp")
    if not s.ends_at:
        raise SilenceError("invalid zero end timestamp")
    if s.ends_at < s.starts_at:
        raise SilenceError("end time must not be before start time")


def _can_update(old: Silence, new: Silence, now: int) -> bool:
    if [str(m) for m in old.matchers] != [str(m) for m in new.matchers]:
        return False
    state = old.state(now)
    if state is SilenceState.ACTIVE:
        return new.starts_at == old.starts_at and new.ends_at >= now
    if state is SilenceState.PENDING:
        return new.starts_at >= now
    return False


class Silences:
    """The silence store. ``directory=None`` keeps silences in memory only."""

    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] | None = None,
        clock: Callable[[], int] = time.time_ns,
        retention_ns: int = DEFAULT_RETENTION_NS,
    ) -> None:
        self._clock = clock
        self._retention = retention_ns
        self._path = Path(directory) / FILE_NAME if directory is not None else None
        self._by_id: dict[str, Silence] = {}
        self.version = 0  # changes with every change to the store (for caches of derived views)
        if self._path is not None and self._path.exists():
            for doc in json.loads(self._path.read_text(encoding="utf-8")):
                s = Silence.from_json(doc)
                self._by_id[s.id] = s

    def get(self, sid: str) -> Silence:
        try:
            return self._by_id[sid]
        except KeyError:
            raise SilenceNotFound(sid) from None

    def list(self, state: SilenceState | None = None) -> list[Silence]:
        now = self._clock()
        return [s for s in self._by_id.values() if state is None or s.state(now) is state]

    def set(self, silence: Silence) -> str:
        """Create or update; returns the id, which is new unless the update could be made in place."""
        validate_silence(silence)
        now = self._clock()
        if silence.id:
            prev = self.get(silence.id)
            if _can_update(prev, silence, now):
                self._by_id[prev.id] = dataclasses.replace(silence, updated_at=now)
                self._save()
                return prev.id
            if prev.state(now) is not SilenceState.EXPIRED:
                self._by_id[prev.id] = self._expired(prev, now)
        new = dataclasses.replace(
            silence, id=str(uuid.uuid4()), updated_at=now, starts_at=max(silence.starts_at, now)
        )
        if new.ends_at < new.starts_at:
            raise SilenceError("end time must not be before start time")
        self._by_id[new.id] = new
        self._save()
        return new.id

    @staticmethod
    def _expired(s: Silence, now: int) -> Silence:
        if s.state(now) is SilenceState.PENDING:
            return dataclasses.replace(s, starts_at=now, ends_at=now, updated_at=now)
        return dataclasses.replace(s, ends_at=now, updated_at=now)

    def expire(self, sid: str) -> None:
        """Active: end now. Pending: start and end now. Already expired: nothing to do."""
        s = self.get(sid)
        now = self._clock()
        if s.state(now) is not SilenceState.EXPIRED:
            self._by_id[sid] = self._expired(s, now)
            self._save()

    def mutes(self, labels: Mapping[str, str], now: int | None = None) -> list[str]:
        """Ids of the silences active at ``now`` (default: the clock) that match ``labels``, sorted."""
        now = self._clock() if now is None else now
        return sorted(
            s.id for s in self._by_id.values() if s.state(now) is SilenceState.ACTIVE and s.matches(labels)
        )

    def gc(self) -> int:
        """Delete silences that ended more than the retention ago; returns how many."""
        cutoff = self._clock() - self._retention
        dead = [sid for sid, s in self._by_id.items() if s.ends_at < cutoff]
        for sid in dead:
            del self._by_id[sid]
        if dead:
            self._save()
        return len(dead)

    def _save(self) -> None:
        self.version += 1
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump([s.to_json() for s in self._by_id.values()], fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path)
