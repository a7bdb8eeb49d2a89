"""Parsers for the Prometheus text format (0.0.4) and OpenMetrics 1.0 text.

The output is columnar: one raw *series key* per sample (the line text up to the
value, e.g. ``http_requests_total{code="200"}``), a float64 value array and an
int64 timestamp array (``NO_TIMESTAMP`` where the line had none), plus metadata
per metric family. Label parsing is deferred to ``parse_series_key`` so that a
scrape loop can look each key up in its ref cache first and parse labels only
for series it has not seen before, as Prometheus does.

The line loop avoids regexes: the common ``name{labels} value`` line is split
with ``str.find``/``str.split`` (C speed); only lines with backslashes or unusual
spacing take the character-level slow path.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "NO_TIMESTAMP",
    "ParseError",
    "MetricMeta",
    "ParsedScrape",
    "TEXT_FORMAT",
    "OPENMETRICS_FORMAT",
    "PROTOBUF_FORMAT",
    "parse",
    "parse_text",
    "parse_openmetrics",
    "parse_series_key",
    "normalize_float_labels",
    "format_openmetrics_float",
    "format_for_content_type",
]

NO_TIMESTAMP = np.iinfo(np.int64).min
TEXT_FORMAT = "text/plain"
OPENMETRICS_FORMAT = "application/openmetrics-text"
PROTOBUF_FORMAT = "application/vnd.google.protobuf"  # parsed by protoparse

_TEXT_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
_OM_TYPES = {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}


class ParseError(ValueError):
    """The exposition could not be parsed.

    ``str()`` is Prometheus' own message for the problem (it becomes the target's
    ``lastError``); ``line`` is the 1-based line it was found on (0 when unknown).
    """

    def __init__(self, reason: str, line: int = 0) -> None:
        self.reason = reason
        self.line = line
        super().__init__(reason)


@dataclass
class MetricMeta:
    """What ``# TYPE``/``# HELP``/``# UNIT`` said about one metric family."""

    type: str = "unknown"
    help: str = ""
    unit: str = ""


@dataclass
class ParsedScrape:
    """Columnar result of parsing one scrape body."""

    keys: list[str]
    values: np.ndarray  # float64 (n,)
    timestamps: np.ndarray  # int64 (n,), NO_TIMESTAMP when absent
    source: str = ""  # the parsed text, kept so error paths can find line numbers
    metadata: dict[str, MetricMeta] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def line_of(self, i: int) -> int:
        """1-based line number of sample ``i`` (computed on demand: used for error messages only)."""
        return _sample_line(self.source, i)


_LABEL_NAME_EXPECTED = 'expected label name, got "INVALID"'


def _check_metric_name(name: str, lineno: int) -> None:
    """Reject a bare metric name the way Prometheus' lexer does."""
    if _is_legacy_metric_name(name):
        return
    first = name[:1]
    if not (first.isascii() and (first.isalpha() or first in "_:")):
        raise ParseError('"INVALID" is not a valid start token', lineno)
    raise ParseError('expected value after metric, got "INVALID"', lineno)


def _is_legacy_metric_name(s: str) -> bool:
    if not s or not (s[0].isascii() and (s[0].isalpha() or s[0] in "_:")):
        return False
    return s.isascii() and s.replace("_", "a").replace(":", "a").isalnum()


def _is_legacy_label_name(s: str) -> bool:
    if not s or not (s[0].isascii() and (s[0].isalpha() or s[0] == "_")):
        return False
    return s.isascii() and s.replace("_", "a").isalnum()


def _parse_float(s: str, lineno: int) -> float:
    """Parse like Go's strconv.ParseFloat: Python's float() minus digit separators."""
    if "_" in s or "p" in s or "P" in s:  # Prometheus keeps to pre-Go-1.13 float syntax
        raise ParseError("unsupported character in float", lineno)
    try:
        if not s.isascii():
            raise ValueError(s)
        return float(s)
    except ValueError:
        raise ParseError(f'strconv.ParseFloat: parsing "{s}": invalid syntax', lineno) from None


def _parse_text_ts(s: str, lineno: int) -> int:
    digits = s[1:] if s[:1] == "-" else s
    if not (digits.isascii() and digits.isdigit()):
        raise ParseError(_NEXT_AFTER_TS + ' got "INVALID"', lineno)
    v = int(s)
    if not -(1 << 63) <= v < 1 << 63:
        raise ParseError(f'strconv.ParseInt: parsing "{s}": value out of range', lineno)
    return v


_NEXT_AFTER_TS = "expected next entry after timestamp,"


def _token(word: str) -> str:
    """The name Prometheus' lexer gives an unexpected word: a number lexes as a timestamp."""
    return '"TIMESTAMP"' if word.isascii() and word.lstrip("-").isdigit() else '"INVALID"'


def _parse_om_ts(s: str, lineno: int) -> int:
    ts = _parse_float(s, lineno)
    if math.isnan(ts) or math.isinf(ts):
        raise ParseError(f"invalid timestamp {s}", lineno)
    return int(ts * 1000)


def _unescape(s: str, help_text: bool = False) -> str:
    """Undo ``\\\\``, ``\\"`` (label values only) and ``\\n``; other escapes stay as written."""
    if "\\" not in s:
        return s
    out = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            d = s[i + 1]
            if d == "\\":
                out.append("\\")
                i += 2
                continue
            if d == "n":
                out.append("\n")
                i += 2
                continue
            if d == '"' and not help_text:
                out.append('"')
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _quoted_end(s: str, start: int) -> int:
    """Index of the closing quote of the string whose opening quote is at ``start``, or -1."""
    j = start
    while True:
        j = s.find('"', j + 1)
        if j < 0:
            return -1
        k = j - 1
        while s[k] == "\\":
            k -= 1
        if (j - 1 - k) % 2 == 0:
            return j


def _labels_end(line: str, b: int) -> int:
    """Index of the ``}`` closing the label block that opens at ``line[b]`` (-1 if none)."""
    if "\\" not in line:
        e = line.find("}", b)
        while e >= 0 and line.count('"', b, e) % 2:
            e = line.find("}", e + 1)
        return e
    i, n = b + 1, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            j = _quoted_end(line, i)
            if j < 0:
                return -1
            i = j + 1
            continue
        if c == "}":
            return i
        i += 1
    return -1


def _simple_pairs(key: str, b: int) -> list[tuple[str, str]] | None:
    """Labels of the canonical ``{a="x",b="y"}`` spelling (no escapes, no spaces, unquoted names).

    Returns None for anything else, which the general parser then handles (and rejects
    with Prometheus' message if it is wrong).
    """
    out: list[tuple[str, str]] = []
    pos, end = b + 1, len(key) - 1
    seen: set[str] = set()
    while pos < end:
        eq = key.find('="', pos, end)
        if eq < 0:
            return None
        lname = key[pos:eq]
        close = key.find('"', eq + 2, end + 1)
        if close < 0 or not _is_legacy_label_name(lname) or lname in seen or lname == "__name__":
            return None
        seen.add(lname)
        out.append((lname, key[eq + 2 : close]))
        pos = close + 1
        if pos < end:
            if key[pos] != ",":
                return None
            pos += 1
    return out


def parse_series_key(key: str, lineno: int = 0) -> list[tuple[str, str]]:
    """Parse a series key into (name, value) pairs, ``__name__`` first.

    Accepts ``name``, ``name{a="b",}`` and the UTF-8 form ``{"name", "a.b"="c"}``.
    Raises ParseError for anything Prometheus would reject.
    """
    key = key.strip(" \t")
    b = key.find("{")
    pairs: list[tuple[str, str]] = []
    if b < 0:
        _check_metric_name(key, lineno)
        return [("__name__", key)]
    name = key[:b].rstrip(" \t")
    if name and "\\" not in key and key[-1] == "}":
        fast = _simple_pairs(key, b)
        if fast is not None:
            _check_metric_name(name, lineno)
            return [("__name__", name), *fast]
    if name:
        _check_metric_name(name, lineno)
        pairs.append(("__name__", name))
    i, n = b + 1, len(key)
    seen: set[str] = set()
    first = True
    while True:
        while i < n and key[i] in " \t":
            i += 1
        if i >= n:
            raise ParseError(_LABEL_NAME_EXPECTED, lineno)
        if key[i] == "}":
            i += 1
            break
        if key[i] == '"':
            j = _quoted_end(key, i)
            if j < 0:
                raise ParseError(_LABEL_NAME_EXPECTED, lineno)
            lname = _unescape(key[i + 1 : j])
            i = j + 1
            while i < n and key[i] in " \t":
                i += 1
            if first and not name and i < n and key[i] in ",}":
                # {"metric.name", ...}: a bare quoted string first is the metric name.
                if not lname:
                    raise ParseError("empty metric name", lineno)
                pairs.insert(0, ("__name__", lname))
                name = lname
                first = False
                if key[i] == ",":
                    i += 1
                continue
        else:
            j = i
            while j < n and (key[j].isalnum() or key[j] == "_") and key[j].isascii():
                j += 1
            lname = key[i:j]
            if not _is_legacy_label_name(lname):
                raise ParseError(_LABEL_NAME_EXPECTED, lineno)
            i = j
            while i < n and key[i] in " \t":
                i += 1
        first = False
        if i >= n or key[i] != "=":
            raise ParseError('expected equal, got "INVALID"', lineno)
        i += 1
        while i < n and key[i] in " \t":
            i += 1
        if i >= n or key[i] != '"':
            raise ParseError('expected label value, got "INVALID"', lineno)
        j = _quoted_end(key, i)
        if j < 0:
            raise ParseError('expected label value, got "INVALID"', lineno)
        if lname in seen or (lname == "__name__" and name):
            raise ParseError(f'label name "{lname}" is not unique: invalid sample', lineno)
        seen.add(lname)
        pairs.append((lname, _unescape(key[i + 1 : j])))
        i = j + 1
        while i < n and key[i] in " \t":
            i += 1
        if i < n and key[i] == ",":
            i += 1
        elif i < n and key[i] == "}":
            i += 1
            break
        else:
            raise ParseError(_LABEL_NAME_EXPECTED, lineno)
    if key[i:].strip(" \t"):
        raise ParseError('expected value after metric, got "INVALID"', lineno)
    if not name:
        raise ParseError('"BOPEN" is not a valid start token', lineno)
    return pairs


def format_openmetrics_float(f: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'g', -1, 64)`` plus ``.0`` when it has neither ``.`` nor ``e``.

    Prometheus 3 writes ``le``/``quantile`` label values this way (``1`` -> ``1.0``).
    """
    if f == 1:
        return "1.0"
    if f == 0:
        return "0.0"
    if f == -1:
        return "-1.0"
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    r = repr(abs(f))
    mant, _, e = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    dp = len(ip) + (int(e) if e else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    sign = "-" if f < 0 else ""
    x = dp - 1
    if x < -4 or x >= 6:  # shortest formatting: Go decides %e vs %f with precision 6
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        out = f"{m}e{'-' if x < 0 else '+'}{abs(x):02d}"
    elif dp <= 0:
        out = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        out = digits + "0" * (dp - len(digits))
    else:
        out = digits[:dp] + "." + digits[dp:]
    if "." not in out and "e" not in out:
        out += ".0"
    return sign + out


def normalize_float_labels(
    pairs: list[tuple[str, str]], metadata: dict[str, MetricMeta]
) -> list[tuple[str, str]]:
    """Write ``le`` of histograms and ``quantile`` of summaries in OpenMetrics float form (Prometheus 3)."""
    for i, (k, v) in enumerate(pairs):
        if k != "le" and k != "quantile":
            continue
        name = pairs[0][1]
        if k == "le":
            fam = metadata.get(name[:-7]) if name.endswith("_bucket") else None
            wanted = "histogram"
        else:
            fam = metadata.get(name)
            wanted = "summary"
        if fam is None or fam.type != wanted:
            continue
        try:
            f = _parse_float(v, 0)
        except ParseError:
            continue
        pairs[i] = (k, format_openmetrics_float(f))
    return pairs


def _split_sample(line: str, lineno: int) -> tuple[str, list[str]]:
    """Split a sample line into its series key and the whitespace-separated rest."""
    b = line.find("{")
    if b < 0:
        parts = line.split()
        if not parts:
            raise ParseError('"INVALID" is not a valid start token', lineno)
        return parts[0], parts[1:]
    sp = line.find(" ", 0, b)
    if sp >= 0 and line[sp:b].strip(" \t"):
        # ``name value # {exemplar}`` — the brace belongs to an exemplar, not the series.
        parts = line.split()
        return parts[0], parts[1:]
    e = _labels_end(line, b)
    if e < 0:
        raise ParseError(_LABEL_NAME_EXPECTED, lineno)
    return line[: e + 1], line[e + 1 :].split()


def _text_comment(line: str, lineno: int, meta: dict[str, MetricMeta]) -> None:
    """Record ``# TYPE``/``# HELP``; every other comment is ignored in the text format."""
    parts = line[1:].lstrip(" \t").split(None, 2)
    if len(parts) < 2 or parts[0] not in ("TYPE", "HELP"):
        return
    fam = parts[1]
    m = meta.get(fam)
    if m is None:
        m = meta[fam] = MetricMeta()
    if parts[0] == "TYPE":
        typ = parts[2].strip() if len(parts) > 2 else ""
        if typ not in _TEXT_TYPES:
            raise ParseError(f'invalid metric type "{typ}"', lineno)
        m.type = "unknown" if typ == "untyped" else typ
    else:
        m.help = _unescape(parts[2], help_text=True) if len(parts) > 2 else ""


def _comment_line(line: str, lineno: int, meta: dict[str, MetricMeta]) -> None:
    """Apply one text-format comment line (first character ``#``) to ``meta``."""
    # Fast path for the canonical "# HELP name text" / "# TYPE name type" spelling.
    tag = line[:7]
    if tag == "# HELP " or tag == "# TYPE ":
        fam, _, arg = line[7:].partition(" ")
        if fam:
            m = meta.get(fam)
            if m is None:
                m = meta[fam] = MetricMeta()
            if tag == "# HELP ":
                m.help = _unescape(arg, help_text=True)
            else:
                typ = arg.strip()
                if typ not in _TEXT_TYPES:
                    raise ParseError(f'invalid metric type "{typ}"', lineno)
                m.type = "unknown" if typ == "untyped" else typ
            return
    _text_comment(line, lineno, meta)


# Characters of a metric name and of a value token (deleted by bytes.translate to check a run).
_NAME_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:"
_VALUE_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-"

# Metadata of recently seen comment blocks, keyed by the comment lines' text: targets expose
# the same HELP/TYPE lines scrape after scrape, and often across targets of a job.
_META_CACHE: dict[bytes, dict[str, MetricMeta]] = {}
_META_CACHE_SIZE = 256


def _next_at(positions: np.ndarray, frm: np.ndarray, size: int) -> np.ndarray:
    """For each ``frm``, the first of the sorted ``positions`` at or after it (``size`` if none)."""
    return np.concatenate((positions, [size]))[np.searchsorted(positions, frm)]


def _parse_text_bulk(text: str) -> ParsedScrape | None:
    """``parse_text`` for the common shape of a body, with numpy over its bytes; None otherwise.

    Handles ASCII bodies whose sample lines are ``key value`` with one space, where the key
    is a bare metric name or ends with the ``}`` the line loop would end it at, and the value
    is made of number characters. Any other body (timestamps, odd spacing, non-ASCII, a bad
    comment) returns None and takes the line loop, which also produces every error message.
    """
    if not text.isascii():
        return None
    raw = text.encode("ascii")
    buf = np.frombuffer(raw, np.uint8)
    size = buf.shape[0]
    nl = np.flatnonzero(buf == 10)
    all_starts = np.concatenate(([0], nl + 1))
    all_ends = np.concatenate((nl, [size]))
    nonempty = all_ends > all_starts
    starts, ends = all_starts[nonempty], all_ends[nonempty]
    first = buf[starts]
    if ((first == 32) | (first == 9)).any():  # indented lines take the line loop
        return None
    is_comment = first == 35
    s_start, s_end = starts[~is_comment], ends[~is_comment]
    # The value is the token after the line's last space.
    spaces = np.flatnonzero(buf == 32)
    sp = np.concatenate(([-1], spaces))[np.searchsorted(spaces, s_end)]
    ok = (sp > s_start) & (sp + 1 < s_end)
    quotes = np.flatnonzero(buf == 34)
    q = np.concatenate(([-1], quotes))[np.searchsorted(quotes, sp)]  # the last quote before sp
    # Braced key: no "}" between the last quote and the one closing the key (the line loop's
    # end of key). Bare key: name characters only (checked below; then the line has no brace).
    braced = buf[np.maximum(sp - 1, 0)] == 125
    ok &= ~braced | (_next_at(np.flatnonzero(buf == 125), np.maximum(q, s_start), size) == sp - 1)
    if not ok.all():
        return None
    a_s, sp_l, e_s = s_start.tolist(), sp.tolist(), s_end.tolist()
    keys = [text[a:b] for a, b in zip(a_s, sp_l, strict=True)]
    vstrs = [text[a + 1 : b] for a, b in zip(sp_l, e_s, strict=True)]
    if "".join(vstrs).encode().translate(None, _VALUE_CHARS):
        return None
    bare = "".join(itertools.compress(keys, (~braced).tolist()))
    if bare.encode().translate(None, _NAME_CHARS):
        return None
    c_start, c_end = starts[is_comment], ends[is_comment]
    # The comment lines with their newlines: the key tells the line sequence apart.
    line_is_comment = np.zeros(all_starts.shape[0], bool)
    line_is_comment[np.flatnonzero(nonempty)[is_comment]] = True
    ckey = buf[np.repeat(line_is_comment, all_ends - all_starts + 1)[:size]].tobytes()
    meta = _META_CACHE.get(ckey)
    if meta is None:
        meta = {}
        linenos = np.flatnonzero(nonempty)[is_comment] + 1
        try:
            for a, b, lineno in zip(c_start.tolist(), c_end.tolist(), linenos.tolist(), strict=True):
                _comment_line(text[a:b], lineno, meta)
        except ParseError:
            return None
        if len(_META_CACHE) >= _META_CACHE_SIZE:
            _META_CACHE.clear()
        _META_CACHE[ckey] = meta
    ts = np.full(len(keys), NO_TIMESTAMP, dtype=np.int64)
    return ParsedScrape(keys, _floats(vstrs, text), ts, text, meta)


def parse_text(text: str) -> ParsedScrape:
    """Parse the Prometheus text exposition format 0.0.4 (timestamps in ms).

    The returned metadata may be shared with other parses of the same comment lines:
    treat it as read-only.
    """
    bulk = _parse_text_bulk(text)
    if bulk is not None:
        return bulk
    keys: list[str] = []
    vstrs: list[str] = []
    stamped: list[tuple[int, str, int]] = []  # (sample index, timestamp text, line) — rare
    meta: dict[str, MetricMeta] = {}
    k_app, v_app = keys.append, vstrs.append
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        c = line[0]
        if c == "#":
            _comment_line(line, lineno, meta)
            continue
        if c == " " or c == "\t":
            line = line.strip(" \t")
            if not line:
                continue
            if line[0] == "#":
                _text_comment(line, lineno, meta)
                continue
        # The value and timestamp never contain a quote, so the label block ends at the
        # first "}" after the line's last quote: no scanning of label values needed.
        q = line.rfind('"')
        e = line.find("}", q) if q >= 0 else line.find("}")
        if e >= 0:
            k_app(line[: e + 1])
            rest = line[e + 1 :].split()
        else:
            if "{" in line:
                raise ParseError(_LABEL_NAME_EXPECTED, lineno)
            rest = line.split()
            if not rest:
                raise ParseError('"INVALID" is not a valid start token', lineno)
            k_app(rest.pop(0))
        if len(rest) == 1:
            v_app(rest[0])
            continue
        if len(rest) == 2:
            v_app(rest[0])
            stamped.append((len(keys) - 1, rest[1], lineno))
            continue
        keys.pop()
        if not rest:
            raise ParseError('expected value after metric, got "INVALID"', lineno)
        raise ParseError(f"{_NEXT_AFTER_TS} got {_token(rest[2])}", lineno)
    n = len(keys)
    ts = np.full(n, NO_TIMESTAMP, dtype=np.int64)
    for i, tstr, lineno in stamped:
        ts[i] = _parse_text_ts(tstr, lineno)
    return ParsedScrape(keys, _floats(vstrs, text), ts, text, meta)


def _floats(vstrs: list[str], text: str) -> np.ndarray:
    """Convert value strings in bulk; only a failure pays for per-value checks and line numbers."""
    joined = "".join(vstrs)
    if "_" not in joined and joined.isascii():
        try:
            return np.array([float(v) for v in vstrs], dtype=np.float64)
        except ValueError:
            pass
    out = np.empty(len(vstrs), dtype=np.float64)
    for i, v in enumerate(vstrs):
        try:
            out[i] = _parse_float(v, 0)
        except ParseError as err:
            raise ParseError(err.reason, _sample_line(text, i)) from None
    return out


def _sample_line(text: str, index: int) -> int:
    """1-based line number of the ``index``-th sample line (error path only)."""
    seen = -1
    for lineno, line in enumerate(text.split("\n"), 1):
        s = line.lstrip(" \t")
        if s and s[0] != "#":
            seen += 1
            if seen == index:
                return lineno
    return 0


def parse_openmetrics(text: str) -> ParsedScrape:
    """Parse OpenMetrics 1.0 text (timestamps in seconds; exemplars accepted and ignored)."""
    keys: list[str] = []
    vstrs: list[str] = []
    stamped: list[tuple[int, str, int]] = []
    meta: dict[str, MetricMeta] = {}
    k_app, v_app = keys.append, vstrs.append
    lines = text.split("\n")
    eof = False
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        if eof:
            if line or lineno != len(lines):
                raise ParseError("unexpected data after # EOF", lineno)
            continue
        if not line:
            if lineno == len(lines):
                continue
            raise ParseError("unexpected empty line", lineno)
        if line[0] == "#":
            if line == "# EOF":
                eof = True
                continue
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("TYPE", "HELP", "UNIT"):
                raise ParseError(f"invalid comment line {line[:60]!r}", lineno)
            fam = parts[2]
            if fam.startswith('"'):
                fam = _unescape(fam[1:-1]) if fam.endswith('"') and len(fam) > 1 else fam
            m = meta.get(fam)
            if m is None:
                m = meta[fam] = MetricMeta()
            arg = parts[3] if len(parts) > 3 else ""
            if parts[1] == "TYPE":
                if arg not in _OM_TYPES:
                    raise ParseError(f'invalid metric type "{arg}"', lineno)
                m.type = arg
            elif parts[1] == "HELP":
                m.help = _unescape(arg)
            else:
                if arg and not fam.endswith("_" + arg):
                    raise ParseError(f'unit "{arg}" not a suffix of metric "{fam}"', lineno)
                m.unit = arg
            continue
        key, rest = _split_sample(line, lineno)
        if "#" in rest:
            rest = rest[: rest.index("#")]
        if len(rest) == 2:
            stamped.append((len(keys), rest[1], lineno))
        elif not rest:
            raise ParseError('expected value after metric, got "INVALID"', lineno)
        elif len(rest) > 2:
            raise ParseError(f"{_NEXT_AFTER_TS} got {_token(rest[2])}", lineno)
        k_app(key)
        v_app(rest[0])
    if not eof:
        raise ParseError("data does not end with # EOF", lineno)
    ts = np.full(len(keys), NO_TIMESTAMP, dtype=np.int64)
    for i, tstr, ln in stamped:
        ts[i] = _parse_om_ts(tstr, ln)
    return ParsedScrape(keys, _floats(vstrs, text), ts, text, meta)


def format_for_content_type(content_type: str, fallback: str = "") -> tuple[str, str]:
    """Pick the parser for a Content-Type the way Prometheus does.

    Returns (format, warning). ``fallback`` is a media type (from
    ``fallback_scrape_protocol``). Raises ParseError when no parser applies.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if not content_type.strip():
        if not fallback:
            raise ParseError(
                "non-compliant scrape target sending blank Content-Type and no "
                "fallback_scrape_protocol specified for target"
            )
        return (
            fallback,
            f'non-compliant scrape target sending blank Content-Type, using fallback "{fallback}"',
        )
    if media in (TEXT_FORMAT, OPENMETRICS_FORMAT, PROTOBUF_FORMAT):
        return media, ""
    if not fallback:
        raise ParseError(
            f'received unsupported Content-Type "{content_type}" and no fallback_scrape_protocol '
            "specified for target"
        )
    return fallback, f'received unsupported Content-Type "{content_type}", using fallback "{fallback}"'


def parse(body: bytes | str, fmt: str) -> ParsedScrape:
    """Parse a (decompressed) scrape body in format ``fmt`` (TEXT_FORMAT or OPENMETRICS_FORMAT)."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError("invalid UTF-8 label value", body.count(b"\n", 0, e.start) + 1) from None
    else:
        text = body
    if fmt == OPENMETRICS_FORMAT:
        return parse_openmetrics(text)
    return parse_text(text)
