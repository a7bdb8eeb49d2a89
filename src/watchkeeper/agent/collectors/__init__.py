"""node_exporter-compatible host collectors for Linux (/proc, /sys)."""

from __future__ import annotations

from .base import Collector, HostPaths, MetricFamily, render_families
from .cpu import CpuCollector
from .disk import DiskstatsCollector
from .filesystem import FilesystemCollector
from .memory import MeminfoCollector, VmstatCollector
from .netstack import ArpCollector, ConntrackCollector, SoftnetCollector, UdpQueuesCollector
from .netstat import NetstatCollector, SockstatCollector
from .network import NetclassCollector, NetdevCollector
from .system import (
    EntropyCollector,
    FilefdCollector,
    LoadavgCollector,
    OsCollector,
    PressureCollector,
    SelinuxCollector,
    StatCollector,
    TimeCollector,
    UnameCollector,
)
from .textfile import TextfileCollector
from .timex import TimexCollector

__all__ = [
    "ArpCollector",
    "Collector",
    "ConntrackCollector",
    "CpuCollector",
    "DiskstatsCollector",
    "EntropyCollector",
    "FilefdCollector",
    "FilesystemCollector",
    "HostPaths",
    "LoadavgCollector",
    "MeminfoCollector",
    "MetricFamily",
    "NetclassCollector",
    "NetdevCollector",
    "NetstatCollector",
    "OsCollector",
    "PressureCollector",
    "SelinuxCollector",
    "SockstatCollector",
    "SoftnetCollector",
    "StatCollector",
    "TextfileCollector",
    "TimeCollector",
    "TimexCollector",
    "UdpQueuesCollector",
    "UnameCollector",
    "VmstatCollector",
    "default_collectors",
    "render_families",
]


def default_collectors(*, textfile_directory: str | None = None) -> list[Collector]:
    """node_exporter's default Linux collectors that are implemented here.

    Not implemented: those for specific hardware or services (hwmon, cpufreq, thermal_zone,
    powersupplyclass, edac, bcache, btrfs, xfs, zfs, nfs, mdadm, infiniband, ...).
    """
    return [
        ArpCollector(),
        ConntrackCollector(),
        CpuCollector(),
        DiskstatsCollector(),
        EntropyCollector(),
        FilefdCollector(),
        FilesystemCollector(),
        LoadavgCollector(),
        MeminfoCollector(),
        NetclassCollector(),
        NetdevCollector(),
        NetstatCollector(),
        OsCollector(),
        PressureCollector(),
        SelinuxCollector(),
        SockstatCollector(),
        SoftnetCollector(),
        StatCollector(),
        TextfileCollector(directory=textfile_directory),
        TimeCollector(),
        TimexCollector(),
        UdpQueuesCollector(),
        UnameCollector(),
        VmstatCollector(),
    ]
