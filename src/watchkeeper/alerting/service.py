"""The running notification engine: an asyncio loop around the deterministic ``Dispatcher``.

Pipeline per alert: intake (``put_alerts``) → the dispatcher's inhibit → silence → route → group/wait →
dedup (notification log) → ``Notifier`` (per-integration queue, retry, channel). The loop sleeps until
the next group timer or new intake. ``tick(now)`` runs one step with an explicit time, so tests drive
the whole pipeline with a fake clock.

Beyond Alertmanager, the alerts themselves persist: ``alerts.json`` in the data directory is rewritten
(temporary file, fsync, rename) a few seconds after intake and on stop, and replayed on start, so a
restart loses no resolve (the notification log keeps it from sending duplicates).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson

from .alert import Alert, labels_fingerprint
from .config import AlertmanagerConfig
from .dispatch import Dispatcher, Flush
from .events import DEFAULT_RETENTION_NS, EventLog
from .nflog import NotificationLog
from .notify import Notifier, RetryPolicy, unsupported_integrations
from .rendering import Templates
from .silences import DEFAULT_RETENTION_NS as DATA_RETENTION_NS
from .silences import Silence, Silences, SilenceState

__all__ = ["AlertmanagerService", "ALERTS_FILE"]

log = logging.getLogger(__name__)

ALERTS_FILE = "alerts.json"
NS = 1_000_000_000
_SAVE_DELAY_NS = 2 * NS
_GC_EVERY_NS = 15 * 60 * NS
_MAX_SLEEP = 1.0  # also bounds how late a save or GC can be


def _warn_unsupported(config: AlertmanagerConfig) -> None:
    for warning in unsupported_integrations(config):
        log.warning("%s", warning)


class AlertmanagerService:
    """One Alertmanager: configuration, stores, dispatcher and notifier. ``start``/``stop`` run the loop."""

    def __init__(
        self,
        config: AlertmanagerConfig,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        external_url: str = "",
        clock: Callable[[], int] = time.time_ns,
        client: httpx.AsyncClient | None = None,
        retry: RetryPolicy = RetryPolicy(),
        queue_capacity: int = 1000,
        event_retention_ns: int = DEFAULT_RETENTION_NS,
        data_retention_ns: int = DATA_RETENTION_NS,
    ) -> None:
        self.config = config
        self.clock = clock
        self.external_url = external_url.rstrip("/")
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.silences = Silences(directory=data_dir, clock=clock, retention_ns=data_retention_ns)
        self.nflog = NotificationLog(directory=data_dir, clock=clock, retention_ns=data_retention_ns)
        self.dispatcher = Dispatcher(config, silences=self.silences, nflog=self.nflog)
        self.events = EventLog(directory=data_dir, clock=clock, retention_ns=event_retention_ns)
        self.notifier = Notifier(
            Templates(config.templates),
            external_url=self.external_url,
            client=client,
            retry=retry,
            queue_capacity=queue_capacity,
            events=self.events,
        )
        self.started_at = clock()
        _warn_unsupported(config)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._dirty_since: int | None = None
        self._next_gc = self.started_at + _GC_EVERY_NS
        # statuses(): the last answers and what they were computed from.
        self._silenced: tuple[tuple[Any, ...], dict[str, tuple[str, ...]]] = ((), {})
        self._inhibited: tuple[tuple[Any, int | None], dict[str, str]] = (((), None), {})
        self._inhibited_at = 0
        # The alerts file: each alert's JSON by fingerprint, the worker-thread write in progress.
        self._saved: dict[str, tuple[Alert, bytes]] = {}
        self._write_lock = threading.Lock()
        self._writing: asyncio.Future[None] | None = None
        self._restore()

    # -- intake and state -------------------------------------------------------------------------

    def put_alerts(self, alerts: Iterable[Alert]) -> None:
        """Intake; an alert that is new or changes between firing and resolved is an event."""
        now = self.clock()
        alerts = list(alerts)
        store = self.dispatcher.alerts
        before = {}
        for a in alerts:
            fp = a.fingerprint if "" not in a.labels.values() else \
                labels_fingerprint({k: v for k, v in a.labels.items() if v != ""})
            old = store.get(fp)
            before[fp] = None if old is None else old.resolved(now)
        self.dispatcher.put(alerts, now)
        for fp, was_resolved in before.items():
            new = store.get(fp)
            if new is not None and (was_resolved is None or was_resolved != new.resolved(now)):
                self.events.record("alert", labels=dict(new.labels), fingerprint=fp,
                                   status="resolved" if new.resolved(now) else "firing")
        if self._dirty_since is None:
            self._dirty_since = now
        if self._wake is not None:
            self._wake.set()

    def set_silence(self, silence: Silence) -> str:
        """Create or update a silence (``Silences.set``), recorded as an event."""
        sid = self.silences.set(silence)
        s = self.silences.get(sid)
        action = "updated" if silence.id == sid else "created"
        self.events.record("silence", action=action, replaces=silence.id if silence.id != sid else "",
                           **s.to_json())
        return sid

    def expire_silence(self, sid: str) -> None:
        self.silences.expire(sid)
        self.events.record("silence", action="expired", **self.silences.get(sid).to_json())

    def receivers_of(self, labels: Mapping[str, str]) -> list[str]:
        """Receivers of the routes ``labels`` match, in route order, each once."""
        seen: dict[str, None] = {}
        for route in self.config.route.match(labels):
            seen.setdefault(route.opts.receiver, None)
        return list(seen)

    def status_of(self, alert: Alert, now: int) -> dict[str, Any]:
        """API v2 ``alertStatus``: silenced/inhibited alerts are ``suppressed``."""
        return self.status_at(now)(alert)

    def status_at(self, now: int) -> Callable[[Alert], dict[str, Any]]:
        """``status_of`` for many alerts at one time: the store's alerts are looked up in ``statuses``,
        any other alert (e.g. a resolved one only a group still holds) is matched on its own."""
        silenced, inhibited = self.statuses(now)
        store = self.dispatcher.alerts
        active: list[Silence] | None = None

        def status(alert: Alert) -> dict[str, Any]:
            nonlocal active
            fp = alert.fingerprint
            if store.get(fp) is not None:
                ids = list(silenced.get(fp, ()))
                inhibitor = inhibited.get(fp)
            else:
                if active is None:
                    active = [s for s in self.silences.list() if s.state(now) is SilenceState.ACTIVE]
                ids = sorted(s.id for s in active if s.matches(alert.labels))
                inhibitor = self.dispatcher.inhibitor.mutes(alert.labels, now)
            return {
                "inhibitedBy": [inhibitor] if inhibitor else [],
                "silencedBy": ids,
                "state": "suppressed" if ids or inhibitor else "active",
            }

        return status

    def statuses(self, now: int) -> tuple[Mapping[str, tuple[str, ...]], Mapping[str, str]]:
        """For the store's alerts at ``now``: ``{fingerprint: ids of the active silences muting it,
        sorted}`` and ``{fingerprint: fingerprint of the alert inhibiting it}`` (only muted ones appear).

        Computed in bulk over the store's label index and kept until the alerts, the sources of
        inhibition or the silences change, or a silence or source starts or stops being active — so
        repeated listings between changes cost nothing. Do not modify the mappings."""
        store = self.dispatcher.alerts
        index = store.index
        ihb = self.dispatcher.inhibitor
        active = [s for s in self.silences.list() if s.state(now) is SilenceState.ACTIVE]
        # Keys hold the objects themselves (compared by identity), never their ids, which may be reused.
        skey = (index, index.version, self.silences.version, tuple(s.id for s in active))
        if self._silenced[0] != skey:
            muted: dict[str, list[str]] = {}
            for s in active:
                for fp in index.select(s.matchers):
                    muted.setdefault(fp, []).append(s.id)
            self._silenced = (skey, {fp: tuple(sorted(ids)) for fp, ids in muted.items()})
        ikey = (index, index.version, ihb, ihb.version)
        (old_key, valid_until), inhibited = self._inhibited
        if old_key != ikey or (valid_until is not None and now >= valid_until) or now < self._inhibited_at:
            inhibited, valid_until = ihb.mutes_all(index, now)
            self._inhibited = ((ikey, valid_until), inhibited)
            self._inhibited_at = now
        return self._silenced[1], inhibited

    def reload(self, config: AlertmanagerConfig) -> None:
        """Apply a new configuration as Alertmanager does: a fresh dispatcher (groups re-form and wait
        ``group_wait`` again) holding every known alert; the notification log prevents duplicates."""
        templates = Templates(config.templates)  # parse first: a broken template keeps the old config
        alerts = self._known_alerts()
        dispatcher = Dispatcher(config, silences=self.silences, nflog=self.nflog)
        dispatcher.put(alerts, self.clock())
        self.config, self.dispatcher, self.notifier.templates = config, dispatcher, templates
        _warn_unsupported(config)
        if self._wake is not None:
            self._wake.set()

    def metrics_text(self) -> str:
        return self.notifier.metrics.text()

    # -- the loop ---------------------------------------------------------------------------------

    def tick(self, now: int | None = None) -> list[Flush]:
        """Run every due group tick at ``now`` (default: the clock) and hand the flushes to the notifier."""
        now = self.clock() if now is None else now
        flushes = self._tick(now)
        if self._save_due(now):
            self.save()
        return flushes

    def _tick(self, now: int) -> list[Flush]:
        flushes = self.dispatcher.run_due(now)
        for flush in flushes:
            self.notifier.submit(flush)
        if now >= self._next_gc:
            self._next_gc = now + _GC_EVERY_NS
            self.dispatcher.gc(now)
            self.silences.gc()
            self.nflog.gc()
            self.events.gc()
            self._dirty_since = self._dirty_since or now
        return flushes

    def _save_due(self, now: int) -> bool:
        return self._dirty_since is not None and now - self._dirty_since >= _SAVE_DELAY_NS

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="alertmanager-dispatch")

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        writing: asyncio.Future[None] | None = None
        while True:
            now = self.clock()
            try:
                self._tick(now)
                # The alerts file is written by a worker thread from a snapshot, so that writing
                # 10,000 alerts never holds up a group timer or a notification.
                idle = writing is None or writing.done()
                if self._save_due(now) and self.data_dir is not None and idle:
                    self._dirty_since = None
                    snapshot = self._known_alerts()
                    writing = self._writing = loop.run_in_executor(None, self._write_logged, snapshot)
            except Exception:  # keep dispatching; one bad tick must not stop notifications
                log.exception("alertmanager tick failed")
            deadline = self.dispatcher.next_deadline()
            sleep = _MAX_SLEEP if deadline is None else min(_MAX_SLEEP, max(0.0, (deadline - now) / NS))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), sleep)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._writing is not None:
            await self._writing
        await self.notifier.close()
        self.save()
        self.events.close()

    # -- persistence of alerts ------------------------------------------------------------------

    def _known_alerts(self) -> list[Alert]:
        """The store plus the groups' copies (a resolved alert may be gone from the store but not yet
        delivered)."""
        out = {a.fingerprint: a for a in self.dispatcher.alerts}
        for a in self.dispatcher.held_alerts():
            out.setdefault(a.fingerprint, a)
        return list(out.values())

    def save(self) -> None:
        self._dirty_since = None
        if self.data_dir is not None:
            self._write(self._known_alerts())

    def _write_logged(self, alerts: list[Alert]) -> None:
        try:
            self._write(alerts)
        except OSError:  # the next change tries again; notifications go on meanwhile
            log.exception("writing %s failed", ALERTS_FILE)
            self._dirty_since = self._dirty_since or self.clock()

    def _write(self, alerts: list[Alert]) -> None:
        """Write ``alerts`` to the alerts file (temporary file, fsync, rename). Each alert's JSON is kept
        while the stored alert object is unchanged; only one call runs at a time."""
        assert self.data_dir is not None
        with self._write_lock:
            known = self._saved
            parts, fresh = [], {}
            for a in alerts:
                hit = known.get(a.fingerprint)
                if hit is None or hit[0] is not a:
                    hit = (a, orjson.dumps({
                        "labels": dict(a.labels),
                        "annotations": dict(a.annotations),
                        "startsAt": a.starts_at,
                        "endsAt": a.ends_at,
                        "generatorURL": a.generator_url,
                        "updatedAt": a.updated_at,
                    }))
                fresh[a.fingerprint] = hit
                parts.append(hit[1])
            self._saved = fresh
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path = self.data_dir / ALERTS_FILE
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                fh.write(b"[" + b",".join(parts) + b"]")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)

    def _restore(self) -> None:
        if self.data_dir is None or not (self.data_dir / ALERTS_FILE).exists():
            return
        try:
            docs = json.loads((self.data_dir / ALERTS_FILE).read_text(encoding="utf-8"))
        except ValueError:
            log.warning("ignoring unreadable %s", self.data_dir / ALERTS_FILE)
            return
        alerts = [
            Alert(
                labels=d["labels"],
                annotations=d.get("annotations") or {},
                starts_at=int(d["startsAt"]),
                ends_at=d.get("endsAt"),
                generator_url=d.get("generatorURL", ""),
            )
            for d in docs
        ]
        self.dispatcher.put(alerts, self.clock())
