"""Native histograms arriving by remote write (1.0 and 2.0) and, from Prometheus itself, end to end."""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import cramjam
import numpy as np
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import pb_field, pb_varint
from watchkeeper.exposition.protoparse import ProtoScrape, parse_protobuf
from watchkeeper.exposition.textparse import ParseError
from watchkeeper.ingest.errors import IngestError
from watchkeeper.ingest.remote_write import PROTO_V2, RemoteWriteDecoder, decode_remote_write
from watchkeeper.model.batch import is_stale
from watchkeeper.model.histogram import CUSTOM_BUCKETS_SCHEMA, GAUGE_TYPE, NOT_COUNTER_RESET, HistogramBatch
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig
from watchkeeper.scrape.loop import ScrapeLoop
from watchkeeper.scrape.target import Target, populate_labels
from watchkeeper.storage.db import TSDB

# ---- the real message schemas (prompb/types.proto, write/v2/types.proto), built at run time ----


def _schema() -> dict[str, type]:
    fdp = descriptor_pb2.FileDescriptorProto(name="rwh_test.proto", package="rwh", syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto

    def msg(name: str, *fields: tuple, oneofs: tuple[str, ...] = ()) -> None:
        m = fdp.message_type.add(name=name)
        for o in oneofs:
            m.oneof_decl.add(name=o)
        for fname, num, ftype, tname, repeated, *oneof in fields:
            f = m.field.add(name=fname, number=num, type=ftype)
            f.label = T.LABEL_REPEATED if repeated else T.LABEL_OPTIONAL
            if tname:
                f.type_name = f".rwh.{tname}"
            if oneof:
                f.oneof_index = oneof[0]

    msg("Label", ("name", 1, T.TYPE_STRING, None, False), ("value", 2, T.TYPE_STRING, None, False))
    msg("Sample", ("value", 1, T.TYPE_DOUBLE, None, False), ("timestamp", 2, T.TYPE_INT64, None, False))
    msg("BucketSpan", ("offset", 1, T.TYPE_SINT32, None, False), ("length", 2, T.TYPE_UINT32, None, False))
    msg(
        "Histogram",
        ("count_int", 1, T.TYPE_UINT64, None, False, 0),
        ("count_float", 2, T.TYPE_DOUBLE, None, False, 0),
        ("sum", 3, T.TYPE_DOUBLE, None, False),
        ("schema", 4, T.TYPE_SINT32, None, False),
        ("zero_threshold", 5, T.TYPE_DOUBLE, None, False),
        ("zero_count_int", 6, T.TYPE_UINT64, None, False, 1),
        ("zero_count_float", 7, T.TYPE_DOUBLE, None, False, 1),
        ("negative_spans", 8, T.TYPE_MESSAGE, "BucketSpan", True),
        ("negative_deltas", 9, T.TYPE_SINT64, None, True),
        ("negative_counts", 10, T.TYPE_DOUBLE, None, True),
        ("positive_spans", 11, T.TYPE_MESSAGE, "BucketSpan", True),
        ("positive_deltas", 12, T.TYPE_SINT64, None, True),
        ("positive_counts", 13, T.TYPE_DOUBLE, None, True),
        ("reset_hint", 14, T.TYPE_INT32, None, False),
        ("timestamp", 15, T.TYPE_INT64, None, False),
        ("custom_values", 16, T.TYPE_DOUBLE, None, True),
        oneofs=("count", "zero_count"),
    )
    msg(
        "TimeSeries",
        ("labels", 1, T.TYPE_MESSAGE, "Label", True),
        ("samples", 2, T.TYPE_MESSAGE, "Sample", True),
        ("histograms", 4, T.TYPE_MESSAGE, "Histogram", True),
    )
    msg("WriteRequest", ("timeseries", 1, T.TYPE_MESSAGE, "TimeSeries", True))
    msg(
        "V2TimeSeries",
        ("labels_refs", 1, T.TYPE_UINT32, None, True),
        ("samples", 2, T.TYPE_MESSAGE, "Sample", True),
        ("histograms", 3, T.TYPE_MESSAGE, "Histogram", True),
    )
    msg(
        "V2Request",
        ("symbols", 4, T.TYPE_STRING, None, True),
        ("timeseries", 5, T.TYPE_MESSAGE, "V2TimeSeries", True),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"rwh.{n}"))
            for n in ("WriteRequest", "V2Request", "Histogram")}


PB = _schema()


def snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


def spans_of(index: list[int]) -> list[tuple[int, int]]:
    """Spans (first offset absolute, later ones gaps) of sorted bucket indices, as senders build them."""
    spans: list[tuple[int, int]] = []
    prev = None
    for i in index:
        if prev is not None and i == prev + 1:
            spans[-1] = (spans[-1][0], spans[-1][1] + 1)
        else:
            spans.append((i if prev is None else i - prev - 1, 1))
        prev = i
    return spans


def fill(h, d: dict, *, as_float: bool, split_gap: bool = False) -> None:
    """Set a Histogram message from a readable dict (absolute bucket indices and counts)."""
    h.schema = d.get("schema", 0)
    h.sum = d.get("sum", 0.0)
    h.zero_threshold = d.get("zt", 0.0)
    h.reset_hint = d.get("hint", 0)
    h.timestamp = d["t"]
    for side, key in (("positive", "pos"), ("negative", "neg")):
        buckets = d.get(key, [])
        spans = spans_of([i for i, _ in buckets])
        if split_gap and spans:
            # A zero-length span in the middle is legal and must not shift anything.
            spans = [spans[0], (0, 0), *spans[1:]]
        for off, ln in spans:
            getattr(h, f"{side}_spans").add(offset=off, length=ln)
        if as_float:
            getattr(h, f"{side}_counts").extend([c for _, c in buckets])
        else:
            prev = 0
            for _, c in buckets:
                getattr(h, f"{side}_deltas").append(int(c) - prev)
                prev = int(c)
    h.custom_values.extend(d.get("custom", []))
    if as_float:
        h.count_float = d["count"]
        h.zero_count_float = d.get("zc", 0.0)
    else:
        h.count_int = int(d["count"])
        h.zero_count_int = int(d.get("zc", 0))


def v1_body(series: list[tuple[dict[str, str], list[tuple[int, float]], list[dict]]], *,
            as_float: bool = False) -> bytes:
    req = PB["WriteRequest"]()
    for labels, samples, hists in series:
        ts = req.timeseries.add()
        for k, v in sorted(labels.items()):
            ts.labels.add(name=k, value=v)
        for t, v in samples:
            ts.samples.add(timestamp=t, value=v)
        for d in hists:
            fill(ts.histograms.add(), d, as_float=as_float)
    return req.SerializeToString()


def v2_body(series: list[tuple[dict[str, str], list[tuple[int, float]], list[dict]]]) -> bytes:
    req = PB["V2Request"]()
    symbols = {"": 0}
    req.symbols.append("")
    for labels, samples, hists in series:
        ts = req.timeseries.add()
        for k, v in sorted(labels.items()):
            for s in (k, v):
                if s not in symbols:
                    symbols[s] = len(symbols)
                    req.symbols.append(s)
                ts.labels_refs.append(symbols[s])
        for t, v in samples:
            ts.samples.add(timestamp=t, value=v)
        for d in hists:
            fill(ts.histograms.add(), d, as_float=True)
    return req.SerializeToString()


def hrow(h: HistogramBatch, k: int) -> dict:
    p = slice(int(h.pos_offsets[k]), int(h.pos_offsets[k + 1]))
    n = slice(int(h.neg_offsets[k]), int(h.neg_offsets[k + 1]))
    c = slice(int(h.custom_offsets[k]), int(h.custom_offsets[k + 1]))
    return {"schema": int(h.schema[k]), "count": float(h.count[k]), "sum": float(h.sum[k]),
            "zc": float(h.zero_count[k]), "zt": float(h.zero_threshold[k]), "hint": int(h.hint[k]),
            "pos": list(zip(h.pos_index[p].tolist(), h.pos_count[p].tolist(), strict=True)),
            "neg": list(zip(h.neg_index[n].tolist(), h.neg_count[n].tolist(), strict=True)),
            "custom": h.custom_values[c].tolist()}


def norm(d: dict) -> dict:
    return {"schema": d.get("schema", 0), "count": float(d["count"]), "sum": float(d.get("sum", 0.0)),
            "zc": float(d.get("zc", 0.0)), "zt": float(d.get("zt", 0.0)), "hint": d.get("hint", 0),
            "pos": [(i, float(c)) for i, c in d.get("pos", [])],
            "neg": [(i, float(c)) for i, c in d.get("neg", [])], "custom": list(d.get("custom", []))}


def samples_of(batch) -> dict[str, list]:
    """{labels: [(t, float or histogram dict)]} in batch order."""
    assert (batch.h is None) == (batch.h_index is None)
    out: dict[str, list] = {}
    for i in range(len(batch)):
        lb = str(batch.labels[int(batch.series[i])])
        if batch.h_index is not None and batch.h_index[i] >= 0:
            assert math.isnan(batch.v[i])
            out.setdefault(lb, []).append((int(batch.t[i]), hrow(batch.h, int(batch.h_index[i]))))
        else:
            out.setdefault(lb, []).append((int(batch.t[i]), float(batch.v[i])))
    return out


EXP = {"t": 1000, "schema": 3, "count": 12, "sum": 34.5, "zc": 2, "zt": 0.001, "hint": 2,
       "pos": [(-2, 1), (-1, 3), (4, 2)], "neg": [(0, 4)]}
NHCB = {"t": 2000, "schema": CUSTOM_BUCKETS_SCHEMA, "count": 7, "sum": 3.0, "pos": [(0, 1), (1, 4), (3, 2)],
        "custom": [0.1, 0.5, 1.0]}
GAUGE = {"t": 3000, "schema": -2, "count": 2.5, "sum": -1.25, "hint": GAUGE_TYPE, "pos": [(1, 0.5)],
         "neg": [(2, 2.0)]}


@pytest.mark.parametrize("as_float", [False, True], ids=["int", "float"])
def test_v1_histograms_resolve_spans_and_deltas(as_float: bool) -> None:
    series = [({"__name__": "h", "job": "a"}, [], [EXP, NHCB]),
              ({"__name__": "f", "job": "a"}, [(1000, 1.5), (2000, 2.5)], []),
              ({"__name__": "mixed", "job": "a"}, [(500, 7.0)], [{**EXP, "t": 600}])]
    batch = decode_remote_write(snappy(v1_body(series, as_float=as_float)))
    got = samples_of(batch)
    assert got == {
        'h{job="a"}': [(1000, norm(EXP)), (2000, norm(NHCB))],
        'f{job="a"}': [(1000, 1.5), (2000, 2.5)],
        'mixed{job="a"}': [(500, 7.0), (600, norm(EXP))],
    }


def test_float_only_requests_carry_no_histograms() -> None:
    batch = decode_remote_write(snappy(v1_body([({"__name__": "f"}, [(1, 2.0)], [])])))
    assert batch.h is None and batch.h_index is None


def test_v2_histograms() -> None:
    series = [({"__name__": "g", "job": "b"}, [], [GAUGE, {**EXP, "t": 4000}]),
              ({"__name__": "f", "job": "b"}, [(10, 1.0)], [])]
    v2 = f"application/x-protobuf;proto={PROTO_V2}"
    batch = decode_remote_write(snappy(v2_body(series)), content_type=v2)
    assert samples_of(batch) == {
        'g{job="b"}': [(3000, norm(GAUGE)), (4000, norm(EXP))],
        'f{job="b"}': [(10, 1.0)],
    }


def test_zero_length_span_and_unpacked_fields() -> None:
    h = PB["Histogram"]()
    fill(h, EXP, as_float=False, split_gap=True)
    # Unpacked repeated sint64 (field 12, wire type 0) is valid protobuf and must decode the same.
    raw = h.SerializeToString()
    packed = PB["Histogram"]()
    packed.ParseFromString(raw)
    deltas = list(packed.positive_deltas)
    del packed.positive_deltas[:]
    unpacked = packed.SerializeToString()
    for d in deltas:
        unpacked += bytes([12 << 3]) + pb_varint((d << 1) ^ (d >> 63))
    body = _timeseries_v1({"__name__": "h"}, [unpacked])
    batch = decode_remote_write(snappy(body))
    assert samples_of(batch) == {'h': [(1000, norm(EXP))]}


def _timeseries_v1(labels: dict[str, str], hists: list[bytes], samples: bytes = b"", *,
                   histograms_first: bool = True) -> bytes:
    lab = b"".join(pb_field(1, pb_field(1, k.encode()) + pb_field(2, v.encode()))
                   for k, v in sorted(labels.items()))
    hs = b"".join(pb_field(4, h) for h in hists)
    ts = hs + lab + samples if histograms_first else lab + samples + hs
    return pb_field(1, ts)


def test_hand_ordered_fields_decode_once() -> None:
    """Histograms before labels and samples, samples of a length that invites a run guess."""
    h1, h2 = PB["Histogram"](), PB["Histogram"]()
    fill(h1, EXP, as_float=True)
    fill(h2, {**EXP, "t": 5000}, as_float=False)
    sample = pb_field(2, bytes([0x09]) + np.float64(4.0).tobytes() + bytes([0x10]) + pb_varint(2000))
    for first in (True, False):
        body = _timeseries_v1({"__name__": "x"}, [h1.SerializeToString(), h2.SerializeToString()],
                              sample * 3, histograms_first=first)
        body += _timeseries_v1({"__name__": "y"}, [], sample, histograms_first=False)
        got = samples_of(decode_remote_write(snappy(body)))
        hist_rows = [(1000, norm(EXP)), (5000, norm({**EXP, "t": 5000}))]
        floats = [(2000, 4.0)] * 3
        assert got['x'] == (hist_rows + floats if first else floats + hist_rows)
        assert got['y'] == [(2000, 4.0)]


def test_schemas_finer_than_8_are_reduced() -> None:
    body = v1_body([({"__name__": "h"}, [], [{**EXP, "schema": 10}])])
    got = samples_of(decode_remote_write(snappy(body)))
    # Four schema-10 buckets per schema-8 bucket: index i -> ((i - 1) >> 2) + 1.
    assert got == {"h": [(1000, norm({**EXP, "schema": 8, "pos": [(0, 4), (1, 2)], "neg": [(0, 4)]}))]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 53}, "invalid schema"),
        ({"schema": -5}, "invalid schema"),
        ({"count": 1}, "observation count should be at least"),
        ({"custom": [1.0]}, "exponential schema must not have custom bounds"),
        ({"schema": CUSTOM_BUCKETS_SCHEMA, "neg": [], "zc": 0, "zt": 0.0, "custom": [2.0, 1.0]},
         "increasing order"),
        ({"schema": CUSTOM_BUCKETS_SCHEMA, "neg": [], "zc": 0, "zt": 0.0, "custom": [1.0]}, "outside"),
        ({"schema": CUSTOM_BUCKETS_SCHEMA, "zc": 0, "zt": 0.0, "custom": [1.0, 2.0, 3.0, 4.0, 5.0]},
         "negative buckets"),
    ],
)
def test_invalid_histograms_are_rejected(change: dict, message: str) -> None:
    body = v1_body([({"__name__": "h"}, [], [{**EXP, **change}])])
    with pytest.raises(IngestError, match=message) as err:
        decode_remote_write(snappy(body))
    assert err.value.status == 400


def test_spans_that_disagree_with_buckets_are_rejected() -> None:
    h = PB["Histogram"]()
    fill(h, EXP, as_float=False)
    h.positive_deltas.append(1)
    with pytest.raises(IngestError, match="spans need 3 buckets, have 4"):
        decode_remote_write(snappy(_timeseries_v1({"__name__": "h"}, [h.SerializeToString()])))
    h = PB["Histogram"]()
    fill(h, EXP, as_float=False)
    h.positive_deltas[1] = -5  # the second bucket's count goes negative
    with pytest.raises(IngestError, match="negative"):
        decode_remote_write(snappy(_timeseries_v1({"__name__": "h"}, [h.SerializeToString()])))


# Small counts (one-byte deltas) and large ones (multi-byte varints, negative deltas).
_bucket_lists = st.lists(st.tuples(st.integers(-40, 40), st.integers(0, 50) | st.integers(0, 2**40)),
                         max_size=12).map(
    lambda xs: sorted(dict(xs).items()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.fixed_dictionaries({
            "t": st.integers(-(2**40), 2**40),
            "schema": st.integers(-4, 8),
            "sum": st.floats(allow_nan=False, width=64),
            "zc": st.integers(0, 5),
            "zt": st.sampled_from([0.0, 1e-128, 0.25]),
            "hint": st.integers(0, 3),
            "pos": _bucket_lists,
            "neg": _bucket_lists,
        }),
        min_size=1, max_size=6,
    ),
    as_float=st.booleans(),
    v2=st.booleans(),
)
def test_random_histograms_roundtrip(rows: list[dict], as_float: bool, v2: bool) -> None:
    for r in rows:
        r["count"] = r["zc"] + sum(c for _, c in r["pos"]) + sum(c for _, c in r["neg"]) + 1
    series = [({"__name__": "r", "k": str(i % 2)}, [], rows[i::2]) for i in range(min(2, len(rows)))]
    if v2:
        body = v2_body(series)
        batch = decode_remote_write(snappy(body), content_type=f"application/x-protobuf;proto={PROTO_V2}")
    else:
        batch = RemoteWriteDecoder().decode(snappy(v1_body(series, as_float=as_float)))
    want = {}
    for labels, _, hs in series:
        key = str(Labels(labels))
        want[key] = [(d["t"], norm(d)) for d in hs]
    assert samples_of(batch) == want


def test_decoded_histograms_store_and_select() -> None:
    series = [({"__name__": "h", "job": "a"}, [(500, 1.0)], [EXP, NHCB, GAUGE])]
    batch = decode_remote_write(snappy(v1_body(series, as_float=True)))
    with TSDB(None) as db:
        assert db.append(batch) == 4
        ss = db.select([Matcher(MatchType.EQUAL, "__name__", "h")], 0, 10_000)
    assert ss.t.tolist() == [500, 1000, 2000, 3000]
    assert ss.h_index is not None and ss.h_index[0] == -1 and ss.v[0] == 1.0
    # Storage reads hints back as Prometheus' TSDB does: EXP follows a float, so it starts a new
    # chunk and its not_reset hint reads as unknown (tests/test_storage_counter_hints.py).
    assert [hrow(ss.h, int(k)) for k in ss.h_index[1:]] == [norm({**EXP, "hint": 0}), norm(NHCB), norm(GAUGE)]


# ---- protobuf exposition (io.prometheus.client, metrics.proto) with native histograms ---------


def _client_schema() -> dict[str, type]:
    fdp = descriptor_pb2.FileDescriptorProto(name="client_test.proto", package="cm", syntax="proto2")
    T = descriptor_pb2.FieldDescriptorProto

    def msg(name: str, *fields: tuple) -> None:
        m = fdp.message_type.add(name=name)
        for fname, num, ftype, tname, repeated, *packed in fields:
            f = m.field.add(name=fname, number=num, type=ftype)
            f.label = T.LABEL_REPEATED if repeated else T.LABEL_OPTIONAL
            if tname:
                f.type_name = f".cm.{tname}"
            if packed:
                f.options.packed = True

    msg("LabelPair", ("name", 1, T.TYPE_STRING, None, False), ("value", 2, T.TYPE_STRING, None, False))
    msg("Counter", ("value", 1, T.TYPE_DOUBLE, None, False))
    msg("Bucket", ("cumulative_count", 1, T.TYPE_UINT64, None, False),
        ("upper_bound", 2, T.TYPE_DOUBLE, None, False),
        ("cumulative_count_float", 4, T.TYPE_DOUBLE, None, False))
    msg("BucketSpan", ("offset", 1, T.TYPE_SINT32, None, False), ("length", 2, T.TYPE_UINT32, None, False))
    msg(
        "Histogram",
        ("sample_count", 1, T.TYPE_UINT64, None, False),
        ("sample_sum", 2, T.TYPE_DOUBLE, None, False),
        ("bucket", 3, T.TYPE_MESSAGE, "Bucket", True),
        ("sample_count_float", 4, T.TYPE_DOUBLE, None, False),
        ("schema", 5, T.TYPE_SINT32, None, False),
        ("zero_threshold", 6, T.TYPE_DOUBLE, None, False),
        ("zero_count", 7, T.TYPE_UINT64, None, False),
        ("zero_count_float", 8, T.TYPE_DOUBLE, None, False),
        ("negative_span", 9, T.TYPE_MESSAGE, "BucketSpan", True),
        ("negative_delta", 10, T.TYPE_SINT64, None, True, True),
        ("negative_count", 11, T.TYPE_DOUBLE, None, True, True),
        ("positive_span", 12, T.TYPE_MESSAGE, "BucketSpan", True),
        ("positive_delta", 13, T.TYPE_SINT64, None, True, True),
        ("positive_count", 14, T.TYPE_DOUBLE, None, True, True),
    )
    msg(
        "Metric",
        ("label", 1, T.TYPE_MESSAGE, "LabelPair", True),
        ("counter", 3, T.TYPE_MESSAGE, "Counter", False),
        ("timestamp_ms", 6, T.TYPE_INT64, None, False),
        ("histogram", 7, T.TYPE_MESSAGE, "Histogram", False),
    )
    msg(
        "MetricFamily",
        ("name", 1, T.TYPE_STRING, None, False),
        ("help", 2, T.TYPE_STRING, None, False),
        ("type", 3, T.TYPE_INT32, None, False),
        ("metric", 4, T.TYPE_MESSAGE, "Metric", True),
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {"MetricFamily": message_factory.GetMessageClass(pool.FindMessageTypeByName("cm.MetricFamily"))}


CM = _client_schema()
PROTO_CTYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
COUNTER, HISTOGRAM, GAUGE_HISTOGRAM = 0, 4, 5


def native(h, d: dict, *, as_float: bool = False) -> None:
    """Fill the native fields of a client_model Histogram from a readable dict."""
    h.schema = d.get("schema", 0)
    h.zero_threshold = d.get("zt", 0.0)
    h.sample_sum = d.get("sum", 0.0)
    for side, key in (("positive", "pos"), ("negative", "neg")):
        buckets = d.get(key, [])
        for off, ln in spans_of([i for i, _ in buckets]) or ([(0, 0)] if key == "pos" else []):
            getattr(h, f"{side}_span").add(offset=off, length=ln)
        if as_float:
            getattr(h, f"{side}_count").extend([c for _, c in buckets])
        else:
            prev = 0
            for _, c in buckets:
                getattr(h, f"{side}_delta").append(int(c) - prev)
                prev = int(c)
    if as_float:
        h.sample_count_float = d["count"]
        h.zero_count_float = d.get("zc", 0.0)
    else:
        h.sample_count = int(d["count"])
        h.zero_count = int(d.get("zc", 0))


RPC_A = {"schema": 3, "count": 12, "sum": 34.5, "zc": 2, "zt": 2.0**-128, "pos": [(-2, 1), (-1, 3), (4, 2)],
         "neg": [(0, 4)]}
RPC_B = {"schema": 0, "count": 0, "sum": 0.0, "zt": 0.0}  # an empty native histogram: just the no-op span
QUEUE = {"schema": -1, "count": 3.5, "sum": 7.0, "zt": 0.001, "zc": 0.5, "pos": [(2, 3.0)]}


def exposition(*, float_gauge: bool = True) -> bytes:
    """A delimited MetricFamily stream with native, gauge, classic-only histograms and a counter."""
    fams = []
    rpc = CM["MetricFamily"](name="rpc_seconds", help="RPC latency", type=HISTOGRAM)
    for method, d in (("a", RPC_A), ("b", RPC_B)):
        m = rpc.metric.add()
        m.label.add(name="method", value=method)
        native(m.histogram, d)
        if method == "a":  # classic buckets too, as client_golang exposes both
            m.histogram.bucket.add(upper_bound=0.5, cumulative_count=4)
            m.histogram.bucket.add(upper_bound=1.0, cumulative_count=9)
    fams.append(rpc)
    if float_gauge:
        q = CM["MetricFamily"](name="queue_size", type=GAUGE_HISTOGRAM)
        native(q.metric.add().histogram, QUEUE, as_float=True)
        fams.append(q)
    classic = CM["MetricFamily"](name="classic_seconds", type=HISTOGRAM)
    ch = classic.metric.add().histogram
    ch.sample_count, ch.sample_sum = 3, 1.5
    ch.bucket.add(upper_bound=1.0, cumulative_count=2)
    fams.append(classic)
    c = CM["MetricFamily"](name="jobs_total", type=COUNTER)
    c.metric.add().counter.value = 5
    fams.append(c)
    out = b""
    for f in fams:
        raw = f.SerializeToString()
        out += pb_varint(len(raw)) + raw
    return out


def parsed_samples(p: ProtoScrape) -> dict[str, object]:
    out: dict[str, object] = {}
    for i, key in enumerate(p.keys):
        if p.h_index is not None and p.h_index[i] >= 0:
            assert math.isnan(p.values[i])
            out[key] = hrow(p.h, int(p.h_index[i]))
        else:
            out[key] = float(p.values[i])
    return out


CLASSIC_KEYS = {'classic_seconds_bucket{le="1.0"}', 'classic_seconds_bucket{le="+Inf"}',
                "classic_seconds_sum", "classic_seconds_count", "jobs_total"}


def test_protobuf_native_histograms_off_by_default() -> None:
    p = parse_protobuf(exposition())
    assert p.h is None and p.h_index is None
    keys = set(p.keys)
    assert 'rpc_seconds_bucket{method="a",le="0.5"}' in keys and 'rpc_seconds_count{method="b"}' in keys
    assert 'queue_size_bucket{le="+Inf"}' in keys and CLASSIC_KEYS <= keys


def test_protobuf_native_histograms() -> None:
    got = parsed_samples(parse_protobuf(exposition(), native_histograms=True))
    assert set(got) == {'rpc_seconds{method="a"}', 'rpc_seconds{method="b"}', "queue_size"} | CLASSIC_KEYS
    assert got['rpc_seconds{method="a"}'] == norm(RPC_A)
    assert got['rpc_seconds{method="b"}'] == norm(RPC_B)
    assert got["queue_size"] == norm({**QUEUE, "hint": GAUGE_TYPE})
    assert got["jobs_total"] == 5.0
    both = parse_protobuf(exposition(), native_histograms=True, classic_histograms=True)
    keys = set(both.keys)
    assert 'rpc_seconds{method="a"}' in keys and 'rpc_seconds_bucket{method="a",le="1.0"}' in keys
    assert 'rpc_seconds_count{method="b"}' in keys


def test_protobuf_invalid_native_histogram_fails_the_parse() -> None:
    f = CM["MetricFamily"](name="bad", type=HISTOGRAM)
    native(f.metric.add().histogram, {**RPC_A, "count": 1})
    raw = f.SerializeToString()
    with pytest.raises(ParseError, match="observation count"):
        parse_protobuf(pb_varint(len(raw)) + raw, native_histograms=True)


def _loop(db: TSDB, **cfg: object) -> ScrapeLoop:
    c = ScrapeConfig.model_validate({"job_name": "j", "scrape_interval": "10s", **cfg}).resolve(
        GlobalScrapeDefaults())
    labels, disc = populate_labels({"__address__": "h:1"}, c)
    assert labels is not None
    return ScrapeLoop(Target(labels, disc, c), c, db, None)  # type: ignore[arg-type]


def test_scrape_config_option_and_protocol_default() -> None:
    plain = ScrapeConfig.model_validate({"job_name": "j"}).resolve(GlobalScrapeDefaults())
    assert plain.scrape_native_histograms is False and plain.scrape_protocols[0] == "OpenMetricsText1.0.0"
    on = ScrapeConfig.model_validate({"job_name": "j", "scrape_native_histograms": True}).resolve(
        GlobalScrapeDefaults())
    assert on.scrape_protocols[0] == "PrometheusProto"
    glob = GlobalScrapeDefaults.model_validate({"scrape_native_histograms": True})
    inherited = ScrapeConfig.model_validate({"job_name": "j"}).resolve(glob)
    assert inherited.scrape_native_histograms is True and inherited.scrape_protocols[0] == "PrometheusProto"
    # Protocols set in global win over the native-histogram default, as in Prometheus.
    explicit = GlobalScrapeDefaults.model_validate(
        {"scrape_native_histograms": True, "scrape_protocols": ["PrometheusText0.0.4"]})
    assert ScrapeConfig.model_validate({"job_name": "j"}).resolve(explicit).scrape_protocols == [
        "PrometheusText0.0.4"]


def test_scrape_loop_appends_native_histograms_and_stales_them() -> None:
    with TSDB(None) as db:
        lp = _loop(db, scrape_native_histograms=True)
        lp.process(exposition(), PROTO_CTYPE, 10_000, time.perf_counter())
        lp.process(exposition(float_gauge=False), PROTO_CTYPE, 20_000, time.perf_counter())
        ss = db.select([Matcher(MatchType.REGEX, "__name__", "rpc_seconds|queue_size")], 0, 30_000)
        got: dict[str, list] = {}
        for i in range(len(ss)):
            a, b = int(ss.offsets[i]), int(ss.offsets[i + 1])
            rows = []
            for j in range(a, b):
                if ss.h_index is not None and ss.h_index[j] >= 0:
                    rows.append((int(ss.t[j]), hrow(ss.h, int(ss.h_index[j]))))
                else:
                    assert is_stale(ss.v[j : j + 1])[0]
                    rows.append((int(ss.t[j]), "stale"))
            got[str(ss.labels[i])] = rows
        # The repeated counter histogram continues its chunk: read back as not_reset.
        assert got['rpc_seconds{instance="h:1", job="j", method="a"}'] == [
            (10_000, norm(RPC_A)), (20_000, norm({**RPC_A, "hint": NOT_COUNTER_RESET}))]
        assert got['queue_size{instance="h:1", job="j"}'] == [(10_000, norm({**QUEUE, "hint": GAUGE_TYPE})),
                                                             (20_000, "stale")]
        up = db.select([Matcher(MatchType.EQUAL, "__name__", "up")], 0, 30_000)
        assert up.v.tolist() == [1.0, 1.0] and up.h is None


def _scraped_rpc_a(**cfg: object) -> tuple[dict | None, float]:
    """Scrape the exposition once with ``cfg``; (rpc_seconds{method="a"} as stored, up)."""
    with TSDB(None) as db:
        lp = _loop(db, scrape_native_histograms=True, **cfg)
        lp.process(exposition(), PROTO_CTYPE, 10_000, time.perf_counter())
        ss = db.select([Matcher(MatchType.EQUAL, "__name__", "rpc_seconds"),
                        Matcher(MatchType.EQUAL, "method", "a")], 0, 20_000)
        up = db.select([Matcher(MatchType.EQUAL, "__name__", "up")], 0, 20_000)
    row = hrow(ss.h, int(ss.h_index[0])) if len(ss) else None
    return row, float(up.v[0])


@pytest.mark.parametrize(
    ("cfg", "want"),
    [
        ({}, norm(RPC_A)),
        # 4 buckets at schema 3; at most 3 are allowed: schema 2 still has 4, schema 1 has 3.
        ({"native_histogram_bucket_limit": 3},
         norm({**RPC_A, "schema": 1, "pos": [(0, 4), (1, 2)], "neg": [(0, 4)]})),
        # A growth factor of at least 2 allows schema 0 at most.
        ({"native_histogram_min_bucket_factor": 2.0},
         norm({**RPC_A, "schema": 0, "pos": [(0, 4), (1, 2)], "neg": [(0, 4)]})),
        # Schema 3 grows by 2**(1/8) = 1.0905 per bucket: enough for 1.09, too fine for 1.1.
        ({"native_histogram_min_bucket_factor": 1.09}, norm(RPC_A)),
        ({"native_histogram_min_bucket_factor": 1.1},
         norm({**RPC_A, "schema": 2, "pos": [(-1, 1), (0, 3), (2, 2)], "neg": [(0, 4)]})),
    ],
)
def test_scrape_native_histogram_resolution_limits(cfg: dict, want: dict) -> None:
    row, up = _scraped_rpc_a(**cfg)
    assert up == 1.0 and row == want


def test_scrape_native_histogram_bucket_limit_unreachable_fails_the_scrape() -> None:
    row, up = _scraped_rpc_a(native_histogram_bucket_limit=1)  # a positive and a negative bucket remain
    assert row is None and up == 0.0


def test_scrape_manager_negotiates_protobuf_for_native_histograms() -> None:
    """A target that offers protobuf only when asked: a job with scrape_native_histograms asks for it
    first (Prometheus' default protocols for such jobs) and stores native histograms; a plain job
    gets the text format and classic series."""
    import asyncio

    from watchkeeper.scrape.manager import ScrapeManager

    body = exposition()
    text = (b'# TYPE rpc_seconds histogram\nrpc_seconds_bucket{method="a",le="+Inf"} 12\n'
            b'rpc_seconds_count{method="a"} 12\n')
    accepts: list[str] = []

    class Target(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            accept = self.headers.get("Accept", "")
            accepts.append(accept)
            proto = accept.startswith("application/vnd.google.protobuf")
            out = body if proto else text
            self.send_response(200)
            self.send_header("Content-Type", PROTO_CTYPE if proto else "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args) -> None:
            pass

    server = _serve(Target)
    addr = f"127.0.0.1:{server.server_address[1]}"
    db = TSDB(None)
    cfgs = [ScrapeConfig.model_validate({"job_name": job, "scrape_interval": "1s", "scrape_timeout": "500ms",
                                         "static_configs": [{"targets": [addr]}], **extra})
            for job, extra in (("native", {"scrape_native_histograms": True}), ("plain", {}))]

    async def main() -> None:
        m = ScrapeManager(db)
        await m.apply_config(cfgs, GlobalScrapeDefaults())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if len(db.select([Matcher(MatchType.EQUAL, "__name__", "up")], 0, 2**62)) == 2:
                break
            await asyncio.sleep(0.05)
        await m.stop()

    try:
        asyncio.run(main())
    finally:
        server.shutdown()
        server.server_close()
        db.close()
    native = db.select([Matcher(MatchType.EQUAL, "__name__", "rpc_seconds"),
                        Matcher(MatchType.EQUAL, "job", "native")], 0, 2**62)
    assert native.h is not None and hrow(native.h, int(native.h_index[0])) == norm(RPC_A)
    classic = db.select([Matcher(MatchType.EQUAL, "__name__", "rpc_seconds_count"),
                         Matcher(MatchType.EQUAL, "job", "plain")], 0, 2**62)
    assert classic.h is None and classic.v[0] == 12.0
    assert any(a.startswith("application/vnd.google.protobuf") for a in accepts)
    assert any(a.startswith("application/openmetrics-text") for a in accepts)


# ---- OTLP exponential histograms from the real OpenTelemetry SDK -------------------------------


def _otlp_exponential(values: list[float], endpoint: str) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint),
                                           export_interval_millis=3_600_000)
    view = View(instrument_name="rpc.latency",
                aggregation=ExponentialBucketHistogramAggregation(max_size=160))
    provider = MeterProvider(metric_readers=[reader], views=[view])
    hist = provider.get_meter("t").create_histogram("rpc.latency", unit="s")
    for v in values:
        hist.record(v, {"op": "get"})
    provider.force_flush()
    provider.shutdown()


def _bucket_of(x: float, schema: int) -> int:
    """Prometheus' bucket index of a positive value: bucket i covers (2**((i-1)/2**s), 2**(i/2**s)]."""
    return math.ceil(math.log2(x) * 2.0**schema)


@pytest.mark.parametrize("values", [[0.0, 0.5, 1.0, 2.0, 3.0, 1000.0], [1.0001, 1.0002, 1.0003, 1.0003]],
                         ids=["wide", "narrow-downscaled"])
def test_otlp_exponential_histograms_become_native(values: list[float]) -> None:
    from watchkeeper.ingest.otlp import decode_otlp_metrics

    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = _serve(Handler)
    try:
        _otlp_exponential(values, f"http://127.0.0.1:{server.server_address[1]}/v1/metrics")
    finally:
        server.shutdown()
        server.server_close()
    warnings: list[str] = []
    batch = decode_otlp_metrics(bodies[0], "application/x-protobuf", warnings=warnings)
    assert warnings == []
    [k] = [i for i in range(len(batch)) if batch.labels[int(batch.series[i])].name == "rpc_latency_seconds"]
    assert batch.h_index is not None and batch.h_index[k] >= 0
    row = hrow(batch.h, int(batch.h_index[k]))
    assert -4 <= row["schema"] <= 8
    assert row["count"] == len(values) and row["sum"] == pytest.approx(sum(values))
    assert row["zc"] == values.count(0.0)
    want_pos: dict[int, float] = {}
    want_neg: dict[int, float] = {}
    for x in values:
        if x > 0:
            want_pos[_bucket_of(x, row["schema"])] = want_pos.get(_bucket_of(x, row["schema"]), 0) + 1
        elif x < 0:
            want_neg[_bucket_of(-x, row["schema"])] = want_neg.get(_bucket_of(-x, row["schema"]), 0) + 1
    assert dict(row["pos"]) == want_pos and dict(row["neg"]) == want_neg
    if len(set(values)) == 3:
        assert row["schema"] == 8  # the SDK's scale 20 merged down to Prometheus' finest schema


def test_otlp_exponential_negative_buckets_downscale_and_temporality() -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    from watchkeeper.ingest.otlp import decode_otlp_metrics

    req = ExportMetricsServiceRequest()
    metrics = req.resource_metrics.add().scope_metrics.add().metrics
    m = metrics.add(name="lat")
    m.exponential_histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    dp = m.exponential_histogram.data_points.add(time_unix_nano=5_000_000_000, count=12, sum=-3.5, scale=10,
                                                 zero_count=1, zero_threshold=1e-9)
    # Scale 10 -> schema 8: four OTLP buckets per Prometheus bucket; OTLP k -> ((k >> 2) + 1).
    dp.positive.offset, dp.positive.bucket_counts[:] = -3, [1, 2, 0, 0, 0, 3]  # k = -3, -2, 2
    dp.negative.offset, dp.negative.bucket_counts[:] = 7, [5]
    small = metrics.add(name="bad")
    small.exponential_histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    small.exponential_histogram.data_points.add(count=1, scale=-5, zero_count=1)
    delta = metrics.add(name="delta")
    delta.exponential_histogram.aggregation_temporality = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA
    delta.exponential_histogram.data_points.add(count=1, zero_count=1)
    warnings: list[str] = []
    batch = decode_otlp_metrics(req.SerializeToString(), "application/x-protobuf", warnings=warnings)
    assert len(warnings) == 2 and "scale must be >= -4" in warnings[0] and "temporality" in warnings[1]
    got = samples_of(batch)
    assert got == {"lat": [(5000, norm({"schema": 8, "count": 12, "sum": -3.5, "zc": 1, "zt": 1e-9,
                                         "pos": [(0, 3), (1, 3)], "neg": [(2, 5)]}))]}


# ---- a real Prometheus scraping native histograms (protobuf) and remote-writing them -------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.peer
@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus binary not installed")
def test_real_prometheus_scrapes_and_sends_native_histograms(tmp_path) -> None:
    """Prometheus 2.42 (native-histograms feature) scrapes the protobuf exposition built here and
    remote-writes what it ingested: its histograms must be what our own protobuf parser reads from
    the same body, and what our remote-write decoder reads from Prometheus' request."""
    body = exposition(float_gauge=False)
    received: list[tuple[dict[str, str], bytes]] = []

    class Target(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", PROTO_CTYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    class Receiver(Target):
        def do_POST(self) -> None:  # noqa: N802
            received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

    target, receiver = _serve(Target), _serve(Receiver)
    prom_port = _free_port()
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ['127.0.0.1:{target.server_address[1]}']}}]
remote_write:
  - url: http://127.0.0.1:{receiver.server_address[1]}/api/v1/write
    send_native_histograms: true
    queue_config: {{batch_send_deadline: 1s}}
""")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{prom_port}",
         "--enable-feature=native-histograms"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    sent: dict[str, dict] = {}
    floats: set[str] = set()
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(sent) < 2:
            time.sleep(0.5)
            for headers, req in list(received):
                batch = decode_remote_write(req, content_type=headers.get("Content-Type"),
                                            content_encoding=headers.get("Content-Encoding"))
                for i in range(len(batch)):
                    lb = batch.labels[int(batch.series[i])]
                    if lb.get("job") != "app":
                        continue
                    key = str(lb.without("instance", "job"))
                    if batch.h_index is not None and batch.h_index[i] >= 0:
                        sent[key] = hrow(batch.h, int(batch.h_index[i]))
                    else:
                        floats.add(lb.name)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for s in (target, receiver):
            s.shutdown()
            s.server_close()
    ours = parsed_samples(parse_protobuf(body, native_histograms=True))

    def comparable(d: dict) -> dict:
        # The reset hint is Prometheus' to set on ingestion; empty buckets may be dropped.
        return {**d, "hint": None, "pos": [b for b in d["pos"] if b[1]], "neg": [b for b in d["neg"] if b[1]]}

    assert {k: comparable(v) for k, v in sent.items()} == {
        'rpc_seconds{method="a"}': comparable(ours['rpc_seconds{method="a"}']),
        'rpc_seconds{method="b"}': comparable(ours['rpc_seconds{method="b"}']),
    }
    # The classic-only histogram and the counter arrive as float series.
    assert {"classic_seconds_bucket", "classic_seconds_count", "jobs_total", "up"} <= floats
    assert "rpc_seconds_bucket" not in floats
