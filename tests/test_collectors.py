"""Host collectors: fixture /proc files, isolation, and side by side with the real node_exporter."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from watchkeeper.agent.collectors import (
    ArpCollector,
    ConntrackCollector,
    CpuCollector,
    DiskstatsCollector,
    FilesystemCollector,
    HostPaths,
    LoadavgCollector,
    MeminfoCollector,
    MetricFamily,
    NetstatCollector,
    PressureCollector,
    SockstatCollector,
    SoftnetCollector,
    StatCollector,
    UdpQueuesCollector,
    VmstatCollector,
)
from watchkeeper.agent.registry import HostCollector, render_host_metrics
from watchkeeper.exposition.textparse import parse_text

Series = tuple[str, frozenset[tuple[str, str]]]


def parse(text: str) -> tuple[dict[Series, float], dict[str, str]]:
    """Exposition text -> ({(name, labels): value}, {sample name: family type})."""
    values: dict[Series, float] = {}
    types: dict[str, str] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            labels = frozenset((k, v) for k, v in s.labels.items() if v != "")
            values[(s.name, labels)] = s.value
            types[s.name] = fam.type
    return values, types


def write(root: Path, files: dict[str, str]) -> HostPaths:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return HostPaths(proc=root / "proc", sys=root / "sys", root=root)


def one(fams: list[MetricFamily], name: str) -> list[tuple[dict[str, str], float]]:
    return [s for f in fams if f.name == name for s in f.samples]


# ---- fixtures: units and naming ------------------------------------------------------------


def test_meminfo_naming_and_units(tmp_path: Path) -> None:
    paths = write(
        tmp_path,
        {"proc/meminfo": "MemTotal:       1000 kB\nActive(anon):     3 kB\nHugePages_Total:       2\n"},
    )
    fams = MeminfoCollector().collect(paths)
    assert one(fams, "node_memory_MemTotal_bytes") == [({}, 1024000.0)]
    assert one(fams, "node_memory_Active_anon_bytes") == [({}, 3072.0)]
    assert one(fams, "node_memory_HugePages_Total") == [({}, 2.0)]


STAT = """cpu  10 20 30 40 50 60 70 80 90 100
cpu0 100 0 200 300 0 0 0 0 5 6
intr 12345 1 2 3
ctxt 999
btime 1700000000
processes 77
procs_running 3
procs_blocked 1
"""


def test_stat_and_cpu(tmp_path: Path) -> None:
    paths = write(tmp_path, {"proc/stat": STAT})
    fams = StatCollector().collect(paths)
    assert one(fams, "node_intr_total") == [({}, 12345.0)]
    assert one(fams, "node_boot_time_seconds") == [({}, 1.7e9)]
    assert one(fams, "node_forks_total") == [({}, 77.0)]
    assert one(fams, "node_procs_blocked") == [({}, 1.0)]
    cpu = CpuCollector().collect(paths)
    secs = {s[0]["mode"]: s[1] for s in one(cpu, "node_cpu_seconds_total")}
    assert secs == {"user": 1.0, "nice": 0.0, "system": 2.0, "idle": 3.0, "iowait": 0.0, "irq": 0.0,
                    "softirq": 0.0, "steal": 0.0}  # fmt: skip
    assert ({"cpu": "0", "mode": "nice"}, 0.06) in one(cpu, "node_cpu_guest_seconds_total")


def test_diskstats_units_and_partition_exclusion(tmp_path: Path) -> None:
    paths = write(
        tmp_path,
        {
            "proc/diskstats": (
                "   8       0 sda 10 2 100 4000 5 6 200 8000 1 3000 5000 0 0 0 0 7 700\n"
                "   8       1 sda1 1 1 1 1 1 1 1 1 1 1 1\n"
                "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n"
            )
        },
    )
    fams = DiskstatsCollector(udev_data=str(tmp_path / "none")).collect(paths)
    assert one(fams, "node_disk_read_bytes_total") == [({"device": "sda"}, 51200.0)]
    assert one(fams, "node_disk_read_time_seconds_total") == [({"device": "sda"}, 4.0)]
    assert one(fams, "node_disk_io_now") == [({"device": "sda"}, 1.0)]
    flush = one(fams, "node_disk_flush_requests_time_seconds_total")
    assert flush == [({"device": "sda"}, pytest.approx(0.7))]
    assert one(fams, "node_disk_info")[0][0]["major"] == "8"


def test_vmstat_default_fields(tmp_path: Path) -> None:
    text = "pgfault 5\npgmajfault 1\nnr_free_pages 9\noom_kill 0\npswpin 2\n"
    names = {f.name for f in VmstatCollector().collect(write(tmp_path, {"proc/vmstat": text}))}
    assert names == {f"node_vmstat_{n}" for n in ("pgfault", "pgmajfault", "oom_kill", "pswpin")}


def test_pressure_seconds(tmp_path: Path) -> None:
    line = (
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=2500000\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"
    )
    paths = write(tmp_path, {f"proc/pressure/{r}": line for r in ("cpu", "io", "memory")})
    fams = {f.name: f.samples[0][1] for f in PressureCollector().collect(paths)}
    assert fams == {
        "node_pressure_cpu_waiting_seconds_total": 2.5,
        "node_pressure_io_waiting_seconds_total": 2.5,
        "node_pressure_io_stalled_seconds_total": 1.0,
        "node_pressure_memory_waiting_seconds_total": 2.5,
        "node_pressure_memory_stalled_seconds_total": 1.0,
    }


def test_netstat_and_sockstat(tmp_path: Path) -> None:
    paths = write(
        tmp_path,
        {
            "proc/net/netstat": "TcpExt: ListenDrops Other\nTcpExt: 4 5\n",
            "proc/net/snmp": "Tcp: CurrEstab InSegs Foo\nTcp: 2 100 7\n",
            "proc/net/snmp6": "Ip6InOctets 42\nIp6Bogus 1\n",
            "proc/net/sockstat": "sockets: used 18\nTCP: inuse 2 mem 3\n",
        },
    )
    netstat = {f.name: f.samples[0][1] for f in NetstatCollector().collect(paths)}
    assert netstat == {
        "node_netstat_TcpExt_ListenDrops": 4.0,
        "node_netstat_Tcp_CurrEstab": 2.0,
        "node_netstat_Tcp_InSegs": 100.0,
        "node_netstat_Ip6_InOctets": 42.0,
    }
    sock = {f.name: f.samples[0][1] for f in SockstatCollector().collect(paths)}
    assert sock["node_sockstat_sockets_used"] == 18 and sock["node_sockstat_TCP_inuse"] == 2
    assert sock["node_sockstat_TCP_mem_bytes"] == 3 * __import__("os").sysconf("SC_PAGE_SIZE")


def test_filesystem_exclusions_and_escapes(tmp_path: Path) -> None:
    mounts = (
        "proc /proc proc rw 0 0\n"
        "/dev/x / ext4 rw 0 0\n"
        "/dev/x / ext4 rw 0 0\n"
        "tmpfs /my\\040dir tmpfs ro 0 0\n"
        "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
    )
    paths = write(tmp_path, {"proc/1/mounts": mounts})
    (tmp_path / "my dir").mkdir()
    fams = FilesystemCollector().collect(paths)
    ro = {s[0]["mountpoint"]: s[1] for s in one(fams, "node_filesystem_readonly")}
    assert ro == {"/": 0.0, "/my dir": 1.0}
    assert len(one(fams, "node_filesystem_size_bytes")) == 2


def test_network_stack_hex_tables(tmp_path: Path) -> None:
    udp_head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
    paths = write(
        tmp_path,
        {
            "proc/net/softnet_stat": "0000000a 00000002 00000001 0\n000000ff 00000000 00000000 0\n",
            "proc/net/udp": udp_head
            + "   0: 00000000:0044 00000000:0000 07 00000010:00000200 00:00000000 00000000     0\n"
            + "   1: 00000000:0045 00000000:0000 07 00000001:00000000 00:00000000 00000000     0\n",
            "proc/net/arp": "IP address HW type Flags HW address Mask Device\n"
            "10.0.0.1 0x1 0x2 aa:bb * eth0\n10.0.0.2 0x1 0x2 aa:cc * eth0\n10.0.1.1 0x1 0x2 aa:dd * eth1\n",
            "proc/sys/net/netfilter/nf_conntrack_count": "7\n",
            "proc/sys/net/netfilter/nf_conntrack_max": "100\n",
            "proc/net/stat/nf_conntrack": "entries found invalid drop\n00000007 00000001 0000000a 00000000\n"
            "00000007 00000002 00000001 00000003\n",
        },
    )
    softnet = SoftnetCollector().collect(paths)
    assert one(softnet, "node_softnet_processed_total") == [({"cpu": "0"}, 10.0), ({"cpu": "1"}, 255.0)]
    udp = one(UdpQueuesCollector().collect(paths), "node_udp_queues")
    assert udp == [({"ip": "v4", "queue": "tx"}, 17.0), ({"ip": "v4", "queue": "rx"}, 512.0)]
    arp = {lb["device"]: v for lb, v in one(ArpCollector().collect(paths), "node_arp_entries")}
    assert arp == {"eth0": 2.0, "eth1": 1.0}
    ct = {f.name: f.samples[0][1] for f in ConntrackCollector().collect(paths)}
    assert ct["node_nf_conntrack_entries"] == 7 and ct["node_nf_conntrack_entries_limit"] == 100
    assert ct["node_nf_conntrack_stat_found"] == 3 and ct["node_nf_conntrack_stat_invalid"] == 11
    assert ct["node_nf_conntrack_stat_drop"] == 3


# ---- isolation and rendering ---------------------------------------------------------------


class Broken:
    name = "broken"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        raise OSError("no such file")


def test_failing_collector_is_reported_and_rest_render() -> None:
    text = HostCollector(collectors=[Broken(), LoadavgCollector()]).render().decode()
    values, types = parse(text)
    assert values[("node_scrape_collector_success", frozenset({("collector", "broken")}))] == 0
    assert values[("node_scrape_collector_success", frozenset({("collector", "loadavg")}))] == 1
    assert ("node_load1", frozenset()) in values
    assert types["node_load1"] == "gauge"


def test_render_host_metrics_parses() -> None:
    text = render_host_metrics().decode()
    scraped = parse_text(text)  # what the server's own scrape of this output will see
    assert len(scraped) == sum(1 for line in text.splitlines() if not line.startswith("#"))
    values, types = parse(text)
    names = {n for n, _ in values}
    assert {"node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_load1", "node_uname_info"} <= names
    failed = [dict(lb) for (n, lb), v in values.items() if n == "node_scrape_collector_success" and v == 0]
    assert failed == []
    assert types["node_cpu_seconds_total"] == "counter"


# ---- side by side with the real node_exporter ---------------------------------------------

# Values that must agree (nearly) exactly: configuration and sizes.
STATIC = {
    "node_boot_time_seconds": 1.0,
    "node_memory_MemTotal_bytes": 0,
    "node_memory_SwapTotal_bytes": 0,
    "node_filesystem_size_bytes": 0,
    "node_filesystem_files": 0,
    "node_filesystem_readonly": 0,
    "node_filesystem_device_error": 0,
    "node_network_mtu_bytes": 0,
    "node_network_up": 0,
    "node_network_info": 0,
    "node_network_iface_id": 0,
    "node_network_protocol_type": 0,
    "node_network_speed_bytes": 0,
    "node_network_transmit_queue_length": 0,
    "node_disk_info": 0,
    "node_uname_info": 0,
    "node_os_info": 0,
    "node_os_version": 0,
    "node_entropy_pool_size_bits": 0,
    "node_filefd_maximum": 0,
    "node_time_zone_offset_seconds": 0,
    "node_time_clocksource_current_info": 0,
    "node_time_clocksource_available_info": 0,
    "node_memory_Hugepagesize_bytes": 0,
    "node_time_seconds": 10.0,
}
# Fast-moving gauges: only names, labels and types are compared.
VOLATILE_PREFIXES = (
    "node_procs_",
    "node_load",
    "node_scrape_collector_duration_seconds",
    "node_filefd_allocated",
    "node_sockstat_",
    "node_netstat_Tcp_CurrEstab",
    "node_entropy_available_bits",
    "node_memory_",
    "node_disk_io_now",
    "node_filesystem_",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.peer
@pytest.mark.skipif(shutil.which("prometheus-node-exporter") is None, reason="node_exporter not installed")
def test_side_by_side_with_node_exporter() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        theirs_text = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and theirs_text is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    theirs_text = r.read().decode()
            except OSError:
                time.sleep(0.2)
        ours_text = render_host_metrics().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert theirs_text is not None, "node_exporter did not answer"
    theirs, their_types = parse(theirs_text)
    ours, our_types = parse(ours_text)
    their_names = {n for n, _ in theirs if n.startswith("node_") and not n.startswith("node_exporter_")}
    our_names = {n for n, _ in ours}
    common_names = their_names & our_names
    common_names -= {"node_scrape_collector_success", "node_scrape_collector_duration_seconds"}
    problems = []
    for name in sorted(common_names):
        if their_types[name] != our_types[name]:
            problems.append(f"{name}: type {our_types[name]} != {their_types[name]}")
        their_keys = {frozenset(k for k, _ in lb) for n, lb in theirs if n == name}
        our_keys = {frozenset(k for k, _ in lb) for n, lb in ours if n == name}
        if their_keys != our_keys:
            problems.append(f"{name}: label names {our_keys} != {their_keys}")
    for (name, labels), theirs_v in theirs.items():
        if name not in common_names:
            continue
        if (name, labels) not in ours:
            if not name.startswith(VOLATILE_PREFIXES):
                problems.append(f"missing series {name}{dict(labels)}")
            continue
        ours_v = ours[(name, labels)]
        if name in STATIC:
            ok = abs(ours_v - theirs_v) <= STATIC[name] + 1e-9 * abs(theirs_v)
        elif name.startswith(VOLATILE_PREFIXES):
            ok = True
        elif their_types[name] == "counter" or name.startswith(("node_netstat_", "node_vmstat_")):
            # Ours was read just after theirs: equal or slightly larger (catches unit mistakes).
            ok = theirs_v - 1e-6 <= ours_v <= theirs_v * 1.2 + 5000
        else:
            ok = abs(ours_v - theirs_v) <= 0.2 * abs(theirs_v) + 5
        if not ok:
            problems.append(f"{name}{dict(labels)}: ours {ours_v} vs node_exporter {theirs_v}")
    coverage = len(their_names & our_names) / len(their_names)
    both = len(their_names & our_names)
    print(f"node_exporter series-name coverage: {coverage:.1%} ({both}/{len(their_names)})")
    print("not provided:", sorted(their_names - our_names))
    assert not problems, "\n".join(problems)
    assert coverage > 0.6


def test_textfile_collector(tmp_path: Path) -> None:
    (tmp_path / "good.prom").write_text(
        "# HELP backup_last_success_seconds Last backup.\n"
        "# TYPE backup_last_success_seconds gauge\n"
        'backup_last_success_seconds{job="db"} 1.7e9\n'
        "# TYPE job_duration_seconds histogram\n"
        'job_duration_seconds_bucket{le="1"} 2\n'
        'job_duration_seconds_bucket{le="+Inf"} 3\n'
        "job_duration_seconds_sum 4.5\n"
        "job_duration_seconds_count 3\n"
    )
    (tmp_path / "stamped.prom").write_text("late_metric 1 1700000000000\n")
    (tmp_path / "other.txt").write_text("ignored 1\n")
    text = render_host_metrics(paths=HostPaths(), textfile_directory=str(tmp_path)).decode()
    values, types = parse(text)
    assert values[("backup_last_success_seconds", frozenset({("job", "db")}))] == 1.7e9
    assert values[("job_duration_seconds_bucket", frozenset({("le", "+Inf")}))] == 3
    assert types["job_duration_seconds_count"] == "histogram"
    assert values[("node_textfile_scrape_error", frozenset())] == 1  # the timestamped file
    assert ("node_textfile_mtime_seconds", frozenset({("file", "good.prom")})) in values
    assert not any(n == "late_metric" for n, _ in values)
    assert "# HELP backup_last_success_seconds Last backup.\n" in text
