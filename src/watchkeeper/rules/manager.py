"""The rule manager: loads rule files into groups, runs them, keeps state across reloads."""

from __future__ import annotations

import asyncio
import glob
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..model.batch import SampleBatch
from ..model.labels import Labels
from .alert import Alert
from .alerting_rule import AlertingRule, AlertTemplater, Level, NotifyFunc
from .group import Group, GroupOptions, Rule, next_eval
from .metrics import group_metric_samples, render_text
from .recording_rule import RecordingRule
from .restore import SelectFunc, restore_for_state
from .rulefmt import GroupDef, NameValidation, parse_rule_file
from .state import AlertStateStore
from .templating import check_template, make_templater
from .vector import QueryFunc

__all__ = ["RuleManager", "RuleLoadError"]

log = logging.getLogger(__name__)


class RuleLoadError(Exception):
    """Rule files failed to load; ``errors`` holds one message per problem (file-prefixed)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class RuleManager:
    """Owns the rule groups. Collaborators are callables handed in by the server."""

    def __init__(
        self,
        *,
        query: QueryFunc,
        appendable: Callable[[SampleBatch], int],
        notify: NotifyFunc,
        clock: Callable[[], float],
        external_labels: Labels = Labels(),
        external_url: str = "",
        state_dir: Path | None = None,
        default_interval_ms: int = 60_000,
        default_query_offset_ms: int = 0,
        resend_delay_ms: int = 60_000,
        outage_tolerance_ms: int = 3_600_000,
        name_validation: NameValidation = "utf8",
        templater: AlertTemplater | None = None,
        select: SelectFunc | None = None,
        for_grace_period_ms: int = 600_000,
    ) -> None:
        self.clock = clock
        self.external_labels = external_labels
        self.external_url = external_url
        self.default_interval_ms = default_interval_ms
        self.default_query_offset_ms = default_query_offset_ms
        self.name_validation = name_validation
        self.templater = templater or make_templater(
            external_labels=external_labels, external_url=external_url
        )
        self.store = (
            AlertStateStore(state_dir, outage_tolerance_ms=outage_tolerance_ms) if state_dir else None
        )
        self.opts = GroupOptions(
            query=query,
            appendable=appendable,
            notify=notify,
            resend_delay_ms=resend_delay_ms,
            on_evaluated=self._on_evaluated,
        )
        # Prometheus' ALERTS_FOR_STATE restore for groups without a state file at first load.
        self.select = select
        self.outage_tolerance_ms = outage_tolerance_ms
        self.for_grace_period_ms = for_grace_period_ms
        self._awaiting_restore: dict[str, int] = {}  # group key -> evaluations seen so far
        self._loaded = False
        self._groups: dict[str, Group] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ---- loading -------------------------------------------------------------------------------------------

    def load_groups(self, patterns: list[str]) -> list[Group]:
        """Parse rule files (globs allowed) into new, not yet running groups; raises ``RuleLoadError``."""
        errors: list[str] = []
        groups: list[Group] = []
        for path in _expand(patterns):
            rf, errs = parse_rule_file(
                path, name_validation=self.name_validation, check_template=check_template
            )
            if errs or rf is None:
                errors.extend(errs)
                continue
            groups.extend(self.build_group(gd, path) for gd in rf.groups)
        if errors:
            raise RuleLoadError(errors)
        return groups

    def build_group(self, gd: GroupDef, file: str) -> Group:
        rules: list[Rule] = []
        for rd in gd.rules:
            labels = Labels({**gd.labels, **rd.labels})
            if rd.alert:
                rules.append(
                    AlertingRule(
                        rd.alert,
                        rd.expr,
                        for_ms=rd.for_ms,
                        keep_firing_for_ms=rd.keep_firing_for_ms,
                        labels=labels,
                        annotations=Labels(rd.annotations),
                        templater=self.templater,
                        levels=tuple(_level(lv) for lv in rd.levels),
                    )
                )
            else:
                rules.append(RecordingRule(rd.record, rd.expr, labels=labels))
        offset = gd.query_offset_ms if gd.query_offset_ms is not None else self.default_query_offset_ms
        return Group(
            gd.name,
            file,
            gd.interval_ms or self.default_interval_ms,
            rules,
            opts=self.opts,
            limit=gd.limit,
            query_offset_ms=offset,
        )

    def update(self, patterns: list[str]) -> None:
        """Load rule files and swap them in: unchanged groups keep running untouched, changed ones
        take over series and alerts of rules with the same name and labels, removed ones get their
        series marked stale. On error nothing changes and ``RuleLoadError`` is raised."""
        self.replace_groups(self.load_groups(patterns))

    def replace_groups(self, new_groups: list[Group]) -> None:
        now = self.now_ms()
        old = self._groups
        result: dict[str, Group] = {}
        for g in new_groups:
            prev = old.get(g.key)
            if prev is not None and prev.equals(g):
                result[g.key] = prev
                continue
            if prev is not None:
                self._awaiting_restore.pop(g.key, None)
                g.copy_state(prev)
                self._stop_task(g.key)
            elif self.store is not None and self.store.has_state(g):
                restored = self.store.restore(g, now)
                if restored:
                    log.info("restored %d alerts of rule group %s", restored, g.key)
            elif self.select is not None and not self._loaded:
                self._await_restore(g)
            result[g.key] = g
        for key, g in old.items():
            if key not in result:
                self._stop_task(key)
                g.mark_all_stale(now)
                if self.store is not None:
                    self.store.forget(key)
        self._groups = result
        self._loaded = True
        if self._running:
            for key, g in result.items():
                if key not in self._tasks:
                    self._tasks[key] = asyncio.get_running_loop().create_task(self._run_group(g))

    # ---- views ---------------------------------------------------------------------------------------------

    @property
    def groups(self) -> list[Group]:
        """Groups ordered by file then name, as Prometheus lists them."""
        return sorted(self._groups.values(), key=lambda g: (g.file, g.name))

    def rules(self) -> Iterator[Rule]:
        for g in self.groups:
            yield from g.rules

    def active_alerts(self) -> list[tuple[AlertingRule, Alert]]:
        """Pending and firing alerts with their rules (``/api/v1/alerts``)."""
        return [(r, a) for r in self.rules() if isinstance(r, AlertingRule) for a in r.active_alerts()]

    def metric_samples(self) -> list[tuple[str, Labels, float]]:
        return [s for g in self.groups for s in group_metric_samples(g)]

    def metrics_text(self) -> str:
        """The rule engine's metrics in the Prometheus text format (for the server's /metrics)."""
        return render_text(self.metric_samples())

    # ---- running -------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Evaluate every group at its interval until cancelled (or ``stop``)."""
        self._running = True
        for key, g in self._groups.items():
            if key not in self._tasks:
                self._tasks[key] = asyncio.get_running_loop().create_task(self._run_group(g))
        try:
            while self._running:
                await asyncio.sleep(3600)
        finally:
            await self.stop()

    async def stop(self) -> None:
        self._running = False
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass

    def _stop_task(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def _run_group(self, g: Group) -> None:
        ts = g.eval_timestamp(self.now_ms()) + g.interval_ms
        while True:
            await asyncio.sleep(max(0.0, (ts - self.now_ms()) / 1000))
            try:
                await asyncio.to_thread(g.evaluate, ts)
            except Exception:  # noqa: BLE001 - rule errors are handled per rule; this is a bug guard
                log.exception("rule group %s: evaluation crashed", g.key)
            ts, missed = next_eval(ts, self.now_ms(), g.interval_ms)
            g.metrics.iterations_missed += missed

    def _await_restore(self, g: Group) -> None:
        self._awaiting_restore[g.key] = 0
        for r in g.rules:
            if isinstance(r, AlertingRule):
                r.restored = False

    def _on_evaluated(self, g: Group) -> None:
        seen = self._awaiting_restore.get(g.key)
        if seen is not None and self.select is not None:
            # Like Prometheus: restore after the second evaluation, once recording rules have run.
            if seen + 1 >= 2:
                del self._awaiting_restore[g.key]
                n = restore_for_state(
                    g,
                    self.now_ms(),
                    self.select,
                    outage_tolerance_ms=self.outage_tolerance_ms,
                    for_grace_period_ms=self.for_grace_period_ms,
                )
                if n:
                    log.info("restored the for-state of %d alerts of rule group %s", n, g.key)
            else:
                self._awaiting_restore[g.key] = seen + 1
        if self.store is None:
            return
        try:
            self.store.save(g, self.now_ms())
        except OSError as e:
            log.warning("saving alert state of %s failed: %s", g.key, e)


def _level(lv: dict[str, Any]) -> Level:
    """A validated level definition (see rulefmt) as the rule uses it."""
    above = "above" in lv
    recover = lv.get("recover_below" if above else "recover_above")
    return Level(
        Labels(lv["labels"]),
        float(lv["above" if above else "below"]),
        above,
        float(recover) if recover is not None else None,
    )


def _expand(patterns: list[str]) -> list[str]:
    out: list[str] = []
    for p in patterns:
        matches = sorted(glob.glob(p)) if glob.has_magic(p) else [p]
        out.extend(m for m in matches if m not in out)
    return out
