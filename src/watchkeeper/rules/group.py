"""A rule group: rules evaluated in order at one interval, as Prometheus' ``rules.Group``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xxhash

from ..model.batch import STALE_NAN, SampleBatch
from ..model.histogram import HistogramBatch
from ..model.labels import Labels
from .alerting_rule import AlertingRule, NotifyFunc
from .recording_rule import RecordingRule
from .vector import QueryFunc, RuleEvalError

__all__ = ["Group", "GroupOptions", "next_eval", "group_offset_ns"]

log = logging.getLogger(__name__)

Rule = AlertingRule | RecordingRule


@dataclass
class GroupOptions:
    """What every group of a manager shares (handed in by the composition root)."""

    query: QueryFunc
    appendable: Callable[[SampleBatch], int]
    notify: NotifyFunc
    resend_delay_ms: int = 60_000
    on_evaluated: Callable[[Group], None] | None = None


@dataclass
class GroupMetrics:
    evaluations: int = 0
    evaluation_failures: int = 0
    iterations: int = 0
    iterations_missed: int = 0
    last_evaluation_ms: int = 0
    last_duration_s: float = 0.0
    last_samples: int = 0
    append_errors: dict[str, int] = field(default_factory=dict)
    notify_errors: int = 0


def group_offset_ns(file: str, name: str, interval_ms: int) -> int:
    """Prometheus' per-group phase: xxhash64 of the labels {file, name} modulo the interval (ns).

    Spreads groups over the interval so they do not all run at once, identically to Prometheus
    so the same group evaluates at the same instants in both.
    """
    buf = b"file\xff" + file.encode() + b"\xffname\xff" + name.encode() + b"\xff"
    return xxhash.xxh64_intdigest(buf) % (interval_ms * 1_000_000)


def next_eval(last_ts_ms: int, now_ms: int, interval_ms: int) -> tuple[int, int]:
    """The next evaluation time after ``last_ts_ms`` given it is ``now_ms``, and how many
    iterations were missed (the ticker fell behind by whole intervals)."""
    missed = max(0, (now_ms - last_ts_ms) // interval_ms - 1)
    return last_ts_ms + (missed + 1) * interval_ms, missed


class Group:
    def __init__(
        self,
        name: str,
        file: str,
        interval_ms: int,
        rules: list[Rule],
        *,
        opts: GroupOptions,
        limit: int = 0,
        query_offset_ms: int = 0,
    ) -> None:
        self.name = name
        self.file = file
        self.interval_ms = interval_ms
        self.rules = rules
        self.opts = opts
        self.limit = limit
        self.query_offset_ms = query_offset_ms
        self.metrics = GroupMetrics()
        # Per rule: the series it wrote last time, so those that disappear get a stale marker.
        self.series_in_previous_eval: list[set[Labels]] = [set() for _ in rules]
        # Series of rules removed by a reload: marked stale at the next evaluation.
        self.stale_series: list[Labels] = []
        # Evaluations run in a worker thread; reloads read the state from the event loop.
        self.lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"{self.file};{self.name}"

    def eval_timestamp(self, now_ms: int) -> int:
        """The latest evaluation instant of this group at or before ``now_ms`` (Prometheus' phase)."""
        interval_ns = self.interval_ms * 1_000_000
        offset = group_offset_ns(self.file, self.name, self.interval_ms)
        adj = now_ms * 1_000_000 - offset
        return (adj - adj % interval_ns + offset) // 1_000_000

    def equals(self, other: Group) -> bool:
        """Same definition (Prometheus keeps an unchanged group running across a reload)."""
        if (self.name, self.file, self.interval_ms, self.limit, self.query_offset_ms, len(self.rules)) != (
            other.name,
            other.file,
            other.interval_ms,
            other.limit,
            other.query_offset_ms,
            len(other.rules),
        ):
            return False
        return all(_rule_sig(a) == _rule_sig(b) for a, b in zip(self.rules, other.rules, strict=True))

    def evaluate(self, ts_ms: int) -> None:
        """Evaluate every rule in order at ``ts_ms``; results are appended before the next rule runs."""
        with self.lock:
            self._evaluate(ts_ms)

    def _evaluate(self, ts_ms: int) -> None:
        start = time.perf_counter()
        if self.stale_series:
            self._append(
                self.stale_series, np.full(len(self.stale_series), STALE_NAN), ts_ms - self.query_offset_ms
            )
            self.stale_series = []
        samples = 0
        for i, rule in enumerate(self.rules):
            samples += self._eval_rule(i, rule, ts_ms)
        m = self.metrics
        m.iterations += 1
        m.last_evaluation_ms = ts_ms
        m.last_duration_s = time.perf_counter() - start
        m.last_samples = samples
        if self.opts.on_evaluated is not None:
            self.opts.on_evaluated(self)

    def _eval_rule(self, i: int, rule: Rule, ts_ms: int) -> int:
        t0 = time.perf_counter()
        self.metrics.evaluations += 1
        try:
            vec = rule.eval(ts_ms, self.query_offset_ms, self.opts.query, self.limit)
        except Exception as e:  # noqa: BLE001 - any failure is the rule's health, never the group's end
            msg = str(e) if isinstance(e, RuleEvalError) else (str(e) or type(e).__name__)
            rule.set_result(error=msg, ts_ms=ts_ms, seconds=time.perf_counter() - t0)
            self.metrics.evaluation_failures += 1
            log.warning("rule evaluation failed: group=%s rule=%s err=%s", self.key, rule.name, msg)
            return 0
        if isinstance(rule, AlertingRule):
            due = rule.alerts_to_send(ts_ms, self.opts.resend_delay_ms, self.interval_ms)
            if due:
                try:
                    self.opts.notify(due, rule.expr)
                except Exception:  # noqa: BLE001 - a failing receiver must not stop the rules
                    self.metrics.notify_errors += 1
                    log.exception("rule group %s: notify failed for rule %s", self.key, rule.name)
        sample_ts = ts_ms - self.query_offset_ms
        returned = set(vec.labels)
        gone = [s for s in self.series_in_previous_eval[i] if s not in returned]
        labels = vec.labels + gone
        values = np.concatenate([vec.values, np.full(len(gone), STALE_NAN)]) if gone else vec.values
        h_index = vec.h_index
        if h_index is not None and gone:
            h_index = np.concatenate([h_index, np.full(len(gone), -1, np.int64)])
        self._append(labels, values, sample_ts, vec.h, h_index)
        self.series_in_previous_eval[i] = returned
        rule.set_result(error=None, ts_ms=ts_ms, seconds=time.perf_counter() - t0)
        return len(vec)

    def _append(self, labels: list[Labels], values: np.ndarray, t_ms: int, h: HistogramBatch | None = None,
                h_index: np.ndarray | None = None) -> None:
        """Store one sample per series; rows with ``h_index >= 0`` are the histograms of ``h``."""
        if not labels:
            return
        n = len(labels)
        batch = SampleBatch(
            labels=list(labels),
            series=np.arange(n, dtype=np.int64),
            t=np.full(n, t_ms, dtype=np.int64),
            v=np.asarray(values, dtype=np.float64),
            h=h if h_index is not None else None,
            h_index=h_index if h is not None else None,
        )
        try:
            self.opts.appendable(batch)
        except Exception as e:  # noqa: BLE001 - storage refusing samples must not stop evaluation
            kind = type(e).__name__
            self.metrics.append_errors[kind] = self.metrics.append_errors.get(kind, 0) + 1
            log.warning("rule group %s: appending %d samples failed: %s", self.key, n, e)

    def mark_all_stale(self, ts_ms: int) -> None:
        """Write stale markers for everything the group wrote last (the group was removed)."""
        with self.lock:
            self._mark_all_stale(ts_ms)

    def _mark_all_stale(self, ts_ms: int) -> None:
        series = [s for prev in self.series_in_previous_eval for s in prev] + self.stale_series
        self._append(series, np.full(len(series), STALE_NAN), ts_ms - self.query_offset_ms)
        self.series_in_previous_eval = [set() for _ in self.rules]
        self.stale_series = []

    def copy_state(self, old: Group) -> None:
        """Carry series and alerts over from the previous version of this group (reload)."""
        with old.lock:
            self._copy_state(old)

    def _copy_state(self, old: Group) -> None:
        by_key: dict[str, list[int]] = {}
        for fi, r in enumerate(old.rules):
            by_key.setdefault(r.name_and_labels(), []).append(fi)
        for i, r in enumerate(self.rules):
            idx = by_key.get(r.name_and_labels())
            if not idx:
                continue
            fi = idx.pop(0)
            self.series_in_previous_eval[i] = old.series_in_previous_eval[fi]
            old_rule = old.rules[fi]
            if isinstance(r, AlertingRule) and isinstance(old_rule, AlertingRule):
                r.active = dict(old_rule.active)
        self.stale_series = list(old.stale_series)
        for idx in by_key.values():
            for fi in idx:
                self.stale_series.extend(old.series_in_previous_eval[fi])
        self.metrics.last_evaluation_ms = old.metrics.last_evaluation_ms


def _rule_sig(r: Rule) -> tuple[object, ...]:
    if isinstance(r, AlertingRule):
        return ("a", r.name, r.expr, r.labels, r.annotations, r.for_ms, r.keep_firing_for_ms, r.levels)
    return ("r", r.name, r.expr, r.labels)
