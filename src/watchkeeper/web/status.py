"""A cheap snapshot of the server's health for the overview page and the stream's ``status`` channel."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api.context import ApiContext

__all__ = ["StatusSampler", "dir_bytes"]


def dir_bytes(path: Path) -> int:
    """Bytes in all regular files under ``path`` (blocks and WAL); files vanishing mid-walk are skipped."""
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def _target_counts(ctx: ApiContext) -> dict[str, int]:
    counts = {"up": 0, "down": 0, "unknown": 0}
    manager = ctx.scrape_manager()
    if manager is None:
        return counts
    for t in manager.targets(state="active").get("activeTargets", []):
        health = t.get("health", "unknown")
        counts[health if health in counts else "unknown"] += 1
    return counts


def _alert_counts(ctx: ApiContext) -> dict[str, Any]:
    """Firing alerts by their ``severity`` label ("" when unset), and the number pending."""
    firing: dict[str, int] = {}
    pending = 0
    manager = ctx.rules()
    if manager is None:
        return {"firing": firing, "pending": pending}
    for _, alert in manager.active_alerts():
        if alert.state == "firing":
            severity = alert.labels.get("severity")
            firing[severity] = firing.get(severity, 0) + 1
        elif alert.state == "pending":
            pending += 1
    return {"firing": firing, "pending": pending}


@dataclass
class StatusSampler:
    """Computes status snapshots; the ingest rate is the growth of appended samples between two calls.

    The appended-sample total is the head's sample count, which drops when the head is cut into a
    block, so a negative step is read as "unknown" and reported as the previous rate. Until two
    snapshots exist the rate is unknown (None).
    """

    ctx: ApiContext
    _last: tuple[float, int] | None = None
    _rate: float | None = None

    def sample(self) -> dict[str, Any]:
        """One snapshot (blocking: reads storage statistics and walks the data directory)."""
        now = time.time()
        stats = self.ctx.storage.stats(limit=1)
        head = stats["headStats"]
        appended = int(head["numSamples"])
        if self._last is not None:
            t0, n0 = self._last
            if appended >= n0 and now > t0:
                self._rate = (appended - n0) / (now - t0)
        self._last = (now, appended)
        path = getattr(self.ctx.storage, "path", None)
        return {
            "time": now,
            "targets": _target_counts(self.ctx),
            "alerts": _alert_counts(self.ctx),
            "headSeries": int(head["numSeries"]),
            "headSamples": appended,
            "blocks": int(stats["numBlocks"]),
            "ingestRate": self._rate,
            "storageBytes": dir_bytes(Path(path)) if path is not None else 0,
        }
