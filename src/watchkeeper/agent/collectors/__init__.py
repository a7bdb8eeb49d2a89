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
    "TimeCollector",
    "TimexCollector",
    "UdpQueuesCollector",
    "UnameCollector",
    "VmstatCollector",
    "default_collectors",
    "render_families",
]


def default_collectors() -> list[Collector]:
    """The collectors node_exporter enables by default that are implemented here."""
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
        TimeCollector(),
        TimexCollector(),
        UdpQueuesCollector(),
        UnameCollector(),
        VmstatCollector(),
    ]
