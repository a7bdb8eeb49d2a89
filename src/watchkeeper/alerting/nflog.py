"""The notification log: what each integration last sent for each group, and the dedup decision.

One entry per (group key, receiver, integration kind, integration index) holds the time of the last
successful send and the hashes of the firing and resolved alerts it contained. ``dedup_reason`` is
Alertmanager's ``DedupStage.needsUpdate`` with HEAD's reason strings.

Persistence: every ``log`` call appends one JSON line to ``nflog.jsonl`` (later lines win on replay, a
torn last line is ignored); the file is rewritten without dead entries when it holds clearly more lines
than live entries, so restarts lose no notification state and the file stays bounded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

__all__ = ["LogEntry", "NotificationLog", "hash_alert", "dedup_reason"]

FILE_NAME = "nflog.jsonl"
DEFAULT_RETENTION_NS = 120 * 3600 * 1_000_000_000

Key = tuple[str, str, str, int]  # group key, receiver, integration kind, integration index


def hash_alert(labels: Mapping[str, str]) -> int:
    """xxHash64 of the label set (``name 0xFF value 0xFF`` sorted by name); start time is not part of it."""
    buf = bytearray()
    for name in sorted(labels):
        buf += name.encode() + b"\xff" + labels[name].encode() + b"\xff"
    return xxhash.xxh64_intdigest(bytes(buf))


@dataclass(frozen=True)
class LogEntry:
    timestamp: int
    firing: frozenset[int]
    resolved: frozenset[int]
    expires_at: int


def dedup_reason(
    entry: LogEntry | None,
    firing: Collection[int],
    resolved: Collection[int],
    *,
    send_resolved: bool,
    repeat_interval_ns: int,
    now: int,
) -> str | None:
    """Why this batch must be sent, or ``None`` when it must not (BEHAVIOR.md section 6)."""
    if entry is None:
        return "first notification" if firing else None
    if not entry.firing.issuperset(firing):
        return "new alerts added" if entry.firing else "first notification"
    if not firing:
        # Sent even without send_resolved, so that the log forgets the firing alerts.
        return "all alerts resolved" if entry.firing else None
    if send_resolved and not entry.resolved.issuperset(resolved):
        return "some alerts resolved"
    if entry.timestamp < now - repeat_interval_ns:
        return "repeat interval elapsed"
    return None


def _record(key: Key, e: LogEntry) -> str:
    d = {
        "g": key[0],
        "r": key[1],
        "i": key[2],
        "x": key[3],
        "t": e.timestamp,
        "f": sorted(e.firing),
        "s": sorted(e.resolved),
        "e": e.expires_at,
    }
    return json.dumps(d, separators=(",", ":")) + "\n"


def _parse(d: dict[str, Any]) -> tuple[Key, LogEntry]:
    return (d["g"], d["r"], d["i"], d["x"]), LogEntry(d["t"], frozenset(d["f"]), frozenset(d["s"]), d["e"])


class NotificationLog:
    """Entries by key, each expiring when its ``expires_at`` passes. ``directory=None``: memory only."""

    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] | None = None,
        clock: Callable[[], int] = time.time_ns,
        retention_ns: int = DEFAULT_RETENTION_NS,
    ) -> None:
        self._clock = clock
        self._retention = retention_ns
        self._entries: dict[Key, LogEntry] = {}
        self._lines = 0
        self._path = Path(directory) / FILE_NAME if directory is not None else None
        if self._path is not None and self._path.exists():
            with open(self._path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        key, entry = _parse(json.loads(line))
                    except (ValueError, KeyError, TypeError):
                        break  # a torn last line from a crash: everything before it is intact
                    self._entries[key] = entry
            self.gc()
            self._compact()

    def query(self, group_key: str, receiver: str, integration: str, index: int) -> LogEntry | None:
        entry = self._entries.get((group_key, receiver, integration, index))
        if entry is None or entry.expires_at <= self._clock():
            return None
        return entry

    def log(
        self,
        group_key: str,
        receiver: str,
        integration: str,
        index: int,
        *,
        firing: Collection[int],
        resolved: Collection[int],
        expiry_ns: int,
    ) -> None:
        """Record a successful send; it lives ``min(expiry, retention)`` (Alertmanager: 2 × repeat)."""
        now = self._clock()
        entry = LogEntry(now, frozenset(firing), frozenset(resolved), now + min(expiry_ns, self._retention))
        key = (group_key, receiver, integration, index)
        self._entries[key] = entry
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._path, "a", encoding="utf-8") as fh:
            fh.write(_record(key, entry))
            fh.flush()
            os.fsync(fh.fileno())
        self._lines += 1
        if self._lines > 2 * len(self._entries) + 64:
            self._compact()

    def gc(self) -> int:
        """Drop expired entries; returns how many."""
        now = self._clock()
        dead = [k for k, e in self._entries.items() if e.expires_at <= now]
        for k in dead:
            del self._entries[k]
        if dead:
            self._compact()
        return len(dead)

    def __len__(self) -> int:
        return len(self._entries)

    def _compact(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(_record(k, e) for k, e in self._entries.items())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path)
        self._lines = len(self._entries)
