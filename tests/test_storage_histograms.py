"""Native-histogram samples in the TSDB: head, WAL replay, checkpoints, blocks, compaction, deletes."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.model.batch import STALE_NAN, SampleBatch, is_stale
from watchkeeper.model.histogram import (
    CUSTOM_BUCKETS_SCHEMA,
    GAUGE_TYPE,
    NOT_COUNTER_RESET,
    UNKNOWN_RESET,
    HistogramBatch,
)
from watchkeeper.model.histogram_ops import concatenate as concat
from watchkeeper.model.histogram_ops import take
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage.api import StorageError
from watchkeeper.storage.db import TSDB
from watchkeeper.storage.hist import HistogramPool, is_tagged, tag
from watchkeeper.storage.wal import decode_histograms, encode_histograms

HOUR = 3_600_000
ALL = (-(2**62), 2**62)


def hists(rows: list[dict]) -> HistogramBatch:
    """A batch from readable per-histogram dicts."""

    def csr(key: str) -> tuple[np.ndarray, list]:
        lens = [len(r.get(key, ())) for r in rows]
        offs = np.zeros(len(rows) + 1, np.int64)
        np.cumsum(lens, out=offs[1:])
        return offs, [x for r in rows for x in r.get(key, ())]

    po, pos = csr("pos")
    no, neg = csr("neg")
    co, cus = csr("custom")
    return HistogramBatch(
        np.array([r.get("schema", 0) for r in rows], np.int8),
        np.array([r["count"] for r in rows], np.float64),
        np.array([r.get("sum", 0.0) for r in rows], np.float64),
        np.array([r.get("zc", 0.0) for r in rows], np.float64),
        np.array([r.get("zt", 1e-128) for r in rows], np.float64),
        np.array([r.get("hint", 0) for r in rows], np.uint8),
        po, np.array([i for i, _ in pos], np.int32), np.array([c for _, c in pos], np.float64),
        no, np.array([i for i, _ in neg], np.int32), np.array([c for _, c in neg], np.float64),
        co, np.array(cus, np.float64),
    )


def hrow(h: HistogramBatch, k: int) -> dict:
    """Histogram ``k`` of a batch as a dict in the form ``hists`` takes."""
    p = slice(int(h.pos_offsets[k]), int(h.pos_offsets[k + 1]))
    n = slice(int(h.neg_offsets[k]), int(h.neg_offsets[k + 1]))
    c = slice(int(h.custom_offsets[k]), int(h.custom_offsets[k + 1]))
    out = {"schema": int(h.schema[k]), "count": float(h.count[k]), "sum": float(h.sum[k]),
           "zc": float(h.zero_count[k]), "zt": float(h.zero_threshold[k]), "hint": int(h.hint[k]),
           "pos": list(zip(h.pos_index[p].tolist(), h.pos_count[p].tolist(), strict=True)),
           "neg": list(zip(h.neg_index[n].tolist(), h.neg_count[n].tolist(), strict=True))}
    if c.stop > c.start:
        out["custom"] = h.custom_values[c].tolist()
    return out


def full(d: dict) -> dict:
    """``d`` with the defaults ``hists`` fills in, for comparing with ``hrow``."""
    out = {"schema": 0, "sum": 0.0, "zc": 0.0, "zt": 1e-128, "hint": 0, "pos": [], "neg": [], **d}
    out["count"] = float(out["count"])
    out["pos"] = [(i, float(c)) for i, c in out["pos"]]
    out["neg"] = [(i, float(c)) for i, c in out["neg"]]
    return out


def hist_of(t: int, scale: float = 1.0) -> dict:
    """A distinctive histogram for timestamp ``t``."""
    k = t // 1000
    return {"schema": k % 4, "count": 10.0 + k * scale, "sum": k * 1.5, "zc": 1.0,
            "pos": [(k % 3, 2.0), (k % 3 + 2, 3.0 + k)], "neg": [(-1, 1.0)] if k % 2 else []}


def batch(samples: list[tuple[Labels, int, float | dict]]) -> SampleBatch:
    """A SampleBatch from (labels, t, float or histogram dict) triples."""
    labels = list(dict.fromkeys(lb for lb, _, _ in samples))
    pos = {lb: i for i, lb in enumerate(labels)}
    hrows = [x for _, _, x in samples if isinstance(x, dict)]
    h_index, k = [], 0
    for _, _, x in samples:
        h_index.append(k if isinstance(x, dict) else -1)
        k += isinstance(x, dict)
    return SampleBatch(
        labels,
        np.array([pos[lb] for lb, _, _ in samples], np.int64),
        np.array([t for _, t, _ in samples], np.int64),
        np.array([np.nan if isinstance(x, dict) else x for _, _, x in samples], np.float64),
        hists(hrows) if hrows else None,
        np.array(h_index, np.int64) if hrows else None,
    )


def contents(ss) -> dict[str, list]:
    """{labels: [(t, float | histogram dict | "stale")]} of a SeriesSet, checking its form."""
    assert (ss.h is None) == (ss.h_index is None)
    if ss.h is not None:
        hi = ss.h_index
        assert hi.shape == ss.v.shape
        assert np.isnan(ss.v[hi >= 0]).all()
        assert not is_tagged(ss.v).any()
        assert (ss.h is not None) and (hi >= 0).any()
    out = {}
    for i in range(len(ss)):
        a, b = int(ss.offsets[i]), int(ss.offsets[i + 1])
        rows = []
        for j in range(a, b):
            if ss.h_index is not None and ss.h_index[j] >= 0:
                # Storage reads counter histograms back as not_reset after the first of a run
                # (test_storage_counter_hints.py); here only the stored values matter.
                row = hrow(ss.h, int(ss.h_index[j]))
                if row["hint"] == NOT_COUNTER_RESET:
                    row["hint"] = UNKNOWN_RESET
                rows.append((int(ss.t[j]), row))
            elif is_stale(ss.v[j : j + 1])[0]:
                rows.append((int(ss.t[j]), "stale"))
            else:
                rows.append((int(ss.t[j]), float(ss.v[j])))
        out[str(ss.labels[i])] = rows
    return out


def expect(samples: list[tuple[Labels, int, float | dict | str]]) -> dict[str, list]:
    out: dict[str, dict[int, object]] = {}
    for lb, t, x in samples:
        out.setdefault(str(lb), {})[t] = full(x) if isinstance(x, dict) else x
    return {k: sorted(v.items()) for k, v in sorted(out.items())}


H = Labels({"__name__": "h", "job": "a"})
F = Labels({"__name__": "f", "job": "a"})
ANY = [Matcher(MatchType.REGEX, "__name__", ".+")]


@pytest.fixture(params=[8, 1 << 18], ids=["tiny-chunks", "default-chunks"])
def mem(request):
    d = TSDB(None, head_chunk_samples=request.param)
    yield d
    d.close()


def test_pool_take_concat_roundtrip():
    nhcb = {"schema": CUSTOM_BUCKETS_SCHEMA, "count": 3, "pos": [(0, 1), (2, 2)], "custom": [0.5, 1.0]}
    rows = [hist_of(t * 1000) for t in range(7)] + [nhcb]
    h = hists(rows)
    picked = take(h, np.array([7, 2, 2]))
    assert [hrow(picked, k) for k in range(3)] == [full(rows[7]), full(rows[2]), full(rows[2])]
    both = concat([take(h, np.array([1, 3])), take(h, np.array([7]))])
    assert [hrow(both, k) for k in range(3)] == [full(rows[1]), full(rows[3]), full(rows[7])]
    pool = HistogramPool()
    pool.extend(take(h, np.array([0, 1])))
    snap = pool.view()
    got = pool.extend(take(h, np.array([7])))
    assert got.tolist() == [2] and len(snap) == 2
    assert hrow(pool.view(), 2) == full(rows[7])


def test_wal_histogram_record_roundtrip():
    rows = [hist_of(5000), {"schema": CUSTOM_BUCKETS_SCHEMA, "count": 3, "pos": [(0, 1), (2, 2)],
                            "custom": [0.5, 1.0], "hint": GAUGE_TYPE}]
    for compress in (False, True):
        sid, t, h = decode_histograms(encode_histograms(np.array([4, 9]), np.array([10, 20]), hists(rows),
                                                        compress=compress))
        assert sid.tolist() == [4, 9] and t.tolist() == [10, 20]
        assert [hrow(h, 0), hrow(h, 1)] == [full(rows[0]), full(rows[1])]


def test_mixed_series_in_memory(mem):
    samples = [(H, t * 1000, hist_of(t * 1000)) for t in range(1, 30)]
    samples += [(F, t * 1000, float(t)) for t in range(1, 30)]
    # The series switches to floats, back to histograms, and ends with a staleness marker.
    samples += [(H, 30_000, 7.5), (H, 31_000, hist_of(31_000)), (H, 32_000, STALE_NAN)]
    for a in range(0, len(samples), 11):
        mem.append(batch(samples[a : a + 11]))
    got = contents(mem.select(ANY, *ALL))
    exp = expect([(lb, t, "stale" if isinstance(x, float) and is_stale(np.array([x]))[0] else x)
                  for lb, t, x in samples])
    assert got == exp
    # A float-only selection carries no histograms at all.
    floats = mem.select([Matcher(MatchType.EQUAL, "__name__", "f")], *ALL)
    assert floats.h is None and floats.h_index is None
    # A time range holding only float samples of the histogram series: no histograms either.
    part = mem.select([Matcher(MatchType.EQUAL, "__name__", "h")], 30_000, 30_000)
    assert part.h is None and part.v.tolist() == [7.5]
    window = contents(mem.select(ANY, 10_000, 12_000))
    assert window[str(H)] == [(t, full(hist_of(t))) for t in (10_000, 11_000, 12_000)]


def test_duplicates_last_write_wins_across_kinds(mem):
    mem.append(batch([(H, 1000, 1.0), (H, 2000, hist_of(2000)), (H, 3000, hist_of(3000))]))
    mem.append(batch([(H, 1000, hist_of(9000)), (H, 2000, 4.0)]))
    mem.append(batch([(H, 3000, hist_of(7000, scale=2))]))
    got = contents(mem.select(ANY, *ALL))
    assert got == {str(H): [(1000, full(hist_of(9000))), (2000, 4.0), (3000, full(hist_of(7000, scale=2)))]}


def test_float_nan_with_tag_bits_stays_a_float(mem):
    v = tag(np.array([0]))
    mem.append(SampleBatch([F], np.zeros(1, np.int64), np.array([1000]), v))
    out = mem.select(ANY, *ALL)
    assert out.h is None and np.isnan(out.v[0]) and not is_tagged(out.v).any()


def test_bad_histogram_batches_are_refused(mem):
    good = batch([(H, 1000, hist_of(1000))])
    with pytest.raises(StorageError):
        mem.append(SampleBatch(good.labels, good.series, good.t, good.v, None, good.h_index))
    with pytest.raises(StorageError):
        mem.append(SampleBatch(good.labels, good.series, good.t, good.v, good.h, np.array([3])))
    broken = hists([hist_of(1000)])
    broken.pos_offsets = np.array([0, 5])
    with pytest.raises(StorageError):
        mem.append(SampleBatch(good.labels, good.series, good.t, good.v, broken, good.h_index))
    assert len(mem.select(ANY, *ALL)) == 0


def _history(hours: int, step_ms: int = 60_000) -> list[tuple[Labels, int, float | dict]]:
    out: list[tuple[Labels, int, float | dict]] = []
    for t in range(step_ms, hours * HOUR, step_ms):
        out.append((H, t, hist_of(t) if (t // step_ms) % 7 else float(t)))
        out.append((F, t, float(t // 1000)))
    return out


def test_wal_replay_restores_histograms(tmp_path):
    samples = _history(1)
    with TSDB(tmp_path, wal_fsync="never") as db:
        for a in range(0, len(samples), 50):
            db.append(batch(samples[a : a + 50]))
        db.append(batch([(H, 60_000, 3.25)]))  # overwrite a histogram with a float
        before = contents(db.select(ANY, *ALL))
    with TSDB(tmp_path) as db:
        assert contents(db.select(ANY, *ALL)) == before
    assert before[str(H)][0] == (60_000, 3.25)


def test_blocks_checkpoint_compaction_delete_retention(tmp_path):
    samples = _history(9)
    opts = {"block_range_ms": HOUR, "compaction_ranges_ms": (3 * HOUR,), "retention_ms": 0,
            "wal_fsync": "never"}
    with TSDB(tmp_path, **opts) as db:
        for a in range(0, len(samples), 200):
            db.append(batch(samples[a : a + 200]))
            db.maintain()
        assert db.blocks()
        assert any(m.level > 1 for m in db.blocks())
        assert sum(m.num_histograms for m in db.blocks()) > 0
        exp = expect(samples)
        assert contents(db.select(ANY, *ALL)) == exp
    with TSDB(tmp_path, **opts) as db:  # blocks + checkpoint + WAL
        assert contents(db.select(ANY, *ALL)) == exp
        # Ranges that cut through blocks and the head.
        lo, hi = 2 * HOUR + 30_000, 8 * HOUR + 90_000
        sub = {k: [(t, x) for t, x in v if lo <= t <= hi] for k, v in exp.items()}
        assert contents(db.select(ANY, lo, hi)) == sub
        removed = db.delete_series([Matcher(MatchType.EQUAL, "__name__", "h")], HOUR, 5 * HOUR)
        assert removed == sum(1 for lb, t, _ in samples if lb == H and HOUR <= t <= 5 * HOUR)
        exp[str(H)] = [(t, x) for t, x in exp[str(H)] if not HOUR <= t <= 5 * HOUR]
        assert contents(db.select(ANY, *ALL)) == exp
        # Compaction drops the deleted samples physically and keeps the histograms.
        db.append(batch([(H, 12 * HOUR, hist_of(12 * HOUR))]))
        db.maintain()
        exp[str(H)].append((12 * HOUR, full(hist_of(12 * HOUR))))
        assert contents(db.select(ANY, *ALL)) == exp
    with TSDB(tmp_path, **{**opts, "retention_ms": 4 * HOUR}) as db:
        db.maintain()
        assert min(m.min_time for m in db.blocks()) >= 6 * HOUR
        got = contents(db.select(ANY, *ALL))
        assert got[str(H)][-1] == (12 * HOUR, full(hist_of(12 * HOUR)))
        assert all(isinstance(x, dict) or isinstance(x, float) for _, x in got[str(H)])


def test_custom_bucket_histograms_survive_a_block(tmp_path):
    nhcb = {"schema": CUSTOM_BUCKETS_SCHEMA, "count": 6.0, "sum": 4.5, "pos": [(0, 1.0), (1, 2.0), (3, 3.0)],
            "custom": [0.1, 0.5, 1.0], "zt": 0.0}
    samples = [(H, t, {**nhcb, "count": 6.0 + t / 1e6}) for t in range(60_000, 3 * HOUR, 600_000)]
    with TSDB(tmp_path, block_range_ms=HOUR, retention_ms=0, wal_fsync="never") as db:
        db.append(batch(samples))
        db.maintain()
        assert db.blocks()
        assert contents(db.select(ANY, *ALL)) == expect(samples)


def test_head_pool_is_compacted_after_cuts(tmp_path):
    samples = [(H, t, hist_of(t)) for t in range(1000, 5 * HOUR, 5000)]
    with TSDB(tmp_path, block_range_ms=HOUR, retention_ms=0, wal_fsync="never") as db:
        for a in range(0, len(samples), 500):
            db.append(batch(samples[a : a + 500]))
            db.maintain()
        assert len(db._head.hist) < len(samples) // 2
        assert contents(db.select(ANY, *ALL)) == expect(samples)
    with TSDB(tmp_path, block_range_ms=HOUR, retention_ms=0) as db:
        assert contents(db.select(ANY, *ALL)) == expect(samples)


def test_concurrent_selects_see_consistent_histograms(tmp_path):
    """Readers racing appends, head cuts and pool compaction always get each sample's own histogram."""
    import threading

    errors: list[str] = []
    done = threading.Event()
    db = TSDB(tmp_path, block_range_ms=HOUR, retention_ms=0, wal_fsync="never", head_chunk_samples=64)

    def writer() -> None:
        try:
            for a in range(0, 4 * HOUR, 60 * 5000):
                db.append(batch([(H, t, hist_of(t)) for t in range(a + 1000, a + 60 * 5000, 5000)]))
                db.maintain()
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))
        finally:
            done.set()

    def reader() -> None:
        for _ in range(2000):
            ss = db.select(ANY, *ALL)
            if ss.h is not None:
                for j in np.flatnonzero(ss.h_index >= 0)[::37].tolist():
                    t = int(ss.t[j])
                    if hrow(ss.h, int(ss.h_index[j])) != full(hist_of(t)):
                        errors.append(f"wrong histogram at t={t}")
                        return
            if done.is_set():
                return

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    try:
        assert not errors, errors[:3]
        assert len(db._head.hist) < 4 * HOUR // 5000  # the pool was compacted along the way
        assert len(db.select(ANY, *ALL).t) == 4 * HOUR // 5000
    finally:
        db.close()
