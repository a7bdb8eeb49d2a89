"""History for the demo: the hours before the start as if they had been scraped, in one columnar batch.

The samples are what the scrape loop would have stored: every target's series at its own scrape
times (targets spread over the interval), the five report series (``up``, ``scrape_duration_seconds``,
``scrape_samples_scraped``, ``scrape_samples_post_metric_relabeling``, ``scrape_series_added``), and
at a host's first failed scrape a staleness marker for each of its series followed by nothing but
``up == 0`` until it is back.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.batch import STALE_NAN, SampleBatch
from ..model.labels import Labels
from ..model.matchers import Matcher
from ..storage.api import Querier
from .catalog import Job
from .fleet import Fleet

__all__ = ["history", "resume_after"]

_REPORT = ("up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
           "scrape_series_added")


def resume_after(querier: Querier, *, mint_ms: int, maxt_ms: int) -> int | None:
    """The last demo scrape already stored in [mint, maxt] (ms), so a restarted demo fills only the gap."""
    found = querier.select([Matcher.eq("__name__", "up"), Matcher.eq("job", "node")], mint_ms, maxt_ms)
    return int(found.t.max()) if len(found.t) else None


def _offsets(n: int, interval_ms: int) -> np.ndarray:
    """Scrape offsets within the interval, spread like the scrape manager spreads targets."""
    return (np.arange(n, dtype=np.int64) * 7919 * 1000 // 7) % interval_ms


def _job_batch(job: Job, vals: np.ndarray, up: np.ndarray, grid_ms: np.ndarray, interval_ms: int,
               first_ever: bool) -> tuple[list[Labels], np.ndarray, np.ndarray, np.ndarray]:
    n_t, n_h, n_s = vals.shape
    labels = [Labels({"__name__": name, "job": job.name, "instance": job.instance(h), **own})
              for h in job.host_names for name, own in job.series(h)]
    labels += [Labels({"__name__": name, "job": job.name, "instance": job.instance(h)})
               for h in job.host_names for name in _REPORT]
    t_ms = grid_ms[:, None] - _offsets(n_h, interval_ms)[None, :]  # earlier, never past the end
    was_up = np.vstack([up[:1], up[:-1]])
    went_down = was_up & ~up
    keep = np.broadcast_to((up | went_down)[:, :, None], vals.shape)
    v = np.where(went_down[:, :, None], STALE_NAN, vals)
    sid = np.broadcast_to(np.arange(n_h * n_s, dtype=np.int64).reshape(1, n_h, n_s), vals.shape)
    series = [sid[keep]]
    ts = [np.broadcast_to(t_ms[:, :, None], vals.shape)[keep]]
    values = [v[keep]]
    # Report series: every scrape, failed or not.
    rng = np.random.default_rng(int(grid_ms[0]) & 0xFFFF)
    duration = np.where(up, 0.003 + 0.004 * rng.random(up.shape), 0.0008 + 0.0004 * rng.random(up.shape))
    scraped = np.where(up, float(n_s), 0.0)
    added = np.zeros(up.shape)
    if first_ever:
        added[0] = np.where(up[0], n_s, 0)
    report = np.stack([up.astype(np.float64), duration, scraped, scraped, added], axis=2)
    rid = n_h * n_s + np.arange(n_h * len(_REPORT), dtype=np.int64).reshape(1, n_h, len(_REPORT))
    series.append(np.broadcast_to(rid, report.shape).ravel())
    ts.append(np.broadcast_to(t_ms[:, :, None], report.shape).ravel())
    values.append(report.ravel())
    return labels, np.concatenate(series), np.concatenate(ts), np.concatenate(values)


def history(fleet: Fleet, jobs: tuple[Job, ...], *, start_s: float, end_s: float, interval_s: float,
            first_ever: bool = True) -> SampleBatch:
    """Every job's samples on the scrape grid in [start_s, end_s) as one batch (empty if the span is)."""
    step = interval_s
    grid = np.arange(math.ceil(start_s / step) * step, end_s, step)
    if grid.shape[0] == 0:
        return SampleBatch([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    snap = fleet.advance(grid)
    grid_ms = np.round(grid * 1000).astype(np.int64)
    interval_ms = int(round(interval_s * 1000))
    labels: list[Labels] = []
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for job in jobs:
        lab, sid, t, v = _job_batch(job, job.values(snap), snap.up[:, job.host_index], grid_ms, interval_ms,
                                    first_ever)
        parts.append((sid + len(labels), t, v))
        labels += lab
    return SampleBatch(labels, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                       np.concatenate([p[2] for p in parts]))
