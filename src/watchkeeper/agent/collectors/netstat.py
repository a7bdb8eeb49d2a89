"""Protocol counters (``netstat``) and socket usage (``sockstat``) from /proc/net."""

from __future__ import annotations

import os
import re

from .base import HostPaths, MetricFamily, read_text

__all__ = ["NetstatCollector", "SockstatCollector", "NETSTAT_FIELDS"]

# node_exporter's default --collector.netstat.fields
NETSTAT_FIELDS = (
    r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
    r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"
    r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
    r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$"
)


class NetstatCollector:
    name = "netstat"

    def __init__(self, *, fields: str = NETSTAT_FIELDS) -> None:
        self._fields = re.compile(fields)

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        stats: dict[tuple[str, str], str] = {}
        for fname in ("net/netstat", "net/snmp"):
            lines = read_text(paths.proc / fname).splitlines()
            # Pairs of lines: "Proto: names..." then "Proto: values...".
            for head, vals in zip(lines[::2], lines[1::2], strict=False):
                proto, _, names = head.partition(":")
                for key, value in zip(names.split(), vals.partition(":")[2].split(), strict=False):
                    stats[(proto, key)] = value
        try:
            snmp6 = read_text(paths.proc / "net/snmp6").splitlines()
        except OSError:
            snmp6 = []
        for line in snmp6:
            parts = line.split()
            if len(parts) == 2 and "6" in parts[0]:
                cut = parts[0].index("6") + 1
                stats[(parts[0][:cut], parts[0][cut:])] = parts[1]
        out = []
        for (proto, key), value in stats.items():
            if not self._fields.match(f"{proto}_{key}"):
                continue
            fam = MetricFamily(f"node_netstat_{proto}_{key}", f"Statistic {proto}{key}.", "untyped")
            out.append(fam.add(float(value)))
        return out


class SockstatCollector:
    name = "sockstat"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        page = os.sysconf("SC_PAGE_SIZE")
        out = []
        for fname in ("net/sockstat", "net/sockstat6"):
            try:
                text = read_text(paths.proc / fname)
            except OSError:
                continue
            for line in text.splitlines():
                proto, _, rest = line.partition(":")
                parts = rest.split()
                for key, value in zip(parts[::2], parts[1::2], strict=False):
                    if proto == "sockets" and key == "used":
                        out.append(
                            MetricFamily(
                                "node_sockstat_sockets_used", "Number of IPv4 sockets in use.", "gauge"
                            ).add(float(value))
                        )
                        continue
                    out.append(self._fam(proto, key, float(value)))
                    if key == "mem":
                        out.append(self._fam(proto, "mem_bytes", float(value) * page))
        return out

    @staticmethod
    def _fam(proto: str, state: str, value: float) -> MetricFamily:
        return MetricFamily(
            f"node_sockstat_{proto}_{state}", f"Number of {proto} sockets in state {state}.", "gauge"
        ).add(value)
