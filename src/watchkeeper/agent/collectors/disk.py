"""Block device I/O statistics from /proc/diskstats (node_exporter's ``diskstats`` collector)."""

from __future__ import annotations

import re

from .base import HostPaths, MetricFamily, read_text

__all__ = ["DiskstatsCollector", "DEVICE_EXCLUDE"]

# node_exporter's default --collector.diskstats.device-exclude: partitions and pseudo devices.
DEVICE_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"

_SECTOR = 512.0
# (field index after the device name, metric suffix, type, help, scale)
_FIELDS = [
    (0, "reads_completed_total", "counter", "The total number of reads completed successfully.", 1.0),
    (1, "reads_merged_total", "counter", "The total number of reads merged.", 1.0),
    (2, "read_bytes_total", "counter", "The total number of bytes read successfully.", _SECTOR),
    (3, "read_time_seconds_total", "counter", "The total number of seconds spent by all reads.", 0.001),
    (4, "writes_completed_total", "counter", "The total number of writes completed successfully.", 1.0),
    (5, "writes_merged_total", "counter", "The number of writes merged.", 1.0),
    (6, "written_bytes_total", "counter", "The total number of bytes written successfully.", _SECTOR),
    (
        7,
        "write_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all writes.",
        1e-3,
    ),
    (8, "io_now", "gauge", "The number of I/Os currently in progress.", 1.0),
    (9, "io_time_seconds_total", "counter", "Total seconds spent doing I/Os.", 0.001),
    (10, "io_time_weighted_seconds_total", "counter", "The weighted # of seconds spent doing I/Os.", 0.001),
    (11, "discards_completed_total", "counter", "The total number of discards completed successfully.", 1.0),
    (12, "discards_merged_total", "counter", "The total number of discards merged.", 1.0),
    (13, "discarded_sectors_total", "counter", "The total number of sectors discarded successfully.", 1.0),
    (
        14,
        "discard_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all discards.",
        0.001,
    ),
    (15, "flush_requests_total", "counter", "The total number of flush requests completed successfully", 1.0),
    (
        16,
        "flush_requests_time_seconds_total",
        "counter",
        "This is the total number of seconds spent by all flush requests.",
        0.001,
    ),
]

_UDEV = {
    "ID_PATH": "path",
    "ID_WWN": "wwn",
    "ID_MODEL": "model",
    "ID_SERIAL_SHORT": "serial",
    "ID_REVISION": "revision",
}


class DiskstatsCollector:
    name = "diskstats"

    def __init__(self, *, device_exclude: str = DEVICE_EXCLUDE, udev_data: str = "/run/udev/data") -> None:
        self._exclude = re.compile(device_exclude)
        self._udev_data = udev_data

    def _info(self, major: str, minor: str, device: str) -> dict[str, str]:
        labels = {"device": device, "major": major, "minor": minor}
        labels.update(dict.fromkeys(_UDEV.values(), ""))
        try:
            with open(f"{self._udev_data}/b{major}:{minor}", encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.removeprefix("E:").rstrip("\n").partition("=")
                    if key in _UDEV:
                        labels[_UDEV[key]] = value
        except OSError:
            pass
        return labels

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        fams = [MetricFamily(f"node_disk_{suffix}", help_, type_) for _, suffix, type_, help_, _ in _FIELDS]
        info = MetricFamily("node_disk_info", "Info of /sys/block/<block_device>.", "gauge")
        for line in read_text(paths.proc / "diskstats").splitlines():
            parts = line.split()
            if len(parts) < 14 or self._exclude.search(parts[2]):
                continue
            major, minor, device = parts[:3]
            values = [float(x) for x in parts[3:]]
            labels = {"device": device}
            info.add(1, self._info(major, minor, device))
            for fam, (idx, _, _, _, scale) in zip(fams, _FIELDS, strict=True):
                if idx < len(values):
                    fam.add(values[idx] * scale, labels)
        return [info, *fams]
