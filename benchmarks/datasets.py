"""Benchmark data: a node_exporter-like fleet, OpenMetrics text for promtool, remote-write bodies.

Every target's series share one scrape timestamp per interval: a 15 s grid plus a jitter of
1..50 ms either way, never zero. Prometheus 2.42 closes range windows on the left where
watchkeeper (like Prometheus 3) leaves them open; with no sample on a whole second and query
times that are whole seconds, no sample ever sits on a window edge, so results can be compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cramjam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SCRAPE_MS = 15_000
JITTER_MS = 50
T0 = 20_000 * DAY_MS  # 2024-10-04T00:00Z: day-aligned, so a 24 h data set is exactly one day block

CPU_MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice")
CPU_RATES = (0.9, 0.05, 0.03, 0.01, 0.001, 0.004, 0.0, 0.0001)  # CPU seconds per second, per mode
LE_BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
HANDLERS = ("/api/v1/query", "/metrics")


@dataclass
class Series:
    """One series: labels, timestamps (ms, int64) and values (float64)."""

    labels: Labels
    t: np.ndarray
    v: np.ndarray


def jittered_grid(rng: np.random.Generator, t0: int, steps: int) -> np.ndarray:
    """Scrape times: ``t0 + k * 15 s`` plus 1..50 ms of jitter either way (never 0)."""
    jitter = rng.integers(1, JITTER_MS + 1, steps) * rng.choice(np.array([-1, 1]), steps)
    return t0 + np.arange(steps, dtype=np.int64) * SCRAPE_MS + jitter


def node_fleet(instances: int, hours: float, *, cpus: int = 4, seed: int = 7, t0: int = T0) -> list[Series]:
    """The PromQL benchmark data: per instance 32 CPU counters, a memory gauge, ``node_uname_info``,
    ``up`` for two jobs and a classic histogram (10 buckets x 2 handlers, job ``api``)."""
    rng = np.random.default_rng(seed)
    steps = int(hours * HOUR_MS / SCRAPE_MS) - 1  # scrapes strictly inside (t0, t0 + hours)
    out: list[Series] = []
    for i in range(instances):
        inst = f"host{i:03d}:9100"
        t = jittered_grid(rng, t0 + SCRAPE_MS, steps)  # first scrape after t0: blocks start on the day
        node = {"instance": inst, "job": "node"}
        rates = np.tile(np.array(CPU_RATES), cpus)
        inc = rng.gamma(4.0, rates / 4.0 * SCRAPE_MS / 1000, (steps, rates.shape[0]))
        cpu = np.round(rng.uniform(1e4, 1e6, rates.shape[0]) + np.cumsum(inc, axis=0), 2)
        for j, (c, m) in enumerate((c, m) for c in range(cpus) for m in CPU_MODES):
            labels = Labels({"__name__": "node_cpu_seconds_total", **node, "cpu": str(c), "mode": m})
            out.append(Series(labels, t, cpu[:, j].copy()))
        walk = np.cumsum(rng.normal(0, 4096 * 200, steps) * (rng.random(steps) < 0.3))
        mem = np.maximum(np.round((rng.uniform(2e9, 3e10) + walk) / 4096) * 4096, 0)
        out.append(Series(Labels({"__name__": "node_memory_MemAvailable_bytes", **node}), t, mem))
        out.append(Series(Labels({"__name__": "node_uname_info", **node, "nodename": f"host{i:03d}",
                                  "release": "6.1.0"}), t, np.ones(steps)))
        out.append(Series(Labels({"__name__": "up", **node}), t, np.ones(steps)))
        api = {"instance": inst, "job": "api"}
        out.append(Series(Labels({"__name__": "up", **api}), t, np.ones(steps)))
        for handler in HANDLERS:
            per_bucket = rng.poisson(rng.uniform(0.5, 3.0, (len(LE_BUCKETS), 1)), (len(LE_BUCKETS), steps))
            cumulative = np.cumsum(np.cumsum(per_bucket, axis=0), axis=1).astype(np.float64)
            for le, counts in zip(LE_BUCKETS, cumulative, strict=True):
                out.append(Series(Labels({"__name__": "http_request_duration_seconds_bucket", **api,
                                          "handler": handler, "le": le}), t, counts))
    return out


def sample_count(series: Iterable[Series]) -> int:
    return sum(int(s.t.shape[0]) for s in series)


def batches(series: list[Series], max_samples: int = 1 << 20) -> Iterator[SampleBatch]:
    """The series as ``SampleBatch``es of whole series, at most ~``max_samples`` each."""
    start = 0
    while start < len(series):
        stop, n = start, 0
        while stop < len(series) and (n == 0 or n + series[stop].t.shape[0] <= max_samples):
            n += series[stop].t.shape[0]
            stop += 1
        chunk = series[start:stop]
        yield SampleBatch(
            [s.labels for s in chunk],
            np.concatenate([np.full(s.t.shape[0], k, np.int64) for k, s in enumerate(chunk)]),
            np.concatenate([s.t for s in chunk]),
            np.concatenate([s.v for s in chunk]).astype(np.float64))
        start = stop


# --------------------------------------------------------------------------- OpenMetrics


def _label_text(labels: Labels) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items if k != "__name__")
    return f"{labels.name}{{{inner}}} "


def _lines(s: Series) -> pa.Buffer:
    """One ``name{labels} value secs.mmm`` line per sample; Arrow formats floats (shortest round trip)."""
    if not np.isfinite(s.v).all():
        raise ValueError("the OpenMetrics writer only handles finite values")
    secs, ms = np.divmod(s.t, 1000)
    text = pc.binary_join_element_wise(
        _label_text(s.labels), pc.cast(pa.array(s.v), pa.string()), " ", pc.cast(pa.array(secs), pa.string()),
        ".", pc.utf8_lpad(pc.cast(pa.array(ms), pa.string()), 3, "0"), "\n", "")
    offsets = np.frombuffer(text.buffers()[1], np.int32)[text.offset:text.offset + len(text) + 1]
    return text.buffers()[2][offsets[0]:offsets[-1]]


def write_openmetrics(series: Iterable[Series], path: str) -> int:
    """Write series as OpenMetrics (grouped by metric name, as the format requires); returns bytes."""
    by_name: dict[str, list[Series]] = {}
    for s in series:
        by_name.setdefault(s.labels.name, []).append(s)
    size = 0
    with open(path, "wb") as f:
        for name in sorted(by_name):
            for s in by_name[name]:
                size += f.write(_lines(s))
        size += f.write(b"# EOF\n")
    return size


# --------------------------------------------------------------------------- remote write 1.0


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _uvarint(len(payload)) + payload


def encode_labels(labels: Labels) -> bytes:
    """``repeated Label labels = 1`` of a ``prometheus.TimeSeries``."""
    return b"".join(_field(0x0A, _field(0x0A, k.encode()) + _field(0x12, v.encode()))
                    for k, v in labels.items)


def encode_samples(t: np.ndarray, v: np.ndarray) -> bytes:
    """``repeated Sample samples = 2``, all at once with numpy.

    Each sample is ``12 10 | 09 <double> 10 <varint ts>``: every millisecond timestamp between
    2001 and 2109 is a 6-byte varint, so every sample encodes to exactly 18 bytes.
    """
    t = np.asarray(t, np.int64)
    if t.size and (t.min() < 1 << 35 or t.max() >= 1 << 42):
        raise ValueError("timestamps outside 2001..2109 are not supported by this encoder")
    out = np.empty((t.shape[0], 18), np.uint8)
    out[:, 0], out[:, 1], out[:, 2], out[:, 11] = 0x12, 16, 0x09, 0x10
    out[:, 3:11] = np.ascontiguousarray(v, "<f8").view(np.uint8).reshape(-1, 8)
    for i in range(6):
        out[:, 12 + i] = ((t >> (7 * i)) & 0x7F) | (0x80 if i < 5 else 0)
    return out.tobytes()


def encode_one_sample_each(labels: list[bytes], t: int, v: np.ndarray) -> bytes:
    """A snappy-compressed ``WriteRequest`` with one sample at ``t`` for each encoded label set."""
    samples = encode_samples(np.full(len(labels), t, np.int64), v)
    raw = b"".join(_field(0x0A, lab + samples[18 * i:18 * i + 18]) for i, lab in enumerate(labels))
    return bytes(cramjam.snappy.compress_raw(raw))


REMOTE_WRITE_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
