"""What the simulated exporters expose: node_exporter's metric names for every host (job ``node``,
port 9100) and a client library's HTTP metrics for the web and api hosts (job ``app``, port 8080).

One catalogue serves both ways data reaches the server, so the backfilled history and the live
scrapes hold exactly the same series: ``values`` gives a job's samples for all its hosts as one
(time, host, series) array, and ``render`` turns one host's latest row into the text format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model.labels import format_label_value
from .fleet import CPU_MODES, CPUS, HTTP_CODES, LATENCY_BUCKETS, SWAP, Fleet, Snapshot

__all__ = ["Family", "Job", "jobs"]

_KERNEL = {"release": "6.1.0-26-amd64", "version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1",
           "machine": "x86_64", "sysname": "Linux"}
_FS = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}


@dataclass(frozen=True)
class Family:
    """Series of one sample name: their own labels and their values as a (T, hosts, series) array.

    ``meta`` is (family name, type, help) for the ``# HELP``/``# TYPE`` lines, None for the ``_sum`` and
    ``_count`` of a histogram whose ``_bucket`` family carried them.
    """

    name: str
    meta: tuple[str, str, str] | None
    labels: tuple[dict[str, str], ...]  # per series; "{host}" in a value is the host's name
    values: Callable[[Snapshot], np.ndarray]


@dataclass(frozen=True)
class Job:
    """A scrape job of the demo: its hosts (``host_index`` into ``Fleet.hosts``), port and families."""

    name: str
    port: int
    host_index: np.ndarray
    host_names: tuple[str, ...]
    families: tuple[Family, ...]

    def instance(self, host: str) -> str:
        return f"{host}:{self.port}"

    def series(self, host: str) -> list[tuple[str, dict[str, str]]]:
        """``(metric name, own labels)`` of every series, in the column order of ``values``."""
        return [(f.name, {k: v.replace("{host}", host) for k, v in lab.items()})
                for f in self.families for lab in f.labels]

    def values(self, snap: Snapshot) -> np.ndarray:
        """(T, len(hosts), series) float64: all samples of this job at the snapshot's times."""
        return np.concatenate([f.values(snap) for f in self.families], axis=2)

    def render(self, snap: Snapshot, host: str) -> bytes:
        """The host's exposition (text format 0.0.4) at the snapshot's last time."""
        vals = self.values(snap)[-1, self.host_names.index(host)].tolist()
        out: list[str] = []
        i = 0
        for f in self.families:
            if f.meta is not None:
                out.append(f"# HELP {f.meta[0]} {f.meta[2]}\n# TYPE {f.meta[0]} {f.meta[1]}\n")
            for lab in f.labels:
                own = ((k, v.replace("{host}", host)) for k, v in lab.items())
                text = ",".join(f"{k}={format_label_value(v)}" for k, v in own)
                out.append(f"{f.name}{{{text}}} {vals[i]!r}\n" if text else f"{f.name} {vals[i]!r}\n")
                i += 1
        return "".join(out).encode()


def _col(a: np.ndarray) -> np.ndarray:
    return a[:, :, None]


def _per_host(a: np.ndarray) -> Callable[[Snapshot], np.ndarray]:
    return lambda s: np.broadcast_to(a[None, :, None], (s.t.shape[0], a.shape[0], 1))


def _fam(name: str, type_: str, help_: str, labels: tuple[dict[str, str], ...],
         values: Callable[[Snapshot], np.ndarray]) -> Family:
    return Family(name, (name, type_, help_), labels, values)


def _pages(a: np.ndarray) -> np.ndarray:
    """Byte counts of memory and filesystems come in whole 4 KiB pages."""
    return np.floor(a / 4096) * 4096


def _pick(attr: str, k: int, shape: Callable[[np.ndarray], np.ndarray]) -> Callable[[Snapshot], np.ndarray]:
    """Column ``k`` of a (T, H, n) snapshot field, as a (T, H, 1) array passed through ``shape``."""
    return lambda s: shape(getattr(s, attr)[:, :, k:k + 1])


def _round2(a: np.ndarray) -> np.ndarray:
    return np.round(a, 2)


def _node_families(fleet: Fleet) -> tuple[Family, ...]:
    cpu_labels = tuple({"cpu": str(c), "mode": m} for c in range(CPUS) for m in CPU_MODES)
    mem = ("MemAvailable", "MemFree", "Cached", "Buffers", "SwapFree")
    loads = tuple(_fam(f"node_load{m}", "gauge", f"{m}m load average.", ({},),
                       _pick("load", k, _round2))
                  for k, m in enumerate((1, 5, 15)))
    mems = tuple(_fam(f"node_memory_{m}_bytes", "gauge", f"Memory information field {m}_bytes.", ({},),
                      _pick("mem", k, _pages))
                 for k, m in enumerate(mem))
    return (
        _fam("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.", ({},),
             lambda s: _col(np.floor(s.boot_time))),
        _fam("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.", cpu_labels,
             lambda s: s.cpu.reshape(s.cpu.shape[0], s.cpu.shape[1], -1)),
        _fam("node_disk_read_bytes_total", "counter", "The total number of bytes read successfully.",
             ({"device": "sda"},), lambda s: np.floor(s.disk[:, :, 0:1])),
        _fam("node_disk_written_bytes_total", "counter", "The total number of bytes written successfully.",
             ({"device": "sda"},), lambda s: np.floor(s.disk[:, :, 1:2])),
        _fam("node_disk_io_time_seconds_total", "counter", "Total seconds spent doing I/Os.",
             ({"device": "sda"},), lambda s: s.disk[:, :, 2:3]),
        _fam("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users in bytes.",
             (_FS,), lambda s: _pages(s.fs[:, :, 0:1])),
        _fam("node_filesystem_free_bytes", "gauge", "Filesystem free space in bytes.",
             (_FS,), lambda s: _pages(s.fs[:, :, 1:2])),
        _fam("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.", (_FS,),
             _per_host(fleet.fs_size)),
        *loads,
        *mems,
        _fam("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.", ({},),
             _per_host(fleet.mem_total)),
        _fam("node_memory_SwapTotal_bytes", "gauge", "Memory information field SwapTotal_bytes.", ({},),
             _per_host(np.full(len(fleet.hosts), float(SWAP)))),
        *(_fam(f"node_network_{stat}_total", "counter", f"Network device statistic {stat}.",
               ({"device": "eth0"},), _pick("net", k, np.floor))
          for k, stat in enumerate(("receive_bytes", "transmit_bytes", "receive_errs", "transmit_errs",
                                    "receive_drop", "transmit_drop"))),
        _fam("node_time_seconds", "gauge", "System time in seconds since epoch (1970).", ({},),
             lambda s: np.broadcast_to(s.t[:, None, None], (s.t.shape[0], s.up.shape[1], 1))),
        _fam("node_uname_info", "gauge", "Labeled system information as provided by the uname system call.",
             ({"domainname": "(none)", "nodename": "{host}", **_KERNEL},),
             _per_host(np.ones(len(fleet.hosts)))),
    )


def _app_families() -> tuple[Family, ...]:
    req = {"handler": "/api", "method": "GET"}
    les = [f"{le:g}" for le in LATENCY_BUCKETS] + ["+Inf"]
    hist = "http_request_duration_seconds"
    return (
        Family(f"{hist}_bucket", (hist, "histogram", "Duration of HTTP requests in seconds."),
               tuple({**req, "le": le} for le in les), lambda s: s.buckets),
        Family(f"{hist}_sum", None, (req,), lambda s: _col(s.latency_sum)),
        Family(f"{hist}_count", None, (req,), lambda s: s.buckets[:, :, -1:]),
        _fam("http_requests_total", "counter", "Total HTTP requests by status code.",
             tuple({**req, "code": c} for c in HTTP_CODES), lambda s: s.http),
    )


def jobs(fleet: Fleet) -> tuple[Job, Job]:
    """The ``node`` job (every host) and the ``app`` job (web and api hosts)."""
    node = Job("node", 9100, np.arange(len(fleet.hosts)), tuple(fleet.hosts), _node_families(fleet))
    app = Job("app", 8080, fleet.app, tuple(fleet.app_hosts), _app_families())
    return node, app
