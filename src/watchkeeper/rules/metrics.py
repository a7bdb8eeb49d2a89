"""The rule engine's own metrics, under Prometheus' names so existing dashboards work."""

from __future__ import annotations

from ..model.labels import Labels
from ..promql.format import format_float
from .group import Group

__all__ = ["group_metric_samples", "render_text"]

_HELP = {
    "prometheus_rule_evaluations_total": ("counter", "The total number of rule evaluations."),
    "prometheus_rule_evaluation_failures_total": ("counter", "The total number of rule evaluation failures."),
    "prometheus_rule_group_iterations_total": (
        "counter",
        "The total number of scheduled rule group evaluations, whether executed or missed.",
    ),
    "prometheus_rule_group_iterations_missed_total": (
        "counter",
        "The total number of rule group evaluations missed due to slow rule group evaluation.",
    ),
    "prometheus_rule_group_interval_seconds": ("gauge", "The interval of a rule group."),
    "prometheus_rule_group_last_evaluation_timestamp_seconds": (
        "gauge",
        "The timestamp of the last rule group evaluation in seconds.",
    ),
    "prometheus_rule_group_last_duration_seconds": (
        "gauge",
        "The duration of the last rule group evaluation.",
    ),
    "prometheus_rule_group_last_evaluation_samples": (
        "gauge",
        "The number of samples returned during the last rule group evaluation.",
    ),
    "prometheus_rule_group_rules": ("gauge", "The number of rules."),
    "watchkeeper_rule_group_notify_failures_total": (
        "counter",
        "Alerts batches the notify function failed to take (watchkeeper extension).",
    ),
    "watchkeeper_rule_group_append_failures_total": (
        "counter",
        "Rule result batches the storage refused (watchkeeper extension).",
    ),
}


def group_metric_samples(g: Group) -> list[tuple[str, Labels, float]]:
    m = g.metrics
    lbl = Labels({"rule_group": g.key})
    return [
        ("prometheus_rule_evaluations_total", lbl, float(m.evaluations)),
        ("prometheus_rule_evaluation_failures_total", lbl, float(m.evaluation_failures)),
        ("prometheus_rule_group_iterations_total", lbl, float(m.iterations + m.iterations_missed)),
        ("prometheus_rule_group_iterations_missed_total", lbl, float(m.iterations_missed)),
        ("prometheus_rule_group_interval_seconds", lbl, g.interval_ms / 1000),
        ("prometheus_rule_group_last_evaluation_timestamp_seconds", lbl, m.last_evaluation_ms / 1000),
        ("prometheus_rule_group_last_duration_seconds", lbl, m.last_duration_s),
        ("prometheus_rule_group_last_evaluation_samples", lbl, float(m.last_samples)),
        ("prometheus_rule_group_rules", lbl, float(len(g.rules))),
        ("watchkeeper_rule_group_notify_failures_total", lbl, float(m.notify_errors)),
        ("watchkeeper_rule_group_append_failures_total", lbl, float(sum(m.append_errors.values()))),
    ]


def render_text(samples: list[tuple[str, Labels, float]]) -> str:
    """Prometheus text exposition, samples grouped under one HELP/TYPE header per metric."""
    by_name: dict[str, list[tuple[Labels, float]]] = {}
    for name, lbls, v in samples:
        by_name.setdefault(name, []).append((lbls, v))
    out: list[str] = []
    for name, rows in by_name.items():
        typ, help_ = _HELP.get(name, ("untyped", name))
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {typ}")
        for lbls, v in rows:
            out.append(f"{name}{lbls} {format_float(v)}")
    return "\n".join(out) + ("\n" if out else "")
