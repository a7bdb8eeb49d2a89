"""Retention: which whole blocks to delete, by age and by total size (oldest first)."""

from __future__ import annotations

from collections.abc import Sequence

from .block import BlockMeta

__all__ = ["expired_blocks"]


def expired_blocks(
    metas: Sequence[BlockMeta],
    sizes: Sequence[int],
    *,
    newest_time: int,
    retention_ms: int,
    retention_bytes: int,
    other_bytes: int = 0,
) -> list[BlockMeta]:
    """Blocks to delete.

    By time: a block goes once its whole range is older than ``newest_time - retention_ms``
    (as Prometheus, retention counts from the newest data, not from the wall clock).
    By size: while blocks plus ``other_bytes`` (WAL) exceed ``retention_bytes``, the oldest
    block goes. Zero disables either rule.
    """
    order = sorted(range(len(metas)), key=lambda i: (metas[i].min_time, metas[i].max_time))
    doomed: list[int] = []
    if retention_ms > 0:
        cutoff = newest_time - retention_ms
        doomed = [i for i in order if metas[i].max_time <= cutoff]
    if retention_bytes > 0:
        total = other_bytes + sum(sizes[i] for i in order if i not in doomed)
        for i in order:
            if total <= retention_bytes:
                break
            if i not in doomed:
                doomed.append(i)
                total -= sizes[i]
    return [metas[i] for i in doomed]
