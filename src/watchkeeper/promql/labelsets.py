"""Label-set bookkeeping shared by engine nodes: name dropping and duplicate series."""

from __future__ import annotations

import re

import numpy as np

from ..model.labels import Labels, format_label_value
from .errors import ExecutionError
from .values import InstantVectors

__all__ = ["sorted_groups", "empty_vectors", "group_rows_sum", "go_labels", "METADATA_LABELS",
           "drop_metadata", "collapse_same_labels", "finalize_names", "DUPLICATE_LABELSET"]

# Labels that describe what a metric *is*; an operation that changes the meaning of
# the values removes them all (Prometheus' ``schema.IsMetadataLabel``).
METADATA_LABELS = ("__name__", "__type__", "__unit__")
_METADATA_SET = frozenset(METADATA_LABELS)
DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"
_LEGACY_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def go_labels(labels: Labels) -> str:
    """Prometheus' ``labels.Labels.String()``: every label inside braces, ``__name__`` included."""
    parts = []
    for k, v in labels.items:
        key = k if _LEGACY_NAME.fullmatch(k) else format_label_value(k)
        parts.append(f"{key}={format_label_value(v)}")
    return "{" + ", ".join(parts) + "}"


def drop_metadata(labels: Labels) -> Labels:
    items = labels.items
    # Usual case: ``__name__`` sorts first and no other ``__`` label follows it.
    if items and items[0][0] == "__name__" and (len(items) == 1 or not items[1][0].startswith("__")):
        return Labels.from_sorted(items[1:])
    kept = tuple(p for p in items if p[0] not in _METADATA_SET)
    return labels if len(kept) == len(items) else Labels.from_sorted(kept)


def sorted_groups(gid: np.ndarray, ngroups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ordered by group (input order within a group), each group's start and size."""
    order = np.argsort(gid, kind="stable").astype(np.int64)
    sizes = np.bincount(gid, minlength=ngroups).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return order, starts, sizes


def empty_vectors(steps: int) -> InstantVectors:
    return InstantVectors(labels=[], values=np.zeros((0, steps)), present=np.zeros((0, steps), dtype=bool))


def group_rows_sum(x: np.ndarray, gid: np.ndarray, ngroups: int) -> np.ndarray:
    """Row sums per group: ``out[g] = x[gid == g].sum(axis=0)`` for a 2-D ``x``, in one pass."""
    out = np.zeros((ngroups,) + x.shape[1:], dtype=np.result_type(x.dtype, np.int64))
    if x.shape[0] == 0:
        return out
    order = np.argsort(gid, kind="stable")
    sizes = np.bincount(gid, minlength=ngroups)
    nonempty = np.flatnonzero(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[nonempty]
    out[nonempty] = np.add.reduceat(x[order], starts, axis=0)
    return out


def collapse_same_labels(vec: InstantVectors) -> InstantVectors:
    """Merge rows that carry the same label set; two of them present at one step is an error.

    Prometheus builds output series by label hash, so rows that became equal (e.g.
    after dropping ``__name__``) are one series as long as they never overlap.
    """
    if len(set(vec.labels)) == len(vec.labels):  # the usual case, checked at C speed
        return vec
    first: dict[Labels, int] = {}
    target = np.empty(len(vec.labels), dtype=np.int64)
    for i, lbl in enumerate(vec.labels):
        target[i] = first.setdefault(lbl, len(first))
    if len(first) == len(vec.labels):
        return vec
    n_out = len(first)
    counts = group_rows_sum(vec.present.astype(np.int64), target, n_out)
    if (counts > 1).any():
        raise ExecutionError(DUPLICATE_LABELSET)
    rows, cols = np.nonzero(vec.present)
    values = np.zeros((n_out, vec.num_steps), dtype=np.float64)
    present = np.zeros((n_out, vec.num_steps), dtype=bool)
    values[target[rows], cols] = vec.values[rows, cols]
    present[target[rows], cols] = True
    timestamps = None
    if vec.timestamps is not None:
        timestamps = np.zeros((n_out, vec.num_steps), dtype=np.int64)
        timestamps[target[rows], cols] = vec.timestamps[rows, cols]
    drop = np.zeros(n_out, dtype=bool)
    np.logical_or.at(drop, target, vec.drop_name_mask())
    h_index = None
    if vec.h_index is not None:
        h_index = np.full((n_out, vec.num_steps), -1, dtype=np.int64)
        h_index[target[rows], cols] = vec.h_index[rows, cols]
    return InstantVectors(labels=list(first), values=values, present=present, drop_name=drop,
                          timestamps=timestamps, h=vec.h if h_index is not None else None, h_index=h_index)


def finalize_names(vec: InstantVectors) -> InstantVectors:
    """Apply delayed ``__name__`` removal, then merge or reject series that became equal."""
    mask = vec.drop_name_mask()
    if mask.any():
        labels = [drop_metadata(lbl) if d else lbl for lbl, d in zip(vec.labels, mask, strict=True)]
        vec = InstantVectors(labels=labels, values=vec.values, present=vec.present, drop_name=None,
                             timestamps=vec.timestamps, h=vec.h, h_index=vec.h_index)
    return collapse_same_labels(vec)
