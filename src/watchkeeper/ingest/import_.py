"""VictoriaMetrics-style ``/api/v1/import/prometheus``: exposition text lines with optional timestamps.

Each line is ``name{labels} value [timestamp_ms]``; ``#`` lines and blank lines are skipped,
samples may be of any age, and lines without a timestamp get ``default_ts_ms``.

This holds its own compact line parser because ingest may not import its sibling ``scrape``;
the scrape text parser (scrape/textparse.py) would be the one to share once it moves to a
lower layer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from ..model.batch import SampleBatch
from ..model.labels import METRIC_NAME, Labels
from .encoding import DEFAULT_MAX_DECODED_BYTES, decompress_body
from .errors import IngestError
from .labels_check import check_label_pairs

__all__ = ["decode_import"]

_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
# The usual label set (classic names, values without escapes) is checked and split by regexes
# at C speed; anything else goes through the character-level parser below.
_SIMPLE_SET = re.compile(r'(?:\s*[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*"[^"\\]*"\s*,)*'
                         r'(?:\s*[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*"[^"\\]*"\s*)?')
_SIMPLE_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"\\]*)"')


def _quoted(s: str, i: int, lineno: int) -> tuple[str, int]:
    """Read a double-quoted string starting at ``s[i] == '"'``; return (text, index after it)."""
    j = i + 1
    end = s.find('"', j)
    chunk = s[j:end] if end >= 0 else ""
    if end >= 0 and "\\" not in chunk:
        return chunk, end + 1
    out = []
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            if j + 1 >= n or s[j + 1] not in _ESCAPES:
                raise IngestError(400, f"line {lineno}: invalid escape in quoted string at column {j + 1}")
            out.append(_ESCAPES[s[j + 1]])
            j += 2
        elif c == '"':
            return "".join(out), j + 1
        else:
            out.append(c)
            j += 1
    raise IngestError(400, f"line {lineno}: unterminated quoted string")


def _parse_labels(body: str, lineno: int) -> tuple[str | None, list[tuple[str, str]]]:
    """Parse what is between ``{`` and ``}``: pairs, plus a quoted metric name if present."""
    pairs: list[tuple[str, str]] = []
    qname = None
    i, n = 0, len(body)
    while True:
        while i < n and body[i] in " \t":
            i += 1
        if i >= n:
            break
        if body[i] == '"':
            name, i = _quoted(body, i, lineno)
        else:
            eq = body.find("=", i)
            if eq < 0:
                raise IngestError(400, f"line {lineno}: expected label=\"value\" in {{{body}}}")
            name = body[i:eq].strip()
            i = eq
        while i < n and body[i] in " \t":
            i += 1
        if i >= n or body[i] == ",":  # a bare quoted string is the metric name
            if qname is not None or not name:
                raise IngestError(400, f"line {lineno}: unexpected {name!r} in label set")
            qname = name
        else:
            if body[i] != "=":
                raise IngestError(400, f"line {lineno}: expected '=' after label name {name!r}")
            i += 1
            while i < n and body[i] in " \t":
                i += 1
            if i >= n or body[i] != '"':
                raise IngestError(400, f"line {lineno}: label {name!r} value must be double-quoted")
            value, i = _quoted(body, i, lineno)
            pairs.append((name, value))
        while i < n and body[i] in " \t":
            i += 1
        if i < n:
            if body[i] != ",":
                raise IngestError(400, f"line {lineno}: expected ',' or '}}' at {body[i:i + 10]!r}")
            i += 1
    return qname, pairs


def _float(s: str, lineno: int) -> float:
    if "_" in s:
        raise IngestError(400, f"line {lineno}: invalid value {s!r}")
    try:
        return float(s)
    except ValueError:
        raise IngestError(400, f"line {lineno}: invalid value {s!r}") from None


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
    extra = dict(extra_labels or {})
    index: dict[str, int] = {}  # series key text -> position in `labels`
    by_labels: dict[Labels, int] = {}
    labels: list[Labels] = []
    series: list[int] = []
    ts: list[int] = []
    vals: list[float] = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        close = line.rfind("}")
        if close >= 0:
            key, rest = line[: close + 1], line[close + 1 :].split()
        else:
            parts = line.split()
            key, rest = parts[0], parts[1:]
        if not 1 <= len(rest) <= 2:
            raise IngestError(400, f"line {lineno}: expected 'metric value [timestamp]', got {line[:120]!r}")
        sidx = index.get(key)
        if sidx is None:
            sidx = index[key] = _series_index(key, lineno, extra, legacy_names, by_labels, labels)
        series.append(sidx)
        vals.append(_float(rest[0], lineno))
        if len(rest) == 2:
            t = rest[1]
            if "_" in t or not t.lstrip("+-").isdigit():
                raise IngestError(400, f"line {lineno}: invalid timestamp {t!r} (want integer milliseconds)")
            ts.append(int(t))
        else:
            ts.append(default_ts_ms)
    return SampleBatch(
        labels,
        np.array(series, dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.array(vals, dtype=np.float64),
    )


def _series_index(
    key: str,
    lineno: int,
    extra: dict[str, str],
    legacy_names: bool,
    by_labels: dict[Labels, int],
    labels: list[Labels],
) -> int:
    brace = key.find("{")
    if brace >= 0:
        if not key.endswith("}"):
            raise IngestError(400, f"line {lineno}: malformed label set in {key[:120]!r}")
        name = key[:brace].strip()
        inner = key[brace + 1 : -1]
        if _SIMPLE_SET.fullmatch(inner):
            qname, pairs = None, _SIMPLE_PAIR.findall(inner)
        else:
            qname, pairs = _parse_labels(inner, lineno)
        if qname is not None:
            if name:
                raise IngestError(400, f"line {lineno}: metric name given twice")
            name = qname
    else:
        name, pairs = key, []
    if not name:
        raise IngestError(400, f"line {lineno}: empty metric name")
    d = {METRIC_NAME: name}
    for k, v in pairs:
        if k in d:
            raise IngestError(400, f"line {lineno}: duplicate label {k!r}")
        d[k] = v
    d.update(extra)
    items = sorted(d.items())
    check_label_pairs(items, legacy_names=legacy_names, where=f"line {lineno}")
    lbls = Labels.from_sorted(tuple(p for p in items if p[1]))
    idx = by_labels.get(lbls)
    if idx is None:
        idx = by_labels[lbls] = len(labels)
        labels.append(lbls)
    return idx
