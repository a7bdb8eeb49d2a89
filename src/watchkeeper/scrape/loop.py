"""One target's scrape loop: fetch, parse, label, limit, append, report, stale.

Per scrape (Prometheus' ``scrapeAndReport``): the body is parsed into series
keys; each key is looked up in the loop's ref cache (raw key -> final Labels,
or None when metric relabeling dropped it), so label parsing, target-label
merging and ``metric_relabel_configs`` run only for series not seen before.
Samples, staleness markers and the report series (``up``,
``scrape_duration_seconds``, ...) go to the appender as one ``SampleBatch``.

Staleness follows Prometheus: a series present in the previous successful
scrape but not in this one gets a stale marker; a failed scrape stales every
series of the last scrape (``up`` itself is reported as 0, not staled); a
removed target stales its series and report series at the time its next
scrape would have happened.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exposition.protoparse import parse_protobuf
from ..exposition.textparse import (
    NO_TIMESTAMP,
    PROTOBUF_FORMAT,
    MetricMeta,
    ParsedScrape,
    ParseError,
    format_for_content_type,
    normalize_float_labels,
    parse,
    parse_series_key,
)
from ..model.batch import STALE_NAN, SampleBatch
from ..model.histogram import CUSTOM_BUCKETS_SCHEMA, HistogramBatch
from ..model.histogram_ops import reduce_schema
from ..model.labels import Labels
from ..storage.api import Appender, StorageError
from .config import SCRAPE_PROTOCOL_HEADERS, ScrapeConfig
from .httpclient import ScrapeError
from .relabel import relabel
from .target import Target

__all__ = ["ScrapeLoop", "Fetch", "ScrapeStats", "mutate_sample_labels", "REPORT_METRICS"]

log = logging.getLogger(__name__)

Fetch = Callable[[Target], Awaitable[tuple[bytes, str]]]
"""Fetch one target's body: returns (decoded body, Content-Type); raises ScrapeError."""

REPORT_METRICS = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
)

# Prometheus' scrape timestamp tolerance: a scrape this close to its slot gets the slot's time.
_TOLERANCE_MS = 2

_NO_SLOTS = np.zeros(0, dtype=np.int64)
_NORMAL_NAN = np.array([0x7FF8000000000001], dtype=np.uint64).view(np.float64)[0]  # Prometheus' NormalNaN


@dataclass
class ScrapeStats:
    """Counts reported for one scrape."""

    scraped: int = 0
    post_relabel: int = 0
    series_added: int = 0


def mutate_sample_labels(
    pairs: list[tuple[str, str]], target: Labels, honor_labels: bool, cfg: ScrapeConfig
) -> Labels | None:
    """Merge target labels into a scraped series (honor_labels / ``exported_`` rules), then metric relabel."""
    lb = {k: v for k, v in pairs if v != ""}
    if honor_labels:
        for k, v in target:
            if k not in lb:
                lb[k] = v
    else:
        conflicts = []
        for k, v in target:
            old = lb.get(k, "")
            if old:
                conflicts.append((k, old))
            lb[k] = v
        conflicts.sort(key=lambda kv: len(kv[0]))
        for k, v in conflicts:
            name = k
            while True:
                name = "exported_" + name
                if not lb.get(name):
                    lb[name] = v
                    break
    if cfg.metric_relabel_configs:
        out = relabel(lb, cfg.metric_relabel_configs)
        if out is None or not out:
            return None
        lb = out
    return Labels(lb)


def _label_limit_error(lset: Labels, cfg: ScrapeConfig) -> str:
    """Prometheus' verifyLabelLimits message, or '' when within limits."""
    name = lset.name[:50]
    if cfg.label_limit and len(lset) > cfg.label_limit:
        return (
            f"label_limit exceeded (metric: {name}, number of labels: {len(lset)}, limit: {cfg.label_limit})"
        )
    for k, v in lset:
        if cfg.label_name_length_limit and len(k) > cfg.label_name_length_limit:
            return (
                f"label_name_length_limit exceeded (metric: {name}, label name: {k[:50]}, "
                f"length: {len(k)}, limit: {cfg.label_name_length_limit})"
            )
        if cfg.label_value_length_limit and len(v) > cfg.label_value_length_limit:
            return (
                f"label_value_length_limit exceeded (metric: {name}, label name: {k[:50]}, "
                f'value: "{v[:50]}", length: {len(v)}, limit: {cfg.label_value_length_limit})'
            )
    return ""


class _AppendError(Exception):
    def __init__(self, msg: str, stats: ScrapeStats) -> None:
        super().__init__(msg)
        self.stats = stats


def _max_schema(min_bucket_factor: float) -> int:
    """The finest schema whose bucket growth factor is at least ``min_bucket_factor`` (Prometheus'
    ``pickSchema``; factors up to 1 allow every schema)."""
    factor = min_bucket_factor if min_bucket_factor > 1 else 1.00271
    return int(min(8, max(-4, math.floor(-math.log2(math.log2(factor))))))


def _limit_native(h: HistogramBatch, bucket_limit: int, min_bucket_factor: float) -> HistogramBatch:
    """``native_histogram_min_bucket_factor`` and ``native_histogram_bucket_limit`` as Prometheus
    applies them: exponential histograms are reduced to the schema the factor allows, then one
    schema step at a time until they have at most ``bucket_limit`` buckets. Raises ValueError
    when one cannot get there (custom buckets, or schema -4 reached)."""
    exponential = h.schema != CUSTOM_BUCKETS_SCHEMA
    top = _max_schema(min_bucket_factor)
    if (exponential & (h.schema > top)).any():
        h = reduce_schema(h, np.where(exponential, np.minimum(h.schema, top), h.schema))
    if bucket_limit <= 0:
        return h
    for _ in range(13):  # schema 8 down to -4
        over = np.diff(h.pos_offsets) + np.diff(h.neg_offsets) > bucket_limit
        if not over.any():
            return h
        if (over & ((h.schema <= -4) | ~exponential)).any():
            break
        h = reduce_schema(h, np.where(over, h.schema.astype(np.int64) - 1, h.schema))
    raise ValueError("histogram bucket limit exceeded")


class ScrapeLoop:
    """Scrapes one target every interval and appends the result."""

    def __init__(
        self,
        target: Target,
        cfg: ScrapeConfig,
        appender: Appender,
        fetch: Fetch,
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        offset_seed: int = 0,
        offload: bool = True,
    ) -> None:
        self.target = target
        self.offload = offload
        self._lock = threading.RLock()
        self.cfg = cfg
        self.appender = appender
        self.fetch = fetch
        self.now = now
        self.sleep = sleep
        self.offset_seed = offset_seed
        self.metadata: dict[str, MetricMeta] = {}
        # Ref cache: raw series key -> slot in the series table (-1: dropped by relabeling).
        self._cache: dict[str, int] = {}
        self._slots: list[Labels] = []  # series table of this target
        self._slot_of: dict[Labels, int] = {}
        self._prev = _NO_SLOTS  # slots of the last successful scrape (for staleness)
        self._report_labels = {m: self._report_lset(m) for m in REPORT_METRICS}
        self.last_ts_ms: int | None = None
        self.next_ts_ms: int | None = None
        fallback = cfg.fallback_scrape_protocol
        self._fallback = SCRAPE_PROTOCOL_HEADERS[fallback].split(";")[0] if fallback else ""

    def inherit(self, old: ScrapeLoop) -> None:
        """Take over a reloaded loop's staleness set and health (and ref cache if labeling is unchanged)."""
        with old._lock:  # the old loop's last parse may still be finishing in its worker thread
            self._take_over(old)

    def _take_over(self, old: ScrapeLoop) -> None:
        self.last_ts_ms = old.last_ts_ms
        self.metadata = old.metadata
        same = (
            "honor_labels",
            "metric_relabel_configs",
            "label_limit",
            "label_name_length_limit",
            "label_value_length_limit",
        )
        if all(getattr(old.cfg, f) == getattr(self.cfg, f) for f in same):
            self._cache, self._slots, self._slot_of = old._cache, old._slots, old._slot_of
            self._prev = old._prev
        else:
            self._slots = [old._slots[i] for i in old._prev.tolist()]
            self._slot_of = {lset: i for i, lset in enumerate(self._slots)}
            self._prev = np.arange(len(self._slots), dtype=np.int64)
        t, o = self.target, old.target
        t.health, t.last_error, t.last_scrape, t.last_scrape_duration = (
            o.health,
            o.last_error,
            o.last_scrape,
            o.last_scrape_duration,
        )

    def _report_lset(self, name: str) -> Labels:
        return mutate_report_labels(name, self.target.labels)

    # -- scheduling -------------------------------------------------------------------------

    async def run(self) -> None:
        """Scrape forever at the target's interval, first after its hash-spread offset."""
        interval = self.target.interval_ms
        now_ms = int(self.now() * 1000)
        slot = now_ms + self.target.offset_ms(interval, now_ms, self.offset_seed)
        while True:
            self.next_ts_ms = slot
            delay = slot / 1000 - self.now()
            if delay > 0:
                await self.sleep(delay)
            actual = int(self.now() * 1000)
            ts = slot if abs(actual - slot) <= _TOLERANCE_MS else actual
            try:
                await self.scrape_once(ts)
            except Exception as e:  # a bug must not silently end this target's scraping
                log.exception("scrape of %s failed unexpectedly", self.target.url)
                self.target.health, self.target.last_error = "down", f"internal error: {e}"
            slot += interval
            behind = int(self.now() * 1000) - slot
            if behind > 0:  # a slow scrape: skip the missed slots, as a Go ticker drops ticks
                slot += (behind // interval + 1) * interval

    async def scrape_once(self, ts_ms: int) -> None:
        """Fetch, process and append one scrape stamped ``ts_ms``; never raises for target problems."""
        t = self.target
        start = time.perf_counter()
        try:
            body, ctype = await self.fetch(t)
        except ScrapeError as e:
            await self._run(self.record_failure, str(e), ts_ms, time.perf_counter() - start)
            return
        await self._run(self.process, body, ctype, ts_ms, start)

    async def _run(self, fn: Callable[..., None], *args: Any) -> None:
        # Parsing and appending are CPU and disk work: a worker thread keeps the event loop
        # (API, other loops) responsive; the loop's lock serialises it with stale_all().
        if self.offload:
            await asyncio.to_thread(fn, *args)
        else:
            fn(*args)

    # -- processing -------------------------------------------------------------------------

    def process(self, body: bytes, content_type: str, ts_ms: int, start: float) -> None:
        """Parse and append a fetched body (sync: parsing is CPU work)."""
        with self._lock:
            self._process(body, content_type, ts_ms, start)

    def _process(self, body: bytes, content_type: str, ts_ms: int, start: float) -> None:
        try:
            fmt, _warning = format_for_content_type(content_type, self._fallback)
            if fmt == PROTOBUF_FORMAT:
                parsed = parse_protobuf(body, native_histograms=bool(self.cfg.scrape_native_histograms),
                                        classic_histograms=self.cfg.always_scrape_classic_histograms)
            else:
                parsed = parse(body, fmt)
            batch, stats, cur = self._build(parsed, ts_ms)
        except ParseError as e:
            log.debug("scrape of %s: parse error on line %d: %s", self.target.url, e.line, e)
            self.record_failure(str(e), ts_ms, time.perf_counter() - start)
            return
        except _AppendError as e:
            self.record_failure(str(e), ts_ms, time.perf_counter() - start, e.stats)
            return
        stale = self._labels_of(np.setdiff1d(self._prev, cur, assume_unique=True))
        self._prev = cur
        self.metadata = parsed.metadata
        duration = time.perf_counter() - start
        self._append(batch, stale, ts_ms, duration, stats, up=1.0)
        t = self.target
        t.health, t.last_error = "up", ""
        t.last_scrape, t.last_scrape_duration = ts_ms / 1000, duration
        self.last_ts_ms = ts_ms

    def record_failure(self, err: str, ts_ms: int, duration: float, stats: ScrapeStats | None = None) -> None:
        """A failed scrape: report up=0 and stale every series of the last scrape."""
        with self._lock:
            stale = self._labels_of(self._prev)
            self._prev = _NO_SLOTS
            self._append(None, stale, ts_ms, duration, stats or ScrapeStats(), up=0.0)
            t = self.target
            t.health, t.last_error = "down", err
            t.last_scrape, t.last_scrape_duration = ts_ms / 1000, duration
            self.last_ts_ms = ts_ms

    def stale_all(self, ts_ms: int) -> None:
        """End of run: stale markers for every series of the last scrape and the report series."""
        with self._lock:
            stale = self._labels_of(self._prev) + list(self._report_labels.values())
            self._prev = _NO_SLOTS
            if self.last_ts_ms is None:
                return
            n = len(stale)
            ts, nan = np.full(n, ts_ms, np.int64), np.full(n, STALE_NAN)
            self._commit(SampleBatch(stale, np.arange(n, dtype=np.int64), ts, nan))

    def _labels_of(self, slots: np.ndarray) -> list[Labels]:
        return list(map(self._slots.__getitem__, slots.tolist()))

    def _slot(self, key: str, metadata: dict[str, MetricMeta]) -> tuple[int, bool]:
        """Cache miss: parse and label one series key; returns (slot or -1 if dropped, new series?)."""
        cfg = self.cfg
        pairs = normalize_float_labels(parse_series_key(key), metadata)
        lset = mutate_sample_labels(pairs, self.target.labels, cfg.honor_labels, cfg)
        if lset is None:
            self._cache[key] = -1
            return -1, False
        if not lset.name:
            raise ValueError(f"invalid metric name or label names: {lset}")
        err = _label_limit_error(lset, cfg)
        if err:
            raise ValueError(err)
        slot = self._slot_of.get(lset)
        new = slot is None
        if slot is None:
            slot = self._slot_of[lset] = len(self._slots)
            self._slots.append(lset)
        self._cache[key] = slot
        return slot, new

    def _build(self, parsed: ParsedScrape, ts_ms: int) -> tuple[SampleBatch, ScrapeStats, np.ndarray]:
        cfg = self.cfg
        keys = parsed.keys
        n = len(keys)
        slots = np.fromiter(map(self._cache.get, keys, itertools.repeat(-2, n)), dtype=np.int64, count=n)
        added = 0
        for i in np.flatnonzero(slots == -2).tolist():
            try:
                slots[i], new = self._slot(keys[i], parsed.metadata)
            except ParseError as e:  # the line number is looked up only now: it costs a rescan
                raise ParseError(e.reason, parsed.line_of(i)) from None
            except ValueError as e:
                raise _AppendError(str(e), ScrapeStats(n)) from None
            added += new
        # Keep the first sample of each series (a duplicate would be rejected by Prometheus' appender).
        kept = np.flatnonzero(slots >= 0)
        _, first = np.unique(slots[kept], return_index=True)
        sel = kept[np.sort(first)] if len(first) != len(kept) else kept
        stats = ScrapeStats(n, len(sel), added)
        if cfg.sample_limit and len(sel) > cfg.sample_limit:
            raise _AppendError("sample limit exceeded", ScrapeStats(n, len(sel), 0))
        sel_slots = slots[sel]
        v = parsed.values[sel]
        nan = np.isnan(v)
        if nan.any():  # one canonical NaN, so no exposed value can pass for a staleness marker
            v[nan] = _NORMAL_NAN
        ts = parsed.timestamps[sel]
        explicit = ts != NO_TIMESTAMP
        if cfg.honor_timestamps:
            t = np.where(explicit, ts, ts_ms).astype(np.int64)
        else:
            t = np.full(len(sel), ts_ms, np.int64)
        if cfg.honor_timestamps and not cfg.track_timestamps_staleness and explicit.any():
            cur = sel_slots[~explicit]  # series with their own timestamps are not staled
        else:
            cur = sel_slots
        batch = SampleBatch(self._labels_of(sel_slots), np.arange(len(sel), dtype=np.int64), t, v)
        h_index = getattr(parsed, "h_index", None)  # native histograms (protobuf scrapes only)
        if h_index is not None:
            h_index = h_index[sel]
            h = getattr(parsed, "h", None)
            if h is not None and (h_index >= 0).any():
                try:
                    h = _limit_native(h, cfg.native_histogram_bucket_limit,
                                      cfg.native_histogram_min_bucket_factor)
                except ValueError as e:
                    raise _AppendError(str(e), ScrapeStats(n, len(sel), 0)) from None
                batch.h, batch.h_index = h, h_index
        if len(self._cache) > 2 * n + 64:
            cur = self._compact(keys, cur)
        return batch, stats, np.sort(cur)

    def _compact(self, keys: list[str], cur: np.ndarray) -> np.ndarray:
        """Forget series that left the exposition: keep cache entries of this scrape, renumber slots."""
        cache = {k: self._cache[k] for k in keys if k in self._cache}
        held = np.fromiter(cache.values(), dtype=np.int64, count=len(cache))
        live = np.unique(np.concatenate([held[held >= 0], self._prev, cur]))
        remap = np.full(len(self._slots), -1, dtype=np.int64)
        remap[live] = np.arange(len(live))
        self._slots = [self._slots[i] for i in live.tolist()]
        self._slot_of = {lset: i for i, lset in enumerate(self._slots)}
        self._cache = {k: (int(remap[s]) if s >= 0 else -1) for k, s in cache.items()}
        self._prev = remap[self._prev]
        return remap[cur]

    def _append(
        self,
        batch: SampleBatch | None,
        stale: list[Labels],
        ts_ms: int,
        duration: float,
        stats: ScrapeStats,
        up: float,
    ) -> None:
        labels: list[Labels] = list(batch.labels) if batch is not None else []
        rep = self._report_labels
        extra = stale + [rep[m] for m in REPORT_METRICS]
        n0 = len(labels)
        labels.extend(extra)
        rep_vals = [up, duration, float(stats.scraped), float(stats.post_relabel), float(stats.series_added)]
        t_extra = np.full(len(extra), ts_ms, np.int64)
        v_extra = np.array([STALE_NAN] * len(stale) + rep_vals, dtype=np.float64)
        h = h_index = None
        if batch is not None:
            t = np.concatenate([batch.t, t_extra])
            v = np.concatenate([batch.v, v_extra])
            if batch.h_index is not None:
                h, h_index = batch.h, np.concatenate([batch.h_index, np.full(len(extra), -1, np.int64)])
        else:
            t, v = t_extra, v_extra
        self._commit(SampleBatch(labels, np.arange(n0 + len(extra), dtype=np.int64), t, v, h, h_index))

    def _commit(self, batch: SampleBatch) -> None:
        try:
            self.appender.append(batch)
        except StorageError as e:
            log.warning("append failed for target %s: %s", self.target.url, e)


def mutate_report_labels(name: str, target: Labels) -> Labels:
    """Labels of a report series: the metric name plus the target labels."""
    return Labels({**target.to_dict(), "__name__": name})
