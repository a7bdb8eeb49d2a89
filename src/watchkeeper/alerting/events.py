"""The audit trail Alertmanager lacks: every alert state change, silence change and notification attempt
(with its outcome), kept for a configurable time and queryable by time range, kind, receiver, outcome
and alert labels.

Events are appended to ``events.jsonl`` in the data directory (one JSON object per line; a torn last
line from a crash is ignored on replay) and held in memory in time order. Old events are dropped on
``gc`` and the file is rewritten without them.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..model.matchers import Matcher

__all__ = ["EventLog", "DEFAULT_RETENTION_NS"]

FILE_NAME = "events.jsonl"
DEFAULT_RETENTION_NS = 7 * 24 * 3600 * 1_000_000_000


class EventLog:
    """``record(kind, **fields)`` appends; ``query(...)`` filters. ``directory=None`` keeps it in memory."""

    def __init__(
        self,
        *,
        directory: str | os.PathLike[str] | None = None,
        clock: Callable[[], int] = time.time_ns,
        retention_ns: int = DEFAULT_RETENTION_NS,
    ) -> None:
        self._clock = clock
        self._retention = retention_ns
        self._events: deque[dict[str, Any]] = deque()
        self._path = Path(directory) / FILE_NAME if directory is not None else None
        if self._path is not None and self._path.exists():
            with open(self._path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        self._events.append(json.loads(line))
                    except ValueError:
                        break
        self._fh = None
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self._path, "a", encoding="utf-8")  # closed in close()

    def record(self, kind: str, **fields: Any) -> None:
        event = {"time": self._clock(), "kind": kind, **fields}
        self._events.append(event)
        if self._fh is not None:
            self._fh.write(json.dumps(event) + "\n")
            self._fh.flush()

    def query(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        kinds: Iterable[str] = (),
        receiver: str | None = None,
        outcome: str | None = None,
        matchers: Iterable[Matcher] = (),
        limit: int = 0,
    ) -> list[dict[str, Any]]:
        """Events in time order; ``matchers`` apply to an event's ``labels`` or to any of its ``alerts``.
        With ``limit`` only the latest that many are returned."""
        kinds, matchers = set(kinds), list(matchers)

        def labels_match(labels: Mapping[str, str]) -> bool:
            return all(m.matches(labels.get(m.name, "")) for m in matchers)

        out = []
        for e in self._events:
            t = e["time"]
            if (start is not None and t < start) or (end is not None and t > end):
                continue
            if kinds and e["kind"] not in kinds:
                continue
            if receiver is not None and e.get("receiver") != receiver:
                continue
            if outcome is not None and e.get("outcome") != outcome:
                continue
            if matchers:
                sets = [e["labels"]] if "labels" in e else [a["labels"] for a in e.get("alerts", [])]
                if not any(labels_match(s) for s in sets):
                    continue
            out.append(e)
        return out[-limit:] if limit > 0 else out

    def gc(self) -> int:
        """Drop events older than the retention and rewrite the file; returns how many were dropped."""
        cutoff = self._clock() - self._retention
        dropped = 0
        while self._events and self._events[0]["time"] < cutoff:
            self._events.popleft()
            dropped += 1
        if dropped and self._path is not None and self._fh is not None:
            self._fh.close()
            tmp = self._path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(e) + "\n" for e in self._events)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path)
            self._fh = open(self._path, "a", encoding="utf-8")  # closed in close()
        return dropped

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __len__(self) -> int:
        return len(self._events)
