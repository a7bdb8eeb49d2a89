"""Counter-reset hints that storage reads back for histogram samples, as Prometheus' TSDB does."""

from __future__ import annotations

import numpy as np

from watchkeeper.model.batch import STALE_NAN, SampleBatch
from watchkeeper.model.histogram import COUNTER_RESET, GAUGE_TYPE, NOT_COUNTER_RESET, UNKNOWN_RESET
from watchkeeper.model.histogram_ops import from_python
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage.db import TSDB

H = Labels({"__name__": "h"})
G = Labels({"__name__": "g"})
ANY = [Matcher(MatchType.REGEX, "__name__", ".+")]
ALL = (-(2**62), 2**62)
U, N, R, GA = UNKNOWN_RESET, NOT_COUNTER_RESET, COUNTER_RESET, GAUGE_TYPE


def hist(count: float, hint: int = UNKNOWN_RESET, schema: int = 0, buckets: dict | None = None) -> dict:
    return {"schema": schema, "count": count, "sum": count, "hint": hint,
            "positive": buckets if buckets is not None else {0: count}}


def append(db: TSDB, samples: list[tuple[Labels, int, float | dict]]) -> None:
    labels = list(dict.fromkeys(lb for lb, _, _ in samples))
    hs = [x for _, _, x in samples if isinstance(x, dict)]
    h_index, k = [], 0
    for _, _, x in samples:
        h_index.append(k if isinstance(x, dict) else -1)
        k += isinstance(x, dict)
    db.append(SampleBatch(
        labels, np.array([labels.index(lb) for lb, _, _ in samples], np.int64),
        np.array([t for _, t, _ in samples], np.int64),
        np.array([np.nan if isinstance(x, dict) else x for _, _, x in samples], np.float64),
        from_python(hs) if hs else None, np.array(h_index, np.int64) if hs else None))


def hints(db: TSDB, labels: Labels = H) -> list[int | None]:
    """Per stored sample of ``labels``: its hint, or None for a float."""
    ss = db.select(ANY, *ALL)
    i = [str(lb) for lb in ss.labels].index(str(labels))
    out: list[int | None] = []
    for j in range(int(ss.offsets[i]), int(ss.offsets[i + 1])):
        hi = -1 if ss.h_index is None else int(ss.h_index[j])
        out.append(int(ss.h.hint[hi]) if hi >= 0 else None)
    return out


def test_counter_chunks_read_not_reset_after_their_first_sample():
    with TSDB(None) as db:
        append(db, [(H, 1000, hist(1)), (H, 2000, hist(2)), (H, 3000, hist(3)),
                    (H, 4000, hist(1)),  # count decreased: a reset starts a new chunk
                    (H, 5000, hist(2)),
                    (H, 6000, hist(3, hint=R)),  # an explicit reset hint does too
                    (H, 7000, hist(4, hint=N)),
                    (H, 8000, hist(5, schema=1)),  # a schema change cuts a chunk
                    (H, 9000, hist(6, schema=1, buckets={0: 1})),  # bucket 0 shrinks: reset
                    (H, 10000, hist(7, schema=1, buckets={0: 1, 1: 6}))])
        assert hints(db) == [U, N, N, U, N, U, N, U, U, N]


def test_gauges_floats_and_stale_markers_end_chunks():
    with TSDB(None) as db:
        append(db, [(H, 1000, hist(1)), (H, 2000, hist(2, hint=GA)), (H, 3000, hist(3, hint=GA)),
                    (H, 4000, hist(4)), (H, 5000, hist(5)), (H, 6000, 1.5), (H, 7000, hist(6)),
                    (H, 8000, STALE_NAN), (H, 9000, hist(7)), (H, 10000, hist(8))])
        assert hints(db) == [U, GA, GA, U, N, None, U, None, U, N]


def test_hints_follow_the_series_across_batches_and_unordered_input():
    with TSDB(None) as db:
        append(db, [(H, 3000, hist(3)), (G, 1000, hist(1)), (H, 1000, hist(1)), (H, 2000, hist(2))])
        append(db, [(H, 4000, hist(4)), (G, 2000, hist(0))])
        append(db, [(H, 5000, 2.0)])
        append(db, [(H, 6000, hist(6))])
        assert hints(db) == [U, N, N, N, None, U]
        assert hints(db, G) == [U, U]


def test_hints_survive_wal_replay_and_pool_compaction(tmp_path):
    with TSDB(tmp_path, wal_fsync="never") as db:
        append(db, [(H, t * 1000, hist(t)) for t in range(1, 4)])
    with TSDB(tmp_path) as db:
        assert hints(db) == [U, N, N]
        append(db, [(H, 4000, hist(4))])  # continues the series remembered by the replay
        assert hints(db) == [U, N, N, N]
        head = db._head
        append(db, [(H, 5000 + k, hist(5 + k)) for k in range(1100)])
        before = len(head.hist)
        head.delete(np.array([head.index.get(H)]), 0, 5800)  # most of the pool is dead now
        head.compact_histograms()
        assert len(head.hist) < before
        append(db, [(H, 10_000, hist(2000))])
        assert hints(db)[-1] == N
