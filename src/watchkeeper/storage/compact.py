"""Block compaction: planning (pure, over metas) and execution (merge into one new block).

Two kinds of plans, overlapping blocks first:

* blocks whose time ranges overlap (out-of-order data, a crash between a head
  cut and its WAL checkpoint) are merged into one;
* otherwise, for each range R in ``ranges`` (ascending, e.g. 6 h, 24 h, 7 d), the
  blocks that fall inside one R-aligned window are merged once that window lies
  entirely before the newest block's end (so no more head data can join it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..model.batch import SeriesSet
from ..model.labels import Labels
from .block import Block, BlockMeta
from .block_writer import BlockWriter
from .csr import drop_empty
from .merge import merge_series_sets, sort_keys

__all__ = ["plan_compaction", "compact_blocks", "covered_blocks"]


def _overlapping_group(metas: list[BlockMeta]) -> list[BlockMeta]:
    ordered = sorted(metas, key=lambda m: (m.min_time, m.max_time))
    group: list[BlockMeta] = []
    end = None
    for m in ordered:
        if group and end is not None and m.min_time < end:
            group.append(m)
            end = max(end, m.max_time)
            continue
        if len(group) > 1:
            return group
        group, end = [m], m.max_time
    return group if len(group) > 1 else []


def plan_compaction(metas: Sequence[BlockMeta], ranges: Sequence[int]) -> list[BlockMeta]:
    """The blocks to merge next (empty when nothing is due)."""
    metas = list(metas)
    if len(metas) < 2:
        return []
    overlap = _overlapping_group(metas)
    if overlap:
        return overlap
    newest_end = max(m.max_time for m in metas)
    for r in sorted(ranges):
        windows: dict[int, list[BlockMeta]] = {}
        for m in metas:
            w = m.min_time // r
            if m.max_time <= (w + 1) * r and m.max_time - m.min_time < r:
                windows.setdefault(w, []).append(m)
        for w in sorted(windows):
            group = windows[w]
            if len(group) > 1 and (w + 1) * r <= newest_end:
                return sorted(group, key=lambda m: m.min_time)
    return []


def compact_blocks(
    parent: Path,
    blocks: Sequence[Block],
    *,
    compression_level: int = 6,
    after: str = "",
    batch_series: int = 4096,
) -> BlockMeta | None:
    """Write one block holding every live sample of ``blocks`` (later ULIDs win on equal timestamps).

    Works ``batch_series`` series at a time (in label order), so memory follows the batch,
    not the block. Returns None when nothing is left (everything was deleted by tombstones).
    """
    blocks = sorted(blocks, key=lambda b: b.ulid)
    every: set[Labels] = set()
    for b in blocks:
        every.update(lb for lb in b.index.labels if lb is not None)
    found = list(every)
    keys = sort_keys(found)
    ordered = [found[i] for i in sorted(range(len(found)), key=keys.__getitem__)]
    writer = BlockWriter(parent, compression_level=compression_level, after=after)
    try:
        for a in range(0, len(ordered), batch_series):
            chunk = ordered[a : a + batch_series]
            parts = []
            for b in blocks:
                ids = [i for lb in chunk if (i := b.index.get(lb)) is not None]
                if ids:
                    ss = _block_part(b, np.asarray(ids, np.int64))
                    parts.append(ss)
            merged = merge_series_sets(parts)
            writer.add(merged.labels, merged.offsets, merged.t, merged.v, merged.h, merged.h_index)
        if writer.num_series == 0:
            writer.abort()
            return None
        return writer.finish(
            min_time=min(b.meta.min_time for b in blocks),
            max_time=max(b.meta.max_time for b in blocks),
            level=max(b.meta.level for b in blocks) + 1,
            sources=sorted({s for b in blocks for s in b.meta.sources}),
        )
    except BaseException:
        writer.abort()
        raise


def _block_part(block: Block, ids: np.ndarray) -> SeriesSet:
    """Live samples of block series ``ids`` (ascending) as a SeriesSet without empty series."""
    rank, t, v = block.read(ids)
    offsets = np.zeros(ids.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rank, minlength=ids.shape[0]), out=offsets[1:])
    keep, offsets = drop_empty(offsets)
    return block.resolve(SeriesSet([block.index.labels[i] for i in ids[keep]], offsets, t, v))


def covered_blocks(metas: Sequence[BlockMeta]) -> list[BlockMeta]:
    """Blocks made redundant by a compacted block that includes all their sources (crash leftovers)."""
    out = []
    for m in metas:
        mine = set(m.sources)
        for other in metas:
            if other.ulid != m.ulid and len(other.sources) > len(mine) and mine <= set(other.sources):
                out.append(m)
                break
    return out
