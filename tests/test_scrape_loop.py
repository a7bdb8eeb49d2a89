"""Scrape loop: labels, limits, report series and staleness, with a fake appender and fetcher."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from watchkeeper.model.batch import SampleBatch, is_stale
from watchkeeper.model.labels import Labels
from watchkeeper.scrape import loop as loop_mod
from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig
from watchkeeper.scrape.httpclient import ScrapeError
from watchkeeper.scrape.loop import ScrapeLoop
from watchkeeper.scrape.target import Target, populate_labels

TEXT = "text/plain; version=0.0.4"


class FakeAppender:
    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []

    def append(self, batch: SampleBatch) -> int:
        assert len(batch.series) == len(batch.t) == len(batch.v)
        self.batches.append(batch)
        return len(batch)

    def samples(self, i: int = -1) -> dict[str, tuple[int, float]]:
        """Batch ``i`` as {series text: (t, v)}."""
        b = self.batches[i]
        return {str(b.labels[s]): (int(t), float(v)) for s, t, v in zip(b.series, b.t, b.v, strict=True)}

    def stale(self, i: int = -1) -> set[str]:
        b = self.batches[i]
        mask = is_stale(b.v)
        return {str(b.labels[s]) for s in b.series[mask]}


class FakeFetch:
    def __init__(self) -> None:
        self.body: bytes | Exception = b""
        self.ctype = TEXT

    async def __call__(self, target: Target) -> tuple[bytes, str]:
        if isinstance(self.body, Exception):
            raise self.body
        return self.body, self.ctype


def make_loop(**cfg: Any) -> tuple[ScrapeLoop, FakeAppender, FakeFetch]:
    c = ScrapeConfig.model_validate({"job_name": "j", "scrape_interval": "10s", **cfg}).resolve(
        GlobalScrapeDefaults()
    )
    labels, disc = populate_labels({"__address__": "h:1", "env": "prod"}, c)
    assert labels is not None
    app, fetch = FakeAppender(), FakeFetch()
    return ScrapeLoop(Target(labels, disc, c), c, app, fetch), app, fetch


def scrape(lp: ScrapeLoop, fetch: FakeFetch, body: str | bytes | Exception, ts: int) -> None:
    fetch.body = body.encode() if isinstance(body, str) else body
    asyncio.run(lp.scrape_once(ts))


T = 'instance="h:1", job="j"'


def test_samples_target_labels_and_report() -> None:
    lp, app, f = make_loop()
    scrape(lp, f, 'a{x="1"} 1\nb 2\n', 1000)
    s = app.samples()
    assert s[f'a{{env="prod", {T}, x="1"}}'] == (1000, 1.0)
    assert s[f'b{{env="prod", {T}}}'] == (1000, 2.0)
    assert s[f'up{{env="prod", {T}}}'] == (1000, 1.0)
    assert s[f'scrape_samples_scraped{{env="prod", {T}}}'][1] == 2
    assert s[f'scrape_samples_post_metric_relabeling{{env="prod", {T}}}'][1] == 2
    assert s[f'scrape_series_added{{env="prod", {T}}}'][1] == 2
    assert f'scrape_duration_seconds{{env="prod", {T}}}' in s
    assert lp.target.health == "up" and lp.target.last_error == ""
    scrape(lp, f, 'a{x="1"} 1\nb 2\n', 2000)
    assert app.samples()[f'scrape_series_added{{env="prod", {T}}}'][1] == 0


def test_staleness_on_disappearing_series_and_failure() -> None:
    lp, app, f = make_loop()
    scrape(lp, f, "a 1\nb 2\n", 1000)
    scrape(lp, f, "a 1\n", 2000)
    assert app.stale() == {f'b{{env="prod", {T}}}'}
    assert app.samples()[f'b{{env="prod", {T}}}'][0] == 2000
    scrape(lp, f, ScrapeError("server returned HTTP status 500 Internal Server Error"), 3000)
    assert app.stale() == {f'a{{env="prod", {T}}}'}
    s = app.samples()
    assert s[f'up{{env="prod", {T}}}'] == (3000, 0.0)  # up is reported, never staled on failure
    assert s[f'scrape_samples_scraped{{env="prod", {T}}}'][1] == 0
    assert lp.target.health == "down"
    assert lp.target.last_error == "server returned HTTP status 500 Internal Server Error"
    scrape(lp, f, ScrapeError("again"), 4000)
    assert app.stale() == set()  # nothing left to stale
    scrape(lp, f, "a 1\n", 5000)
    assert app.stale() == set()
    lp.stale_all(6000)
    stale = app.stale()
    assert f'a{{env="prod", {T}}}' in stale and f'up{{env="prod", {T}}}' in stale
    assert len(stale) == 6
    assert set(app.batches[-1].t.tolist()) == {6000}


def test_stale_all_without_any_scrape_writes_nothing() -> None:
    lp, app, _ = make_loop()
    lp.stale_all(1000)
    assert app.batches == []


def test_parse_error_fails_scrape() -> None:
    lp, app, f = make_loop()
    scrape(lp, f, "a 1\n", 1000)
    scrape(lp, f, "a 1\nb{ 2\n", 2000)
    assert lp.target.health == "down"
    assert lp.target.last_error == 'expected label name, got "INVALID"'
    assert app.stale() == {f'a{{env="prod", {T}}}'}
    assert app.samples()[f'up{{env="prod", {T}}}'][1] == 0


def test_honor_labels() -> None:
    body = 'm{job="other",instance="x",exported_job="y"} 1\n'
    lp, app, f = make_loop()
    scrape(lp, f, body, 1000)
    assert (
        'm{env="prod", exported_exported_job="other", exported_instance="x", exported_job="y", '
        f"{T}}}" in app.samples()
    )
    lp, app, f = make_loop(honor_labels=True)
    scrape(lp, f, body, 1000)
    assert 'm{env="prod", exported_job="y", instance="x", job="other"}' in app.samples()


def test_honor_timestamps_and_staleness_tracking() -> None:
    lp, app, f = make_loop()
    scrape(lp, f, "a 1 500\nb 2\n", 1000)
    s = app.samples()
    assert s[f'a{{env="prod", {T}}}'] == (500, 1.0)
    scrape(lp, f, "", 2000)
    assert app.stale() == {f'b{{env="prod", {T}}}'}  # explicit-timestamp series are not staled
    lp, app, f = make_loop(honor_timestamps=False)
    scrape(lp, f, "a 1 500\n", 1000)
    assert app.samples()[f'a{{env="prod", {T}}}'] == (1000, 1.0)
    lp, app, f = make_loop(track_timestamps_staleness=True)
    scrape(lp, f, "a 1 500\n", 1000)
    scrape(lp, f, "", 2000)
    assert app.stale() == {f'a{{env="prod", {T}}}'}


def test_metric_relabel_and_sample_limit() -> None:
    rules = [{"source_labels": ["__name__"], "regex": "drop_.*", "action": "drop"}]
    lp, app, f = make_loop(metric_relabel_configs=rules, sample_limit=2)
    scrape(lp, f, "a 1\ndrop_me 2\nb 3\n", 1000)
    s = app.samples()
    assert f'drop_me{{env="prod", {T}}}' not in s
    assert s[f'scrape_samples_scraped{{env="prod", {T}}}'][1] == 3
    assert s[f'scrape_samples_post_metric_relabeling{{env="prod", {T}}}'][1] == 2
    scrape(lp, f, "a 1\ndrop_me 2\nb 3\nc 4\n", 2000)
    assert lp.target.last_error == "sample limit exceeded"
    assert app.samples()[f'up{{env="prod", {T}}}'][1] == 0
    assert app.stale() == {f'a{{env="prod", {T}}}', f'b{{env="prod", {T}}}'}


@pytest.mark.parametrize(
    ("limit", "body", "message"),
    [
        (
            {"label_limit": 4},
            'm{a="1",b="2"} 1\n',
            "label_limit exceeded (metric: m, number of labels: 6, limit: 4)",
        ),
        (
            {"label_name_length_limit": 9},
            'm{longername="1"} 1\n',
            "label_name_length_limit exceeded (metric: m, label name: longername, length: 10, limit: 9)",
        ),
        (
            {"label_value_length_limit": 3},
            'm{a="long"} 1\n',
            'label_value_length_limit exceeded (metric: m, label name: a, value: "long", '
            "length: 4, limit: 3)",
        ),
    ],
)
def test_label_limits(limit: dict[str, int], body: str, message: str) -> None:
    lp, _, f = make_loop(**limit)
    scrape(lp, f, body, 1000)
    assert lp.target.last_error == message


def test_ref_cache_skips_label_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = loop_mod.parse_series_key

    def counting(key: str, lineno: int = 0) -> list[tuple[str, str]]:
        calls.append(key)
        return real(key, lineno)

    monkeypatch.setattr(loop_mod, "parse_series_key", counting)
    lp, app, f = make_loop()
    scrape(lp, f, 'a{x="1"} 1\nb 2\n', 1000)
    scrape(lp, f, 'a{x="1"} 5\nb 6\nc 7\n', 2000)
    assert calls == ['a{x="1"}', "b", "c"]
    assert app.samples()[f'a{{env="prod", {T}, x="1"}}'] == (2000, 5.0)


def test_duplicate_series_keep_first() -> None:
    lp, app, f = make_loop()
    scrape(lp, f, 'a{x="1"} 1\na{x="1",} 2\n', 1000)
    b = app.batches[-1]
    assert [str(lb) for lb in b.labels].count(f'a{{env="prod", {T}, x="1"}}') == 1
    assert app.samples()[f'a{{env="prod", {T}, x="1"}}'][1] == 1.0


def test_openmetrics_and_content_type_errors() -> None:
    lp, app, f = make_loop()
    f.ctype = "application/openmetrics-text; version=1.0.0"
    scrape(lp, f, "# TYPE a gauge\na 1 1.5\n# EOF\n", 1000)
    assert app.samples()[f'a{{env="prod", {T}}}'] == (1500, 1.0)
    assert lp.metadata["a"].type == "gauge"
    f.ctype = ""
    scrape(lp, f, "a 1\n", 2000)
    assert "blank Content-Type" in lp.target.last_error
    lp, app, f = make_loop(fallback_scrape_protocol="PrometheusText0.0.4")
    f.ctype = ""
    scrape(lp, f, "a 1\n", 1000)
    assert lp.target.health == "up"


def test_values_are_float64_arrays() -> None:
    lp, app, f = make_loop()
    scrape(lp, f, "a NaN\nb -Inf\n", 1000)
    b = app.batches[-1]
    assert b.v.dtype == np.float64 and b.t.dtype == np.int64 and b.series.dtype == np.int64
    assert isinstance(b.labels[0], Labels)


def test_series_churn_keeps_cache_bounded_and_staleness_right() -> None:
    lp, app, f = make_loop()
    for round_ in range(6):
        body = "keep 1\n" + "".join(f'churn{{r="{round_}",i="{i}"}} 1\n' for i in range(100))
        scrape(lp, f, body, 1000 * (round_ + 1))
        if round_:
            stale = app.stale()
            assert len(stale) == 100
            assert all(f'r="{round_ - 1}"' in s for s in stale)
        assert len(lp._cache) <= 2 * 101 + 64 and len(lp._slots) <= 2 * 101 + 64 + 101
    assert app.samples()[f'keep{{env="prod", {T}}}'] == (6000, 1.0)


def test_exposed_nan_never_becomes_a_staleness_marker() -> None:
    import struct

    from watchkeeper.model.batch import STALE_NAN

    # A protobuf gauge whose value carries the staleness-marker bit pattern.
    gauge = b"\x09" + struct.pack("<d", STALE_NAN)
    metric = b"\x12" + bytes([len(gauge)]) + gauge
    fam = b"\x0a\x01g" + b"\x18\x01" + b"\x22" + bytes([len(metric)]) + metric
    lp, app, f = make_loop()
    f.ctype = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    scrape(lp, f, bytes([len(fam)]) + fam, 1000)
    assert lp.target.health == "up", lp.target.last_error
    b = app.batches[-1]
    v = b.v[[str(lb) for lb in b.labels].index(f'g{{env="prod", {T}}}')]
    assert np.isnan(v) and not is_stale(np.array([v]))[0]
    assert app.stale() == set()
