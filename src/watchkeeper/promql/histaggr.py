"""Aggregation operators over vectors that hold native-histogram samples (Prometheus' rules).

``sum``/``avg`` add histograms (a group mixing floats and histograms at a step has
no result there and a warning); ``count``/``group`` count histograms like floats;
``limitk``/``limit_ratio`` keep them; every other operator ignores them with an
info annotation. Groups of histograms are summed with one
``histogram_ops.sum_groups`` call over all (group, step) cells.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..model import histogram_ops as hops
from ..model import histogram_stats as hstats
from ..model.histogram import HistogramBatch
from .format import go_g
from .values import Annotations, InstantVectors

__all__ = ["strip_for_aggregation", "sum_histograms", "arith_annotations", "add_up", "histogram_texts"]

# Operators that ignore histogram samples (with an info).
_IGNORING = frozenset({"min", "max", "stddev", "stdvar", "quantile", "topk", "bottomk"})


def strip_for_aggregation(op: str, vec: InstantVectors, annotations: Annotations, expr_pos: str
                          ) -> InstantVectors:
    """The input an operator that cannot use histograms sees: histogram samples removed, noted."""
    if vec.h_index is None or op not in _IGNORING:
        return vec
    hist = vec.present & (vec.h_index >= 0)
    if hist.any():
        annotations.info(f"PromQL info: ignored histogram in {op} aggregation{expr_pos}")
    return InstantVectors(vec.labels, vec.values, vec.present & ~hist, vec.drop_name, vec.timestamps)


def arith_annotations(flags: hops.ArithFlags, annotations: Annotations, pos: str, operation: str,
                      name: str = "") -> None:
    """Prometheus' annotations for the outcome flags of histogram additions."""
    if flags.incompatible.any():
        annotations.warn("PromQL warning: vector contains a mix of histograms with exponential and custom "
                         f'buckets schemas for metric name "{name}"{pos}')
    if flags.collision.any():
        annotations.warn(f"PromQL warning: conflicting counter resets during histogram {operation}{pos}")
    if flags.reconciled.any():
        annotations.info(f"PromQL info: mismatched custom buckets were reconciled during {operation}{pos}")


def add_up(parts: HistogramBatch, groups: np.ndarray, n_groups: int, avg: bool
           ) -> tuple[HistogramBatch, hops.ArithFlags]:
    """Sum (or mean) of ``parts`` per group, members in row order. Buckets add up plainly; count,
    sum and zero count take Prometheus' compensated (Kahan) sum, as its float aggregations do."""
    from .aggregations import kahan_group_sums

    h, flags = hops.sum_groups(parts, groups, n_groups)
    n = np.bincount(groups, minlength=n_groups).astype(np.float64)
    fields = {name: kahan_group_sums(getattr(parts, name), groups, n_groups, avg)
              for name in ("count", "sum", "zero_count")}
    if avg:
        with np.errstate(all="ignore"):
            h = hops.scale(h, 1.0 / n)
    h.count, h.sum, h.zero_count = fields["count"], fields["sum"], fields["zero_count"]
    return h, flags


def sum_histograms(op: str, vec: InstantVectors, gid: np.ndarray, ngroups: int, annotations: Annotations,
                   expr_pos: str, float_agg: Callable[[InstantVectors], InstantVectors]) -> InstantVectors:
    """``sum``/``avg`` of a vector holding histograms; ``float_agg`` aggregates its float samples."""
    assert vec.h is not None and vec.h_index is not None
    steps = vec.num_steps
    hist = vec.present & (vec.h_index >= 0)
    flt = vec.present & ~hist
    n_h = np.zeros((ngroups, steps), dtype=np.int64)
    n_f = np.zeros((ngroups, steps), dtype=np.int64)
    np.add.at(n_h, gid, hist.astype(np.int64))
    np.add.at(n_f, gid, flt.astype(np.int64))
    mixed = (n_h > 0) & (n_f > 0)
    if mixed.any():
        annotations.warn("PromQL warning: encountered a mix of histograms and floats for aggregation"
                         + expr_pos)
    float_out = float_agg(InstantVectors(vec.labels, vec.values, flt, vec.drop_name))
    values = np.array(float_out.values, dtype=np.float64)
    present = float_out.present & (n_h == 0)
    h_index = np.full((ngroups, steps), -1, dtype=np.int64)
    cells = (n_h > 0) & ~mixed
    h: HistogramBatch | None = None
    if cells.any():
        cell_id = np.full((ngroups, steps), -1, dtype=np.int64)
        cell_id[cells] = np.arange(int(cells.sum()))
        rows, cols = np.nonzero(hist)
        member_cell = cell_id[gid[rows], cols]
        keep = member_cell >= 0
        rows, cols, member_cell = rows[keep], cols[keep], member_cell[keep]
        # Input order within a cell is row order, as Prometheus walks the vector.
        order = np.lexsort((rows, member_cell))
        parts = hops.take(vec.h, vec.h_index[rows[order], cols[order]])
        n_cells = int(cells.sum())
        h, flags = add_up(parts, member_cell[order], n_cells, op == "avg")
        arith_annotations(flags, annotations, expr_pos, "aggregation")
        good = ~flags.incompatible
        ids = np.where(good, np.arange(n_cells), -1)
        h_index[cells] = ids
        present = present | (h_index >= 0)
    out = InstantVectors(float_out.labels, values, present, float_out.drop_name)
    if h is not None:
        out.h, out.h_index = h, h_index
    return out


def histogram_texts(h: HistogramBatch) -> list[str]:
    """Go's ``FloatHistogram.String()`` of every row: count, sum, then the non-empty buckets in
    ascending order with their bounds (``count_values`` uses it as the label value)."""
    b = hstats.all_buckets(h)
    out = []
    for k in range(len(h)):
        parts = [f"{{count:{go_g(float(h.count[k]))}, sum:{go_g(float(h.sum[k]))}"]
        for j in range(int(b.offsets[k]), int(b.offsets[k + 1])):
            c = float(b.count[j])
            if c == 0:
                continue
            lo = "[" if b.lower_inclusive[j] else "("
            hi = "]" if b.upper_inclusive[j] else ")"
            parts.append(f"{lo}{go_g(float(b.lower[j]))},{go_g(float(b.upper[j]))}{hi}:{go_g(c)}")
        out.append(", ".join(parts) + "}")
    return out
