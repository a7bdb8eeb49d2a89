"""Aggregation groups, their timers, and the per-tick notification pipeline, driven by explicit time.

The dispatcher is deterministic: ``put(alerts, now)`` ingests, ``next_deadline()`` says when the next group
timer fires, and ``run_due(now)`` runs every due tick and returns the ``Flush``es to deliver. The caller
(an asyncio task in the server, a fake clock in tests) delivers each ``Notification`` and reports back with
``Flush.complete``; only then are the notification log written and delivered resolved alerts dropped.

Per tick, as in Alertmanager (BEHAVIOR.md sections 4-6): inhibition, active/mute time intervals of the
node, silences, then per integration the dedup decision against the notification log. Groups follow
Alertmanager HEAD: an empty group is removed right after its flush.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .alert import Alert
from .channels import ChannelConfig
from .config import AlertmanagerConfig
from .inhibit import Inhibitor
from .labelindex import LabelIndex
from .nflog import NotificationLog, dedup_reason, hash_alert
from .route import Route
from .silences import Silences
from .timeintervals import suppressed

__all__ = ["Dispatcher", "Flush", "Notification", "AlertStore", "sort_alerts"]

NS = 1_000_000_000


class AlertStore:
    """All alerts Alertmanager knows, by fingerprint, merged on overlap. ``index`` holds their label sets
    for bulk matching; ``version`` changes with every put or delete (for caches of derived views)."""

    def __init__(self) -> None:
        self._alerts: dict[str, Alert] = {}
        self.index = LabelIndex()
        self.version = 0
        self._order: tuple[int, list[str]] = (-1, [])

    def put(self, alert: Alert, now: int) -> Alert:
        """Store ``alert``; an overlapping stored alert with the same fingerprint is merged into it."""
        fp = alert.fingerprint
        old = self._alerts.get(fp)
        if old is None:
            self.index.add(fp, alert.labels)
        elif _overlaps(old, alert):
            alert = old.merge(alert, now)
        self._alerts[fp] = alert
        self.version += 1
        return alert

    def get(self, fp: str) -> Alert | None:
        return self._alerts.get(fp)

    def by_fingerprint(self) -> list[Alert]:
        """All alerts in fingerprint order (the order is kept while no alert is added or dropped)."""
        if self._order[0] != self.index.version:
            self._order = (self.index.version, sorted(self._alerts))
        alerts = self._alerts
        return [alerts[fp] for fp in self._order[1]]

    def delete(self, fp: str) -> None:
        if self._alerts.pop(fp, None) is not None:
            self.index.remove(fp)
            self.version += 1

    def __iter__(self) -> Iterator[Alert]:
        return iter(list(self._alerts.values()))  # a snapshot: callers may put/delete while iterating

    def __len__(self) -> int:
        return len(self._alerts)


def _overlaps(old: Alert, new: Alert) -> bool:
    """Whether ``new`` starts or ends within ``old``'s active span (Alertmanager merges only then)."""
    start, end = old.starts_at, old.ends_at
    for t in (new.ends_at, new.starts_at):
        if t is not None and start <= t and (end is None or t <= end):
            return True
    return False


def sort_alerts(alerts: Iterable[Alert]) -> list[Alert]:
    """Alertmanager's order: by ``job``, then ``instance`` (missing sorts last), then the label set."""

    def key(a: Alert) -> tuple:
        job, inst = a.labels.get("job"), a.labels.get("instance")
        return (job is None, job or "", inst is None, inst or "", sorted(a.labels.items()))

    return sorted(alerts, key=key)


@dataclass
class Notification:
    """One integration's send: ``alerts`` is what goes out (resolved ones only with send_resolved)."""

    receiver: str
    integration: str
    index: int
    config: ChannelConfig
    group_key: str
    group_labels: dict[str, str]
    alerts: list[Alert]
    reason: str
    now: int
    firing: frozenset[int] = frozenset()
    resolved: frozenset[int] = frozenset()

    @property
    def deliver(self) -> bool:
        """False when only the log needs updating (all resolved, send_resolved off)."""
        return bool(self.alerts)


@dataclass
class _Group:
    route: Route
    key: str
    labels: dict[str, str]
    next_tick: int
    alerts: dict[str, Alert] = field(default_factory=dict)
    flushed: bool = False


@dataclass
class Flush:
    """The outcome of one group tick: the notifications to deliver, then ``complete`` with the results."""

    group_key: str
    now: int
    notifications: list[Notification]
    snapshot: list[Alert] = field(repr=False)
    gid: tuple[int, str] = field(repr=False)
    repeat_ns: int = field(repr=False)
    dispatcher: Dispatcher = field(repr=False)

    def complete(self, succeeded: Iterable[Notification] | None = None) -> None:
        """Record successful notifications (default: all) in the log; when every one succeeded, drop the
        resolved alerts this flush carried unless they changed since."""
        done = list(self.notifications if succeeded is None else succeeded)
        self.dispatcher._complete(self, done, all_ok=len(done) == len(self.notifications))


class Dispatcher:
    """Routes alerts into aggregation groups and runs their ticks."""

    def __init__(self, config: AlertmanagerConfig, *, silences: Silences, nflog: NotificationLog) -> None:
        self._config = config
        self._silences = silences
        self._nflog = nflog
        self._store = AlertStore()
        self._inhibitor = Inhibitor(config.inhibit_rules)
        self._groups: dict[tuple[int, str], _Group] = {}
        self._resolve_timeout = round(config.global_.resolve_timeout_seconds * NS)
        # fingerprint -> the routes its label set takes, with group id, labels and group_wait per route:
        # fixed for a label set under one config, so a re-sent alert is not routed again.
        self._routing: dict[str, list[tuple[Route, tuple[int, str], dict[str, str], int]]] = {}

    @property
    def alerts(self) -> AlertStore:
        return self._store

    @property
    def inhibitor(self) -> Inhibitor:
        """The inhibitor fed by ``put``/``gc`` (the API reports ``inhibitedBy`` from it)."""
        return self._inhibitor

    def groups(self) -> list[tuple[str, Route, list[Alert]]]:
        """``(group key, route, alerts)`` for every live group."""
        return [(g.key, g.route, sort_alerts(g.alerts.values())) for g in self._groups.values()]

    def held_alerts(self) -> Iterator[Alert]:
        """Every alert the groups hold, unsorted (a group may hold one the store has dropped)."""
        for g in list(self._groups.values()):
            yield from list(g.alerts.values())

    def put(self, alerts: Iterable[Alert], now: int) -> None:
        """Ingest alerts posted at ``now`` (intake defaults applied here)."""
        for raw in alerts:
            alert = self._store.put(raw.normalized(now, self._resolve_timeout), now)
            self._inhibitor.put(alert)
            fp = alert.fingerprint
            routing = self._routing.get(fp)
            if routing is None:
                routing = self._routing[fp] = [
                    (route, (id(route), route.group_key(alert.labels)), route.group_labels(alert.labels),
                     round(route.opts.group_wait * NS))
                    for route in self._config.route.match(alert.labels)
                ]
            for route, gid, labels, wait in routing:
                group = self._groups.get(gid)
                if group is None:
                    group = self._groups[gid] = _Group(route, gid[1], dict(labels), next_tick=now + wait)
                group.alerts[fp] = alert
                # An alert older than group_wait flushes at once (0.25: checked until the group's first
                # flush).
                if not group.flushed and alert.starts_at + wait < now:
                    group.next_tick = min(group.next_tick, now)

    def gc(self, now: int) -> int:
        """Forget alerts resolved at ``now`` (Alertmanager's periodic alert GC); groups keep their own
        copies until those are delivered. Returns how many were dropped."""
        dead = [a.fingerprint for a in self._store if a.resolved(now)]
        for fp in dead:
            self._store.delete(fp)
            self._inhibitor.delete(fp)
            self._routing.pop(fp, None)
        return len(dead)

    def next_deadline(self) -> int | None:
        return min((g.next_tick for g in self._groups.values()), default=None)

    def run_due(self, now: int) -> list[Flush]:
        """Run every group tick due at or before ``now``, in time order; each tick uses its own time."""
        out = []
        for gid, group in sorted(self._groups.items(), key=lambda kv: kv[1].next_tick):
            if group.next_tick > now:
                continue
            tick = group.next_tick
            group.next_tick = tick + round(group.route.opts.group_interval * NS)
            group.flushed = True
            out.append(self._flush(gid, group, tick))
        return out

    def _flush(self, gid: tuple[int, str], group: _Group, now: int) -> Flush:
        snapshot = sort_alerts(group.alerts.values())
        opts = group.route.opts
        repeat = round(opts.repeat_interval * NS)
        flush = Flush(group.key, now, [], snapshot, gid, repeat, self)
        alerts = [a for a in snapshot if self._inhibitor.mutes(a.labels, now) is None]
        moment = datetime.fromtimestamp(now / NS, tz=UTC)
        if suppressed(
            opts.mute_time_intervals, opts.active_time_intervals, self._config.time_intervals, moment
        ):
            return flush
        kept: list[Alert] = []
        # Extension: resolved alerts hidden by a silence, told to integrations that had paged them.
        late: list[Alert] = []
        for a in alerts:
            if not self._silences.mutes(a.labels, now):
                kept.append(a)
            elif opts.send_resolved_when_silenced and a.resolved(now):
                late.append(a)
        if not kept and not late:
            return flush
        receiver = self._config.receivers[opts.receiver]
        for kind, index, cfg in receiver.all_integrations():
            entry = self._nflog.query(group.key, receiver.name, kind, index)
            batch = kept
            if late and entry is not None:
                batch = sort_alerts(kept + [a for a in late if hash_alert(a.labels) in entry.firing])
            if not batch:
                continue
            firing = frozenset(hash_alert(a.labels) for a in batch if not a.resolved(now))
            resolved = frozenset(hash_alert(a.labels) for a in batch if a.resolved(now))
            reason = dedup_reason(
                entry,
                firing,
                resolved,
                send_resolved=bool(cfg.send_resolved),
                repeat_interval_ns=repeat,
                now=now,
            )
            if reason is None:
                continue
            sent = batch if cfg.send_resolved else [a for a in batch if not a.resolved(now)]
            flush.notifications.append(
                Notification(
                    receiver.name,
                    kind,
                    index,
                    cfg,
                    group.key,
                    dict(group.labels),
                    [a if a.resolved(now) else dataclasses.replace(a, ends_at=None) for a in sent],
                    reason,
                    now,
                    firing,
                    resolved,
                )
            )
        return flush

    def _complete(self, flush: Flush, done: list[Notification], *, all_ok: bool) -> None:
        for n in done:
            self._nflog.log(
                n.group_key,
                n.receiver,
                n.integration,
                n.index,
                firing=n.firing,
                resolved=n.resolved,
                expiry_ns=2 * flush.repeat_ns,
            )
        group = self._groups.get(flush.gid)
        if not all_ok or group is None:
            return
        for a in flush.snapshot:
            if a.resolved(flush.now) and group.alerts.get(a.fingerprint) is a:
                del group.alerts[a.fingerprint]
        if not group.alerts:
            del self._groups[flush.gid]
