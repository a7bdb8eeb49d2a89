"""Remote-write decoding: round trips against real protobuf encoding, errors, fuzzing, Prometheus."""

from __future__ import annotations

import json
import math
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import cramjam
import numpy as np
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.ingest.errors import IngestError
from watchkeeper.ingest.remote_write import (
    PROTO_V2,
    RemoteWriteDecoder,
    decode_remote_write,
    negotiate_remote_write,
)
from watchkeeper.model.batch import STALE_NAN, is_stale
from watchkeeper.model.labels import Labels

# ---- reference encoder: the real message schemas, built with the protobuf runtime ----------


def _schema() -> dict[str, type]:
    fdp = descriptor_pb2.FileDescriptorProto(name="rw_test.proto", package="rwtest", syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto

    def msg(name: str, *fields: tuple[str, int, int, str | None, bool]) -> None:
        m = fdp.message_type.add(name=name)
        for fname, num, ftype, tname, repeated in fields:
            f = m.field.add(name=fname, number=num, type=ftype)
            f.label = T.LABEL_REPEATED if repeated else T.LABEL_OPTIONAL
            if tname:
                f.type_name = f".rwtest.{tname}"

    msg("Label", ("name", 1, T.TYPE_STRING, None, False), ("value", 2, T.TYPE_STRING, None, False))
    msg("Sample", ("value", 1, T.TYPE_DOUBLE, None, False), ("timestamp", 2, T.TYPE_INT64, None, False))
    msg(
        "Exemplar",
        ("labels", 1, T.TYPE_MESSAGE, "Label", True),
        ("value", 2, T.TYPE_DOUBLE, None, False),
        ("timestamp", 3, T.TYPE_INT64, None, False),
    )
    msg("Histogram", ("count_int", 1, T.TYPE_UINT64, None, False))
    msg(
        "TimeSeries",
        ("labels", 1, T.TYPE_MESSAGE, "Label", True),
        ("samples", 2, T.TYPE_MESSAGE, "Sample", True),
        ("exemplars", 3, T.TYPE_MESSAGE, "Exemplar", True),
        ("histograms", 4, T.TYPE_MESSAGE, "Histogram", True),
    )
    msg(
        "MetricMetadata",
        ("type", 1, T.TYPE_INT32, None, False),
        ("metric_family_name", 2, T.TYPE_STRING, None, False),
    )
    msg(
        "WriteRequest",
        ("timeseries", 1, T.TYPE_MESSAGE, "TimeSeries", True),
        ("metadata", 3, T.TYPE_MESSAGE, "MetricMetadata", True),
    )
    msg(
        "V2TimeSeries",
        ("labels_refs", 1, T.TYPE_UINT32, None, True),
        ("samples", 2, T.TYPE_MESSAGE, "Sample", True),
        ("histograms", 3, T.TYPE_MESSAGE, "Histogram", True),
        ("exemplars", 4, T.TYPE_MESSAGE, "Exemplar", True),
        ("created_timestamp", 6, T.TYPE_INT64, None, False),
    )
    msg(
        "V2Request",
        ("symbols", 4, T.TYPE_STRING, None, True),
        ("timeseries", 5, T.TYPE_MESSAGE, "V2TimeSeries", True),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    names = ["WriteRequest", "TimeSeries", "V2Request"]
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"rwtest.{n}")) for n in names}


PB = _schema()

Series = tuple[list[tuple[str, str]], list[tuple[int, float]]]


def encode_v1(series: list[Series], *, exemplars: bool = False, metadata: bool = False) -> bytes:
    req = PB["WriteRequest"]()
    for labels, samples in series:
        ts = req.timeseries.add()
        for k, v in labels:
            ts.labels.add(name=k, value=v)
        for t, v in samples:
            ts.samples.add(timestamp=t, value=v)
        if exemplars:
            ex = ts.exemplars.add(value=1.5, timestamp=7)
            ex.labels.add(name="trace_id", value="abc")
    if metadata:
        req.metadata.add(type=1, metric_family_name="up")
    return req.SerializeToString()


def encode_v2(series: list[Series]) -> bytes:
    req = PB["V2Request"]()
    symbols = {"": 0}
    req.symbols.append("")
    for labels, samples in series:
        ts = req.timeseries.add()
        for k, v in labels:
            for s in (k, v):
                if s not in symbols:
                    symbols[s] = len(symbols)
                    req.symbols.append(s)
                ts.labels_refs.append(symbols[s])
        for t, v in samples:
            ts.samples.add(timestamp=t, value=v)
    return req.SerializeToString()


def snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


def as_dict(batch) -> dict[Labels, list[tuple[int, float]]]:
    out: dict[Labels, list[tuple[int, float]]] = {}
    for i in range(len(batch)):
        out.setdefault(batch.labels[int(batch.series[i])], []).append((int(batch.t[i]), float(batch.v[i])))
    return out


def same_samples(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> bool:
    if len(got) != len(want):
        return False
    for (t1, v1), (t2, v2) in zip(got, want, strict=True):
        if t1 != t2:
            return False
        b1, b2 = struct.pack("<d", v1), struct.pack("<d", v2)
        if b1 != b2 and not (v1 == v2):
            return False
    return True


def expected(series: list[Series]) -> dict[Labels, list[tuple[int, float]]]:
    out: dict[Labels, list[tuple[int, float]]] = {}
    for labels, samples in series:
        if samples:
            out.setdefault(Labels(labels), []).extend(samples)
    return out


def check_roundtrip(series: list[Series], raw: bytes, **kw) -> None:
    got = as_dict(decode_remote_write(snappy(raw), **kw))
    want = expected(series)
    assert set(got) == set(want)
    for k, samples in want.items():
        assert same_samples(got[k], samples), k


# ---- round trips ---------------------------------------------------------------------------


def make_series(n_series: int, n_samples: int, *, zero_every: int = 0, seed: int = 1) -> list[Series]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_series):
        labels = [("__name__", f"m_{i % 7}"), ("instance", f"h{i}:9100"), ("job", "node")]
        vals = rng.random(n_samples) * 1000
        if zero_every:
            vals[::zero_every] = 0.0
        samples = [(1_700_000_000_000 + j * 15_000, float(vals[j])) for j in range(n_samples)]
        out.append((labels, samples))
    return out


@pytest.mark.parametrize("zero_every", [0, 1, 3])
@pytest.mark.parametrize("shape", [(1, 1), (50, 1), (20, 40)])
def test_roundtrip_v1(shape: tuple[int, int], zero_every: int) -> None:
    series = make_series(*shape, zero_every=zero_every)
    check_roundtrip(series, encode_v1(series))


def test_roundtrip_v1_with_exemplars_and_metadata() -> None:
    series = make_series(10, 5)
    check_roundtrip(series, encode_v1(series, exemplars=True, metadata=True))


def test_roundtrip_v2() -> None:
    series = make_series(30, 7, zero_every=4)
    raw = encode_v2(series)
    check_roundtrip(series, raw, content_type=f"application/x-protobuf;proto={PROTO_V2}")


def test_special_values_and_timestamps() -> None:
    odd = [
        (0, 0.0),
        (-5, -0.0),
        (1, math.inf),
        (2, -math.inf),
        (3, STALE_NAN),
        (4, math.nan),
        (-(2**63), 1e-300),
        (2**63 - 1, 5.0),
        (2**35, 0.0),
        (127, 2.0),
        (128, 3.0),
    ]
    series = [([("__name__", "x")], odd)]
    batch = decode_remote_write(snappy(encode_v1(series)))
    assert batch.t.tolist() == [t for t, _ in odd]
    assert np.flatnonzero(is_stale(batch.v)).tolist() == [4]
    check_roundtrip(series, encode_v1(series))


def test_empty_label_values_are_dropped_and_series_deduplicated() -> None:
    series = [
        ([("__name__", "up"), ("a", ""), ("job", "x")], [(1, 1.0)]),
        ([("__name__", "up"), ("job", "x")], [(2, 2.0)]),
    ]
    batch = decode_remote_write(snappy(encode_v1(series)))
    assert batch.labels == [Labels({"__name__": "up", "job": "x"})]
    assert batch.series.tolist() == [0, 0]


def test_series_without_samples_are_not_returned() -> None:
    series = [([("__name__", "a")], []), ([("__name__", "b")], [(1, 2.0)]), ([("__name__", "c")], [])]
    batch = decode_remote_write(snappy(encode_v1(series, exemplars=True)))
    assert [str(lb) for lb in batch.labels] == ["b"] and batch.series.tolist() == [0]
    assert decode_remote_write(snappy(encode_v1(series[:1]))).labels == []


def test_decoder_cache_gives_same_result() -> None:
    dec = RemoteWriteDecoder(series_cache_size=5)
    series = make_series(20, 2)
    body = snappy(encode_v1(series))
    first = as_dict(dec.decode(body))
    second = as_dict(dec.decode(body))
    assert first == second == expected(series)
    assert len(dec._cache) <= 5


@given(
    st.lists(
        st.tuples(
            st.dictionaries(
                st.sampled_from(["a", "b", "job", "le", "ünï"]), st.text(max_size=5), max_size=3
            ),
            st.lists(
                st.tuples(
                    st.integers(-(2**63), 2**63 - 1),
                    st.floats(allow_nan=False) | st.sampled_from([0.0, 1.0, STALE_NAN]),
                ),
                max_size=8,
            ),
        ),
        max_size=8,
    )
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_roundtrip_property(raw_series) -> None:
    series = []
    seen = set()
    for i, (labels, samples) in enumerate(raw_series):
        pairs = sorted({**labels, "__name__": f"m{i}"}.items())
        if tuple(pairs) in seen:
            continue
        seen.add(tuple(pairs))
        series.append((pairs, samples))
    check_roundtrip(series, encode_v1(series))
    check_roundtrip(series, encode_v2(series), content_type=f"application/x-protobuf;proto={PROTO_V2}")
    # A warm decoder takes the inline path for series whose labels it has cached.
    warm = RemoteWriteDecoder()
    body = snappy(encode_v1(series))
    first = as_dict(warm.decode(body))
    second = as_dict(warm.decode(body))
    assert set(first) == set(second) == set(expected(series))
    for k, samples in expected(series).items():
        assert same_samples(second[k], samples)


# ---- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, fragment",
    [
        ([("job", "x"), ("__name__", "up")], "not sorted"),
        ([("__name__", "up"), ("a", "1"), ("a", "2")], "duplicate label"),
        ([("job", "x")], "empty metric name"),
        ([("__name__", "")], "empty metric name"),
        ([("", "v"), ("__name__", "up")], "empty label name"),
    ],
)
def test_invalid_labels(labels: list[tuple[str, str]], fragment: str) -> None:
    with pytest.raises(IngestError) as err:
        decode_remote_write(snappy(encode_v1([(labels, [(1, 1.0)])])))
    assert err.value.status == 400 and fragment in err.value.message


def test_legacy_names_option() -> None:
    body = snappy(encode_v1([([("__name__", "up"), ("bad-name", "1")], [(1, 1.0)])]))
    assert len(decode_remote_write(body)) == 1
    with pytest.raises(IngestError, match="bad-name"):
        decode_remote_write(body, legacy_names=True)


def test_invalid_utf8() -> None:
    raw = bytearray(encode_v1([([("__name__", "upx")], [(1, 1.0)])]))
    raw[raw.index(b"upx") + 2] = 0xFF
    with pytest.raises(IngestError, match="UTF-8"):
        decode_remote_write(snappy(bytes(raw)))


def test_histograms_decoded() -> None:
    """Native histograms are decoded (in detail: test_ingest_histograms.py)."""
    req = PB["WriteRequest"]()
    ts = req.timeseries.add()
    ts.labels.add(name="__name__", value="h")
    ts.histograms.add(count_int=3)
    batch = decode_remote_write(snappy(req.SerializeToString()))
    assert batch.h is not None and batch.h.count.tolist() == [3.0] and batch.h_index.tolist() == [0]


def test_truncated_and_garbled() -> None:
    raw = encode_v1(make_series(3, 3))
    with pytest.raises(IngestError, match="truncated"):
        decode_remote_write(snappy(raw[:-5]))
    with pytest.raises(IngestError, match="snappy"):
        decode_remote_write(raw)  # not compressed
    with pytest.raises(IngestError, match="snappy"):
        decode_remote_write(snappy(raw)[:-3])


@pytest.mark.parametrize(
    "ctype, enc, status",
    [
        ("application/json", None, 415),
        ("application/x-protobuf;proto=foo.Bar", None, 415),
        ("application/x-protobuf", "gzip", 415),
    ],
)
def test_content_negotiation_errors(ctype: str, enc: str | None, status: int) -> None:
    with pytest.raises(IngestError) as err:
        negotiate_remote_write(ctype, enc)
    assert err.value.status == status


@pytest.mark.parametrize(
    "ctype, want",
    [
        (None, "prometheus.WriteRequest"),
        ("application/x-protobuf", "prometheus.WriteRequest"),
        ("application/x-protobuf; proto=prometheus.WriteRequest", "prometheus.WriteRequest"),
        (f"application/x-protobuf;proto={PROTO_V2}", PROTO_V2),
    ],
)
def test_content_negotiation(ctype: str | None, want: str) -> None:
    assert negotiate_remote_write(ctype, "snappy") == want


def test_too_large() -> None:
    body = snappy(encode_v1(make_series(10, 10)))
    with pytest.raises(IngestError) as err:
        decode_remote_write(body, max_decoded_bytes=100)
    assert err.value.status == 413


# ---- fuzzing: only IngestError may escape ---------------------------------------------------

_VALID = encode_v1(make_series(4, 6, zero_every=2), exemplars=True, metadata=True)
_VALID_V2 = encode_v2(make_series(4, 6, zero_every=2))


_WARM = RemoteWriteDecoder()
_WARM.decode(snappy(_VALID))


def _only_ingest_errors(body: bytes, **kw) -> None:
    for decode in (decode_remote_write, _WARM.decode):
        try:
            decode(body, **kw)
        except IngestError as err:
            assert err.status in (400, 413, 415)


@given(st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_ingest_errors(data)
    _only_ingest_errors(snappy(data))
    _only_ingest_errors(snappy(data), content_type=f"application/x-protobuf;proto={PROTO_V2}")


@given(st.integers(0, len(_VALID)), st.integers(0, len(_VALID_V2)))
@settings(max_examples=300, deadline=None)
def test_fuzz_truncated_bodies(cut: int, cut2: int) -> None:
    _only_ingest_errors(snappy(_VALID[:cut]))
    _only_ingest_errors(snappy(_VALID_V2[:cut2]), content_type=f"application/x-protobuf;proto={PROTO_V2}")
    _only_ingest_errors(snappy(_VALID)[:cut])


@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=6))
@settings(max_examples=500, deadline=None)
def test_fuzz_mutated_bodies(edits: list[tuple[int, int]]) -> None:
    raw = bytearray(_VALID)
    raw2 = bytearray(_VALID_V2)
    comp = bytearray(snappy(_VALID))
    for pos, byte in edits:
        raw[pos] = byte
        raw2[pos % len(raw2)] = byte
        comp[pos % len(comp)] = byte
    _only_ingest_errors(snappy(bytes(raw)))
    _only_ingest_errors(snappy(bytes(raw2)), content_type=f"application/x-protobuf;proto={PROTO_V2}")
    _only_ingest_errors(bytes(comp))


# ---- throughput (reported, loosely bounded so the test can fail on a regression) ------------


def _fast_body(n_series: int, n_samples: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A WriteRequest built with numpy (the protobuf runtime takes seconds for 1 M samples)."""
    t = 1_700_000_000_000 + np.arange(n_samples, dtype=np.int64) * 15_000
    varint = np.zeros((n_samples, 6), np.uint8)  # these timestamps take 6 varint bytes
    for j in range(6):
        varint[:, j] = (t >> (7 * j)) & 0x7F
    varint[:, :5] |= 0x80
    rng = np.random.default_rng(3)
    values = rng.random((n_series, n_samples)) * 1000
    rec = np.zeros((n_samples, 18), np.uint8)
    rec[:, 0], rec[:, 1], rec[:, 2], rec[:, 11] = 0x12, 16, 0x09, 0x10
    rec[:, 12:18] = varint
    parts = []
    for i in range(n_series):
        head = encode_v1([([("__name__", f"m_{i % 50}"), ("instance", f"h{i}:9100"), ("job", "node")], [])])
        rec[:, 3:11] = values[i].view(np.uint8).reshape(n_samples, 8)
        ts = head[2:] + rec.tobytes()  # drop the outer key/length, re-add them below
        n = len(ts)
        length = bytearray()
        while n >= 0x80:
            length.append(n & 0x7F | 0x80)
            n >>= 7
        length.append(n)
        parts.append(b"\x0a" + bytes(length) + ts)
    return b"".join(parts), t, values


def test_throughput_2000_series_x_500_samples() -> None:
    raw, t, values = _fast_body(2000, 500)
    body = snappy(raw)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        batch = decode_remote_write(body)
        best = min(best, time.perf_counter() - t0)
    assert len(batch) == 1_000_000
    order = np.lexsort((batch.t, batch.series))
    assert np.array_equal(batch.t[order], np.tile(t, 2000))
    names = [int(lb.get("instance")[1:].split(":")[0]) for lb in batch.labels]
    assert np.array_equal(batch.v[order].reshape(2000, 500), values[names])
    rate = len(batch) / best
    print(f"remote write decode: {rate / 1e6:.2f} M samples/s")
    assert rate > 300_000


# ---- a real Prometheus sending remote write -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.peer
@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus binary not installed")
def test_real_prometheus_remote_write(tmp_path) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    recv_port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    prom_port = _free_port()
    (tmp_path / "prometheus.yml").write_text(
        f"""
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: self
    static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]
remote_write:
  - url: http://127.0.0.1:{recv_port}/api/v1/write
    queue_config: {{batch_send_deadline: 1s, max_samples_per_send: 500}}
"""
    )
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            names = set()
            for headers, body in list(received):
                batch = decode_remote_write(
                    body,
                    content_type=headers.get("Content-Type"),
                    content_encoding=headers.get("Content-Encoding"),
                )
                names.update(lb.name for lb in batch.labels)
            if {"up", "prometheus_build_info", "scrape_duration_seconds"} <= names:
                break
            time.sleep(0.5)
        # What Prometheus stored itself, to compare the received samples with.
        query = urllib.parse.urlencode({"query": "scrape_duration_seconds[10m]"})
        with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?{query}", timeout=10) as r:
            stored = json.load(r)["data"]["result"][0]["values"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        server.shutdown()
        server.server_close()
    assert received, "Prometheus sent nothing"
    headers, _ = received[0]
    assert headers["Content-Encoding"] == "snappy"
    assert headers["X-Prometheus-Remote-Write-Version"].startswith("0.1")
    total = 0
    ups = []
    got: list[tuple[Labels, int, float]] = []
    for headers, body in received:
        batch = decode_remote_write(
            body, content_type=headers.get("Content-Type"), content_encoding=headers.get("Content-Encoding")
        )
        total += len(batch)
        for i in range(len(batch)):
            lb = batch.labels[int(batch.series[i])]
            assert lb.get("job") == "self" and lb.get("instance") == f"127.0.0.1:{prom_port}"
            assert abs(int(batch.t[i]) - time.time() * 1000) < 120_000
            got.append((lb, int(batch.t[i]), float(batch.v[i])))
            if lb.name == "up":
                ups.append(float(batch.v[i]))
    assert total > 100
    assert ups and all(u == 1.0 for u in ups)
    # Every received scrape_duration_seconds sample is bit-for-bit what Prometheus stored.
    stored_by_ts = {round(float(ts) * 1000): float(v) for ts, v in stored}
    durations = [(t, v) for lb, t, v in got if lb.name == "scrape_duration_seconds"]
    assert durations
    common = [(t, v) for t, v in durations if t in stored_by_ts]
    assert len(common) >= len(durations) - 1  # the newest may postdate the query
    assert all(stored_by_ts[t] == v for t, v in common)
