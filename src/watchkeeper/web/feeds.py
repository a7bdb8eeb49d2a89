"""What the stream's ``alerts`` and ``events`` channels send: the Alertmanager's alerts and routing
groups as changes against what a subscriber already has, and new entries of its event log.

Both read the service's in-memory state on the event loop (the service mutates it there too, so no
lock is needed) and bound the work and memory per subscriber: an alert snapshot is built at most once
per interval and shared by all subscribers, and each events push carries at most
``MAX_EVENTS_PER_PUSH`` entries (a subscriber told ``dropped`` reloads from the HTTP API).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..alerting.alert import Alert
from ..alerting.matchers import MatcherParseError, parse_matcher
from ..alerting.service import AlertmanagerService
from ..alerting.timefmt import ZERO_TIME, format_rfc3339_ns
from ..model.matchers import Matcher

__all__ = ["AlertSnapshot", "AlertFeed", "AlertCursor", "EventCursor", "parse_filters",
           "event_json", "MAX_EVENTS_PER_PUSH", "MAX_EVENT_HISTORY"]

MAX_EVENTS_PER_PUSH = 500
MAX_EVENT_HISTORY = 1000


def parse_filters(raw: object) -> list[Matcher]:
    """Alertmanager matcher texts (``severity="critical"``, ``alertname=~"Disk.*"``) from a subscribe
    message's ``filter`` (a string or a list of them); raises ValueError with the offending text."""
    if raw is None:
        return []
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("filter must be a matcher string or a list of them")
    out = []
    for text in texts:
        try:
            out.append(parse_matcher(text))
        except (MatcherParseError, ValueError) as e:
            raise ValueError(f"bad matcher {text!r}: {e}") from None
    return out


def _matches(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


@dataclass(frozen=True)
class AlertSnapshot:
    """Unresolved alerts at one time: per fingerprint a change signature, the labels and the JSON of
    the API v2 ``gettableAlert``; and the routing groups as ``(labels, receiver, fingerprints)``."""

    time: float
    alerts: dict[str, tuple[tuple[Any, ...], Mapping[str, str], bytes]]
    groups: list[tuple[dict[str, str], str, list[str]]]


class AlertFeed:
    """Builds ``AlertSnapshot``s of one service, shared by all subscribers.

    Serialising an alert is the expensive part with thousands of them, so each alert's JSON is kept
    while its times and its silence/inhibition status stay the same (and the configuration, which
    decides its receivers, is the same object).
    """

    def __init__(self, service: AlertmanagerService, interval_s: float) -> None:
        self.service = service
        self.interval_s = interval_s
        self._snapshot: AlertSnapshot | None = None
        self._json: dict[str, tuple[tuple[Any, ...], bytes]] = {}
        self._config: object = service.config
        self._generation = 0  # part of every signature: a reload re-sends every alert

    def snapshot(self) -> AlertSnapshot:
        now_s = time.monotonic()
        # Reused for half an interval: subscribers polling once per interval at any phase then see
        # a change at most 1.5 intervals late, and all of them together cause at most two builds.
        if self._snapshot is not None and now_s - self._snapshot.time < self.interval_s * 0.5:
            return self._snapshot
        svc = self.service
        if svc.config is not self._config:  # reloaded: receivers may differ
            self._json, self._config = {}, svc.config
            self._generation += 1
        now = svc.clock()
        status_of = svc.status_at(now)
        alerts: dict[str, tuple[tuple[Any, ...], Mapping[str, str], bytes]] = {}
        cache: dict[str, tuple[tuple[Any, ...], bytes]] = {}
        for a in svc.dispatcher.alerts:
            if a.resolved(now):
                continue
            status = status_of(a)
            sig = (self._generation, a.starts_at, a.ends_at, a.updated_at, tuple(status["silencedBy"]),
                   tuple(status["inhibitedBy"]))
            hit = self._json.get(a.fingerprint)
            if hit is None or hit[0] != sig:
                hit = (sig, orjson.dumps(self._doc(a, status)))
            cache[a.fingerprint] = hit
            alerts[a.fingerprint] = (sig, a.labels, hit[1])
        self._json = cache
        groups = []
        for _, route, members in svc.dispatcher.groups():
            fps = [a.fingerprint for a in members if a.fingerprint in alerts]
            if fps:
                groups.append((route.group_labels(members[0].labels), route.opts.receiver, fps))
        self._snapshot = AlertSnapshot(now_s, alerts, groups)
        return self._snapshot

    def _doc(self, a: Alert, status: dict[str, Any]) -> dict[str, Any]:
        """The API v2 ``gettableAlert`` (as ``GET /api/v2/alerts`` returns it)."""
        return {
            "annotations": dict(a.annotations),
            "endsAt": ZERO_TIME if a.ends_at is None else format_rfc3339_ns(a.ends_at),
            "fingerprint": a.fingerprint,
            "receivers": [{"name": r} for r in self.service.receivers_of(a.labels)],
            "startsAt": format_rfc3339_ns(a.starts_at),
            "updatedAt": format_rfc3339_ns(a.updated_at),
            "generatorURL": a.generator_url,
            "labels": dict(a.labels),
            "status": status,
        }


@dataclass
class AlertCursor:
    """One subscriber's view: which alerts (by signature) and which groups it has been sent."""

    matchers: list[Matcher]
    sent: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    groups: bytes | None = None

    def update(self, snap: AlertSnapshot) -> str | None:
        """The ``data`` JSON bringing the subscriber up to ``snap`` (everything the first time), or
        None when nothing it can see changed."""
        full = self.groups is None
        keep = {fp: entry for fp, entry in snap.alerts.items() if _matches(self.matchers, entry[1])}
        changed = [entry[2] for fp, entry in keep.items() if self.sent.get(fp) != entry[0]]
        removed = [fp for fp in self.sent if fp not in keep]
        groups = orjson.dumps([
            {"labels": labels, "receiver": {"name": receiver}, "fingerprints": kept}
            for labels, receiver, fps in snap.groups
            if (kept := [fp for fp in fps if fp in keep])
        ])
        if not full and not changed and not removed and groups == self.groups:
            return None
        self.sent = {fp: entry[0] for fp, entry in keep.items()}
        parts = [b'"full":' + (b"true" if full else b"false"),
                 b'"alerts":[' + b",".join(changed) + b"]",
                 b'"removed":' + orjson.dumps(removed)]
        if groups != self.groups:
            parts.append(b'"groups":' + groups)
            self.groups = groups
        return (b"{" + b",".join(parts) + b"}").decode()


@dataclass
class EventCursor:
    """One subscriber's position in the event log and its filters (as ``GET .../events`` takes them).

    The log is read from the last time seen; entries at exactly that time that were already read are
    skipped by count, so none is sent twice or missed. The log is only scanned when its length
    changed, or every ``RESCAN_S`` (its garbage collection can drop as many entries as arrived).
    """

    RESCAN_S = 10.0

    matchers: list[Matcher]
    kinds: set[str]
    receiver: str | None
    outcome: str | None
    last_time: int = -1
    seen_at_last: int = 0
    last_len: int = -1
    last_scan: float = 0.0

    def wants(self, e: Mapping[str, Any]) -> bool:
        if self.kinds and e["kind"] not in self.kinds:
            return False
        if self.receiver is not None and e.get("receiver") != self.receiver:
            return False
        if self.outcome is not None and e.get("outcome") != self.outcome:
            return False
        if self.matchers:
            sets = [e["labels"]] if "labels" in e else [a["labels"] for a in e.get("alerts", [])]
            return any(_matches(self.matchers, s) for s in sets)
        return True

    def start(self, service: AlertmanagerService, history: int) -> list[dict[str, Any]]:
        """Place the cursor at the log's end; returns the latest ``history`` entries it wants."""
        everything = service.events.query()
        self._advance(everything)
        self.last_len, self.last_scan = len(service.events), time.monotonic()
        return [e for e in everything if self.wants(e)][-history:] if history > 0 else []

    def poll(self, service: AlertmanagerService) -> list[dict[str, Any]]:
        """Entries logged since the last call that this subscriber wants, oldest first."""
        n, now = len(service.events), time.monotonic()
        if n == self.last_len and now - self.last_scan < self.RESCAN_S:
            return []
        self.last_len, self.last_scan = n, now
        fresh = service.events.query(start=self.last_time) if self.last_time >= 0 else service.events.query()
        skip = 0
        while skip < len(fresh) and skip < self.seen_at_last and fresh[skip]["time"] == self.last_time:
            skip += 1
        fresh = fresh[skip:]
        self._advance(fresh)
        return [e for e in fresh if self.wants(e)]

    def _advance(self, read: Iterable[dict[str, Any]]) -> None:
        for e in read:
            if e["time"] == self.last_time:
                self.seen_at_last += 1
            else:
                self.last_time, self.seen_at_last = e["time"], 1


def event_json(e: Mapping[str, Any]) -> dict[str, Any]:
    """An event as ``GET /api/watchkeeper/v1/alertmanager/events`` returns it (RFC 3339 time)."""
    return {**e, "time": format_rfc3339_ns(e["time"])}

