"""Metric families, the collector protocol and text exposition for the host collectors."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

__all__ = ["Collector", "HostPaths", "MetricFamily", "render_families", "read_text", "format_value"]


@dataclass(frozen=True)
class HostPaths:
    """Where the kernel's files are (node_exporter's --path.procfs/--path.sysfs/--path.rootfs)."""

    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    root: Path = Path("/")


@dataclass
class MetricFamily:
    """One metric family with its HELP/TYPE and samples (label dict, value).

    A sample whose labels hold ``__name__`` is rendered under that name (histogram and
    summary families have ``_bucket``/``_sum``/``_count`` samples).
    """

    name: str
    help: str
    type: str  # counter | gauge | untyped
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, labels: Mapping[str, str] | None = None) -> MetricFamily:
        self.samples.append((dict(labels or {}), float(value)))
        return self


class Collector(Protocol):
    """One independent source of host metrics; a failure is reported, not propagated."""

    name: str

    def collect(self, paths: HostPaths) -> list[MetricFamily]: ...


def read_text(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def format_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_families(families: Iterable[MetricFamily]) -> str:
    """Prometheus text exposition 0.0.4, families sorted by name, samples by labels."""
    out: list[str] = []
    for fam in sorted(families, key=lambda f: f.name):
        help_text = fam.help.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {fam.name} {help_text}\n# TYPE {fam.name} {fam.type}\n")
        for labels, value in sorted(fam.samples, key=lambda s: sorted(s[0].items())):
            # A ``__name__`` label names a sample of the family (``x_bucket`` of histogram ``x``).
            name = labels.get("__name__", fam.name)
            pairs = sorted((k, v) for k, v in labels.items() if k != "__name__")
            if pairs:
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
                out.append(f"{name}{{{inner}}} {format_value(value)}\n")
            else:
                out.append(f"{name} {format_value(value)}\n")
    return "".join(out)
