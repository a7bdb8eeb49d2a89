"""Prometheus remote-write decoding: 1.0 ``prometheus.WriteRequest``, 2.0 ``io.prometheus.write.v2.Request``.

Decoded by hand rather than with generated protobuf classes: a parsed message hands out one
Python object per sample, which caps throughput far below what a receiver needs. Here a
Python loop walks only the per-series structure (labels, where the samples start), and all
samples of the request are then decoded together with numpy: each ``Sample`` is a tiny
message (``09 <double>`` then ``10 <varint>``), so once its position and length are known
its value and timestamp are fixed-offset gathers. Series whose samples all have the same
encoded length (the usual case) are located without touching each sample from Python;
anything unusual (zero fields omitted, unknown fields, odd ordering) falls back to walking
and, where needed, to a plain per-sample decoder, so every valid encoding is accepted.

Label sets are cached across requests by their encoded bytes (``RemoteWriteDecoder``), as a
remote-write sender sends the same series again and again.

Measured (2 cores, shared, CPU seconds): 2,000 series x 500 samples per body decode at
3.7-5 M samples/s; Prometheus-shaped bodies (500 series x 1 sample) at ~0.23 M samples/s
with a warm label cache. Prometheus 2.42's own receiver (decode plus TSDB append) took
0.96 M and 0.18 M samples per CPU second on the same bodies.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import cramjam
import numpy as np

from ..exposition.protoparse import HistogramInvalid, NativeHistograms
from ..model.batch import SampleBatch
from ..model.labels import METRIC_NAME, Labels
from .errors import IngestError
from .labels_check import check_label_pairs
from .wire import read_key, read_len, read_uvarint, skip_field, unpack_double

__all__ = [
    "PROTO_V1",
    "PROTO_V2",
    "RemoteWriteDecoder",
    "decode_remote_write",
    "negotiate_remote_write",
]

PROTO_V1 = "prometheus.WriteRequest"
PROTO_V2 = "io.prometheus.write.v2.Request"

DEFAULT_MAX_DECODED_BYTES = 256 << 20
# Walks one TimeSeries (buf, start, end, ordinal, request, explicit) into the request.
_SeriesFn = Callable[[bytes, int, int, int, "_Request", bool], None]
_second = operator.itemgetter(1)
_PAD = 16  # zero bytes after the body so vectorized gathers never index past the end
_INT64_WRAP = 1 << 64
_INT64_SIGN = 1 << 63


def negotiate_remote_write(content_type: str | None, content_encoding: str | None) -> str:
    """Return the protobuf message name a request carries, or raise ``IngestError(415)``.

    As the remote-write 2.0 spec says: a missing content type, or ``application/x-protobuf``
    without a ``proto`` parameter, means 1.0; a missing content encoding means snappy.
    """
    if content_encoding and content_encoding.strip().lower() != "snappy":
        raise IngestError(
            415, f"unsupported Content-Encoding {content_encoding!r}: remote write bodies must be 'snappy'"
        )
    if not content_type or not content_type.strip():
        return PROTO_V1
    parts = [p.strip() for p in content_type.split(";")]
    if parts[0].lower() != "application/x-protobuf":
        raise IngestError(
            415, f"unsupported Content-Type {content_type!r}: remote write expects application/x-protobuf"
        )
    proto = PROTO_V1
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "proto":
            proto = value.strip().strip('"')
    if proto not in (PROTO_V1, PROTO_V2):
        raise IngestError(
            415, f"unsupported remote write protobuf message {proto!r}: expected {PROTO_V1} or {PROTO_V2}"
        )
    return proto


class _Request:
    """Accumulates one request: series, where their samples are, and decoded stragglers."""

    def __init__(self) -> None:
        self.labels: list[Labels] = []
        self.index: dict[Labels, int] = {}
        # Uniform runs: samples at pos + k*(L+2) for k < count, of series `series`.
        self.run_pos: list[int] = []
        self.run_len: list[int] = []
        self.run_count: list[int] = []
        self.run_series: list[int] = []
        self.run_span: list[tuple[int, int, int]] = []  # (start, end, ordinal) of the TimeSeries
        # Individually located samples.
        self.ex_pos: list[int] = []
        self.ex_series: list[int] = []
        # Samples decoded in Python: (position, series, t, v).
        self.slow: list[tuple[int, int, int, float]] = []
        # Native histograms (decoded in Python: they are few and each is a structure).
        self.hists = NativeHistograms()
        self.hist_pos: list[int] = []
        self.hist_series: list[int] = []
        self.hist_t: list[int] = []
        self.hist_ordinal: list[int] = []  # timeseries of each histogram, for error messages

    def add(
        self,
        labels: Labels,
        run: tuple[int, int, int] | None,
        ex_pos: list[int],
        slow: list[tuple[int, int, float]],
        span: tuple[int, int, int],
    ) -> int:
        """Record one TimeSeries: its labels and where its samples are; returns its series index."""
        idx = self.index.get(labels)
        if idx is None:
            idx = self.index[labels] = len(self.labels)
            self.labels.append(labels)
        if run is not None:
            self.run_pos.append(run[0])
            self.run_len.append(run[1])
            self.run_count.append(run[2])
            self.run_series.append(idx)
            self.run_span.append(span)
        if ex_pos:
            self.ex_pos += ex_pos
            self.ex_series += [idx] * len(ex_pos)
        for p, t, v in slow:
            self.slow.append((p, idx, t, v))
        return idx

    def add_histograms(self, idx: int, found: list[tuple[int, int]]) -> None:
        """Record the histogram samples ``found`` ((position, t), in the order their histograms
        were added to ``hists``) of series ``idx``."""
        for p, t in found:
            self.hist_pos.append(p)
            self.hist_t.append(t)
            self.hist_series.append(idx)


def _sample_slow(buf: bytes, q: int, e: int) -> tuple[int, float]:
    """Decode one ``Sample`` payload field by field (any order, unknown fields skipped)."""
    t = 0
    v = 0.0
    while q < e:
        field, wire, q = read_key(buf, q, e, "sample")
        if field == 1:
            if wire != 1:
                raise IngestError(400, f"invalid sample at byte {q}: value has wire type {wire}, want 1")
            if q + 8 > e:
                raise IngestError(400, f"truncated body: sample value at byte {q} runs past its message")
            v = unpack_double(buf, q)[0]
            q += 8
        elif field == 2:
            if wire != 0:
                raise IngestError(400, f"invalid sample at byte {q}: timestamp has wire type {wire}, want 0")
            t, q = read_uvarint(buf, q, e, "sample timestamp")
            if t >= _INT64_SIGN:
                t -= _INT64_WRAP
        else:
            q = skip_field(buf, q, e, wire, "sample")
    return t, v


def _unaligned(a: np.ndarray, dtype: str) -> np.ndarray:
    """A view of ``a`` where element ``i`` is the 8-byte ``dtype`` starting at byte ``i``."""
    return np.ndarray(shape=(a.shape[0] - 7,), dtype=dtype, buffer=a, offset=0, strides=(1,))


def _decode_at(a: np.ndarray, q: np.ndarray, ln: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode samples whose message starts at ``q`` with payload length ``ln`` (both int64).

    Returns (t, v, slow): ``slow`` marks samples not in one of the canonical layouts
    (value then timestamp, either omitted when zero); they must be decoded with ``_sample_slow``.
    """
    n = q.shape[0]
    t = np.zeros(n, np.int64)
    c0 = a[q + 2]
    has_v = c0 == 0x09
    vt = has_v & (ln >= 11) & (ln <= 20) & (a[q + 11] == 0x10)
    v_only = has_v & (ln == 9)
    t_only = (c0 == 0x10) & (ln >= 2) & (ln <= 11)
    slow = ~(vt | v_only | t_only)
    vm = vt | v_only
    if vm.all():
        v = _unaligned(a, "<f8")[q + 3]
    else:
        v = np.zeros(n, np.float64)
        idx = np.flatnonzero(vm)
        v[idx] = _unaligned(a, "<f8")[q[idx] + 3]
    tm = vt | t_only
    if not tm.any():
        return t, v, slow
    start = np.where(vt, q + 12, q + 3)
    k = np.where(vt, ln - 10, ln - 1)
    k[~tm] = 0
    words = _unaligned(a, "<u8")
    for kk in np.unique(k).tolist():
        if kk == 0:
            continue
        idx = np.flatnonzero(k == kk) if kk != k[0] or not (k == kk).all() else None
        pos = start if idx is None else start[idx]
        if kk <= 8:
            w = words[pos]
            cont = np.uint64(int.from_bytes(b"\x80" * (kk - 1), "little"))
            ok = (w & cont) == cont
            ok &= ((w >> np.uint64(8 * (kk - 1))) & np.uint64(0x80)) == 0
            val = w & np.uint64(0x7F)
            for j in range(1, kk):
                val |= ((w >> np.uint64(8 * j)) & np.uint64(0x7F)) << np.uint64(7 * j)
        else:
            b = a[pos[:, None] + np.arange(kk, dtype=np.int64)]
            ok = b[:, kk - 1] < (0x02 if kk == 10 else 0x80)
            ok &= (b[:, : kk - 1] >= 0x80).all(axis=1)
            shifts = np.arange(0, 7 * kk, 7, dtype=np.uint64)
            val = np.bitwise_or.reduce((b & 0x7F).astype(np.uint64) << shifts, axis=1)
        if idx is None:
            t = val.view(np.int64)
            slow |= ~ok
        else:
            t[idx] = val.view(np.int64)
            slow[idx[~ok]] = True
    return t, v, slow


def _walk_samples(
    buf: bytes,
    p: int,
    end: int,
    ordinal: int,
    explicit: bool,
    ex_pos: list[int],
    slow: list[tuple[int, int, float]],
) -> tuple[int, tuple[int, int, int] | None]:
    """Consume the samples field(s) at ``p``; return (next position, uniform run or None).

    Unless ``explicit``, if the rest of the series divides evenly into samples as long as the
    first, it is taken as one run (position, payload length, count) without touching each
    sample; ``_finish`` verifies the guess. Otherwise sample positions go to ``ex_pos`` and
    samples with multi-byte or zero lengths are decoded at once into ``slow``.
    """
    ln = buf[p + 1] if p + 1 < end else 0x80
    if not explicit and not ex_pos and 0 < ln < 0x80 and (end - p) % (ln + 2) == 0:
        return end, (p, ln, (end - p) // (ln + 2))
    while p + 1 < end and buf[p] == 0x12 and 0 < (ln := buf[p + 1]) < 0x80:
        ex_pos.append(p)
        p += ln + 2
    if p > end:
        raise IngestError(400, f"truncated body: a sample runs past the end of timeseries {ordinal}")
    if p < end and buf[p] == 0x12:
        e, q = read_len(buf, p + 1, end, "sample")
        slow.append((p, *_sample_slow(buf, q, e)))
        p = e
    return p, None


class RemoteWriteDecoder:
    """Decodes remote-write bodies; keeps a bounded cache of label sets between requests.

    One decoder serves many requests (not thread-safe: use one per worker).
    """

    def __init__(
        self,
        *,
        max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
        legacy_names: bool = False,
        series_cache_size: int = 100_000,
    ) -> None:
        self.max_decoded_bytes = max_decoded_bytes
        self.legacy_names = legacy_names
        self.series_cache_size = series_cache_size
        self._cache: dict[bytes, Labels] = {}  # encoded labels of a series -> Labels
        self._pairs: dict[bytes, tuple[str, str]] = {}  # encoded Label -> (name, value)

    def decode(
        self, body: bytes, *, content_type: str | None = None, content_encoding: str | None = None
    ) -> SampleBatch:
        """Decode a snappy-compressed remote-write body (1.0 or 2.0 by content type)."""
        proto = negotiate_remote_write(content_type, content_encoding)
        buf, arr = self._decompress(body)
        if proto == PROTO_V1:
            return self.decode_v1(buf, arr)
        return self.decode_v2(buf, arr)

    def _decompress(self, body: bytes) -> tuple[bytes, np.ndarray]:
        try:
            size = cramjam.snappy.decompress_raw_len(body)
        except Exception as err:  # cramjam raises its own error types
            raise IngestError(400, f"invalid snappy block: cannot read its length header: {err}") from None
        if size > self.max_decoded_bytes:
            raise IngestError(
                413, f"decoded body would be {size} bytes, above the limit of {self.max_decoded_bytes}"
            )
        try:
            buf = bytes(cramjam.snappy.decompress_raw(body))
        except Exception as err:
            raise IngestError(400, f"invalid snappy block (want snappy block format): {err}") from None
        arr = np.frombuffer(buf + bytes(_PAD), dtype=np.uint8)
        return buf, arr

    # ---- 1.0 -------------------------------------------------------------------------------

    def decode_v1(self, buf: bytes, arr: np.ndarray | None = None) -> SampleBatch:
        """Decode an uncompressed ``prometheus.WriteRequest``."""
        if arr is None:
            arr = np.frombuffer(buf + bytes(_PAD), dtype=np.uint8)
        req = _Request()
        n = len(buf)
        pos = 0
        ordinal = 0
        # The common shape (labels with 1-byte lengths, then equal-length samples to the end)
        # is handled inline here, without a call per series; anything else goes through
        # ``_series_v1``. The two must agree, which the round-trip tests check.
        cache_get = self._cache.get
        index = req.index
        run_pos, run_len, run_count = req.run_pos.append, req.run_len.append, req.run_count.append
        run_series, run_span = req.run_series.append, req.run_span.append
        while pos < n:
            if buf[pos] == 0x0A:
                if pos + 2 < n and buf[pos + 1] < 0x80:
                    start = pos + 2
                    end = start + buf[pos + 1]
                elif pos + 3 < n and buf[pos + 2] < 0x80:
                    start = pos + 3
                    end = start + (buf[pos + 1] & 0x7F) + (buf[pos + 2] << 7)
                else:
                    end, start = read_len(buf, pos + 1, n, "timeseries")
                if end > n:
                    end, start = read_len(buf, pos + 1, n, "timeseries")  # raises: truncated
                p = start
                while p + 1 < end and buf[p] == 0x0A and buf[p + 1] < 0x80:
                    p += buf[p + 1] + 2
                ln = buf[p + 1] if p + 1 < end else 0
                common = (
                    p > start and p < end and buf[p] == 0x12 and 0 < ln < 0x80 and (end - p) % (ln + 2) == 0
                )
                labels = cache_get(buf[start:p]) if common else None
                if labels is None and common:
                    # A new series of the common shape: decode its labels here too (its samples
                    # are verified in _finish like any run); a problem takes the full walk below.
                    try:
                        labels = self._labels_v1(buf, start, end, start, p, True, ordinal)
                    except IngestError:
                        labels = None
                if labels is not None:
                    idx = index.get(labels)
                    if idx is None:
                        idx = index[labels] = len(req.labels)
                        req.labels.append(labels)
                    run_pos(p)
                    run_len(ln)
                    run_count((end - p) // (ln + 2))
                    run_series(idx)
                    run_span((start, end, ordinal))
                else:
                    self._series_v1(buf, start, end, ordinal, req, False)
                ordinal += 1
                pos = end
            else:
                field, wire, pos = read_key(buf, pos, n, "write request")
                if field in (1, 3) and wire != 2:
                    raise IngestError(400, f"invalid write request: field {field} has wire type {wire}")
                pos = skip_field(buf, pos, n, wire, "write request")  # metadata (3) is not kept
        return self._finish(buf, arr, req, self._series_v1)

    def _series_v1(
        self, buf: bytes, start: int, end: int, ordinal: int, req: _Request, explicit: bool
    ) -> None:
        p = start
        lab_first = -1
        lab_end = -1
        contiguous = True
        run: tuple[int, int, int] | None = None
        ex_pos: list[int] = []
        slow: list[tuple[int, int, float]] = []
        hists: list[tuple[int, int]] = []
        while p < end:
            key = buf[p]
            if key == 0x0A:
                ln = buf[p + 1] if p + 1 < end else 0x80
                e = p + 2 + ln
                if ln >= 0x80 or e > end:
                    e = read_len(buf, p + 1, end, "label")[0]
                if lab_first < 0:
                    lab_first = p
                elif p != lab_end:
                    contiguous = False
                lab_end = p = e
            elif key == 0x12:
                # Histograms already decoded here must not be decoded again by a re-walk, which
                # a wrong run guess would cause: no guessing after a histogram.
                p, got = _walk_samples(buf, p, end, ordinal, explicit or run is not None or bool(hists),
                                       ex_pos, slow)
                run = run or got
            elif key == 0x1A:  # exemplar: accepted, not stored
                p = read_len(buf, p + 1, end, "exemplar")[0]
            elif key == 0x22:
                e, q = read_len(buf, p + 1, end, "histogram")
                hists.append((p, _histogram(buf, q, e, ordinal, req.hists)))
                req.hist_ordinal.append(ordinal)
                p = e
            else:
                field, wire, p = read_key(buf, p, end, "timeseries")
                if field in (1, 2, 3, 4) and wire != 2:
                    raise IngestError(400, f"invalid timeseries {ordinal}: field {field} wire type {wire}")
                p = skip_field(buf, p, end, wire, "timeseries")
        labels = self._labels_v1(buf, start, end, lab_first, lab_end, contiguous, ordinal)
        idx = req.add(labels, run, ex_pos, slow, (start, end, ordinal))
        if hists:
            req.add_histograms(idx, hists)

    def _labels_v1(
        self, buf: bytes, start: int, end: int, first: int, last: int, contiguous: bool, ordinal: int
    ) -> Labels:
        key = buf[first:last] if contiguous and first >= 0 else None
        if key is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        pairs: list[tuple[str, str]] = []
        pair_cache = self._pairs
        if contiguous and first >= 0:
            start, end = first, last  # labels only: do not walk the samples again
        p = start
        while p < end:
            if buf[p] == 0x0A and p + 1 < end and buf[p + 1] < 0x80:
                q = p + 2
                e = q + buf[p + 1]
                if e > end:
                    raise IngestError(400, f"truncated body: label at byte {q} runs past its timeseries")
                field = wire = 0
            else:
                field, wire, p = read_key(buf, p, end, "timeseries")
                if field == 1 and wire == 2:
                    e, q = read_len(buf, p, end, "label")
            if field == 0 or (field == 1 and wire == 2):
                raw = buf[q:e]
                pair = pair_cache.get(raw)
                if pair is None:
                    pair = _label_pair(buf, q, e)
                    if len(pair_cache) >= self.series_cache_size:
                        del pair_cache[next(iter(pair_cache))]
                    pair_cache[raw] = pair
                pairs.append(pair)
                p = e
            else:
                p = skip_field(buf, p, end, wire, "timeseries")
        labels = self._make_labels(pairs, ordinal)
        if key is not None:
            self._remember(key, labels)
        return labels

    # ---- 2.0 -------------------------------------------------------------------------------

    def decode_v2(self, buf: bytes, arr: np.ndarray | None = None) -> SampleBatch:
        """Decode an uncompressed ``io.prometheus.write.v2.Request``."""
        if arr is None:
            arr = np.frombuffer(buf + bytes(_PAD), dtype=np.uint8)
        n = len(buf)
        symbols: list[str] = []
        spans: list[tuple[int, int]] = []
        pos = 0
        while pos < n:
            field, wire, pos = read_key(buf, pos, n, "request")
            if field == 4 and wire == 2:
                e, q = read_len(buf, pos, n, "symbol")
                symbols.append(_utf8(buf[q:e], "symbol"))
                pos = e
            elif field == 5 and wire == 2:
                e, q = read_len(buf, pos, n, "timeseries")
                spans.append((q, e))
                pos = e
            else:
                pos = skip_field(buf, pos, n, wire, "request")
        if spans and (not symbols or symbols[0] != ""):
            raise IngestError(400, "invalid remote write 2.0 request: symbols[0] must be the empty string")
        req = _Request()

        def series(buf: bytes, start: int, end: int, ordinal: int, req: _Request, explicit: bool) -> None:
            self._series_v2(buf, start, end, ordinal, req, explicit, symbols)

        for ordinal, (q, e) in enumerate(spans):
            series(buf, q, e, ordinal, req, False)
        return self._finish(buf, arr, req, series)

    def _series_v2(
        self,
        buf: bytes,
        start: int,
        end: int,
        ordinal: int,
        req: _Request,
        explicit: bool,
        symbols: list[str],
    ) -> None:
        refs: list[int] = []
        run: tuple[int, int, int] | None = None
        ex_pos: list[int] = []
        slow: list[tuple[int, int, float]] = []
        hists: list[tuple[int, int]] = []
        p = start
        while p < end:
            key = buf[p]
            if key == 0x12:
                # Histograms already decoded here must not be decoded again by a re-walk, which
                # a wrong run guess would cause: no guessing after a histogram.
                p, got = _walk_samples(buf, p, end, ordinal, explicit or run is not None or bool(hists),
                                       ex_pos, slow)
                run = run or got
                continue
            field, wire, p = read_key(buf, p, end, "timeseries")
            if field == 1 and wire == 2:
                e, p = read_len(buf, p, end, "label refs")
                while p < e:
                    r, p = read_uvarint(buf, p, e, "label ref")
                    refs.append(r)
            elif field == 1 and wire == 0:
                r, p = read_uvarint(buf, p, end, "label ref")
                refs.append(r)
            elif field == 3 and wire == 2:
                e, q = read_len(buf, p, end, "histogram")
                hists.append((p, _histogram(buf, q, e, ordinal, req.hists)))
                req.hist_ordinal.append(ordinal)
                p = e
            else:
                p = skip_field(buf, p, end, wire, "timeseries")  # exemplars, metadata, created ts
        if len(refs) % 2:
            raise IngestError(400, f"invalid timeseries {ordinal}: odd number of label refs ({len(refs)})")
        nsym = len(symbols)
        if refs and max(refs) >= nsym:
            raise IngestError(
                400, f"invalid timeseries {ordinal}: label ref {max(refs)} outside symbols table of {nsym}"
            )
        pairs = [(symbols[refs[i]], symbols[refs[i + 1]]) for i in range(0, len(refs), 2)]
        idx = req.add(self._make_labels(pairs, ordinal), run, ex_pos, slow, (start, end, ordinal))
        if hists:
            req.add_histograms(idx, hists)

    # ---- shared ----------------------------------------------------------------------------

    def _make_labels(self, pairs: list[tuple[str, str]], ordinal: int) -> Labels:
        check_label_pairs(pairs, legacy_names=self.legacy_names, where=f"timeseries {ordinal}")
        if not dict(pairs).get(METRIC_NAME):
            raise IngestError(400, f"invalid timeseries {ordinal}: empty metric name ({_fmt(pairs)})")
        if "" in map(_second, pairs):
            return Labels.from_sorted(tuple(p for p in pairs if p[1]))
        return Labels.from_sorted(tuple(pairs))

    def _remember(self, key: bytes, labels: Labels) -> None:
        cache = self._cache
        if len(cache) >= self.series_cache_size:
            del cache[next(iter(cache))]  # drop the oldest entry
        cache[key] = labels

    def _finish(self, buf: bytes, arr: np.ndarray, req: _Request, series_fn: _SeriesFn) -> SampleBatch:
        """Locate and verify run samples, re-walk series whose run guess was wrong, decode all."""
        parts_q: list[np.ndarray] = []
        parts_len: list[np.ndarray] = []
        parts_series: list[np.ndarray] = []
        if req.run_pos:
            count = np.array(req.run_count, np.int64)
            ln = np.array(req.run_len, np.int64)
            first = np.cumsum(count) - count
            k = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first, count)
            q = np.repeat(np.array(req.run_pos, np.int64), count) + k * np.repeat(ln + 2, count)
            lnr = np.repeat(ln, count)
            ok = (arr[q] == 0x12) & (arr[q + 1] == lnr)
            if not ok.all():
                run_of = np.repeat(np.arange(count.shape[0]), count)
                bad_runs = np.unique(run_of[~ok]).tolist()
                keep = np.ones(count.shape[0], bool)
                keep[bad_runs] = False
                ok = np.repeat(keep, count)
                q, lnr = q[ok], lnr[ok]
                sr = np.repeat(np.array(req.run_series, np.int64), count)[ok]
                redo = _Request()
                redo.labels, redo.index = req.labels, req.index
                # Shared: histograms found by the re-walk (those a wrong guess skipped) land in req.
                redo.hists, redo.hist_pos, redo.hist_t = req.hists, req.hist_pos, req.hist_t
                redo.hist_series, redo.hist_ordinal = req.hist_series, req.hist_ordinal
                for r in bad_runs:
                    start, end, ordinal = req.run_span[r]
                    series_fn(buf, start, end, ordinal, redo, True)
                req.ex_pos += redo.ex_pos
                req.ex_series += redo.ex_series
                req.slow += redo.slow
            else:
                sr = np.repeat(np.array(req.run_series, np.int64), count)
            parts_q.append(q)
            parts_len.append(lnr)
            parts_series.append(sr)
        if req.ex_pos:
            ex_q = np.array(req.ex_pos, np.int64)
            parts_q.append(ex_q)
            parts_len.append(arr[ex_q + 1].astype(np.int64))
            parts_series.append(np.array(req.ex_series, np.int64))
        if parts_q:
            q = np.concatenate(parts_q) if len(parts_q) > 1 else parts_q[0]
            lnr = np.concatenate(parts_len) if len(parts_len) > 1 else parts_len[0]
            series = np.concatenate(parts_series) if len(parts_series) > 1 else parts_series[0]
            t, v, slow = _decode_at(arr, q, lnr)
            for i in np.flatnonzero(slow).tolist():
                p = int(q[i])
                t[i], v[i] = _sample_slow(buf, p + 2, p + 2 + int(lnr[i]))
        else:
            q = np.zeros(0, np.int64)
            series = np.zeros(0, np.int64)
            t = np.zeros(0, np.int64)
            v = np.zeros(0, np.float64)
        if req.slow:
            sp, ss, st, sv = zip(*req.slow, strict=True)
            q = np.concatenate([q, np.array(sp, np.int64)])
            series = np.concatenate([series, np.array(ss, np.int64)])
            t = np.concatenate([t, np.array(st, np.int64)])
            v = np.concatenate([v, np.array(sv, np.float64)])
        h = h_index = None
        if req.hist_pos:
            nh = len(req.hist_pos)
            h_index = np.concatenate([np.full(q.shape[0], -1, np.int64), np.arange(nh, dtype=np.int64)])
            q = np.concatenate([q, np.array(req.hist_pos, np.int64)])
            series = np.concatenate([series, np.array(req.hist_series, np.int64)])
            t = np.concatenate([t, np.array(req.hist_t, np.int64)])
            v = np.concatenate([v, np.full(nh, np.nan)])
            try:
                h = req.hists.batch()
            except HistogramInvalid as err:
                where = f" in timeseries {req.hist_ordinal[err.row]}" if err.row >= 0 else ""
                raise IngestError(400, f"invalid histogram{where}: {err}") from None
        if len(parts_q) + bool(req.slow) + bool(req.hist_pos) > 1:
            # Keep each series' samples in the order they were sent.
            order = np.argsort(q, kind="stable")
            series, t, v = series[order], t[order], v[order]
            if h_index is not None:
                h_index = h_index[order]
        labels = req.labels
        if series.shape[0] and len(labels) > 0:
            used = np.bincount(series, minlength=len(labels)) > 0
            if not used.all():  # series sent without samples (e.g. only exemplars): drop them
                remap = np.cumsum(used) - 1
                labels = [lb for lb, u in zip(labels, used.tolist(), strict=True) if u]
                series = remap[series]
        elif not series.shape[0]:
            labels = []
        return SampleBatch(labels, series, t, v, h, h_index)


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _repeated(buf: bytes, p: int, end: int, wire: int, double: bool, out: bytearray, what: str) -> int:
    """Append one repeated sint64 (varint) or double field entry at ``p`` to ``out`` as packed
    bytes, whether it was sent packed or not; returns the next position."""
    if wire == 2:
        e, q = read_len(buf, p, end, what)
        out += buf[q:e]
        return e
    if double and wire == 1:
        if p + 8 > end:
            raise IngestError(400, f"truncated body: {what} runs past its histogram")
        out += buf[p : p + 8]
        return p + 8
    if not double and wire == 0:
        q = read_uvarint(buf, p, end, what)[1]
        out += buf[p:q]
        return q
    raise IngestError(400, f"invalid histogram: {what} has wire type {wire}")


def _spans(buf: bytes, q: int, e: int, out: list[tuple[int, int]]) -> None:
    if e - q == 4 and buf[q] == 0x08 and buf[q + 2] == 0x10 and buf[q + 1] < 0x80 and buf[q + 3] < 0x80:
        out.append((_zigzag(buf[q + 1]), buf[q + 3]))  # the usual ``08 offset 10 length``
        return
    offset = length = 0
    while q < e:
        field, wire, q = read_key(buf, q, e, "bucket span")
        if field in (1, 2) and wire == 0:
            x, q = read_uvarint(buf, q, e, "bucket span")
            if field == 1:
                offset = _zigzag(x & 0xFFFFFFFF)
            else:
                length = x & 0xFFFFFFFF
        else:
            q = skip_field(buf, q, e, wire, "bucket span")
    out.append((offset, length))


def _histogram(buf: bytes, q: int, e: int, ordinal: int, into: NativeHistograms) -> int:
    """Decode one ``prometheus.Histogram`` (the same message in 1.0 and 2.0) into ``into``;
    returns its timestamp."""
    count = zero_count = total = threshold = 0.0
    is_float = False
    schema = hint = t = 0
    spans: dict[int, list[tuple[int, int]]] = {8: [], 11: []}
    buckets = {9: bytearray(), 10: bytearray(), 12: bytearray(), 13: bytearray(), 16: bytearray()}
    while q < e:
        key = buf[q]
        if key < 0x80:  # fields 1..15: one-byte keys, read inline (a request may hold many histograms)
            field, wire, q = key >> 3, key & 7, q + 1
            if field == 0:
                raise IngestError(400, f"invalid field number 0 in histogram at byte {q - 1}")
        else:
            field, wire, q = read_key(buf, q, e, "histogram")
        if field in (1, 6, 4, 14, 15) and wire == 0:
            if q < e and buf[q] < 0x80:
                x, q = buf[q], q + 1
            else:
                x, q = read_uvarint(buf, q, e, "histogram")
            if field == 1:
                count = float(x)
            elif field == 6:
                zero_count = float(x)
            elif field == 4:
                schema = _zigzag(x & 0xFFFFFFFF)
            elif field == 14:
                hint = x
            else:
                t = x - _INT64_WRAP if x >= _INT64_SIGN else x
        elif field in (2, 3, 5, 7) and wire == 1:
            if q + 8 > e:
                raise IngestError(400, f"truncated body: histogram field {field} runs past its message")
            x = unpack_double(buf, q)[0]
            q += 8
            if field == 2:
                count, is_float = x, True
            elif field == 3:
                total = x
            elif field == 5:
                threshold = x
            else:
                zero_count = x
        elif field in (8, 11) and wire == 2:
            if q < e and buf[q] < 0x80:
                sq = q + 1
                se = sq + buf[q]
                if se > e:
                    raise IngestError(400, f"truncated body: span at byte {sq} runs past its histogram")
            else:
                se, sq = read_len(buf, q, e, "bucket span")
            _spans(buf, sq, se, spans[field])
            q = se
        elif field in buckets:
            q = _repeated(buf, q, e, wire, field in (10, 13, 16), buckets[field], f"histogram field {field}")
        else:
            q = skip_field(buf, q, e, wire, "histogram")
    if hint > 3:
        raise IngestError(400, f"invalid histogram in timeseries {ordinal}: unknown reset hint {hint}")
    try:
        into.add(schema=schema, count=count, sum_=total, zero_count=zero_count, zero_threshold=threshold,
                 hint=hint, pos_spans=spans[11], pos=bytes(buckets[13] if is_float else buckets[12]),
                 neg_spans=spans[8], neg=bytes(buckets[10] if is_float else buckets[9]), deltas=not is_float,
                 custom=bytes(buckets[16]))
    except HistogramInvalid as err:
        raise IngestError(400, f"invalid histogram in timeseries {ordinal}: {err}") from None
    return t


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise IngestError(400, f"invalid UTF-8 in {what} {raw[:64]!r}: {err.reason}") from None


def _label_pair(buf: bytes, q: int, e: int) -> tuple[str, str]:
    """Decode a ``Label`` payload; the canonical ``0a n name 12 m value`` layout is read directly."""
    if q + 2 <= e and buf[q] == 0x0A and buf[q + 1] < 0x80:
        a = q + 2 + buf[q + 1]
        if a + 2 <= e and buf[a] == 0x12 and buf[a + 1] < 0x80 and a + 2 + buf[a + 1] == e:
            return _utf8(buf[q + 2 : a], "label name"), _utf8(buf[a + 2 : e], "label value")
    name = value = b""
    while q < e:
        field, wire, q = read_key(buf, q, e, "label")
        if field in (1, 2):
            if wire != 2:
                raise IngestError(400, f"invalid label at byte {q}: field {field} has wire type {wire}")
            ee, q = read_len(buf, q, e, "label")
            if field == 1:
                name = buf[q:ee]
            else:
                value = buf[q:ee]
            q = ee
        else:
            q = skip_field(buf, q, e, wire, "label")
    return _utf8(name, "label name"), _utf8(value, "label value")


def _fmt(pairs: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in pairs) + "}"


def decode_remote_write(
    body: bytes,
    *,
    content_type: str | None = None,
    content_encoding: str | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    legacy_names: bool = False,
) -> SampleBatch:
    """Decode one remote-write request body (1.0 or 2.0, chosen by ``content_type``).

    Raises ``IngestError`` (400 malformed/invalid, 413 too large, 415 wrong type/encoding).
    For many requests prefer one ``RemoteWriteDecoder``, which caches label sets.
    """
    decoder = RemoteWriteDecoder(max_decoded_bytes=max_decoded_bytes, legacy_names=legacy_names)
    return decoder.decode(body, content_type=content_type, content_encoding=content_encoding)
