"""PromQL aggregation operators, vectorized over groups and steps.

Series are mapped to integer group ids once. Order-sensitive float accumulations
(Kahan sums, incremental means, Welford variance) are replayed exactly as
Prometheus performs them, one "rank" (n-th member of every group) at a time, so a
loop runs over the size of the largest group, each iteration covering all groups
and steps. Groups too large for that go to compiled kernels (``kernels.py``) that
do the same arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..model.histogram_ops import take
from ..model.labels import Labels
from .errors import ExecutionError
from .format import format_float, format_floats, go_g
from .histaggr import histogram_texts, strip_for_aggregation, sum_histograms
from .labelsets import empty_vectors, group_rows_sum, sorted_groups
from .topk import select_k
from .values import Annotations, InstantVectors

__all__ = ["aggregate", "group_ids", "kahan_group_sums"]

# Largest group replayed with numpy one member at a time; larger groups use the compiled kernels.
_EXACT_GROUP_LIMIT = 64
# Sums over at least this many (series, step) cells use the compiled kernel whatever the group
# sizes: a range query's numpy replay pays tens of array operations per group member.
_COMPILED_MIN_CELLS = 8192


def group_ids(labels: list[Labels], grouping: list[str], without: bool) -> tuple[np.ndarray, list[Labels]]:
    """Group id per series (in order of first appearance) and the output labels of every group."""
    keys: dict[tuple[tuple[str, str], ...], int] = {}
    gid = np.empty(len(labels), dtype=np.int64)
    names = frozenset(grouping) | {"__name__"} if without else frozenset(grouping)
    setdefault = keys.setdefault
    if without:
        for i, lbl in enumerate(labels):
            gid[i] = setdefault(tuple([p for p in lbl.items if p[0] not in names]), len(keys))
    else:
        for i, lbl in enumerate(labels):
            gid[i] = setdefault(tuple([p for p in lbl.items if p[0] in names]), len(keys))
    return gid, [Labels.from_sorted(k) for k in keys]


def _ranks(gid: np.ndarray, ngroups: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For r = 0, 1, ...: (groups having an r-th member, the row of that member), in input order."""
    order = np.argsort(gid, kind="stable")
    sizes = np.bincount(gid, minlength=ngroups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for r in range(int(sizes.max()) if sizes.size else 0):
        groups = np.flatnonzero(sizes > r)
        yield groups, order[starts[groups] + r]


def _kahan_inc(inc: np.ndarray, total: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prometheus' ``kahanSumInc`` (Neumaier's variant), elementwise."""
    with np.errstate(invalid="ignore", over="ignore"):
        t = total + inc
        big = np.abs(total) >= np.abs(inc)
        c = np.where(np.isinf(t), 0.0, np.where(big, c + ((total - t) + inc), c + ((inc - t) + total)))
    return t, c


def _exact_sum_avg(vals: np.ndarray, present: np.ndarray, gid: np.ndarray, ngroups: int, avg: bool
                   ) -> np.ndarray:
    steps = vals.shape[1]
    total = np.zeros((ngroups, steps))
    comp = np.zeros((ngroups, steps))
    mean = np.zeros((ngroups, steps))
    count = np.zeros((ngroups, steps))
    incremental = np.zeros((ngroups, steps), dtype=bool)
    with np.errstate(all="ignore"):
        for groups, rows in _ranks(gid, ngroups):
            f, p = vals[rows], present[rows]
            first = p & (count[groups] == 0)
            later = p & ~first
            tg, cg, mg, ng, ig = total[groups], comp[groups], mean[groups], count[groups], incremental[groups]
            ng = ng + p
            tg = np.where(first, f, tg)
            mg = np.where(first, f, mg)
            cg = np.where(first, 0.0, cg)
            if not avg:
                nt, nc = _kahan_inc(f, tg, cg)
                tg, cg = np.where(later, nt, tg), np.where(later, nc, cg)
            else:
                direct = later & ~ig
                nt, nc = _kahan_inc(f, tg, cg)
                fits = direct & ~np.isinf(nt)
                tg, cg = np.where(fits, nt, tg), np.where(fits, nc, cg)
                switch = direct & np.isinf(nt)
                mg = np.where(switch, tg / (ng - 1), mg)
                cg = np.where(switch, cg / (ng - 1), cg)
                ig = ig | switch
                inc_cells = later & ig
                q = (ng - 1) / ng
                nm, nc = _kahan_inc(f / ng, q * mg, q * cg)
                mg, cg = np.where(inc_cells, nm, mg), np.where(inc_cells, nc, cg)
            total[groups], comp[groups], mean[groups], count[groups], incremental[groups] = tg, cg, mg, ng, ig
        if not avg:
            return total + comp
        return np.where(incremental, mean + comp, total / count + comp / count)


def _sum_avg(vals: np.ndarray, present: np.ndarray, gid: np.ndarray, ngroups: int, avg: bool) -> np.ndarray:
    sizes = np.bincount(gid, minlength=ngroups)
    if sizes.size == 0 or (sizes.max() <= _EXACT_GROUP_LIMIT and vals.size < _COMPILED_MIN_CELLS):
        return _exact_sum_avg(vals, present, gid, ngroups, avg)
    from .kernels import group_sum_avg  # numba: imported (and compiled) only when needed

    order, starts, sizes = sorted_groups(gid, ngroups)
    return group_sum_avg(np.ascontiguousarray(vals, dtype=np.float64), np.ascontiguousarray(present),
                         order, starts, sizes, avg)


def kahan_group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int, avg: bool) -> np.ndarray:
    """Per group, Prometheus' compensated sum (or mean) of ``values`` taken in order."""
    vals = np.asarray(values, dtype=np.float64)[:, None]
    gid = np.asarray(groups, dtype=np.int64)
    return _sum_avg(vals, np.ones(vals.shape, dtype=bool), gid, n_groups, avg)[:, 0]


def _variance(vals: np.ndarray, present: np.ndarray, gid: np.ndarray, ngroups: int) -> np.ndarray:
    if ngroups and np.bincount(gid, minlength=ngroups).max() > _EXACT_GROUP_LIMIT:
        from .kernels import group_variance

        order, starts, sizes = sorted_groups(gid, ngroups)
        return group_variance(np.ascontiguousarray(vals, dtype=np.float64), np.ascontiguousarray(present),
                              order, starts, sizes)
    steps = vals.shape[1]
    mean = np.zeros((ngroups, steps))
    acc = np.zeros((ngroups, steps))
    count = np.zeros((ngroups, steps))
    with np.errstate(all="ignore"):
        for groups, rows in _ranks(gid, ngroups):
            f, p = vals[rows], present[rows]
            mg, ag, ng = mean[groups], acc[groups], count[groups]
            first = p & (ng == 0)
            later = p & ~first
            ng = ng + p
            mg = np.where(first, f, mg)
            ag = np.where(first, np.where(np.isfinite(f), 0.0, np.nan), ag)
            delta = f - mg
            new_mean = mg + delta / ng
            ag = np.where(later, ag + delta * (f - new_mean), ag)
            mg = np.where(later, new_mean, mg)
            mean[groups], acc[groups], count[groups] = mg, ag, ng
        return acc / count


def _extreme(vals: np.ndarray, present: np.ndarray, gid: np.ndarray, ngroups: int, op: str) -> np.ndarray:
    # Prometheus keeps the first value and replaces it by a bigger (smaller) one or when it is NaN:
    # the result is the max (min) of the non-NaN values, NaN only if all are NaN. fmax/fmin do that.
    order = np.argsort(gid, kind="stable")
    sizes = np.bincount(gid, minlength=ngroups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    v = np.where(present, vals, np.nan)[order]
    ufunc = np.fmax if op == "max" else np.fmin
    return ufunc.reduceat(v, starts, axis=0)


def _quantile(vals: np.ndarray, present: np.ndarray, gid: np.ndarray, ngroups: int, q: np.ndarray
              ) -> np.ndarray:
    steps = vals.shape[1]
    rows, cols = np.nonzero(present)
    v = vals[rows, cols]
    cell = gid[rows] * steps + cols
    nan = np.isnan(v)
    # Prometheus sorts NaN before every number.
    order = np.lexsort((np.where(nan, 0.0, v), ~nan, cell))
    sorted_v, cell = v[order], cell[order]
    counts = np.bincount(cell, minlength=ngroups * steps).reshape(ngroups, steps)
    starts = np.concatenate([[0], np.cumsum(counts.ravel())[:-1]]).reshape(ngroups, steps)
    n = counts.astype(np.float64)
    qq = np.broadcast_to(q[None, :], (ngroups, steps))
    with np.errstate(all="ignore"):
        rank = qq * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        li = np.clip(starts + np.nan_to_num(lower).astype(np.int64), 0, max(sorted_v.size - 1, 0))
        ui = np.clip(starts + np.nan_to_num(upper).astype(np.int64), 0, max(sorted_v.size - 1, 0))
        if sorted_v.size:
            res = sorted_v[li] * (1 - weight) + sorted_v[ui] * weight
        else:
            res = np.zeros((ngroups, steps))
    res = np.where(np.isnan(qq), np.nan, res)
    res = np.where(qq < 0, -np.inf, res)
    res = np.where(qq > 1, np.inf, res)
    return res


def _count_values(vec: InstantVectors, label: str, grouping: list[str], without: bool) -> InstantVectors:
    steps = vec.num_steps
    rows, cols = np.nonzero(vec.present)
    if vec.h is not None and vec.h_index is not None:
        # Histograms count under their text form (Go's FloatHistogram.String()).
        hix = vec.h_index[rows, cols]
        keys = np.array(format_floats(vec.values[rows, cols]), dtype=object)
        hist = np.flatnonzero(hix >= 0)
        if hist.size:
            keys[hist] = histogram_texts(take(vec.h, hix[hist]))
        uniq, vinv = np.unique(keys.astype(str), return_inverse=True)
        texts = [str(u) for u in uniq]
    else:
        vals = vec.values[rows, cols]
        uniq, vinv = np.unique(vals, return_inverse=True)
        texts = [format_float(float(u)) for u in uniq]
    pair = rows * max(uniq.size, 1) + vinv.ravel()
    upair, pinv = np.unique(pair, return_inverse=True)
    names = tuple(grouping) + (() if without else (label,))
    out: dict[Labels, int] = {}
    pair_out = np.empty(upair.size, dtype=np.int64)
    nu = max(uniq.size, 1)
    for j, p in enumerate(upair.tolist()):
        lbl = vec.labels[p // nu].merge({label: texts[p % nu]})
        key = lbl.without("__name__", *names) if without else lbl.only(*names)
        pair_out[j] = out.setdefault(key, len(out))
    counts = np.zeros((len(out), steps))
    np.add.at(counts, (pair_out[pinv.ravel()], cols), 1.0)
    return InstantVectors(labels=list(out), values=counts, present=counts > 0)


def aggregate(op: str, vec: InstantVectors, grouping: list[str], without: bool,
              param: np.ndarray | str | None, annotations: Annotations,
              param_pos: str = "", expr_pos: str = "") -> InstantVectors:
    """Evaluate ``op by/without (grouping) (vec)``; ``param`` is k / q per step, or count_values' label.

    ``param_pos`` / ``expr_pos`` are the " (line:col)" suffixes Prometheus appends to annotations
    about the parameter / the aggregated expression.
    """
    if vec.h is not None and vec.h_index is not None:
        vec = strip_for_aggregation(op, vec, annotations, expr_pos)
        if op in ("sum", "avg") and vec.h is not None:
            gid, glabels = group_ids(vec.labels, grouping, without)
            def floats(v: InstantVectors) -> InstantVectors:
                return aggregate(op, v, grouping, without, param, annotations, param_pos)
            return sum_histograms(op, vec, gid, len(glabels), annotations, expr_pos, floats)
    steps = vec.num_steps
    if op == "count_values":
        assert isinstance(param, str)
        if not param or any("\udc80" <= ch <= "\udcff" for ch in param):
            raise ExecutionError(f"invalid label name {_quote_label(param)}")
        return _count_values(vec, param, grouping, without)
    gid, glabels = group_ids(vec.labels, grouping, without)
    ngroups = len(glabels)
    if op in ("topk", "bottomk", "limitk"):
        assert isinstance(param, np.ndarray)
        return select_k(op, vec, gid, ngroups, param)
    if ngroups == 0:
        return empty_vectors(steps)
    present = vec.present
    vals = vec.values
    count = group_rows_sum(present.astype(np.float64), gid, ngroups)
    if op in ("sum", "avg"):
        out = _sum_avg(vals, present, gid, ngroups, op == "avg")
    elif op == "count":
        out = count.copy()
    elif op == "group":
        out = np.ones((ngroups, steps))
    elif op in ("min", "max"):
        out = _extreme(vals, present, gid, ngroups, op)
    elif op in ("stddev", "stdvar"):
        out = _variance(vals, present, gid, ngroups)
        if op == "stddev":
            with np.errstate(invalid="ignore"):
                out = np.sqrt(out)
    elif op == "quantile":
        assert isinstance(param, np.ndarray)
        if np.isnan(param).any():
            annotations.warn(_quantile_warning(math.nan) + param_pos)
        if param.size and param.max() > 1:
            annotations.warn(_quantile_warning(float(param.max())) + param_pos)
        if param.size and param.min() < 0:
            annotations.warn(_quantile_warning(float(param.min())) + param_pos)
        out = _quantile(vals, present, gid, ngroups, param)
    else:
        raise ExecutionError(f"unknown aggregation {op!r}")
    drop = np.zeros(ngroups, dtype=bool)
    np.logical_or.at(drop, gid, vec.drop_name_mask())
    return InstantVectors(labels=glabels, values=np.asarray(out, dtype=np.float64), present=count > 0,
                          drop_name=drop)


def _quote_label(name: str) -> str:
    """Go's ``strconv.Quote``; undecodable bytes (kept as surrogate escapes) print as ``\\xNN``."""
    out = []
    for ch in name:
        if "\udc80" <= ch <= "\udcff":
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _quantile_warning(q: float) -> str:
    return f"PromQL warning: quantile value should be between 0 and 1, got {go_g(q)}"
