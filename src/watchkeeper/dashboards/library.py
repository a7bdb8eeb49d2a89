"""The set of dashboards: files in a watched directory plus the read-only built-ins shipped in the package.

Reloading is lazy and cheap: every call first checks (at most once per ``poll_interval``) the
directory's file names, sizes and modification times, and re-reads only files whose stamp changed.
A file that does not parse or validate is skipped and reported in ``errors()``; the others load.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .grafana import convert_grafana
from .model import UID_RE, Dashboard, DashboardError, dump_dashboard, parse_dashboard

__all__ = ["BUILTIN_DIR", "DashboardEntry", "DashboardLibrary", "LoadError", "NotFound", "ReadOnly"]

BUILTIN_DIR = Path(__file__).parent / "builtin"
_SUFFIXES = (".yaml", ".yml", ".json")
# libyaml's parser and emitter when PyYAML was built with them (several times faster), else pure Python.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class NotFound(LookupError):
    """No dashboard has the asked uid."""


class ReadOnly(PermissionError):
    """The dashboard is a built-in one and has no file of its own to change."""


@dataclass(frozen=True)
class LoadError:
    file: str
    error: str


@dataclass(frozen=True)
class DashboardEntry:
    dashboard: Dashboard
    path: Path
    builtin: bool
    version: int  # the file's modification time in ns: changes with every save

    @property
    def uid(self) -> str:
        return self.dashboard.uid


@dataclass
class _FileState:
    stamp: tuple[int, int]  # (mtime_ns, size)
    dashboard: Dashboard | None
    error: str | None


def _decode(path: Path, text: str) -> Any:
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise DashboardError([f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"]) from None
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise DashboardError([f"invalid YAML{where}: {getattr(e, 'problem', None) or e}"]) from None


def _encode(path: Path, data: dict[str, Any]) -> str:
    if path.suffix == ".json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(data, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True, width=120)


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory, fsync, rename: readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Dir:
    """One directory's files, re-read only when their stamp changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[Path, _FileState] = {}

    def scan(self) -> bool:
        """Bring ``files`` up to date; True if anything changed."""
        try:
            found = {Path(e.path): e.stat() for e in os.scandir(self.directory)
                     if e.is_file() and e.name.endswith(_SUFFIXES) and not e.name.startswith(".")}
        except FileNotFoundError:
            found = {}
        changed = set(self.files) != set(found)
        for path in set(self.files) - set(found):
            del self.files[path]
        for path, st in found.items():
            stamp = (st.st_mtime_ns, st.st_size)
            old = self.files.get(path)
            if old is not None and old.stamp == stamp:
                continue
            changed = True
            self.files[path] = self._load(path, stamp)
        return changed

    @staticmethod
    def _load(path: Path, stamp: tuple[int, int]) -> _FileState:
        try:
            data = _decode(path, path.read_text(encoding="utf-8"))
            return _FileState(stamp, parse_dashboard(data, default_uid=path.stem), None)
        except DashboardError as e:
            return _FileState(stamp, None, "; ".join(e.problems))
        except (OSError, UnicodeDecodeError) as e:
            return _FileState(stamp, None, f"cannot read: {e}")


class DashboardLibrary:
    """Dashboards by uid: ``directory`` (writable, may not exist yet) over the built-ins.

    A file in ``directory`` with a built-in's uid replaces it, which is how a built-in is edited.
    """

    def __init__(self, directory: str | Path | None, *, builtin_dir: Path | None = BUILTIN_DIR,
                 poll_interval: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._user = _Dir(self.directory) if self.directory is not None else None
        self._builtin = _Dir(builtin_dir) if builtin_dir is not None else None
        self._poll_interval = poll_interval
        self._clock = clock
        self._last_poll: float | None = None
        self._lock = threading.RLock()
        self._entries: dict[str, DashboardEntry] = {}
        self._errors: list[LoadError] = []

    # -- reading ----------------------------------------------------------------------

    def refresh(self, *, force: bool = False) -> None:
        """Re-scan the directories if ``poll_interval`` has passed (or ``force``)."""
        with self._lock:
            now = self._clock()
            if not force and self._last_poll is not None and now - self._last_poll < self._poll_interval:
                return
            self._last_poll = now
            changed = False
            for d in (self._builtin, self._user):
                if d is not None:
                    changed |= d.scan()
            if changed or not self._entries:
                self._rebuild()

    def _rebuild(self) -> None:
        entries: dict[str, DashboardEntry] = {}
        errors: list[LoadError] = []
        for d, builtin in ((self._builtin, True), (self._user, False)):
            if d is None:
                continue
            in_this_dir: dict[str, Path] = {}
            for path in sorted(d.files):
                state = d.files[path]
                if state.dashboard is None:
                    errors.append(LoadError(str(path), state.error or "invalid"))
                    continue
                uid = state.dashboard.uid
                if uid in in_this_dir:
                    why = f"uid {uid!r} is already used by {in_this_dir[uid].name}; this file is ignored"
                    errors.append(LoadError(str(path), why))
                    continue
                in_this_dir[uid] = path
                entries[uid] = DashboardEntry(state.dashboard, path, builtin, state.stamp[0])
        self._entries = entries
        self._errors = errors

    def list(self) -> list[DashboardEntry]:
        """All dashboards, sorted by title."""
        self.refresh()
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: (e.dashboard.title.lower(), e.uid))

    def errors(self) -> list[LoadError]:
        """Files that were skipped and why."""
        self.refresh()
        with self._lock:
            return list(self._errors)

    def get(self, uid: str) -> DashboardEntry:
        self.refresh()
        with self._lock:
            entry = self._entries.get(uid)
        if entry is None:
            raise NotFound(f"dashboard {uid!r} not found")
        return entry

    # -- writing ----------------------------------------------------------------------

    def _writable_dir(self) -> Path:
        if self.directory is None:
            raise ReadOnly("no dashboards directory is configured")
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory

    def save(self, uid: str, data: Any) -> DashboardEntry:
        """Validate ``data`` and write it to the dashboard's file (a new ``<uid>.yaml`` if it has none)."""
        if not UID_RE.match(uid):
            raise DashboardError([f"uid: invalid uid {uid!r}"])
        if isinstance(data, dict) and data.get("uid", uid) != uid:
            raise DashboardError([f"uid: the body's uid {data['uid']!r} differs from {uid!r} in the URL"])
        dash = parse_dashboard(data, default_uid=uid)
        with self._lock:
            self.refresh(force=True)
            directory = self._writable_dir()
            current = self._entries.get(uid)
            path = current.path if current is not None and not current.builtin else directory / f"{uid}.yaml"
            _atomic_write(path, _encode(path, dump_dashboard(dash, compact=True)))
            self.refresh(force=True)
            return self._entries[uid]

    def delete(self, uid: str) -> None:
        """Remove the dashboard's file; a built-in one cannot be deleted (only a file overriding it)."""
        with self._lock:
            entry = self.get(uid)
            if entry.builtin:
                raise ReadOnly(f"dashboard {uid!r} is built in and cannot be deleted")
            entry.path.unlink(missing_ok=True)
            self.refresh(force=True)

    def import_grafana(self, data: Any, *, overwrite: bool = False) -> tuple[DashboardEntry, list[str]]:
        """Convert a Grafana dashboard JSON and save it; returns the entry and the conversion notes."""
        converted, notes = convert_grafana(data)
        uid = converted["uid"]
        self.refresh(force=True)
        with self._lock:
            existing = self._entries.get(uid)
            if existing is not None and not existing.builtin and not overwrite:
                raise FileExistsError(f"a dashboard with uid {uid!r} already exists ({existing.path.name}); "
                                      "import with overwrite to replace it")
        return self.save(uid, converted), notes
