"""Rule groups created through the API (a watchkeeper extension), kept beside the config's files.

Shaped like the Cortex/Mimir/Loki ruler API that Grafana and ``mimirtool`` speak:
groups live in *namespaces*; each namespace is one ordinary Prometheus rule file
``<directory>/<urlquoted namespace>.yml``, so ``check rules`` and promtool read
it as-is. Writes are validated with the same rules as files from the config and
replace the file atomically. After a change the server reloads the manager with
``config files + store.files()``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from .rulefmt import NameValidation, parse_rules
from .templating import check_template

__all__ = ["RuleGroupStore", "RuleStoreError"]

_SUFFIX = ".yml"


class RuleStoreError(ValueError):
    """A group was rejected; ``errors`` are rulefmt's messages."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class RuleGroupStore:
    def __init__(self, directory: Path, *, name_validation: NameValidation = "utf8") -> None:
        self.directory = directory
        self.name_validation = name_validation
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, namespace: str) -> Path:
        if not namespace:
            raise RuleStoreError(["namespace must not be empty"])
        return self.directory / (quote(namespace, safe="") + _SUFFIX)

    def files(self) -> list[str]:
        """The namespace files, for the manager's list of rule files."""
        return sorted(str(p) for p in self.directory.glob("*" + _SUFFIX))

    def namespaces(self) -> dict[str, list[dict[str, Any]]]:
        """Every namespace with its groups (as YAML-shaped dicts)."""
        out = {}
        for p in sorted(self.directory.glob("*" + _SUFFIX)):
            out[unquote(p.name[: -len(_SUFFIX)])] = self._read(p)
        return out

    def groups(self, namespace: str) -> list[dict[str, Any]]:
        return self._read(self._path(namespace))

    def group(self, namespace: str, name: str) -> dict[str, Any] | None:
        return next((g for g in self.groups(namespace) if g.get("name") == name), None)

    def put(self, namespace: str, group: dict[str, Any] | str) -> None:
        """Create or replace the group of that name in the namespace; raises ``RuleStoreError``."""
        doc = yaml.safe_load(group) if isinstance(group, str) else group
        if not isinstance(doc, dict) or not doc.get("name"):
            raise RuleStoreError(["a rule group must be a mapping with a non-empty name"])
        path = self._path(namespace)
        groups = [g for g in self._read(path) if g.get("name") != doc["name"]]
        groups.append(doc)
        self._write(path, groups)

    def delete(self, namespace: str, name: str | None = None) -> bool:
        """Delete one group, or the whole namespace when ``name`` is None; False if absent."""
        path = self._path(namespace)
        if not path.exists():
            return False
        if name is None:
            path.unlink()
            return True
        groups = self._read(path)
        kept = [g for g in groups if g.get("name") != name]
        if len(kept) == len(groups):
            return False
        if kept:
            self._write(path, kept)
        else:
            path.unlink()
        return True

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            return []
        return list(doc.get("groups") or [])

    def _write(self, path: Path, groups: list[dict[str, Any]]) -> None:
        text = yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True)
        _, errs = parse_rules(text, name_validation=self.name_validation, check_template=check_template)
        if errs:
            raise RuleStoreError(errs)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
