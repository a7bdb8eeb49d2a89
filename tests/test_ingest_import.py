"""VictoriaMetrics-style import of exposition text lines."""

from __future__ import annotations

import gzip
import math

import pytest

from watchkeeper.ingest.errors import IngestError
from watchkeeper.ingest.import_ import decode_import
from watchkeeper.model.labels import Labels


def rows(batch) -> list[tuple[str, int, float]]:
    return [
        (str(batch.labels[int(batch.series[i])]), int(batch.t[i]), float(batch.v[i]))
        for i in range(len(batch))
    ]


BODY = b"""# HELP up whatever
# TYPE up gauge
up{job="a",instance="x:1"} 1 1600000000000
up{instance="x:1",job="a"} 0 1600000015000
temp_celsius 21.5
weird{path="C:\\\\dir",msg="say \\"hi\\"\\n"} -Inf 5
{"my.metric", "lab.el"="v"} NaN 7

"""


def test_lines_timestamps_and_escapes() -> None:
    batch = decode_import(BODY, default_ts_ms=42)
    got = rows(batch)
    assert got[:3] == [
        ('up{instance="x:1", job="a"}', 1600000000000, 1.0),
        ('up{instance="x:1", job="a"}', 1600000015000, 0.0),
        ("temp_celsius", 42, 21.5),
    ]
    assert len(batch.labels) == 4  # the two `up` lines are one series
    weird = batch.labels[int(batch.series[3])]
    assert weird.get("path") == "C:\\dir" and weird.get("msg") == 'say "hi"\n'
    assert got[3][2] == -math.inf
    dotted = batch.labels[int(batch.series[4])]
    assert dotted == Labels({"__name__": "my.metric", "lab.el": "v"}) and math.isnan(got[4][2])


def test_extra_labels_override_and_gzip() -> None:
    body = gzip.compress(b'm{job="old"} 3 10\n')
    batch = decode_import(
        body, default_ts_ms=0, content_encoding="gzip", extra_labels={"job": "new", "dc": "x"}
    )
    assert batch.labels == [Labels({"__name__": "m", "job": "new", "dc": "x"})]
    assert rows(batch) == [('m{dc="x", job="new"}', 10, 3.0)]


@pytest.mark.parametrize(
    "line, fragment",
    # Prometheus' own parser messages: the import endpoint shares the scrape parser.
    [
        (b"m{a=1} 1", 'expected label value, got "INVALID"'),
        (b'm{a="1",a="2"} 1', 'label name "a" is not unique'),
        (b"m 1 2 3", 'expected next entry after timestamp, got "TIMESTAMP"'),
        (b"m abc", 'parsing "abc": invalid syntax'),
        (b"m 1_0", "unsupported character in float"),
        (b"m 1 12.5", 'expected next entry after timestamp, got "INVALID"'),
        (b'm{a="x} 1', 'expected label value, got "INVALID"'),
        (b'{a="b"} 1', '"BOPEN" is not a valid start token'),
    ],
)
def test_errors_name_the_line(line: bytes, fragment: str) -> None:
    with pytest.raises(IngestError) as err:
        decode_import(b"ok 1\n" + line + b"\n", default_ts_ms=0)
    assert err.value.status == 400
    assert fragment in err.value.message and "line 2" in err.value.message


def test_limits_and_encodings() -> None:
    with pytest.raises(IngestError) as err:
        decode_import(
            gzip.compress(b"m 1\n" * 1000), default_ts_ms=0, content_encoding="gzip", max_decoded_bytes=100
        )
    assert err.value.status == 413
    with pytest.raises(IngestError) as err:
        decode_import(b"m 1", default_ts_ms=0, content_encoding="br")
    assert err.value.status == 415
    with pytest.raises(IngestError) as err:
        decode_import(b"not gzip", default_ts_ms=0, content_encoding="gzip")
    assert err.value.status == 400
    with pytest.raises(IngestError):
        decode_import(b"m\xff 1", default_ts_ms=0)


def test_legacy_names() -> None:
    body = b'{"a.b"} 1\n'
    assert len(decode_import(body, default_ts_ms=0)) == 1
    with pytest.raises(IngestError, match="not a valid Prometheus name"):
        decode_import(body, default_ts_ms=0, legacy_names=True)
