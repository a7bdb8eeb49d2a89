"""/proc/meminfo and /proc/vmstat (node_exporter's ``meminfo`` and ``vmstat`` collectors)."""

from __future__ import annotations

import re

from .base import HostPaths, MetricFamily, read_text

__all__ = ["MeminfoCollector", "VmstatCollector"]

# node_exporter's default --collector.vmstat.fields
VMSTAT_FIELDS = re.compile(r"^(oom_kill|pgpg|pswp|pg.*fault).*")


class MeminfoCollector:
    name = "meminfo"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        out = []
        for line in read_text(paths.proc / "meminfo").splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if not parts:
                continue
            value = float(parts[0])
            # "Active(anon)" -> "Active_anon"; values in kB become *_bytes.
            key = key.replace("(", "_").replace(")", "")
            if len(parts) == 2 and parts[1] == "kB":
                key += "_bytes"
                value *= 1024
            out.append(
                MetricFamily(f"node_memory_{key}", f"Memory information field {key}.", "gauge").add(value)
            )
        return out


class VmstatCollector:
    name = "vmstat"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        out = []
        for line in read_text(paths.proc / "vmstat").splitlines():
            parts = line.split()
            if len(parts) != 2 or not VMSTAT_FIELDS.match(parts[0]):
                continue
            out.append(
                MetricFamily(
                    f"node_vmstat_{parts[0]}", f"/proc/vmstat information field {parts[0]}.", "untyped"
                ).add(float(parts[1]))
            )
        return out
