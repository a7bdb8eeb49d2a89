"""Text format 0.0.4 and OpenMetrics parsing: shapes, escapes, errors, metadata, fuzzing."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import pb_field, pb_varint
from watchkeeper.exposition.protoparse import parse_protobuf
from watchkeeper.exposition.textparse import (
    NO_TIMESTAMP,
    OPENMETRICS_FORMAT,
    TEXT_FORMAT,
    ParseError,
    format_for_content_type,
    format_openmetrics_float,
    normalize_float_labels,
    parse,
    parse_openmetrics,
    parse_series_key,
    parse_text,
)

TEXT = """# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# 	TYPE go_gc_duration_seconds summary
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 4.9351e-05
go_gc_duration_seconds{quantile="0.25",} 7.424100000000001e-05
go_gc_duration_seconds_sum 1.2
go_gc_duration_seconds_count 99 1700000000123
# a free comment
  indented_metric   3
# HELP esc Help with \\\\ and \\n newline.
esc{a="x\\"y",b="line\\nbreak",c="back\\\\slash",d="tab\\t"} +Inf
nan_metric NaN
neg_inf{x="}"} -Inf
untyped_metric 1e3
{"my.dotted.metric", "label.with.dot"="v"} 7
# TYPE untyped_metric untyped
"""


def test_text_columns() -> None:
    r = parse_text(TEXT)
    assert r.keys[0] == 'go_gc_duration_seconds{quantile="0"}'
    assert r.keys[1] == 'go_gc_duration_seconds{quantile="0.25",}'
    assert r.keys[3] == "go_gc_duration_seconds_count"
    assert r.keys[4] == "indented_metric"
    assert r.values.dtype == np.float64 and r.timestamps.dtype == np.int64
    assert r.values[0] == 4.9351e-05 and r.values[4] == 3
    assert r.timestamps[3] == 1700000000123
    assert r.timestamps[0] == NO_TIMESTAMP
    assert math.isinf(r.values[5]) and r.values[5] > 0
    assert math.isnan(r.values[6])
    assert r.values[7] == -math.inf
    assert r.keys[7] == 'neg_inf{x="}"}'
    assert [r.line_of(0), r.line_of(1), r.line_of(4)] == [4, 5, 9]
    assert len(r) == 10


def test_text_metadata() -> None:
    m = parse_text(TEXT).metadata
    assert m["go_gc_duration_seconds"].type == "summary"
    assert m["go_gc_duration_seconds"].help == "A summary of the GC invocation durations."
    assert m["esc"].help == "Help with \\ and \n newline."
    assert m["untyped_metric"].type == "unknown"  # Prometheus reports untyped as unknown


def test_series_keys() -> None:
    r = parse_text(TEXT)
    assert parse_series_key(r.keys[1]) == [("__name__", "go_gc_duration_seconds"), ("quantile", "0.25")]
    assert parse_series_key(r.keys[5]) == [
        ("__name__", "esc"),
        ("a", 'x"y'),
        ("b", "line\nbreak"),
        ("c", "back\\slash"),
        ("d", "tab\\t"),
    ]
    assert parse_series_key(r.keys[9]) == [("__name__", "my.dotted.metric"), ("label.with.dot", "v")]
    assert parse_series_key('name {a = "b" }') == [("__name__", "name"), ("a", "b")]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("0abc", '"INVALID" is not a valid start token'),
        ("a-b", 'expected value after metric, got "INVALID"'),
        ('a{b="c"', 'expected label name, got "INVALID"'),
        ("a{b=c}", 'expected label value, got "INVALID"'),
        ('a{b="c" d="e"}', 'expected label name, got "INVALID"'),
        ('a{b="c",b="d"}', 'label name "b" is not unique: invalid sample'),
        ('a{"b"}', 'expected equal, got "INVALID"'),
        ('{a="b"}', '"BOPEN" is not a valid start token'),
        ('a{0x="1"}', 'expected label name, got "INVALID"'),
    ],
)
def test_bad_series_keys(key: str, reason: str) -> None:
    with pytest.raises(ParseError) as ei:
        parse_series_key(key)
    assert str(ei.value) == reason


# Messages recorded from Prometheus 2.42's /api/v1/targets lastError for the same bodies.
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"ok 1\na\n", 'expected value after metric, got "INVALID"'),
        (b'a{b="c" 1\n', 'expected label name, got "INVALID"'),
        (b"a 1 2 3\n", 'expected next entry after timestamp, got "TIMESTAMP"'),
        (b"a abc\n", 'strconv.ParseFloat: parsing "abc": invalid syntax'),
        (b"a{b=c} 1\n", 'expected label value, got "INVALID"'),
        (b"a 1 1.5\n", 'expected next entry after timestamp, got "INVALID"'),
        (b"0a 1\n", '"INVALID" is not a valid start token'),
        (b'a{b="1",b="2"} 1\n', 'label name "b" is not unique: invalid sample'),
        (b"a 1_0\n", "unsupported character in float"),
        (b'a{b="\xff"} 1\n', "invalid UTF-8 label value"),
    ],
)
def test_text_errors_match_prometheus(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as ei:
        r = parse(body, TEXT_FORMAT)
        for i, k in enumerate(r.keys):
            parse_series_key(k, r.line_of(i))
    assert str(ei.value) == message


@pytest.mark.parametrize(
    ("text", "line"),
    [("a 1\nb\n", 2), ("x 1\n\n# c\ny 1 z\n", 4), ("# TYPE a bogus\n", 1), ('x 1\na{b="c" 1\n', 2)],
)
def test_text_error_lines(text: str, line: int) -> None:
    with pytest.raises(ParseError) as ei:
        parse_text(text)
    assert ei.value.line == line


def test_value_error_line_is_found_lazily() -> None:
    with pytest.raises(ParseError) as ei:
        parse_text("# HELP a x\na 1\n\n  b 2\nc bad\n")
    assert (str(ei.value), ei.value.line) == ('strconv.ParseFloat: parsing "bad": invalid syntax', 5)


OM = """# TYPE req counter
# HELP req Requests.
# UNIT req_seconds seconds
req_total{code="200"} 10 1700000000.5 # {trace_id="abc"} 1.0 1700000000.4
req_created{code="200"} 1.7e9
# TYPE req_seconds histogram
req_seconds_bucket{le="+Inf"} 3 # {a="b"} 2
req_seconds_count 3
plain 5 # {} 1
# EOF
"""


def test_openmetrics() -> None:
    r = parse_openmetrics(OM)
    assert r.keys == [
        'req_total{code="200"}',
        'req_created{code="200"}',
        'req_seconds_bucket{le="+Inf"}',
        "req_seconds_count",
        "plain",
    ]
    assert list(r.values) == [10, 1.7e9, 3, 3, 5]
    assert r.timestamps[0] == 1700000000500
    assert r.timestamps[1] == NO_TIMESTAMP
    assert r.metadata["req"].type == "counter" and r.metadata["req"].help == "Requests."
    assert r.metadata["req_seconds"].unit == "seconds"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a 1\n", "data does not end with # EOF"),
        ("a 1\n# EOF\nb 2\n", "unexpected data after # EOF"),
        ("a 1\n\n# EOF\n", "unexpected empty line"),
        ("# random comment\n# EOF\n", "invalid comment line"),
        ("# TYPE a untyped\n# EOF\n", 'invalid metric type "untyped"'),
        ("# UNIT a_total seconds\n# EOF\n", "not a suffix"),
    ],
)
def test_openmetrics_errors(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_openmetrics(text)


def test_prometheus_client_openmetrics_output() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.openmetrics.exposition import generate_latest

    reg = CollectorRegistry()
    c = Counter("jobs", "Jobs done.", ["kind"], registry=reg)
    c.labels('a"b').inc(3)
    Histogram("lat_seconds", "Latency.", registry=reg, buckets=(0.1, 1.0)).observe(0.5)
    r = parse(generate_latest(reg), OPENMETRICS_FORMAT)
    d = {tuple(parse_series_key(k)): v for k, v in zip(r.keys, r.values, strict=True)}
    assert d[(("__name__", "jobs_total"), ("kind", 'a"b'))] == 3
    assert d[(("__name__", "lat_seconds_bucket"), ("le", "1.0"))] == 1
    assert r.metadata["jobs"].type == "counter"


@pytest.mark.parametrize(
    ("ctype", "fallback", "want"),
    [
        ("text/plain; version=0.0.4; charset=utf-8", "", TEXT_FORMAT),
        ("application/openmetrics-text; version=1.0.0; charset=utf-8", "", OPENMETRICS_FORMAT),
        ("", TEXT_FORMAT, TEXT_FORMAT),
        ("application/json", OPENMETRICS_FORMAT, OPENMETRICS_FORMAT),
    ],
)
def test_content_type(ctype: str, fallback: str, want: str) -> None:
    assert format_for_content_type(ctype, fallback)[0] == want


def test_content_type_without_fallback() -> None:
    with pytest.raises(ParseError, match="blank Content-Type and no fallback_scrape_protocol"):
        format_for_content_type("")
    with pytest.raises(ParseError, match='unsupported Content-Type "application/json"'):
        format_for_content_type("application/json")


def test_invalid_utf8() -> None:
    with pytest.raises(ParseError, match="invalid UTF-8 label value") as ei:
        parse(b'a 1\nb{x="\xff"} 2\n', TEXT_FORMAT)
    assert ei.value.line == 2


_alphabet = st.sampled_from(list('abc_:{}"=,\\ \n#\t01.e+-NaInf') + ["# TYPE ", "# HELP ", "# EOF", "\xe9"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_alphabet, max_size=60).map("".join), st.sampled_from([TEXT_FORMAT, OPENMETRICS_FORMAT]))
def test_fuzz_only_parse_errors(text: str, fmt: str) -> None:
    try:
        r = parse(text, fmt)
        for i, k in enumerate(r.keys):
            parse_series_key(k, r.line_of(i))
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.floats(allow_nan=False),
)
def test_fuzz_label_value_roundtrip(value: str, v: float) -> None:
    esc = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    r = parse_text(f'm{{l="{esc}"}} {v!r}\n')
    assert parse_series_key(r.keys[0]) == [("__name__", "m"), ("l", value)]
    assert r.values[0] == v


@pytest.mark.parametrize(
    ("f", "text"),
    [
        (1, "1.0"),
        (0, "0.0"),
        (-1, "-1.0"),
        (0.25, "0.25"),
        (100, "100.0"),
        (1e6, "1e+06"),
        (1234567, "1.234567e+06"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (123456.789, "123456.789"),
    ],
)
def test_format_openmetrics_float(f: float, text: str) -> None:
    assert format_openmetrics_float(f) == text


def test_le_and_quantile_normalised_by_family_type() -> None:
    r = parse_text(
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'
        '# TYPE s summary\ns{quantile="0"} 1\n'
        'u_bucket{le="1"} 1\n'
    )
    got = [normalize_float_labels(parse_series_key(k), r.metadata) for k in r.keys]
    assert got[0][1] == ("le", "1.0") and got[1][1] == ("le", "+Inf")
    assert got[2][1] == ("quantile", "0.0")
    assert got[3][1] == ("le", "1")  # untyped: left as written


# -- protobuf ---------------------------------------------------------------------------------


def _pb_double(num: int, v: float) -> bytes:
    return pb_varint(num << 3 | 1) + struct.pack("<d", v)


def _pb_int(num: int, v: int) -> bytes:
    return pb_varint(num << 3) + pb_varint(v)


def _pb_family(name: str, typ: int, metrics: list[bytes], help_: str = "") -> bytes:
    msg = pb_field(1, name.encode()) + pb_field(2, help_.encode()) + _pb_int(3, typ)
    msg += b"".join(pb_field(4, m) for m in metrics)
    return pb_varint(len(msg)) + msg


def _pb_label(k: str, v: str) -> bytes:
    return pb_field(1, pb_field(1, k.encode()) + pb_field(2, v.encode()))


def test_protobuf_families() -> None:
    body = (
        _pb_family(
            "c_total", 0, [_pb_label("a", 'x"y') + pb_field(3, _pb_double(1, 5.0)) + _pb_int(6, 1234)], "C."
        )
        + _pb_family("g", 1, [pb_field(2, _pb_double(1, -2.5))])
        + _pb_family(
            "h",
            4,
            [pb_field(7, _pb_int(1, 3) + _pb_double(2, 1.5)
                      + pb_field(3, _pb_int(1, 1) + _pb_double(2, 1.0)))],
        )
        + _pb_family(
            "s",
            2,
            [
                pb_field(
                    4,
                    _pb_int(1, 2) + _pb_double(2, 4.0) + pb_field(3, _pb_double(1, 0.5) + _pb_double(2, 1.0)),
                )
            ],
        )
        + _pb_family("my.dotted", 3, [_pb_label("x.y", "1") + pb_field(5, _pb_double(1, 7.0))])
    )
    r = parse_protobuf(body)
    got = {k: (v, t) for k, v, t in zip(r.keys, r.values.tolist(), r.timestamps.tolist(), strict=True)}
    nt = int(NO_TIMESTAMP)
    assert got == {
        'c_total{a="x\\"y"}': (5.0, 1234),
        "g": (-2.5, nt),
        'h_bucket{le="1.0"}': (1.0, nt),
        'h_bucket{le="+Inf"}': (3.0, nt),
        "h_sum": (1.5, nt),
        "h_count": (3.0, nt),
        's{quantile="0.5"}': (1.0, nt),
        "s_sum": (4.0, nt),
        "s_count": (2.0, nt),
        '{"my.dotted","x.y"="1"}': (7.0, nt),
    }
    assert parse_series_key('c_total{a="x\\"y"}') == [("__name__", "c_total"), ("a", 'x"y')]
    assert r.metadata["c_total"].type == "counter" and r.metadata["c_total"].help == "C."
    assert r.metadata["my.dotted"].type == "unknown"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_protobuf_only_parse_errors(data: bytes) -> None:
    try:
        r = parse_protobuf(data)
        for k in r.keys:
            parse_series_key(k)
    except ParseError:
        pass


_lname = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,8}", fullmatch=True).filter(lambda s: s != "__name__")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        _lname, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8), max_size=5
    ),
    st.sampled_from(["", ",", " ", ", "]),
)
def test_fuzz_label_sets_roundtrip(labels: dict[str, str], sep_tail: str) -> None:
    esc = {k: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for k, v in labels.items()}
    body = ",".join(f'{k}="{v}"' for k, v in esc.items())
    key = f"m{{{body}{sep_tail if labels else ''}}}"
    assert parse_series_key(key) == [("__name__", "m"), *labels.items()]


_BULK_LINES = [
    'a{b="c"} 1', 'a{b="c}"} 1', 'a{b="c"}} 1', 'a{b="x"} 1 2', 'a{b="\\""} 1', 'a {b="c"} 1', 'a{b="c"}  1',
    'a{b="c"}\t1', "x 1", "x  1", "x 1 2", "x", "x{} 2", '{"a"} 1', 'a{b="c" } 1', "a{b=c} 1",
    'a{b="c",} 1e3', 'a{b="c"} NaN', 'a{b="c"} +Inf', 'a{b="c"} 1_0', 'a{b="c"} 0x1p3',
    "# HELP a some \\n text", "# TYPE a counter", "# TYPE a gauge", "# TYPE a bogus", "# TYPE a",
    "#TYPE a counter", "# HELP", "# comment", "  a 1", 'a{b="é"} 1', 'a{b="c"} 1\r', 'a{le="1"} 3', "",
    "a} 1", "a{ 1", 'a{b="c"} 1}', 'a"b 1', 'a{b="c d"} 5', 'a{b="}"} 5', 'a{b="c"}x 1', 'a{b="c"} -',
    "x -1", "x 1 ", " ", "# HELP  x y", "# TYPE x untyped", "# HELP x", "# TYPE x summary",
]


def _outcome(fn: object, text: str) -> tuple[object, ...]:
    try:
        r = fn(text)  # type: ignore[operator]
    except ParseError as e:
        return ("error", str(e), e.line)
    meta = {k: (m.type, m.help, m.unit) for k, m in r.metadata.items()}
    return ("ok", r.keys, r.values.tobytes(), r.timestamps.tolist(), meta)


def test_bulk_text_path_agrees_with_line_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy path for common bodies gives exactly what the line-by-line parser gives."""
    import random

    from watchkeeper.exposition import textparse

    rng = random.Random(7)
    bodies = [
        "\n".join(rng.choice(_BULK_LINES) for _ in range(rng.randint(0, 6))) + rng.choice(["", "\n"])
        for _ in range(4000)
    ]
    bulk_taken = 0
    fast = [_outcome(textparse.parse_text, b) for b in bodies]
    for b in bodies:
        try:
            bulk_taken += textparse._parse_text_bulk(b) is not None
        except ParseError:
            bulk_taken += 1
    monkeypatch.setattr(textparse, "_parse_text_bulk", lambda text: None)
    slow = [_outcome(textparse.parse_text, b) for b in bodies]
    assert bulk_taken > 500  # the comparison covers the bulk path, not only fallbacks
    for body, f, s in zip(bodies, fast, slow, strict=True):
        assert f == s, body
