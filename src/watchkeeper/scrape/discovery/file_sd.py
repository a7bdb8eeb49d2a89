"""``file_sd_configs``: JSON/YAML target files matched by globs, re-read when they change.

Changes are found by polling file names, mtimes and sizes (no inotify
dependency) every ``min(refresh_interval, watch_interval)``; everything is
re-read at least every ``refresh_interval``. A file that fails to parse keeps
its previous targets, as in Prometheus.
"""

from __future__ import annotations

import asyncio
import glob
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable

import yaml

from ..config import FileSDConfig
from ..target import TargetGroup
from . import Update, groups_from_json

__all__ = ["FileSDProvider", "read_target_file"]

log = logging.getLogger(__name__)


def read_target_file(path: str) -> list[TargetGroup]:
    """Parse one SD file; ``__meta_filepath`` is added to every group."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    ext = os.path.splitext(path)[1].lower()
    data = json.loads(text) if ext == ".json" else yaml.safe_load(text)
    if data is None:
        data = []
    return groups_from_json(data, path, {"__meta_filepath": path})


class FileSDProvider:
    def __init__(
        self,
        cfg: FileSDConfig,
        *,
        watch_interval: float = 5.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.cfg = cfg
        self.poll = min(cfg.refresh_interval / 1000, watch_interval)
        self.now = now
        self.sleep = sleep
        self._stamps: dict[str, tuple[float, int]] = {}
        self._groups: dict[str, list[TargetGroup]] = {}
        self._last_full = float("-inf")
        self.read_errors = 0

    def _paths(self) -> list[str]:
        out: set[str] = set()
        for pattern in self.cfg.files:
            out.update(glob.glob(pattern))
        return sorted(out)

    def refresh(self) -> bool:
        """Re-read changed files; True if the reported groups changed."""
        full = self.now() - self._last_full >= self.cfg.refresh_interval / 1000
        if full:
            self._last_full = self.now()
        changed = False
        paths = self._paths()
        for gone in set(self._groups) - set(paths):
            del self._groups[gone]
            self._stamps.pop(gone, None)
            changed = True
        for p in paths:
            try:
                st = os.stat(p)
            except OSError:
                continue
            stamp = (st.st_mtime, st.st_size)
            if not full and self._stamps.get(p) == stamp:
                continue
            self._stamps[p] = stamp
            try:
                groups = read_target_file(p)
            except (OSError, ValueError, yaml.YAMLError) as e:
                self.read_errors += 1
                log.error("file_sd: error reading file %s: %s", p, e)
                continue
            if groups != self._groups.get(p):
                self._groups[p] = groups
                changed = True
        return changed

    def groups(self) -> list[TargetGroup]:
        return [g for p in sorted(self._groups) for g in self._groups[p]]

    async def run(self, update: Update) -> None:
        self.refresh()
        update(self.groups())
        while True:
            await self.sleep(self.poll)
            if self.refresh():
                update(self.groups())
