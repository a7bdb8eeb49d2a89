"""VictoriaMetrics-style ``/api/v1/import/prometheus``: exposition text lines with optional timestamps.

Each line is ``name{labels} value [timestamp_ms]`` in the Prometheus text format; ``#`` lines
are comments, samples may be of any age, and lines without a timestamp get ``default_ts_ms``.
Lines are parsed by the same parser as scrapes (``exposition.textparse``), so both accept and
reject exactly the same input, with Prometheus' messages.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..exposition.textparse import NO_TIMESTAMP, ParseError, parse_series_key, parse_text
from ..model.batch import SampleBatch
from ..model.labels import Labels
from .encoding import DEFAULT_MAX_DECODED_BYTES, decompress_body
from .errors import IngestError
from .labels_check import check_label_pairs

__all__ = ["decode_import"]


def decode_import(
    body: bytes,
    *,
    default_ts_ms: int,
    content_encoding: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    legacy_names: bool = False,
) -> SampleBatch:
    """Decode an import body into a batch; ``extra_labels`` override labels on every series.

    Raises ``IngestError`` (400 with the line number, 413 too large, 415 unknown encoding).
    """
    data = decompress_body(body, content_encoding, max_decoded_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise IngestError(400, f"body is not valid UTF-8 at byte {err.start}") from None
    try:
        parsed = parse_text(text)
    except ParseError as err:
        raise IngestError(400, f"line {err.line}: {err.reason}") from None
    extra = dict(extra_labels or {})
    by_labels: dict[Labels, int] = {}
    labels: list[Labels] = []
    # One label parse per distinct series key, not per line.
    key_index: dict[str, int] = {}
    series = np.empty(len(parsed.keys), dtype=np.int64)
    for i, key in enumerate(parsed.keys):
        idx = key_index.get(key)
        if idx is None:
            line = parsed.line_of(i)
            idx = key_index[key] = _series_index(key, line, extra, legacy_names, by_labels, labels)
        series[i] = idx
    ts = np.where(parsed.timestamps == NO_TIMESTAMP, np.int64(default_ts_ms), parsed.timestamps)
    return SampleBatch(labels, series, ts.astype(np.int64), parsed.values.astype(np.float64))


def _series_index(
    key: str,
    lineno: int,
    extra: dict[str, str],
    legacy_names: bool,
    by_labels: dict[Labels, int],
    labels: list[Labels],
) -> int:
    try:
        pairs = parse_series_key(key, lineno)
    except ParseError as err:
        raise IngestError(400, f"line {lineno}: {err.reason}") from None
    d: dict[str, str] = {}
    for k, v in pairs:
        if k in d:
            raise IngestError(400, f"line {lineno}: duplicate label {k!r}")
        d[k] = v
    if not d.get("__name__"):
        raise IngestError(400, f"line {lineno}: empty metric name")
    d.update(extra)
    items = sorted(d.items())
    check_label_pairs(items, legacy_names=legacy_names, where=f"line {lineno}")
    lbls = Labels.from_sorted(tuple(p for p in items if p[1]))
    idx = by_labels.get(lbls)
    if idx is None:
        idx = by_labels[lbls] = len(labels)
        labels.append(lbls)
    return idx
