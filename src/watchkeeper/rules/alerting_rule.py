"""Alerting rules: the pending → firing → inactive state machine of Prometheus' ``AlertingRule``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..model.labels import METRIC_NAME, Labels
from .alert import RESOLVED_RETENTION_MS, Alert, AlertState
from .base import RuleBase
from .vector import QueryFunc, RuleEvalError, Vector, query_vector

__all__ = ["AlertingRule", "AlertTemplater", "Level", "ALERT_METRIC", "ALERT_FOR_STATE_METRIC", "NotifyFunc"]

ALERT_METRIC = "ALERTS"
ALERT_FOR_STATE_METRIC = "ALERTS_FOR_STATE"
ALERTNAME = "alertname"
ALERTSTATE = "alertstate"

# notify(alerts, expr): alerts to send now, and the rule's expression (for generatorURL).
NotifyFunc = Callable[[list[Alert], str], None]


@dataclass(frozen=True)
class Level:
    """One severity level of a multi-level rule: fire when the value is ``above`` (or ``below``)
    the threshold; with ``recover`` set, an active alert resolves only once the value crosses
    back over ``recover`` instead (fire above 90, resolve below 80)."""

    labels: Labels
    threshold: float
    above: bool = True
    recover: float | None = None

    def crossed(self, v: float) -> bool:
        return v > self.threshold if self.above else v < self.threshold

    def holds_until_recovered(self, v: float) -> bool:
        assert self.recover is not None
        return v >= self.recover if self.above else v <= self.recover


class AlertTemplater(Protocol):
    """Expands one label/annotation template for one alert instance; never raises (a broken
    template yields Prometheus' ``<error expanding template: ...>`` text)."""

    def __call__(
        self, text: str, *, alert_name: str, labels: Labels, value: float, ts_ms: int, query: QueryFunc
    ) -> str: ...


class AlertingRule(RuleBase):
    kind = "alerting"

    def __init__(
        self,
        name: str,
        expr: str,
        *,
        for_ms: int = 0,
        keep_firing_for_ms: int = 0,
        labels: Labels = Labels(),
        annotations: Labels = Labels(),
        templater: AlertTemplater,
        levels: tuple[Level, ...] = (),
    ) -> None:
        super().__init__(name, expr, labels=labels)
        self.for_ms = for_ms
        self.keep_firing_for_ms = keep_firing_for_ms
        self.annotations = annotations
        self.templater = templater
        self.levels = levels
        self.active: dict[Labels, Alert] = {}
        # False while waiting for the ALERTS_FOR_STATE restore (see restore.py): no ALERTS series then.
        self.restored = True

    def _level(self, base: dict[str, str], value: float) -> Labels | None:
        """The labels of the highest level the value is at, or None (extension ``levels``).

        A level holds when its threshold is crossed, or while its alert is active and the
        value has not yet crossed back over the recovery threshold (hysteresis). The first
        level (highest) that holds wins, so one series yields at most one alert.
        """
        for lv in self.levels:
            if lv.crossed(value):
                return lv.labels
            if lv.recover is not None:
                cur = self.active.get(Labels({**base, **lv.labels.to_dict()}))
                if cur is not None and cur.state != AlertState.INACTIVE and lv.holds_until_recovered(value):
                    return lv.labels
        return None

    def eval(self, ts_ms: int, query_offset_ms: int, query: QueryFunc, limit: int) -> Vector:
        """One evaluation at ``ts_ms``: update ``active`` and return the ALERTS/ALERTS_FOR_STATE samples."""
        vec = query_vector(query, self.query_expr, ts_ms - query_offset_ms)
        values = vec.values
        if vec.h_index is not None:
            # Prometheus takes an alert's value from the sample's float field: 0 for a histogram.
            values = np.where(vec.h_index >= 0, 0.0, values)
        found: dict[Labels, Alert] = {}
        for series, value in zip(vec.labels, values.tolist(), strict=True):

            def expand(text: str, series: Labels = series, value: float = value) -> str:
                if "{{" not in text:
                    return text
                return self.templater(
                    text, alert_name=self.name, labels=series, value=value, ts_ms=ts_ms, query=query
                )

            d = {k: v for k, v in series.items if k != METRIC_NAME}
            for k, v in self.labels.items:
                d[k] = expand(v)
            d[ALERTNAME] = self.name
            if self.levels:
                level_labels = self._level(d, value)
                if level_labels is None:
                    continue
                d.update(level_labels.items)
            lbls = Labels(d)
            annotations = Labels([(k, expand(v)) for k, v in self.annotations.items])
            if lbls in found:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            found[lbls] = Alert(lbls, annotations, AlertState.PENDING, active_at=ts_ms, value=value)

        for lbls, a in found.items():
            cur = self.active.get(lbls)
            if cur is not None and cur.state != AlertState.INACTIVE:
                cur.value = a.value
                cur.annotations = a.annotations
                continue
            self.active[lbls] = a

        out_labels: list[Labels] = []
        out_values: list[float] = []
        active_pending = 0
        for lbls, a in list(self.active.items()):
            if lbls not in found:
                keep_firing = False
                if a.state == AlertState.FIRING and self.keep_firing_for_ms > 0:
                    if a.keep_firing_since == 0:
                        a.keep_firing_since = ts_ms
                    keep_firing = ts_ms - a.keep_firing_since < self.keep_firing_for_ms
                # Firing alerts are kept a while so receivers are told they resolved.
                if a.state == AlertState.PENDING or (
                    a.resolved_at and ts_ms - a.resolved_at > RESOLVED_RETENTION_MS
                ):
                    del self.active[lbls]
                if a.state != AlertState.INACTIVE and not keep_firing:
                    a.state = AlertState.INACTIVE
                    a.resolved_at = ts_ms
                if not keep_firing:
                    continue
            else:
                a.keep_firing_since = 0
            active_pending += 1
            if a.state == AlertState.PENDING and ts_ms - a.active_at >= self.for_ms:
                a.state = AlertState.FIRING
                a.fired_at = ts_ms
            if self.restored:
                out_labels.append(self._series(a.labels, ALERT_METRIC, a.state.value))
                out_values.append(1.0)
                out_labels.append(self._series(a.labels, ALERT_FOR_STATE_METRIC, None))
                out_values.append(float(a.active_at // 1000))

        if 0 < limit < active_pending:
            self.active = {}
            raise RuleEvalError(f"exceeded limit of {limit} with {active_pending} alerts")
        return Vector(out_labels, np.array(out_values, dtype=np.float64))

    @staticmethod
    def _series(alert_labels: Labels, metric: str, state: str | None) -> Labels:
        d = alert_labels.to_dict()
        d[METRIC_NAME] = metric
        if state is not None:
            d[ALERTSTATE] = state
        return Labels(d)

    def alerts_to_send(self, ts_ms: int, resend_delay_ms: int, interval_ms: int) -> list[Alert]:
        """Prometheus' ``sendAlerts``: mark what is due as sent now and return copies of it."""
        out: list[Alert] = []
        # Valid for four intervals (or resend delays): two missed evaluations or sends are tolerated.
        delta = max(resend_delay_ms, interval_ms)
        for a in self.active.values():
            if a.needs_sending(ts_ms, resend_delay_ms):
                a.last_sent_at = ts_ms
                a.valid_until = ts_ms + 4 * delta
                out.append(a.copy())
        return out

    def active_alerts(self) -> Iterator[Alert]:
        """Pending and firing alerts (resolved ones kept for re-sending are left out)."""
        return (a for a in self.active.values() if a.state != AlertState.INACTIVE)

    def state(self) -> AlertState:
        """The rule's state: the highest state of its alerts."""
        best = AlertState.INACTIVE
        for a in self.active.values():
            if a.state == AlertState.FIRING:
                return AlertState.FIRING
            if a.state == AlertState.PENDING:
                best = AlertState.PENDING
        return best
