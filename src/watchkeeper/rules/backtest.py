"""Backtesting: replay rule groups over a past time range and report alert transitions.

The groups are evaluated at the instants the server would have used (each group's
phase and interval), in time order across groups, and every pending, firing and
resolved transition is recorded. The groups' callables are the caller's: a
no-op notify (nothing is sent), and query/appendable over a scratch store layered
over the stored data, so a backtest never writes into real history while chained
recording rules still see their inputs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from ..model.labels import Labels
from .alert import AlertState
from .alerting_rule import AlertingRule
from .group import Group
from .notify import format_time

__all__ = ["Transition", "backtest", "format_report"]


@dataclass(frozen=True)
class Transition:
    at_ms: int
    state: str  # "pending", "firing" or "resolved"
    alertname: str
    labels: Labels
    value: float
    group: str


def backtest(groups: list[Group], start_ms: int, end_ms: int) -> list[Transition]:
    """Evaluate ``groups`` over ``[start_ms, end_ms]``; return alert transitions in time order.

    Alerts already pending or firing at the start are reported as they begin in the range.
    """
    out: list[Transition] = []
    # (next evaluation time, group index): a heap keeps groups interleaved in time order.
    heap: list[tuple[int, int]] = []
    for i, g in enumerate(groups):
        first = g.eval_timestamp(start_ms)
        if first < start_ms:
            first += g.interval_ms
        heapq.heappush(heap, (first, i))
    while heap:
        ts, i = heapq.heappop(heap)
        if ts > end_ms:
            continue
        g = groups[i]
        before = _states(g)
        g.evaluate(ts)
        after = _states(g)
        for key, (state, value) in after.items():
            if before.get(key, ("", 0.0))[0] != state:
                rule_name, lbls = key
                label = "resolved" if state == AlertState.INACTIVE.value else state
                out.append(Transition(ts, label, rule_name, lbls, value, g.key))
        for key, (state, value) in before.items():
            if key not in after and state == AlertState.PENDING.value:
                # A pending alert that cleared is dropped without ever firing.
                out.append(Transition(ts, "resolved", key[0], key[1], value, g.key))
        heapq.heappush(heap, (ts + g.interval_ms, i))
    return out


def _states(g: Group) -> dict[tuple[str, Labels], tuple[str, float]]:
    return {
        (r.name, lbls): (a.state.value, a.value)
        for r in g.rules
        if isinstance(r, AlertingRule)
        for lbls, a in r.active.items()
    }


def format_report(transitions: list[Transition]) -> str:
    """One line per transition: time, state, alert name and labels, value."""
    lines = []
    for t in transitions:
        labels = t.labels.without("alertname")
        lines.append(f"{format_time(t.at_ms)}  {t.state:<8}  {t.alertname}{labels}  value={t.value:g}")
    return "\n".join(lines) + ("\n" if lines else "")
