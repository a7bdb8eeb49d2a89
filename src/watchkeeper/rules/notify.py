"""What Prometheus sends for a rule's alerts: the shape the server forwards to Alertmanagers.

Kept here (not in the notification engine) because it is the rule engine's half of
Prometheus' ``sendAlerts``: startsAt is when the alert fired, endsAt its resolution
or, while firing, ``valid_until`` (so a receiver expires it if Prometheus goes away).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from ..model.labels import Labels
from .alert import Alert

__all__ = ["generator_url", "to_api_alert", "format_time"]


def format_time(ms: int) -> str:
    """RFC 3339 in UTC with milliseconds dropped when zero, like Go's ``time.Time`` JSON."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    frac = ms % 1000
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:03d}".rstrip("0") + "Z" if frac else base + "Z"


def generator_url(external_url: str, expr: str) -> str:
    """Prometheus' ``TableLinkForExpression``: a link to the expression in the graph page's table tab."""
    return f"{external_url}/graph?g0.expr={quote_plus(expr)}&g0.tab=1"


def to_api_alert(
    a: Alert, expr: str, *, external_url: str, external_labels: Labels = Labels()
) -> dict[str, Any]:
    """An Alertmanager API v2 postable alert for ``a`` (external labels added where absent)."""
    labels = {**external_labels.to_dict(), **a.labels.to_dict()}
    ends = a.resolved_at if a.resolved_at else a.valid_until
    return {
        "labels": labels,
        "annotations": a.annotations.to_dict(),
        "startsAt": format_time(a.fired_at),
        "endsAt": format_time(ends),
        "generatorURL": generator_url(external_url, expr),
    }
