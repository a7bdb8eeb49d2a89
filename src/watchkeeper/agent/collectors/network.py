"""Network interfaces: counters (``netdev``) and /sys/class/net properties (``netclass``)."""

from __future__ import annotations

from pathlib import Path

from .base import HostPaths, MetricFamily, read_text

__all__ = ["NetdevCollector", "NetclassCollector"]

_ARPHRD_LOOPBACK = "772"

# node_exporter name -> file in /sys/class/net/<dev>/statistics (the kernel's rtnl_link_stats64).
_COUNTERS = {
    "receive_bytes": "rx_bytes",
    "receive_packets": "rx_packets",
    "receive_errs": "rx_errors",
    "receive_drop": "rx_dropped",
    "receive_fifo": "rx_fifo_errors",
    "receive_frame": "rx_frame_errors",
    "receive_compressed": "rx_compressed",
    "receive_multicast": "multicast",
    "receive_nohandler": "rx_nohandler",
    "transmit_bytes": "tx_bytes",
    "transmit_packets": "tx_packets",
    "transmit_errs": "tx_errors",
    "transmit_drop": "tx_dropped",
    "transmit_fifo": "tx_fifo_errors",
    "transmit_colls": "collisions",
    "transmit_carrier": "tx_carrier_errors",
    "transmit_compressed": "tx_compressed",
}


def _read(path: Path) -> str | None:
    """A sysfs attribute, or None where the kernel refuses (e.g. carrier of a down link)."""
    try:
        return read_text(path).strip()
    except OSError:
        return None


class NetdevCollector:
    """Per-interface counters; loopback is skipped, as node_exporter's netlink source does."""

    name = "netdev"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        fams = {
            key: MetricFamily(f"node_network_{key}_total", f"Network device statistic {key}.", "counter")
            for key in sorted(_COUNTERS)
        }
        base = paths.sys / "class/net"
        for dev in sorted(p.name for p in base.iterdir()):
            if _read(base / dev / "type") == _ARPHRD_LOOPBACK:
                continue
            for key, fname in _COUNTERS.items():
                raw = _read(base / dev / "statistics" / fname)
                if raw is not None and raw:
                    fams[key].add(float(raw), {"device": dev})
        return list(fams.values())


# (metric name, sysfs attribute, base for int parsing, scale)
_PROPS = [
    ("address_assign_type", "addr_assign_type", 10, 1),
    ("carrier", "carrier", 10, 1),
    ("carrier_changes_total", "carrier_changes", 10, 1),
    ("carrier_up_changes_total", "carrier_up_count", 10, 1),
    ("carrier_down_changes_total", "carrier_down_count", 10, 1),
    ("device_id", "dev_id", 16, 1),
    ("dormant", "dormant", 10, 1),
    ("flags", "flags", 16, 1),
    ("iface_id", "ifindex", 10, 1),
    ("iface_link", "iflink", 10, 1),
    ("iface_link_mode", "link_mode", 10, 1),
    ("mtu_bytes", "mtu", 10, 1),
    ("name_assign_type", "name_assign_type", 10, 1),
    ("net_dev_group", "netdev_group", 10, 1),
    ("speed_bytes", "speed", 10, 125000),  # Mbit/s -> bytes/s
    ("transmit_queue_length", "tx_queue_len", 10, 1),
    ("protocol_type", "type", 10, 1),
]


class NetclassCollector:
    name = "netclass"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        base = paths.sys / "class/net"
        up = MetricFamily("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", "gauge")
        info = MetricFamily(
            "node_network_info", "Non-numeric data from /sys/class/net/<iface>, value is always 1.", "gauge"
        )
        props = {
            name: MetricFamily(
                f"node_network_{name}",
                f"Network device property: {name}",
                "counter" if name.endswith("_total") else "gauge",
            )
            for name, *_ in _PROPS
        }
        for dev in sorted(p.name for p in base.iterdir()):
            d = base / dev
            operstate = _read(d / "operstate") or ""
            up.add(1.0 if operstate == "up" else 0.0, {"device": dev})
            info.add(
                1,
                {
                    "device": dev,
                    "address": _read(d / "address") or "",
                    "broadcast": _read(d / "broadcast") or "",
                    "duplex": _read(d / "duplex") or "",
                    "operstate": operstate,
                    "ifalias": _read(d / "ifalias") or "",
                },
            )
            for name, attr, int_base, scale in _PROPS:
                raw = _read(d / attr)
                if not raw:
                    continue
                try:
                    value = int(raw, int_base)
                except ValueError:
                    continue
                props[name].add(float(value * scale), {"device": dev})
        return [up, info, *props.values()]
