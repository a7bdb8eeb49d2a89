"""Scrape manager and discovery: pools, reloads, removal staleness, API views, file/HTTP SD."""

from __future__ import annotations

import asyncio
import heapq
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from watchkeeper.model.batch import SampleBatch, is_stale
from watchkeeper.model.matchers import Matcher
from watchkeeper.scrape.config import FileSDConfig, GlobalScrapeDefaults, HTTPSDConfig, ScrapeConfig
from watchkeeper.scrape.discovery.file_sd import FileSDProvider
from watchkeeper.scrape.discovery.http_sd import HTTPSDProvider
from watchkeeper.scrape.manager import ConfigError, ScrapeManager
from watchkeeper.scrape.target import Target

BODY = b"# HELP m A metric.\n# TYPE m gauge\nm 1\n"


class Collect:
    def __init__(self) -> None:
        self.batches: list[SampleBatch] = []

    def append(self, batch: SampleBatch) -> int:
        self.batches.append(batch)
        return len(batch)

    def stale_series(self) -> set[str]:
        out = set()
        for b in self.batches:
            out |= {str(b.labels[s]) for s in b.series[is_stale(b.v)]}
        return out


async def fetch(target: Target) -> tuple[bytes, str]:
    if "down" in target.url:
        from watchkeeper.scrape.httpclient import ScrapeError

        raise ScrapeError("connection refused")
    return BODY, "text/plain; version=0.0.4"


def job(name: str, targets: list[str], **kw: Any) -> ScrapeConfig:
    return ScrapeConfig.model_validate(
        {
            "job_name": name,
            "scrape_interval": "100ms",
            "scrape_timeout": "100ms",
            "static_configs": [{"targets": targets}],
            **kw,
        }
    )


async def until(cond: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def test_manager_lifecycle() -> None:
    async def main() -> None:
        app = Collect()
        m = ScrapeManager(app, fetch=fetch, hostname="myhost")
        g = GlobalScrapeDefaults()
        await m.apply_config([job("a", ["h1:1", "down:1"])], g)

        def healths() -> list[str]:
            return [t["health"] for t in m.targets()["activeTargets"]]

        await until(lambda: "unknown" not in healths())
        data = m.targets()
        by_inst = {t["labels"]["instance"]: t for t in data["activeTargets"]}
        assert by_inst["h1:1"]["health"] == "up" and by_inst["down:1"]["health"] == "down"
        assert by_inst["down:1"]["lastError"] == "connection refused"
        t = by_inst["h1:1"]
        assert t["scrapeUrl"] == "http://h1:1/metrics" and t["scrapePool"] == "a"
        assert t["scrapeInterval"] == "100ms" and t["scrapeTimeout"] == "100ms"
        assert t["discoveredLabels"]["__address__"] == "h1:1"
        assert t["lastScrape"].endswith("Z") and t["lastScrapeDuration"] >= 0
        assert data["droppedTargets"] == [] and data["droppedTargetCounts"] == {"a": 0}

        assert m.metadata() == {"m": [{"type": "gauge", "help": "A metric.", "unit": ""}]}
        md = m.target_metadata([Matcher.eq("instance", "h1:1")])
        assert md == [
            {
                "target": {"instance": "h1:1", "job": "a"},
                "metric": "m",
                "type": "gauge",
                "help": "A metric.",
                "unit": "",
            }
        ]

        # Unchanged config: the very same loop tasks keep running.
        tasks = {k: a.task for k, a in m.pools["a"].active.items()}
        await m.apply_config([job("a", ["h1:1", "down:1"])], g)
        assert {k: a.task for k, a in m.pools["a"].active.items()} == tasks

        # A changed job gets new loops, without end-of-run staleness for kept targets.
        await m.apply_config(
            [
                job(
                    "a",
                    ["h1:1"],
                    relabel_configs=[{"source_labels": ["__address__"], "regex": "down.*", "action": "drop"}],
                )
            ],
            g,
        )
        await until(lambda: m.targets()["activeTargets"][0]["health"] == "up")
        assert m.targets()["droppedTargets"] == []
        await m.wait_background()
        # down:1 left the pool but never had a successful series; only its report series go stale.
        stale = app.stale_series()
        assert 'up{instance="down:1", job="a"}' in stale
        assert not any('instance="h1:1"' in s for s in stale)

        # Removing the job stales its series once the next scrape would have happened.
        await m.apply_config([job("b", ["h2:1"])], g)
        await m.wait_background()
        stale = app.stale_series()
        assert 'm{instance="h1:1", job="a"}' in stale and 'up{instance="h1:1", job="a"}' in stale
        with pytest.raises(ConfigError, match='multiple scrape configs with job name "b"'):
            await m.apply_config([job("b", ["x:1"]), job("b", ["y:1"])], g)
        await m.stop()
        assert m.pools == {}

    asyncio.run(main())


def test_dropped_targets_and_target_limit() -> None:
    async def main() -> None:
        app = Collect()
        m = ScrapeManager(app, fetch=fetch)
        cfg = job(
            "a",
            ["h1:1", "h2:1", "skip:1"],
            target_limit=1,
            relabel_configs=[{"source_labels": ["__address__"], "regex": "skip.*", "action": "drop"}],
        )
        await m.apply_config([cfg], GlobalScrapeDefaults())
        await until(lambda: all(t["health"] != "unknown" for t in m.targets()["activeTargets"]))
        data = m.targets()
        assert [d["discoveredLabels"]["__address__"] for d in data["droppedTargets"]] == ["skip:1"]
        assert data["droppedTargetCounts"] == {"a": 1}
        errs = {t["lastError"] for t in data["activeTargets"]}
        assert errs == {"target_limit exceeded (number of targets: 2, limit: 1)"}
        assert m.targets(state="dropped").keys() == {"droppedTargets", "droppedTargetCounts"}
        keep1 = job(
            "k",
            ["skip:1", "skip:2"],
            keep_dropped_targets=1,
            relabel_configs=[{"source_labels": ["__address__"], "regex": "skip.*", "action": "drop"}],
        )
        await m.apply_config([cfg, keep1], GlobalScrapeDefaults())
        data = m.targets(scrape_pool="k")
        assert len(data["droppedTargets"]) == 1 and data["droppedTargetCounts"] == {"k": 2}
        assert m.targets(state="active").keys() == {"activeTargets"}
        await m.stop()

    asyncio.run(main())


def test_global_url_replaces_loopback() -> None:
    async def main() -> None:
        m = ScrapeManager(Collect(), fetch=fetch, hostname="box")
        await m.apply_config(
            [job("a", ["127.0.0.1:9100", "localhost:1", "remote:2"])], GlobalScrapeDefaults()
        )
        urls = {t["scrapeUrl"]: t["globalUrl"] for t in m.targets()["activeTargets"]}
        assert urls == {
            "http://127.0.0.1:9100/metrics": "http://box:9100/metrics",
            "http://localhost:1/metrics": "http://box:1/metrics",
            "http://remote:2/metrics": "http://remote:2/metrics",
        }
        await m.stop()

    asyncio.run(main())


# -- file SD ---------------------------------------------------------------------------------


def test_file_sd_json_yaml_globs_and_changes(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"targets": ["a:1", "b:1"], "labels": {"env": "p"}}]))
    (tmp_path / "b.yml").write_text("- targets: ['c:1']\n")
    (tmp_path / "ignored.txt").write_text("nothing")
    clock = [0.0]
    p = FileSDProvider(
        FileSDConfig(files=[str(tmp_path / "*.json"), str(tmp_path / "*.yml")], refresh_interval="5m"),
        now=lambda: clock[0],
    )
    assert p.refresh()
    groups = p.groups()
    assert [t["__address__"] for g in groups for t in g.targets] == ["a:1", "b:1", "c:1"]
    assert groups[0].labels == {"env": "p", "__meta_filepath": str(tmp_path / "a.json")}
    assert groups[0].source == f"{tmp_path / 'a.json'}:0"
    assert not p.refresh()  # nothing changed
    # A broken file keeps its previous targets.
    (tmp_path / "b.yml").write_text("- targets: [")
    os.utime(tmp_path / "b.yml", (1, 1))
    assert not p.refresh() and p.read_errors == 1
    assert [t["__address__"] for g in p.groups() for t in g.targets] == ["a:1", "b:1", "c:1"]
    # A changed file is re-read; a removed file takes its targets with it.
    (tmp_path / "b.yml").write_text("- targets: ['d:1']\n")
    os.utime(tmp_path / "b.yml", (2, 2))
    (tmp_path / "a.json").unlink()
    assert p.refresh()
    assert [t["__address__"] for g in p.groups() for t in g.targets] == ["d:1"]


def test_file_sd_in_manager(tmp_path: Path) -> None:
    sd = tmp_path / "t.json"
    sd.write_text(json.dumps([{"targets": ["f1:1"]}]))

    async def main() -> None:
        m = ScrapeManager(Collect(), fetch=fetch)
        cfg = ScrapeConfig.model_validate(
            {
                "job_name": "f",
                "scrape_interval": "100ms",
                "scrape_timeout": "100ms",
                "file_sd_configs": [{"files": [str(sd)], "refresh_interval": "100ms"}],
            }
        )
        await m.apply_config([cfg], GlobalScrapeDefaults())
        await until(lambda: [t["labels"]["instance"] for t in m.targets()["activeTargets"]] == ["f1:1"])
        sd.write_text(json.dumps([{"targets": ["f2:1"]}]))
        os.utime(sd, (time.time() + 5, time.time() + 5))
        await until(lambda: [t["labels"]["instance"] for t in m.targets()["activeTargets"]] == ["f2:1"])
        await m.stop()

    asyncio.run(main())


# -- HTTP SD ---------------------------------------------------------------------------------


class _SDHandler(BaseHTTPRequestHandler):
    responses: list[tuple[int, str, bytes]] = []
    seen_headers: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen_headers.append(dict(self.headers))
        status, ctype, body = type(self).responses.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sd_server() -> Iterator[tuple[str, type[_SDHandler]]]:
    handler = type("H", (_SDHandler,), {"responses": [], "seen_headers": []})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/sd", handler
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(timeout=5)


def test_http_sd_keeps_last_good(sd_server: tuple[str, type[_SDHandler]]) -> None:
    url, handler = sd_server
    good = json.dumps([{"targets": ["x:1"], "labels": {"dc": "eu"}}]).encode()
    handler.responses += [
        (200, "application/json", good),
        (500, "text/plain", b"oops"),
        (200, "text/plain", good),
        (200, "application/json", b"{not json"),
        (200, "application/json", b"[]"),
    ]

    async def main() -> None:
        p = HTTPSDProvider(HTTPSDConfig(url=url, authorization={"credentials": "tok"}))
        assert await p.refresh()
        assert p.last is not None and p.last[0].labels == {"dc": "eu", "__meta_url": url}
        assert p.last[0].source == f"{url}:0"
        for expected in ("500", "unsupported content type", ""):
            assert not await p.refresh()
            assert expected in p.last_error
            assert p.last[0].targets == [{"__address__": "x:1"}]
        assert await p.refresh() and p.last == []

    asyncio.run(main())
    assert handler.seen_headers[0]["Authorization"] == "Bearer tok"
    assert handler.seen_headers[0]["X-Prometheus-Refresh-Interval-Seconds"] == "60"


class FakeClock:
    """Discrete-event clock: ``sleep`` waits until ``advance`` moves time past its wake-up."""

    def __init__(self, t: float) -> None:
        self.t = t
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now(self) -> float:
        return self.t

    async def sleep(self, d: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (self.t + d, self._seq, fut))
        await fut

    async def advance(self, until: float) -> None:
        while True:
            for _ in range(20):
                await asyncio.sleep(0)
            if not self._waiters or self._waiters[0][0] > until:
                break
            when, _, fut = heapq.heappop(self._waiters)
            self.t = max(self.t, when)
            if not fut.done():
                fut.set_result(None)
        self.t = until


def test_scrape_schedule_offset_and_end_of_run_staleness() -> None:
    async def main() -> None:
        clock = FakeClock(1_700_000_000.0)
        app = Collect()
        m = ScrapeManager(app, fetch=fetch, now=clock.now, sleep=clock.sleep, hostname="h", offload=False)
        cfg = ScrapeConfig.model_validate(
            {"job_name": "a", "scrape_interval": "10s", "static_configs": [{"targets": ["t:1"]}]}
        )
        await m.apply_config([cfg], GlobalScrapeDefaults())
        loop = next(iter(m.pools["a"].active.values())).loop
        await clock.advance(1_700_000_035.0)

        def up_times() -> list[int]:
            out = []
            for b in app.batches:
                for s, t in zip(b.series, b.t, strict=True):
                    if b.labels[s].name == "up":
                        out.append(int(t))
            return out

        times = up_times()
        assert len(times) in (3, 4)
        assert all(b - a == 10_000 for a, b in zip(times, times[1:], strict=False))
        # Slots are pinned to absolute time by the target's hash: the same phase every interval.
        phase = times[0] % 10_000
        target = loop.target
        assert (
            phase
            == (1_700_000_000_000 + target.offset_ms(10_000, 1_700_000_000_000, loop.offset_seed)) % 10_000
        )
        last = times[-1]
        await m.apply_config([], GlobalScrapeDefaults())
        assert app.stale_series() == set()  # written only once the next scrape would have happened
        await clock.advance(clock.t + 25)
        await m.wait_background()
        stale_t = {int(t) for b in app.batches for t, v in zip(b.t, b.v, strict=True) if is_stale(v[None])[0]}
        assert stale_t == {last + 10_000}
        assert app.stale_series() == {
            'm{instance="t:1", job="a"}',
            'up{instance="t:1", job="a"}',
            'scrape_duration_seconds{instance="t:1", job="a"}',
            'scrape_samples_scraped{instance="t:1", job="a"}',
            'scrape_samples_post_metric_relabeling{instance="t:1", job="a"}',
            'scrape_series_added{instance="t:1", job="a"}',
        }
        await m.stop()

    asyncio.run(main())
