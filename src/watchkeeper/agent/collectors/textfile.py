"""``*.prom`` files dropped by cron jobs and scripts (node_exporter's ``textfile`` collector).

Uses the scrape layer's text-format parser (agent sits above scrape). As in node_exporter,
files with client-side timestamps or that fail to parse set ``node_textfile_scrape_error``
and are skipped, and families must agree on their type across files.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...exposition.textparse import NO_TIMESTAMP, ParsedScrape, ParseError, parse_series_key, parse_text
from .base import HostPaths, MetricFamily

__all__ = ["TextfileCollector"]

_SUFFIXES = {"_bucket": "histogram", "_sum": "", "_count": "", "_total": "counter", "_created": ""}


def _family_of(name: str, types: dict[str, str]) -> str:
    """The family a sample name belongs to (``x_bucket`` -> ``x`` when ``x`` is a histogram)."""
    if name in types:
        return name
    for suffix in _SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and types.get(base) in ("histogram", "summary", "counter"):
            return base
    return name


class TextfileCollector:
    name = "textfile"

    def __init__(self, *, directory: str | None = None) -> None:
        self.directory = directory

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        error = MetricFamily(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            "gauge",
        )
        if not self.directory:
            return [error.add(0)]
        mtime = MetricFamily(
            "node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.", "gauge"
        )
        families: dict[str, MetricFamily] = {}
        failed = False
        for path in sorted(Path(self.directory).glob("*.prom")):
            try:
                parsed = parse_text(path.read_text(encoding="utf-8"))
                if (parsed.timestamps != NO_TIMESTAMP).any():
                    raise ParseError("textfile contains unsupported client-side timestamps")
                found = self._families(parsed, families)
            except (OSError, UnicodeDecodeError, ParseError, ValueError):
                failed = True
                continue
            families.update(found)
            mtime.add(os.stat(path).st_mtime, {"file": path.name})
        error.add(1.0 if failed else 0.0)
        return [*families.values(), mtime, error]

    @staticmethod
    def _families(parsed: ParsedScrape, existing: dict[str, MetricFamily]) -> dict[str, MetricFamily]:
        """This file's families merged onto copies of ``existing``; raises on a type clash."""
        types = {name: ("untyped" if m.type == "unknown" else m.type) for name, m in parsed.metadata.items()}
        out: dict[str, MetricFamily] = {}
        for key, value in zip(parsed.keys, parsed.values.tolist(), strict=True):
            pairs = parse_series_key(key)
            sample_name = pairs[0][1]
            fam_name = _family_of(sample_name, types)
            fam = out.get(fam_name)
            if fam is None:
                meta = parsed.metadata.get(fam_name)
                fam_type = types.get(fam_name, "untyped")
                prior = existing.get(fam_name)
                if prior is not None and prior.type != fam_type:
                    raise ValueError(f"{fam_name} is {fam_type} here but {prior.type} in another file")
                help_text = meta.help if meta and meta.help else f"Metric read from {fam_name}"
                fam = MetricFamily(fam_name, help_text, fam_type)
                if prior is not None:
                    fam.samples = list(prior.samples)
                out[fam_name] = fam
            labels = dict(pairs[1:])
            if sample_name != fam_name:
                labels["__name__"] = sample_name
            fam.add(value, labels)
        return out
