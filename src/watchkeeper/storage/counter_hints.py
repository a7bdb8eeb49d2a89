"""Counter-reset hints of histogram samples as Prometheus' TSDB returns them.

Prometheus stores a counter histogram series in chunks and cuts a new chunk when a
sample cannot continue the current one: the first sample of the series, a change
between gauge and counter histograms, a float or stale sample in between, a
changed schema, zero threshold or custom bounds, and a counter reset (detected or
hinted explicitly). On read, every sample after the first of a counter chunk gets
``NotCounterReset``, the first one ``UnknownCounterReset`` (Prometheus issue
15346: the previous chunk may be gone), gauge histograms ``GaugeType``. Queries see
these hints (``sum`` of counters yields a ``not_reset`` result, for instance).

The head has no chunks, so the same hint is computed at append time from the
previous sample of the series and stored with the histogram (and so in the WAL and
in blocks). ``SeriesHistogramState`` remembers, per head series id, the pool row and
time of the last appended histogram (-1 once a float came at or after it).
"""

from __future__ import annotations

import numpy as np

from ..model.batch import is_stale
from ..model.histogram import COUNTER_RESET, GAUGE_TYPE, NOT_COUNTER_RESET, UNKNOWN_RESET, HistogramBatch
from ..model.histogram_ops import concatenate, custom_bounds_equal, detect_reset, is_custom, take, with_hint

__all__ = ["SeriesHistogramState"]

_NO_TIME = np.iinfo(np.int64).min


def _is_stale_sum(s: np.ndarray) -> np.ndarray:
    return np.asarray(is_stale(s), bool)


class SeriesHistogramState:
    """Last histogram sample per head series (pool row and time), for counter-reset hints."""

    def __init__(self) -> None:
        self.row = np.full(0, -1, np.int64)
        self.t = np.full(0, _NO_TIME, np.int64)

    def _grow(self, n: int) -> None:
        if n > self.row.shape[0]:
            size = max(n, 2 * self.row.shape[0], 1024)
            self.row = np.concatenate([self.row, np.full(size - self.row.shape[0], -1, np.int64)])
            self.t = np.concatenate([self.t, np.full(size - self.t.shape[0], _NO_TIME, np.int64)])

    def _known(self, sid: np.ndarray) -> np.ndarray:
        """Mask of ``sid`` whose last sample so far is a histogram."""
        inside = sid < self.row.shape[0]
        out = np.zeros(sid.shape[0], bool)
        out[inside] = self.row[sid[inside]] >= 0
        return out

    def floats_appended(self, sid: np.ndarray, t: np.ndarray) -> None:
        """A float (or stale) sample at or after a series' last histogram ends its chunk."""
        if not self.row.shape[0]:
            return
        known = self._known(sid)
        if known.any():
            s = sid[known]
            after = t[known] >= self.t[s]
            self.row[s[after]] = -1

    def histograms_appended(self, sid: np.ndarray, t: np.ndarray, rows: np.ndarray) -> None:
        """Histograms ``rows`` of the pool were appended for ``sid`` at ``t``."""
        if not sid.shape[0]:
            return
        self._grow(int(sid.max()) + 1)
        order = np.lexsort((t, sid))
        s, tt, rr = sid[order], t[order], rows[order]
        last = np.ones(s.shape[0], bool)
        last[:-1] = s[1:] != s[:-1]
        s, tt, rr = s[last], tt[last], rr[last]
        newer = tt >= self.t[s]
        self.t[s[newer]] = tt[newer]
        self.row[s[newer]] = rr[newer]

    def renumber(self, remap: np.ndarray) -> None:
        """The pool was compacted: old row ``r`` is now ``remap[r]`` (-1: dropped)."""
        live = np.flatnonzero(self.row >= 0)
        if live.size:
            self.row[live] = remap[self.row[live]]

    def hints(self, pool: HistogramBatch, sid: np.ndarray, t: np.ndarray, h: HistogramBatch,
              float_sid: np.ndarray, float_t: np.ndarray) -> HistogramBatch:
        """``h`` (series ``sid``, times ``t``) with the hints Prometheus would read back.

        ``float_sid``/``float_t`` are the float samples of the same batch: one between two
        histograms of a series ends the chunk as a float in an earlier batch does.
        """
        n = len(h)
        if n == 0:
            return h
        member = np.zeros(int(max(sid.max(), float_sid.max() if float_sid.size else 0)) + 1, bool)
        member[sid] = True
        fmask = member[float_sid] if float_sid.size else np.zeros(0, bool)
        fs, ft = float_sid[fmask], float_t[fmask]
        # Events in (series, t) order; at equal t the histogram wins (it is stored after the float).
        es = np.concatenate([fs, sid])
        et = np.concatenate([ft, t])
        kind = np.concatenate([np.zeros(fs.shape[0], np.int8), np.ones(n, np.int8)])
        ref = np.concatenate([np.full(fs.shape[0], -1, np.int64), np.arange(n, dtype=np.int64)])
        order = np.lexsort((kind, et, es))
        es, et, kind, ref = es[order], et[order], kind[order], ref[order]
        is_h = kind == 1
        first = np.ones(es.shape[0], bool)
        first[1:] = es[1:] != es[:-1]
        # prev_batch: batch row of the preceding histogram (-1: none or a float precedes).
        prev_batch = np.full(es.shape[0], -1, np.int64)
        prev_batch[1:] = np.where(is_h[:-1] & ~first[1:], ref[:-1], -1)
        # prev_pool: for a series' first event in the batch, its last histogram in the head.
        prev_pool = np.full(es.shape[0], -1, np.int64)
        lead = np.flatnonzero(first & is_h)
        if lead.size and self.row.shape[0]:
            s = es[lead]
            known = self._known(s)
            ok = np.zeros(lead.shape[0], bool)
            ok[known] = et[lead][known] > self.t[s[known]]
            prev_pool[lead[ok]] = self.row[s[ok]]
        hpos = np.flatnonzero(is_h)
        cur_rows = ref[hpos]
        pb, pp = prev_batch[hpos], prev_pool[hpos]
        has_prev = (pb >= 0) | (pp >= 0)
        hint = np.where(h.hint == GAUGE_TYPE, GAUGE_TYPE, UNKNOWN_RESET).astype(np.uint8)
        given = h.hint[cur_rows]
        cand = np.flatnonzero(has_prev & (given != GAUGE_TYPE) & (given != COUNTER_RESET))
        if cand.size:
            cur = take(h, cur_rows[cand])
            pool_rows = pp[cand]
            from_pool = pool_rows >= 0
            prev_all = concatenate([h, take(pool, pool_rows[from_pool])])
            idx = pb[cand].copy()
            idx[from_pool] = n + np.arange(int(from_pool.sum()), dtype=np.int64)
            prev = take(prev_all, idx)
            cont = (prev.hint != GAUGE_TYPE) & (prev.schema == cur.schema)
            cont &= prev.zero_threshold == cur.zero_threshold
            cont &= ~_is_stale_sum(prev.sum) & ~_is_stale_sum(cur.sum)
            cust = is_custom(cur)
            if cust.any():
                cont &= ~cust | custom_bounds_equal(cur, prev)
            if cont.any():
                rows = np.flatnonzero(cont)
                reset = detect_reset(take(prev, rows), with_hint(take(cur, rows), UNKNOWN_RESET))
                cont[rows[reset]] = False
            hint[cur_rows[cand[cont]]] = NOT_COUNTER_RESET
        return with_hint(h, hint)
