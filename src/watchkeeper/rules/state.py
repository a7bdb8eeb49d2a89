"""Alert state that survives a restart (a watchkeeper extension; Prometheus loses it).

One JSON file per rule group in ``state_dir``, rewritten atomically (temp file +
rename) after an evaluation that changed any alert's state or send bookkeeping.
A rule gets its alerts back on start only while it is unchanged (same kind,
name, labels and expression) and the state is younger than the outage
tolerance, so a restart neither loses a firing alert nor re-pages it, and
pending alerts keep their ``for`` progress.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from ..model.labels import Labels
from .alert import Alert, AlertState
from .alerting_rule import ALERT_FOR_STATE_METRIC, ALERT_METRIC, AlertingRule
from .group import Group

__all__ = ["AlertStateStore"]

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def _alert_to_json(a: Alert) -> dict[str, object]:
    return {
        "labels": dict(a.labels.items),
        "annotations": dict(a.annotations.items),
        "state": a.state.value,
        "active_at": a.active_at,
        "fired_at": a.fired_at,
        "resolved_at": a.resolved_at,
        "last_sent_at": a.last_sent_at,
        "valid_until": a.valid_until,
        "keep_firing_since": a.keep_firing_since,
        "value": a.value,
    }


def _alert_from_json(d: dict[str, object]) -> Alert:
    return Alert(
        labels=Labels(d["labels"]),
        annotations=Labels(d["annotations"]),  # type: ignore[arg-type]
        state=AlertState(d["state"]),
        active_at=int(d["active_at"]),  # type: ignore[arg-type]
        value=float(d["value"]),
        fired_at=int(d["fired_at"]),  # type: ignore[arg-type]
        resolved_at=int(d["resolved_at"]),
        last_sent_at=_opt_int(d["last_sent_at"]),
        valid_until=int(d["valid_until"]),  # type: ignore[arg-type]
        keep_firing_since=int(d["keep_firing_since"]),
    )  # type: ignore[arg-type]


def _opt_int(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[call-overload]


class AlertStateStore:
    def __init__(self, directory: Path, *, outage_tolerance_ms: int = 3_600_000) -> None:
        self.directory = directory
        self.outage_tolerance_ms = outage_tolerance_ms
        self._last_written: dict[str, str] = {}
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, group_key: str) -> Path:
        digest = hashlib.sha256(group_key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        return self.directory / f"group-{digest}.json"

    def save(self, group: Group, now_ms: int) -> None:
        """Persist the group's alerts if anything but their current values changed since the last save."""
        rules: dict[str, list[dict[str, object]]] = {}
        for r in group.rules:
            if isinstance(r, AlertingRule) and r.active:
                rules[r.state_key()] = [_alert_to_json(a) for a in r.active.values()]
        # Values move every evaluation; they alone are not worth a write.
        fingerprint = json.dumps(
            {k: [{**a, "value": 0} for a in v] for k, v in rules.items()}, sort_keys=True
        )
        if self._last_written.get(group.key) == fingerprint:
            return
        doc = {
            "version": FORMAT_VERSION,
            "file": group.file,
            "group": group.name,
            "saved_at": now_ms,
            "rules": rules,
        }
        path = self._path(group.key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
        self._last_written[group.key] = fingerprint

    def has_state(self, group: Group) -> bool:
        return self._path(group.key).exists()

    def restore(self, group: Group, now_ms: int) -> int:
        """Give the group's unchanged alerting rules their saved alerts; returns how many were restored."""
        path = self._path(group.key)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable alert state %s: %s", path, e)
            return 0
        if (
            doc.get("version") != FORMAT_VERSION
            or now_ms - int(doc.get("saved_at", 0)) > self.outage_tolerance_ms
        ):
            return 0
        saved = doc.get("rules", {})
        n = 0
        for i, r in enumerate(group.rules):
            if not isinstance(r, AlertingRule) or r.state_key() not in saved:
                continue
            try:
                alerts = [_alert_from_json(d) for d in saved[r.state_key()]]
            except (KeyError, ValueError, TypeError) as e:
                log.warning("ignoring malformed alert state for rule %s: %s", r.name, e)
                continue
            r.active = {a.labels: a for a in alerts}
            n += len(alerts)
            # The ALERTS series written before the restart get stale markers if the alert is gone now.
            prev: set[Labels] = set()
            for a in alerts:
                if a.state != AlertState.INACTIVE:
                    prev.add(a.labels.merge({"__name__": ALERT_METRIC, "alertstate": a.state.value}))
                    prev.add(a.labels.merge({"__name__": ALERT_FOR_STATE_METRIC}))
            group.series_in_previous_eval[i] = prev
        return n

    def forget(self, group_key: str) -> None:
        """Drop the state of a group that no longer exists."""
        self._last_written.pop(group_key, None)
        self._path(group_key).unlink(missing_ok=True)
