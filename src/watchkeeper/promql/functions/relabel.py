"""label_replace and label_join: rewrite series labels (work per series, not per sample).

label_replace's regex is RE2, fully anchored, with ``.`` matching newlines, and
its replacement is expanded like Go's ``regexp.Expand`` (``$1``, ``${1}``,
``$name``, ``${name}``, ``$$``).
"""

from __future__ import annotations

import numpy as np
import re2

from ...gocompat.regexp import expand
from ...model.labels import METRIC_NAME, Labels
from ...model.matchers import compile_anchored
from ..errors import ExecutionError
from ..values import InstantVectors
from .base import FuncCall, compact

__all__ = ["FUNCTIONS", "merge_same_labelsets"]


def _valid_label_name(name: str) -> bool:
    """Prometheus 3 (UTF-8 names): any non-empty valid UTF-8 string."""
    if not name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def merge_same_labelsets(vec: InstantVectors) -> InstantVectors:
    """Merge series that ended up with identical labels, as Prometheus' ``mergeSeriesWithSameLabelset``.

    Series may share a label set only if they never have a sample at the same step.
    """
    groups: dict[Labels, list[int]] = {}
    for i, lbls in enumerate(vec.labels):
        groups.setdefault(lbls, []).append(i)
    if len(groups) == len(vec.labels):
        return vec
    labels: list[Labels] = []
    values = np.full((len(groups), vec.values.shape[1]), np.nan)
    present = np.zeros((len(groups), vec.values.shape[1]), dtype=bool)
    drop = np.zeros(len(groups), dtype=bool)
    names = vec.drop_name_mask()
    h_index = None if vec.h_index is None else np.full(values.shape, -1, dtype=np.int64)
    for g, (lbls, rows) in enumerate(groups.items()):
        p = vec.present[rows]
        if (p.sum(axis=0) > 1).any():
            raise ExecutionError("vector cannot contain metrics with the same labelset")
        labels.append(lbls)
        for r in rows:
            values[g] = np.where(vec.present[r], vec.values[r], values[g])
            if h_index is not None and vec.h_index is not None:
                h_index[g] = np.where(vec.present[r], vec.h_index[r], h_index[g])
        present[g] = p.any(axis=0)
        drop[g] = names[rows[0]]
    h = vec.h if h_index is not None else None
    return InstantVectors(labels, values, present, drop, None, h, h_index)


def _relabelled(vec: InstantVectors, dst: str, new_values: list[str | None]) -> InstantVectors:
    """Set ``dst`` to ``new_values[i]`` on series i (None leaves the series as it is)."""
    labels = list(vec.labels)
    drop = vec.drop_name_mask().copy()
    for i, value in enumerate(new_values):
        if value is None:
            continue
        labels[i] = labels[i].merge({dst: value})
        if dst == METRIC_NAME:
            drop[i] = False
    out = InstantVectors(labels, vec.values, vec.present, drop, None, vec.h, vec.h_index)
    return merge_same_labelsets(out)


def _label_replace(call: FuncCall) -> InstantVectors:
    dst, repl, src, regex = (call.string(i) for i in range(1, 5))
    try:
        pattern = compile_anchored(regex)
    except re2.error as err:
        raise ExecutionError(f"invalid regular expression in label_replace(): {regex}") from err
    if not _valid_label_name(dst):
        raise ExecutionError(f"invalid destination label name in label_replace(): {dst}")
    vec = compact(call.vector(0))
    groupindex = dict(pattern.groupindex)
    new_values: list[str | None] = []
    for lbls in vec.labels:
        source = lbls.get(src)
        m = pattern.match(source)
        new_values.append(None if m is None else expand(repl, m, groupindex))
    return _relabelled(vec, dst, new_values)


def _label_join(call: FuncCall) -> InstantVectors:
    dst, sep = call.string(1), call.string(2)
    sources = [call.string(i) for i in range(3, len(call.args))]
    for src in sources:
        if not _valid_label_name(src):
            raise ExecutionError(f"invalid source label name in label_join(): {src}")
    if not _valid_label_name(dst):
        raise ExecutionError(f"invalid destination label name in label_join(): {dst}")
    vec = compact(call.vector(0))
    new_values: list[str | None] = [sep.join(lbls.get(s) for s in sources) for lbls in vec.labels]
    return _relabelled(vec, dst, new_values)


FUNCTIONS = {
    "label_replace": _label_replace,
    "label_join": _label_join,
}
