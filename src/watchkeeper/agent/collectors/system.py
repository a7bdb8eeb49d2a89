"""Small whole-host collectors: loadavg, stat, time, uname, filefd, entropy, pressure, os."""

from __future__ import annotations

import os
import time

from .base import HostPaths, MetricFamily, read_text

__all__ = [
    "EntropyCollector",
    "FilefdCollector",
    "LoadavgCollector",
    "OsCollector",
    "PressureCollector",
    "SelinuxCollector",
    "StatCollector",
    "TimeCollector",
    "UnameCollector",
]


class LoadavgCollector:
    name = "loadavg"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        loads = read_text(paths.proc / "loadavg").split()[:3]
        return [
            MetricFamily(f"node_load{m}", f"{m}m load average.", "gauge").add(float(v))
            for m, v in zip(("1", "5", "15"), loads, strict=True)
        ]


class StatCollector:
    name = "stat"

    _FIELDS = {
        "btime": ("node_boot_time_seconds", "Node boot time, in unixtime.", "gauge"),
        "ctxt": ("node_context_switches_total", "Total number of context switches.", "counter"),
        "processes": ("node_forks_total", "Total number of forks.", "counter"),
        "intr": ("node_intr_total", "Total number of interrupts serviced.", "counter"),
        "procs_running": ("node_procs_running", "Number of processes in runnable state.", "gauge"),
        "procs_blocked": (
            "node_procs_blocked",
            "Number of processes blocked waiting for I/O to complete.",
            "gauge",
        ),
    }

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        out = []
        for line in read_text(paths.proc / "stat").splitlines():
            parts = line.split()
            spec = self._FIELDS.get(parts[0]) if parts else None
            if spec is not None:
                out.append(MetricFamily(*spec).add(float(parts[1])))
        return out


class TimeCollector:
    name = "time"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        now = time.time()
        local = time.localtime(now)
        out = [
            MetricFamily("node_time_seconds", "System time in seconds since epoch (1970).", "gauge").add(now),
            MetricFamily(
                "node_time_zone_offset_seconds", "System time zone offset in seconds.", "gauge"
            ).add(float(local.tm_gmtoff), {"time_zone": local.tm_zone}),
        ]
        base = paths.sys / "devices/system/clocksource"
        if base.is_dir():
            avail = MetricFamily(
                "node_time_clocksource_available_info",
                "Available clocksources read from '/sys/devices/system/clocksource'.",
                "gauge",
            )
            current = MetricFamily(
                "node_time_clocksource_current_info",
                "Current clocksource read from '/sys/devices/system/clocksource'.",
                "gauge",
            )
            for d in sorted(base.glob("clocksource[0-9]*")):
                device = d.name.removeprefix("clocksource")
                for cs in read_text(d / "available_clocksource").split():
                    avail.add(1, {"clocksource": cs, "device": device})
                cur = read_text(d / "current_clocksource").strip()
                current.add(1, {"clocksource": cur, "device": device})
            out += [avail, current]
        return out


class UnameCollector:
    name = "uname"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        u = os.uname()
        try:
            domain = read_text(paths.proc / "sys/kernel/domainname").strip()
        except OSError:
            domain = "(none)"
        labels = {
            "sysname": u.sysname,
            "release": u.release,
            "version": u.version,
            "machine": u.machine,
            "nodename": u.nodename,
            "domainname": domain,
        }
        help_text = "Labeled system information as provided by the uname system call."
        return [MetricFamily("node_uname_info", help_text, "gauge").add(1, labels)]


class FilefdCollector:
    name = "filefd"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        allocated, _, maximum = read_text(paths.proc / "sys/fs/file-nr").split()[:3]
        return [
            MetricFamily("node_filefd_allocated", "File descriptor statistics: allocated.", "gauge").add(
                float(allocated)
            ),
            MetricFamily("node_filefd_maximum", "File descriptor statistics: maximum.", "gauge").add(
                float(maximum)
            ),
        ]


class EntropyCollector:
    name = "entropy"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        base = paths.proc / "sys/kernel/random"
        return [
            MetricFamily("node_entropy_available_bits", "Bits of available entropy.", "gauge").add(
                float(read_text(base / "entropy_avail"))
            ),
            MetricFamily("node_entropy_pool_size_bits", "Bits of entropy pool.", "gauge").add(
                float(read_text(base / "poolsize"))
            ),
        ]


class PressureCollector:
    """Pressure stall information (/proc/pressure); ``total`` is in microseconds."""

    name = "pressure"

    _METRICS = {
        ("cpu", "some"): ("waiting", "Total time in seconds that processes have waited for CPU time"),
        ("io", "some"): ("waiting", "Total time in seconds that processes have waited due to IO congestion"),
        ("io", "full"): (
            "stalled",
            "Total time in seconds no process could make progress due to IO congestion",
        ),
        ("memory", "some"): ("waiting", "Total time in seconds that processes have waited for memory"),
        ("memory", "full"): (
            "stalled",
            "Total time in seconds no process could make progress due to memory congestion",
        ),
    }

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        out = []
        for resource in ("cpu", "io", "memory"):
            for line in read_text(paths.proc / "pressure" / resource).splitlines():
                parts = line.split()
                spec = self._METRICS.get((resource, parts[0])) if parts else None
                if spec is None:
                    continue
                total = dict(p.split("=", 1) for p in parts[1:])["total"]
                name = f"node_pressure_{resource}_{spec[0]}_seconds_total"
                out.append(MetricFamily(name, spec[1], "counter").add(float(total) / 1e6))
        return out


class OsCollector:
    """/etc/os-release as node_os_info and node_os_version."""

    name = "os"

    _INFO = (
        "build_id", "id", "id_like", "image_id", "image_version", "name", "pretty_name",
        "variant", "variant_id", "version", "version_codename", "version_id",
    )  # fmt: skip

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        text = None
        for rel in ("etc/os-release", "usr/lib/os-release"):
            try:
                text = read_text(paths.root / rel)
                break
            except OSError:
                continue
        if text is None:
            raise FileNotFoundError("no os-release file")
        fields: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                fields[key.strip().lower()] = value.strip().strip("\"'")
        info = {k: fields.get(k, "") for k in self._INFO}
        help_info = (
            "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, "
            "name, pretty_name, variant, variant_id, version, version_codename, version_id."
        )
        out = [MetricFamily("node_os_info", help_info, "gauge").add(1, info)]
        major_minor = ".".join(fields.get("version_id", "").split(".")[:2])
        try:
            version = float(major_minor)
        except ValueError:
            version = 0.0
        out.append(
            MetricFamily(
                "node_os_version", "Metric containing the major.minor part of the OS version.", "gauge"
            ).add(version, {k: info[k] for k in ("id", "id_like", "name")})
        )
        return out


class SelinuxCollector:
    """Only whether SELinux is on: its mode metrics need libselinux policy parsing."""

    name = "selinux"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        enabled = (paths.sys / "fs/selinux/enforce").exists()
        return [
            MetricFamily("node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false", "gauge").add(
                1.0 if enabled else 0.0
            )
        ]
