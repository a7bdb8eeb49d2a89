"""Cutting the head's old samples into blocks, one per aligned block range.

Series are written in label order, ``batch_series`` at a time, straight from the
head's runs into one ``BlockWriter`` per range, so a cut needs memory for one
batch of series, not for everything it persists.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..model.histogram import HistogramBatch
from ..model.labels import Labels
from .block import BlockMeta
from .block_writer import BlockWriter
from .csr import combine, drop_empty, gather
from .head import Run
from .hist import is_tagged, tagged_rows
from .merge import sort_keys

__all__ = ["write_head_blocks"]


def write_head_blocks(
    parent: Path,
    labels: Sequence[Labels | None],
    runs: Sequence[Run],
    boundary: int,
    block_range: int,
    *,
    after: str = "",
    existing: Sequence[tuple[int, int]] = (),
    compression_level: int = 6,
    batch_series: int = 4096,
    hist: HistogramBatch | None = None,
) -> list[BlockMeta]:
    """Write every sample of ``runs`` older than ``boundary`` into blocks; returns their metas.

    ``labels`` maps head ids to label sets (None: removed). Blocks get ULIDs after ``after``;
    a block whose range overlaps one of ``existing`` is flagged out of order. ``hist`` is the
    head's histogram pool the runs' tagged values refer to (None: the runs hold floats only).
    """
    old_runs = [r for r in runs if r.size and r.mint < boundary]
    ids = np.asarray([i for i, lb in enumerate(labels) if lb is not None], np.int64)
    keys = sort_keys([labels[i] for i in ids])  # type: ignore[misc]
    ids = ids[np.asarray(sorted(range(len(keys)), key=keys.__getitem__), np.int64)]
    writers: dict[int, BlockWriter] = {}
    try:
        for a in range(0, ids.shape[0], batch_series):
            batch = ids[a : a + batch_series]
            ranks, ts, vs = [], [], []
            for run in old_runs:
                rank, rows = gather(run.offsets, batch)
                t = run.times(rows)
                old = t < boundary
                ranks.append(rank[old])
                ts.append(t[old])
                vs.append(run.v[rows[old]])
            if not ranks:
                break
            nb = batch.shape[0]
            offsets, t, v = combine(np.concatenate(ranks), np.concatenate(ts), np.concatenate(vs), nb)
            rank = np.repeat(np.arange(nb, dtype=np.int64), np.diff(offsets))
            h_index = None
            if hist is not None:
                mask = is_tagged(v)
                if mask.any():
                    h_index = np.full(v.shape[0], -1, np.int64)
                    h_index[mask] = tagged_rows(v, mask)
            window = t // block_range
            for w in np.unique(window).tolist():
                sel = window == w
                w_offsets = np.zeros(batch.shape[0] + 1, np.int64)
                np.cumsum(np.bincount(rank[sel], minlength=batch.shape[0]), out=w_offsets[1:])
                keep, w_offsets = drop_empty(w_offsets)
                writer = writers.get(w)
                if writer is None:
                    last = max((x.ulid for x in writers.values()), default=after)
                    writer = writers[w] = BlockWriter(parent, compression_level=compression_level, after=last)
                writer.add([labels[i] for i in batch[keep]], w_offsets, t[sel], v[sel],  # type: ignore[misc]
                           hist, None if h_index is None else h_index[sel])
        metas = []
        for w, writer in sorted(writers.items()):
            lo, hi = w * block_range, (w + 1) * block_range
            overlaps = any(a < hi and b > lo for a, b in existing)
            metas.append(writer.finish(min_time=lo, max_time=hi, out_of_order=overlaps))
        return metas
    except BaseException:
        for writer in writers.values():
            if writer.tmp.exists():
                writer.abort()
        raise
