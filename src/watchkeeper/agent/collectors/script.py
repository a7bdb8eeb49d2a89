"""User script collectors: run a command each interval and read text-format metrics from its stdout.

A script that exits non-zero, prints unparsable output or outlives its timeout (it is killed)
yields ``watchkeeper_agent_script_success{script} 0`` and none of its metrics.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence

from ...exposition.textparse import NO_TIMESTAMP, ParseError, parse_series_key, parse_text
from .base import HostPaths, MetricFamily

__all__ = ["ScriptCollector"]

_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


class ScriptCollector:
    def __init__(self, name: str, command: Sequence[str], *, timeout: float = 10.0) -> None:
        self.name = f"script_{name}"
        self.script = name
        self.command = list(command)
        self.timeout = timeout

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        labels = {"script": self.script}
        success = MetricFamily(
            "watchkeeper_agent_script_success", "1 if the script ran and its output parsed.", "gauge"
        )
        duration = MetricFamily(
            "watchkeeper_agent_script_duration_seconds", "How long the script ran.", "gauge"
        )
        start = time.monotonic()
        families: list[MetricFamily] = []
        try:
            done = subprocess.run(
                self.command, capture_output=True, timeout=self.timeout, check=True, stdin=subprocess.DEVNULL
            )
            families = self._families(done.stdout.decode("utf-8"))
            ok = 1.0
        except (OSError, subprocess.SubprocessError, UnicodeDecodeError, ParseError, ValueError):
            ok = 0.0
        duration.add(time.monotonic() - start, labels)
        return [*families, success.add(ok, labels), duration]

    @staticmethod
    def _families(text: str) -> list[MetricFamily]:
        parsed = parse_text(text)
        if (parsed.timestamps != NO_TIMESTAMP).any():
            raise ValueError("script output carries client-side timestamps")
        types = {n: ("untyped" if m.type == "unknown" else m.type) for n, m in parsed.metadata.items()}
        out: dict[str, MetricFamily] = {}
        for key, value in zip(parsed.keys, parsed.values.tolist(), strict=True):
            pairs = parse_series_key(key)
            sample = pairs[0][1]
            fam_name = sample
            if sample not in types:
                for suffix in _SUFFIXES:
                    base = sample.removesuffix(suffix)
                    if base != sample and types.get(base) in ("histogram", "summary", "counter"):
                        fam_name = base
                        break
            fam = out.get(fam_name)
            if fam is None:
                meta = parsed.metadata.get(fam_name)
                help_text = meta.help if meta is not None and meta.help else f"Metric from script {fam_name}"
                fam = out[fam_name] = MetricFamily(fam_name, help_text, types.get(fam_name, "untyped"))
            labels = dict(pairs[1:])
            if sample != fam_name:
                labels["__name__"] = sample
            fam.add(value, labels)
        return list(out.values())
