"""Scrape targets: labels from discovery + relabeling, URL, scrape offset, health.

``populate_labels`` follows Prometheus 3's ``PopulateLabels``: defaults for
``job``/``__scheme__``/``__metrics_path__``/``__scrape_interval__``/
``__scrape_timeout__``/``__param_*`` are added before ``relabel_configs`` run,
``__meta_*`` labels are removed afterwards, ``instance`` defaults to
``__address__`` (no port is added), and labels starting ``__`` never reach the
stored series.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..gocompat.durations import DurationError, format_duration, parse_duration
from ..model.labels import Labels
from .config import ScrapeConfig
from .relabel import relabel

__all__ = ["TargetGroup", "Target", "TargetError", "populate_labels", "targets_from_group", "fnv64a"]

ADDRESS = "__address__"
SCHEME = "__scheme__"
METRICS_PATH = "__metrics_path__"
SCRAPE_INTERVAL = "__scrape_interval__"
SCRAPE_TIMEOUT = "__scrape_timeout__"
PARAM_PREFIX = "__param_"
META_PREFIX = "__meta_"
RESERVED_PREFIX = "__"


class TargetError(ValueError):
    """A discovered target whose labels cannot form a scrape target."""


@dataclass
class TargetGroup:
    """What discovery yields: targets (label sets with ``__address__``) sharing group labels."""

    source: str
    targets: list[dict[str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def fnv64a(data: bytes) -> int:
    """64-bit FNV-1a (used for the scrape offset, stable across processes unlike ``hash``)."""
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def populate_labels(
    discovered: Mapping[str, str], cfg: ScrapeConfig
) -> tuple[dict[str, str] | None, dict[str, str]]:
    """Return (final labels or None if dropped, discovered labels with defaults).

    Raises TargetError for targets Prometheus would reject (no address, bad interval, ...).
    """
    lb = dict(discovered)
    defaults = {
        "job": cfg.job_name,
        SCRAPE_INTERVAL: format_duration(cfg.interval_ms),
        SCRAPE_TIMEOUT: format_duration(cfg.timeout_ms),
        METRICS_PATH: cfg.metrics_path,
        SCHEME: cfg.scheme,
    }
    for k, v in defaults.items():
        if not lb.get(k):
            lb[k] = v
    for name, values in cfg.params.items():
        if values and not lb.get(PARAM_PREFIX + name):
            lb[PARAM_PREFIX + name] = values[0]
    preset = {k: v for k, v in lb.items() if v != ""}
    out = relabel(preset, cfg.relabel_configs)
    if out is None:
        return None, preset
    if not out.get(ADDRESS):
        raise TargetError("no address")
    addr = out[ADDRESS]
    if "/" in addr or any(c.isspace() for c in addr):
        raise TargetError(f'invalid "__address__" label: "{addr}"')
    interval = out.get(SCRAPE_INTERVAL, "")
    timeout = out.get(SCRAPE_TIMEOUT, "")
    try:
        iv = parse_duration(interval)
    except DurationError as e:
        raise TargetError(f"error parsing scrape interval: {e}") from None
    try:
        to = parse_duration(timeout)
    except DurationError as e:
        raise TargetError(f"error parsing scrape timeout: {e}") from None
    if iv == 0:
        raise TargetError("scrape interval cannot be 0")
    if to == 0:
        raise TargetError("scrape timeout cannot be 0")
    if to > iv:
        raise TargetError(
            f'scrape timeout cannot be greater than scrape interval ("{timeout}" > "{interval}")'
        )
    for k in [k for k in out if k.startswith(META_PREFIX)]:
        del out[k]
    if not out.get("instance"):
        out["instance"] = addr
    for k, v in out.items():
        if not k:
            raise TargetError(f'invalid label name "{k}"')
        if "\ufffd" in v:
            raise TargetError(f'invalid label value for "{k}": "{v}"')
    return out, preset


class Target:
    """One active target: its label sets, URL and last scrape state (for /api/v1/targets)."""

    def __init__(self, labels: dict[str, str], discovered: dict[str, str], cfg: ScrapeConfig) -> None:
        self.all_labels = labels
        self.discovered_labels = discovered
        self.labels = Labels({k: v for k, v in labels.items() if not k.startswith(RESERVED_PREFIX)})
        self.scrape_pool = cfg.job_name
        self.interval_ms = parse_duration(labels[SCRAPE_INTERVAL])
        self.timeout_ms = parse_duration(labels[SCRAPE_TIMEOUT])
        self.url = self._build_url(cfg)
        self.health = "unknown"
        self.last_error = ""
        self.last_scrape: float = 0.0  # unix seconds; 0 = never
        self.last_scrape_duration = 0.0
        self.key = (self.labels, self.url)
        self.hash = fnv64a(("\xff".join(f"{k}\xff{v}" for k, v in self.labels) + "\xff" + self.url).encode())

    def _build_url(self, cfg: ScrapeConfig) -> str:
        lb = self.all_labels
        params = {k: list(v) for k, v in cfg.params.items()}
        for k, v in lb.items():
            if k.startswith(PARAM_PREFIX):
                name = k[len(PARAM_PREFIX) :]
                if name in params and params[name]:
                    params[name][0] = v
                else:
                    params[name] = [v]
        query = urllib.parse.urlencode(sorted(params.items()), doseq=True)
        path = lb.get(METRICS_PATH, "/metrics")
        url = f"{lb.get(SCHEME, 'http')}://{lb[ADDRESS]}{path}"
        return f"{url}?{query}" if query else url

    def offset_ms(self, interval_ms: int, now_ms: int, seed: int = 0) -> int:
        """Delay until this target's first scrape: Prometheus' hash-spread offset within the interval."""
        base = interval_ms - now_ms % interval_ms
        nxt = base + (self.hash ^ seed) % interval_ms
        if nxt > interval_ms:
            nxt -= interval_ms
        return nxt


def targets_from_group(
    group: TargetGroup, cfg: ScrapeConfig
) -> list[tuple[dict[str, str] | None, dict[str, str], str]]:
    """Populate every target of a group: (labels or None if dropped, discovered labels, error text)."""
    out: list[tuple[dict[str, str] | None, dict[str, str], str]] = []
    for t in group.targets:
        merged = dict(group.labels)
        merged.update(t)
        try:
            labels, disc = populate_labels(merged, cfg)
        except TargetError as e:
            out.append((None, merged, f"instance {merged.get(ADDRESS, '')!r} in group {group.source}: {e}"))
            continue
        out.append((labels, disc, ""))
    return out
