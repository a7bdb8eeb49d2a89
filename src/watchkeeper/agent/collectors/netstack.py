"""Kernel network stack internals: ARP table, conntrack, softnet and UDP queues."""

from __future__ import annotations

from collections import Counter

from .base import HostPaths, MetricFamily, read_text

__all__ = ["ArpCollector", "ConntrackCollector", "SoftnetCollector", "UdpQueuesCollector"]


class ArpCollector:
    name = "arp"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        lines = read_text(paths.proc / "net/arp").splitlines()[1:]
        per_device = Counter(line.split()[5] for line in lines if len(line.split()) >= 6)
        fam = MetricFamily("node_arp_entries", "ARP entries by device", "gauge")
        for device, count in per_device.items():
            fam.add(count, {"device": device})
        return [fam]


_CONNTRACK_STATS = {
    "found": "Number of searched entries which were successful.",
    "invalid": "Number of packets seen which can not be tracked.",
    "ignore": "Number of packets seen which are already connected to a conntrack entry.",
    "insert": "Number of entries inserted into the list.",
    "insert_failed": "Number of entries for which list insertion was attempted but failed.",
    "drop": "Number of packets dropped due to conntrack failure.",
    "early_drop": (
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached."
    ),
    "search_restart": "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
}


class ConntrackCollector:
    name = "conntrack"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        base = paths.proc / "sys/net/netfilter"
        out = [
            MetricFamily(
                "node_nf_conntrack_entries",
                "Number of currently allocated flow entries for connection tracking.",
                "gauge",
            ).add(float(read_text(base / "nf_conntrack_count"))),
            MetricFamily(
                "node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.", "gauge"
            ).add(float(read_text(base / "nf_conntrack_max"))),
        ]
        lines = read_text(paths.proc / "net/stat/nf_conntrack").splitlines()
        header = lines[0].split()
        totals = dict.fromkeys(header, 0)
        for line in lines[1:]:  # one line per CPU, hexadecimal
            for key, value in zip(header, line.split(), strict=False):
                totals[key] += int(value, 16)
        for key, help_text in _CONNTRACK_STATS.items():
            if key in totals:
                out.append(MetricFamily(f"node_nf_conntrack_stat_{key}", help_text, "gauge").add(totals[key]))
        return out


class SoftnetCollector:
    name = "softnet"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        processed = MetricFamily("node_softnet_processed_total", "Number of processed packets", "counter")
        dropped = MetricFamily("node_softnet_dropped_total", "Number of dropped packets", "counter")
        squeezed = MetricFamily(
            "node_softnet_times_squeezed_total",
            "Number of times processing packets ran out of quota",
            "counter",
        )
        for cpu, line in enumerate(read_text(paths.proc / "net/softnet_stat").splitlines()):
            cols = line.split()
            labels = {"cpu": str(cpu)}
            processed.add(int(cols[0], 16), labels)
            dropped.add(int(cols[1], 16), labels)
            squeezed.add(int(cols[2], 16), labels)
        return [processed, dropped, squeezed]


class UdpQueuesCollector:
    name = "udp_queues"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        fam = MetricFamily(
            "node_udp_queues", "Number of allocated memory in the kernel for UDP datagrams in bytes.", "gauge"
        )
        for ip, fname in (("v4", "net/udp"), ("v6", "net/udp6")):
            try:
                lines = read_text(paths.proc / fname).splitlines()[1:]
            except OSError:
                continue
            tx = rx = 0
            for line in lines:
                queues = line.split()[4]  # "tx_queue:rx_queue" in hex
                t, _, r = queues.partition(":")
                tx += int(t, 16)
                rx += int(r, 16)
            fam.add(tx, {"ip": ip, "queue": "tx"})
            fam.add(rx, {"ip": ip, "queue": "rx"})
        return [fam]
