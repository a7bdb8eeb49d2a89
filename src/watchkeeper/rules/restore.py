"""Prometheus' ``for``-state restore from ``ALERTS_FOR_STATE``: the fallback when no state file exists.

After a restart Prometheus re-derives how long each active alert had been pending
from the last ``ALERTS_FOR_STATE`` sample written before it went down (its value is
the alert's active-since time), moving ``active_at`` forward by the downtime so that
time spent down does not count towards ``for``. Rules whose ``for`` is shorter than
the grace period are not restored; alerts that would fire within the grace period
fire only once it has passed. Until a rule is restored it writes no ``ALERTS``
series, so the first evaluations do not overwrite what is being restored from.
"""

from __future__ import annotations

from collections.abc import Callable

from ..model.batch import SeriesSet, is_stale
from ..model.labels import METRIC_NAME, Labels
from ..model.matchers import Matcher, MatchType
from .alerting_rule import ALERT_FOR_STATE_METRIC, AlertingRule
from .group import Group

__all__ = ["SelectFunc", "restore_for_state"]

# (matchers, mint_ms, maxt_ms) -> raw series, stale markers included (a Querier.select).
SelectFunc = Callable[[list[Matcher], int, int], SeriesSet]


def restore_for_state(
    group: Group,
    ts_ms: int,
    select: SelectFunc,
    *,
    outage_tolerance_ms: int = 3_600_000,
    for_grace_period_ms: int = 600_000,
) -> int:
    """Restore ``active_at`` of the group's active alerts; returns how many were adjusted."""
    n = 0
    for rule in group.rules:
        if not isinstance(rule, AlertingRule):
            continue
        if rule.for_ms >= for_grace_period_ms:
            for a in rule.active.values():
                restored = _restored_active_at(
                    a.labels,
                    a.active_at,
                    rule.for_ms,
                    ts_ms,
                    select,
                    outage_tolerance_ms,
                    for_grace_period_ms,
                )
                if restored is not None:
                    a.active_at = restored
                    n += 1
        rule.restored = True
    return n


def _restored_active_at(
    labels: Labels,
    active_at: int,
    for_ms: int,
    ts_ms: int,
    select: SelectFunc,
    tolerance_ms: int,
    grace_ms: int,
) -> int | None:
    want = labels.merge({METRIC_NAME: ALERT_FOR_STATE_METRIC})
    matchers = [Matcher(MatchType.EQUAL, k, v) for k, v in want.items]
    ss = select(matchers, ts_ms - tolerance_ms, ts_ms)
    for i in range(len(ss)):
        lbls, t, v = ss.series(i)
        if lbls != want or len(t) == 0:
            continue
        last_t, last_v = int(t[-1]), float(v[-1])
        if is_stale(v[-1:])[0]:
            return None  # the alert had ended before the restart
        down_at = (last_t // 1000) * 1000
        restored = int(last_v) * 1000
        remaining = for_ms - (down_at - restored)
        if remaining <= 0:
            return restored  # it was firing: the next evaluation fires it again
        if remaining < grace_ms:
            return ts_ms + grace_ms - for_ms
        return restored + (ts_ms - down_at)
    return None
