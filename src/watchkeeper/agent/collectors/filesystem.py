"""Mounted filesystem space and inodes (node_exporter's ``filesystem`` collector)."""

from __future__ import annotations

import os
import re

from .base import HostPaths, MetricFamily, read_text

__all__ = ["FilesystemCollector", "MOUNT_POINTS_EXCLUDE", "FS_TYPES_EXCLUDE"]

# node_exporter's defaults for --collector.filesystem.mount-points-exclude / fs-types-exclude.
MOUNT_POINTS_EXCLUDE = (
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
FS_TYPES_EXCLUDE = (
    r"^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue"
    r"|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
)

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


class FilesystemCollector:
    name = "filesystem"

    def __init__(
        self, *, mount_points_exclude: str = MOUNT_POINTS_EXCLUDE, fs_types_exclude: str = FS_TYPES_EXCLUDE
    ) -> None:
        self._mounts_exclude = re.compile(mount_points_exclude)
        self._types_exclude = re.compile(fs_types_exclude)

    def _mounts(self, paths: HostPaths) -> list[tuple[str, str, str, list[str]]]:
        try:
            text = read_text(paths.proc / "1/mounts")
        except OSError:
            text = read_text(paths.proc / "mounts")
        out = []
        seen: set[tuple[str, str, str]] = set()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 4:
                continue
            device, mountpoint, fstype = _unescape(parts[0]), _unescape(parts[1]), parts[2]
            if self._mounts_exclude.search(mountpoint) or self._types_exclude.search(fstype):
                continue
            key = (device, mountpoint, fstype)
            if key not in seen:
                seen.add(key)
                out.append((device, mountpoint, fstype, parts[3].split(",")))
        return out

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        fam = {
            "size": MetricFamily("node_filesystem_size_bytes", "Filesystem size in bytes.", "gauge"),
            "free": MetricFamily("node_filesystem_free_bytes", "Filesystem free space in bytes.", "gauge"),
            "avail": MetricFamily(
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                "gauge",
            ),
            "files": MetricFamily("node_filesystem_files", "Filesystem total file nodes.", "gauge"),
            "files_free": MetricFamily(
                "node_filesystem_files_free", "Filesystem total free file nodes.", "gauge"
            ),
            "ro": MetricFamily("node_filesystem_readonly", "Filesystem read-only status.", "gauge"),
            "error": MetricFamily(
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                "gauge",
            ),
        }
        root = str(paths.root).rstrip("/")
        for device, mountpoint, fstype, options in self._mounts(paths):
            labels = {"device": device, "fstype": fstype, "mountpoint": mountpoint}
            fam["ro"].add(1.0 if "ro" in options else 0.0, labels)
            try:
                st = os.statvfs(root + mountpoint)
            except OSError:
                fam["error"].add(1.0, labels)
                continue
            fam["error"].add(0.0, labels)
            fam["size"].add(st.f_blocks * st.f_bsize, labels)
            fam["free"].add(st.f_bfree * st.f_bsize, labels)
            fam["avail"].add(st.f_bavail * st.f_bsize, labels)
            fam["files"].add(st.f_files, labels)
            fam["files_free"].add(st.f_ffree, labels)
        return list(fam.values())
