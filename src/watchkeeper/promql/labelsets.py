"""Label-set bookkeeping shared by engine nodes: name dropping and duplicate series."""

from __future__ import annotations

import re

import numpy as np

from ..model.labels import Labels, format_label_value
from .errors import ExecutionError
from .values import InstantVectors

__all__ = ["go_labels", "METADATA_LABELS", "drop_metadata", "collapse_same_labels", "finalize_names", "DUPLICATE_LABELSET"]

# Labels that describe what a metric *is*; an operation that changes the meaning of
# the values removes them all (Prometheus' ``schema.IsMetadataLabel``).
METADATA_LABELS = ("__name__", "__type__", "__unit__")
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
    return labels.without(*METADATA_LABELS)


def collapse_same_labels(vec: InstantVectors) -> InstantVectors:
    """Merge rows that carry the same label set; two of them present at one step is an error.

    Prometheus builds output series by label hash, so rows that became equal (e.g.
    after dropping ``__name__``) are one series as long as they never overlap.
    """
    first: dict[Labels, int] = {}
    target = np.empty(len(vec.labels), dtype=np.int64)
    for i, lbl in enumerate(vec.labels):
        target[i] = first.setdefault(lbl, len(first))
    if len(first) == len(vec.labels):
        return vec
    n_out = len(first)
    counts = np.zeros((n_out, vec.num_steps), dtype=np.int64)
    np.add.at(counts, target, vec.present.astype(np.int64))
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
    return InstantVectors(labels=list(first), values=values, present=present, drop_name=drop,
                          timestamps=timestamps)


def finalize_names(vec: InstantVectors) -> InstantVectors:
    """Apply delayed ``__name__`` removal, then merge or reject series that became equal."""
    mask = vec.drop_name_mask()
    if mask.any():
        labels = [drop_metadata(lbl) if d else lbl for lbl, d in zip(vec.labels, mask, strict=True)]
        vec = InstantVectors(labels=labels, values=vec.values, present=vec.present, drop_name=None,
                             timestamps=vec.timestamps)
    return collapse_same_labels(vec)
