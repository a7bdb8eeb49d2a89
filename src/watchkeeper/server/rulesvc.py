"""The rule engine as a server component: manager, API-managed rule store and Alertmanager sender.

Rule files are the config's ``rule_files`` plus the rule store's namespace files
(plus, without ``--config``, the agent's host-down rules). A reload first loads
every file into new groups (``prepare``) and only swaps them in (``commit``) once
the whole config is known to be good, so a broken rule file rejects the reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import LoadedConfig
from ..model.labels import Labels
from ..promql.engine import Engine
from ..rules.group import Group
from ..rules.manager import RuleManager
from ..rules.store import RuleGroupStore
from ..rules.templating import make_templater
from ..storage.db import TSDB
from .notifier import AlertmanagerSender, rules_notify

__all__ = ["RuleService", "default_rule_files"]

log = logging.getLogger(__name__)


def default_rule_files() -> list[str]:
    """The rule files shipped with the agent (the host-down alert), if this build has them."""
    d = resources.files("watchkeeper.agent") / "rules"
    if not d.is_dir():
        return []
    return sorted(str(p) for p in d.iterdir() if p.name.endswith((".yml", ".yaml")))


class RuleService:
    """Everything rules need at run time, built once at the composition root."""

    def __init__(
        self,
        *,
        storage: TSDB,
        engine: Engine,
        data_dir: str,
        external_url: str,
        external_labels: Callable[[], Labels],
        clock: Callable[[], float],
        resend_delay_ms: int = 60_000,
        queue_capacity: int = 10_000,
    ) -> None:
        self.sender = AlertmanagerSender(capacity=queue_capacity)
        # Where alerts go as API v2 dicts: the Alertmanagers of the config, plus in-process receivers
        # (watchkeeper's own notification engine) added with ``add_sink``.
        self.sinks: list[Callable[[list[dict[str, Any]]], None]] = [self.sender.send]
        self.store = RuleGroupStore(Path(data_dir) / "rules-api")
        self.external_url = external_url

        def query(expr: Any, t_ms: int) -> Any:
            return engine.instant_query(storage, expr, t_ms)

        self.manager = RuleManager(
            query=query,
            appendable=storage.append,
            select=storage.select,
            notify=rules_notify(self.sinks, external_url=lambda: self.external_url,
                                external_labels=external_labels),
            clock=clock,
            external_labels=external_labels(),
            external_url=external_url,
            state_dir=Path(data_dir) / "rules",
            resend_delay_ms=resend_delay_ms,
        )

    def add_sink(self, sink: Callable[[list[dict[str, Any]]], None]) -> None:
        """Also hand every batch of alerts to ``sink`` (called from rule evaluation threads)."""
        self.sinks.append(sink)

    def files(self, loaded: LoadedConfig, *, defaults: bool) -> list[str]:
        """The rule files for ``loaded``: config, built-in defaults (no --config), then the store's."""
        builtin = default_rule_files() if defaults else []
        return [*loaded.rule_files, *builtin, *self.store.files()]

    def prepare(self, loaded: LoadedConfig, *, defaults: bool) -> tuple[list[str], list[Group]]:
        """Load every rule file into new groups; raises ``RuleLoadError`` (nothing changes then)."""
        self.manager.default_interval_ms = loaded.config.global_.evaluation_interval
        ext = Labels(loaded.config.global_.external_labels)
        if ext != self.manager.external_labels:
            # New and changed groups template with the new labels; unchanged groups keep running
            # as they are, as in Prometheus (a group's identity does not include them).
            self.manager.external_labels = ext
            self.manager.templater = make_templater(external_labels=ext, external_url=self.external_url)
        files = self.files(loaded, defaults=defaults)
        return files, self.manager.load_groups(files)

    def commit(self, loaded: LoadedConfig, files: list[str], groups: list[Group]) -> None:
        """Swap prepared groups in (on the event loop) and point the sender at the config's Alertmanagers."""
        self.sender.apply_config(loaded.config.alerting)
        self.manager.replace_groups(groups)
        log.info("loaded %d rule groups from %d files", len(groups), len(files))

    async def reload_rules(self, loaded: LoadedConfig, *, defaults: bool) -> None:
        """Reload rule files only (after a rules-API change); raises ``RuleLoadError`` on bad files."""
        files, groups = await asyncio.to_thread(self.prepare, loaded, defaults=defaults)
        self.commit(loaded, files, groups)

    async def run_rules(self) -> None:
        await self.manager.run()

    async def run_sender(self) -> None:
        await self.sender.run()

    def metrics_text(self) -> bytes:
        return self.manager.metrics_text().encode() + self.sender.metrics_text()
