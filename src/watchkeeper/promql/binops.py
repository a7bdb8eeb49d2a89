"""Binary operators over whole (series x steps) arrays, with Prometheus' vector matching.

Matching works on integer signature ids: each series gets the id of its match-group
label set once (a Python loop per series), then every (series, step) pair is joined
with numpy fancy indexing.
"""

from __future__ import annotations

import numpy as np

from ..model.labels import Labels
from . import ast
from .errors import ExecutionError
from .histbinop import combined, histogram_pairs
from .histtrim import TRIM_OPS
from .labelsets import DUPLICATE_LABELSET, collapse_same_labels, drop_metadata, go_labels, group_rows_sum
from .values import Annotations, InstantVectors

__all__ = ["ARITHMETIC", "COMPARISON", "SET_OPS", "scalar_binop", "vector_scalar_binop", "vector_binop"]

ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "^", "atan2"})
TRIM = TRIM_OPS
COMPARISON = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})


def _arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return np.fmod(a, b)  # Go's math.Mod: sign of the dividend
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
    raise ExecutionError(f"operator {op!r} not allowed for float operations")


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == ">":
            return a > b
        if op == "<":
            return a < b
        if op == ">=":
            return a >= b
        if op == "<=":
            return a <= b
    raise ExecutionError(f"operator {op!r} is not a comparison")


def scalar_binop(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Scalar op scalar at every step; comparisons give 1 or 0."""
    if op in COMPARISON:
        return _compare(op, a, b).astype(np.float64)
    return _arith(op, a, b)


def vector_scalar_binop(op: str, vec: InstantVectors, scalar: np.ndarray, *, scalar_left: bool,
                        return_bool: bool, delayed_names: bool, annotations: Annotations | None = None,
                        pos: str = "") -> InstantVectors:
    if vec.h is not None and vec.h_index is not None:
        return _vector_scalar_hist(op, vec, scalar, scalar_left=scalar_left, return_bool=return_bool,
                                   delayed_names=delayed_names, annotations=annotations or Annotations(),
                                   pos=pos)
    if op in TRIM_OPS:  # trimming applies to histograms only
        return InstantVectors([], np.zeros((0, vec.num_steps)), np.zeros((0, vec.num_steps), dtype=bool))
    s = np.asarray(scalar, dtype=np.float64)[None, :]
    lhs, rhs = (s, vec.values) if scalar_left else (vec.values, s)
    present = vec.present
    if op in COMPARISON:
        keep = _compare(op, lhs, rhs)
        if return_bool:
            values = keep.astype(np.float64)
        else:
            values = vec.values  # the vector's own value, whichever side it is on
            present = present & keep
    else:
        values = _arith(op, lhs, rhs)
    values = np.broadcast_to(values, vec.values.shape)
    labels, drop = vec.labels, vec.drop_name
    if op in ARITHMETIC or return_bool:
        if delayed_names:
            drop = np.ones(len(labels), dtype=bool)
        else:
            labels = [drop_metadata(lbl) for lbl in labels]
    out = InstantVectors(labels=labels, values=np.array(values, dtype=np.float64), present=present,
                         drop_name=drop)
    return _drop_empty(collapse_same_labels(out))


def _vector_scalar_hist(op: str, vec: InstantVectors, scalar: np.ndarray, *, scalar_left: bool,
                        return_bool: bool, delayed_names: bool, annotations: Annotations, pos: str
                        ) -> InstantVectors:
    """vector op scalar for a vector holding histograms: floats as usual, histograms per ``histbinop``."""
    assert vec.h is not None and vec.h_index is not None
    hist = vec.present & (vec.h_index >= 0)
    floats = InstantVectors(vec.labels, vec.values, vec.present & ~hist, vec.drop_name, vec.timestamps)
    out = vector_scalar_binop(op, floats, scalar, scalar_left=scalar_left, return_bool=return_bool,
                              delayed_names=delayed_names)
    rows, cols = np.nonzero(hist)
    s = np.broadcast_to(np.asarray(scalar, dtype=np.float64), (vec.num_steps,))[cols]
    hs = vec.h_index[rows, cols]
    none = np.full(rows.shape[0], -1, dtype=np.int64)
    own = vec.values[rows, cols]
    fl, fr, hl, hr = (s, own, none, hs) if scalar_left else (own, s, hs, none)
    res = histogram_pairs(op, fl, fr, hl, hr, vec.h, return_bool, annotations, pos)
    if not res.keep.any():
        return out
    # Histogram results go on the vector's own rows (same labels rules as for floats).
    labels = vec.labels
    drop = vec.drop_name_mask().copy()
    if op in ARITHMETIC or return_bool:
        if delayed_names:
            drop = np.ones(len(labels), dtype=bool)
        else:
            labels = [drop_metadata(lbl) for lbl in labels]
    k = res.keep
    values = np.zeros(vec.values.shape)
    present = np.zeros(vec.values.shape, dtype=bool)
    h_index = np.full(vec.values.shape, -1, dtype=np.int64)
    values[rows[k], cols[k]] = res.value[k]
    present[rows[k], cols[k]] = True
    h_index[rows[k], cols[k]] = res.h_row[k]
    hpart = InstantVectors(labels, values, present, drop, None, res.h, h_index if res.h is not None else None)
    return _drop_empty(collapse_same_labels(_stack(out, hpart)))


def _stack(a: InstantVectors, b: InstantVectors) -> InstantVectors:
    """Rows of ``a`` then rows of ``b`` (``b`` may carry histograms, ``a`` floats only)."""
    h_index = None
    if b.h is not None and b.h_index is not None:
        h_index = np.concatenate([np.full(a.values.shape, -1, dtype=np.int64), b.h_index])
    return InstantVectors(list(a.labels) + list(b.labels), np.concatenate([a.values, b.values]),
                          np.concatenate([a.present, b.present]),
                          np.concatenate([a.drop_name_mask(), b.drop_name_mask()]), None,
                          b.h if h_index is not None else None, h_index)


def _drop_empty(vec: InstantVectors) -> InstantVectors:
    keep = vec.present.any(axis=1)
    if keep.all():
        return vec
    rows = np.flatnonzero(keep)
    return InstantVectors(labels=[vec.labels[i] for i in rows], values=vec.values[rows],
                          present=vec.present[rows],
                          drop_name=None if vec.drop_name is None else vec.drop_name[rows],
                          timestamps=None if vec.timestamps is None else vec.timestamps[rows],
                          h=vec.h, h_index=None if vec.h_index is None else vec.h_index[rows])


def _signature_fn(matching: ast.VectorMatching):
    names = tuple(matching.matching_labels)
    if matching.on:
        return lambda lbl: lbl.only(*names)
    return lambda lbl: lbl.without("__name__", *names)


def _signature_ids(lhs: list[Labels], rhs: list[Labels], matching: ast.VectorMatching
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    sig = _signature_fn(matching)
    ids: dict[Labels, int] = {}
    left = np.fromiter((ids.setdefault(sig(x), len(ids)) for x in lhs), dtype=np.int64, count=len(lhs))
    right = np.fromiter((ids.setdefault(sig(x), len(ids)) for x in rhs), dtype=np.int64, count=len(rhs))
    return left, right, len(ids)


def _sig_presence(sig: np.ndarray, present: np.ndarray, nsig: int) -> np.ndarray:
    return group_rows_sum(present.astype(np.int64), sig, nsig)


def _set_op(op: str, lhs: InstantVectors, rhs: InstantVectors,
            matching: ast.VectorMatching) -> InstantVectors:
    sig_l, sig_r, nsig = _signature_ids(lhs.labels, rhs.labels, matching)
    if op == "or":
        left_has = _sig_presence(sig_l, lhs.present, nsig) > 0
        rhs_present = rhs.present & ~left_has[sig_r]
        out = InstantVectors(
            labels=list(lhs.labels) + list(rhs.labels),
            values=np.concatenate([lhs.values, rhs.values]),
            present=np.concatenate([lhs.present, rhs_present]),
            drop_name=np.concatenate([lhs.drop_name_mask(), rhs.drop_name_mask()]),
        )
        if lhs.h is not None or rhs.h is not None:
            out.h, off = combined(lhs.h, rhs.h)
            out.h_index = np.concatenate([_h_rows(lhs, 0), _h_rows(rhs, off)])
        return _drop_empty(collapse_same_labels(out))
    right_has = _sig_presence(sig_r, rhs.present, nsig) > 0
    mask = right_has[sig_l] if op == "and" else ~right_has[sig_l]
    out = InstantVectors(labels=lhs.labels, values=lhs.values, present=lhs.present & mask,
                         drop_name=lhs.drop_name, h=lhs.h, h_index=lhs.h_index)
    return _drop_empty(out)


def _h_rows(vec: InstantVectors, offset: int) -> np.ndarray:
    """``vec``'s histogram rows shifted by ``offset`` (-1 for floats), shape (N, S)."""
    if vec.h_index is None:
        return np.full(vec.values.shape, -1, dtype=np.int64)
    return np.where(vec.h_index >= 0, vec.h_index + offset, -1)


def _match_labels(lbl: Labels, matching: ast.VectorMatching) -> Labels:
    if matching.on:
        return lbl.only(*matching.matching_labels)
    return lbl.without("__name__", *matching.matching_labels)


def _raise_duplicate_one_side(one: InstantVectors, sig_one: np.ndarray, counts: np.ndarray,
                              matching: ast.VectorMatching, side: str) -> None:
    # Report what Prometheus reports: at the first offending step, the first series whose
    # match group was already taken, and the series that took it.
    step = int(np.flatnonzero((counts > 1).any(axis=0))[0])
    seen: dict[int, int] = {}
    for row in np.flatnonzero(one.present[:, step]):
        s = int(sig_one[row])
        if s in seen:
            first, second = one.labels[seen[s]], one.labels[row]
            raise ExecutionError(
                f"found duplicate series for the match group {go_labels(_match_labels(second, matching))} on "
                f"the {side} hand-side of the operation: [{go_labels(first)}, {go_labels(second)}];"
                "many-to-many matching not allowed: matching labels must be unique on one side")
        seen[s] = int(row)


def vector_binop(op: str, lhs: InstantVectors, rhs: InstantVectors, matching: ast.VectorMatching | None, *,
                 return_bool: bool, delayed_names: bool, annotations: Annotations | None = None,
                 pos: str = "") -> InstantVectors:
    """vector op vector with one-to-one, many-to-one or one-to-many matching, or a set operator."""
    if matching is None:
        matching = ast.VectorMatching(card="many-to-many" if op in SET_OPS else "one-to-one")
    if op in SET_OPS:
        return _set_op(op, lhs, rhs, matching)
    steps = lhs.num_steps
    one_to_many = matching.card == "one-to-many"
    many, one = (rhs, lhs) if one_to_many else (lhs, rhs)
    fill_many, fill_one = matching.fill_lhs, matching.fill_rhs  # as upstream: not swapped for group_right
    filling = fill_many is not None or fill_one is not None
    sig_many, sig_one, nsig = _signature_ids(many.labels, one.labels, matching)
    # Steps where the operation runs at all: without fill values both sides must be non-empty.
    active = lhs.present.any(axis=0) | rhs.present.any(axis=0) if filling else (
        lhs.present.any(axis=0) & rhs.present.any(axis=0))
    one_present = one.present & active[None, :]
    one_counts = _sig_presence(sig_one, one_present, nsig)
    if (one_counts > 1).any():
        _raise_duplicate_one_side(InstantVectors(one.labels, one.values, one_present), sig_one, one_counts,
                                  matching, "left" if one_to_many else "right")
    one_idx = np.full((nsig, steps), -1, dtype=np.int64)
    orow, ocol = np.nonzero(one_present)
    one_idx[sig_one[orow], ocol] = orow
    mrow, mcol = np.nonzero(many.present & active[None, :])
    partner = one_idx[sig_many[mrow], mcol]
    matched = partner >= 0

    # Entries: (many-side label source, one-side label source, step, many value, one value, signature).
    # Label sources index ``many_lbls`` / ``one_lbls``, which are extended with the match-group labels
    # that stand in for a missing side when a fill value is used.
    n_many, n_one = len(many.labels), len(one.labels)
    mr, pr, mc = mrow[matched], partner[matched], mcol[matched]
    mi, oi, col = [mr], [pr], [mc]
    fm, fo, sig = [many.values[mr, mc]], [one.values[pr, mc]], [sig_many[mr]]
    if fill_one is not None:
        um, uc = mrow[~matched], mcol[~matched]
        mi.append(um)
        oi.append(n_one + um)
        col.append(uc)
        fm.append(many.values[um, uc])
        fo.append(np.full(um.size, fill_one))
        sig.append(sig_many[um])
    if fill_many is not None:
        many_has = _sig_presence(sig_many, many.present & active[None, :], nsig) > 0
        alone = ~many_has[sig_one[orow], ocol]
        ur, uc = orow[alone], ocol[alone]
        mi.append(n_many + ur)
        oi.append(ur)
        col.append(uc)
        fm.append(np.full(ur.size, fill_many))
        fo.append(one.values[ur, uc])
        sig.append(sig_one[ur])
    mi_a, oi_a, col_a = np.concatenate(mi), np.concatenate(oi), np.concatenate(col)
    fm_a, fo_a, sig_a = np.concatenate(fm), np.concatenate(fo), np.concatenate(sig)
    if matching.card == "one-to-one" and _has_duplicates(sig_a * steps + col_a, nsig * steps):
        raise ExecutionError("multiple matches for labels: many-to-one matching must be explicit "
                             "(group_left/group_right)")
    fl, fr = (fo_a, fm_a) if one_to_many else (fm_a, fo_a)
    if op in COMPARISON:
        keep = _compare(op, fl, fr)
        if return_bool:
            vals, keep = keep.astype(np.float64), np.ones_like(keep)
        else:
            vals = fl
    elif op in TRIM_OPS:  # trimming applies to histograms only
        vals, keep = np.full(fl.shape, np.nan), np.zeros(fl.shape, dtype=bool)
    else:
        vals, keep = _arith(op, fl, fr), np.ones(fl.shape, dtype=bool)
    out_h, h_rows = None, None
    if lhs.h is not None or rhs.h is not None:
        both_h, off = combined(lhs.h, rhs.h)
        m_h = _h_rows(many, off if one_to_many else 0)
        o_h = _h_rows(one, 0 if one_to_many else off)
        hm, ho = [m_h[mr, mc]], [o_h[pr, mc]]
        if fill_one is not None:  # many-side samples without partner
            hm.append(m_h[mrow[~matched], mcol[~matched]])
            ho.append(np.full(int((~matched).sum()), -1, dtype=np.int64))
        if fill_many is not None:  # one-side samples alone
            hm.append(np.full(ur.size, -1, dtype=np.int64))
            ho.append(o_h[ur, ocol[alone]])
        hm_a, ho_a = np.concatenate(hm), np.concatenate(ho)
        hl, hr = (ho_a, hm_a) if one_to_many else (hm_a, ho_a)
        hist = (hl >= 0) | (hr >= 0)
        if hist.any():
            assert both_h is not None
            res = histogram_pairs(op, fl[hist], fr[hist], hl[hist], hr[hist], both_h, return_bool,
                                  annotations or Annotations(), pos)
            vals = np.array(vals, dtype=np.float64)
            keep = np.array(keep, dtype=bool)
            vals[hist] = res.value
            keep[hist] = res.keep
            h_rows = np.full(vals.shape, -1, dtype=np.int64)
            h_rows[hist] = res.h_row
            out_h = res.h

    def many_label(i: int) -> Labels:
        return many.labels[i] if i < n_many else _match_labels(one.labels[i - n_many], matching)

    def one_label(i: int) -> Labels:
        return one.labels[i] if i < n_one else _match_labels(many.labels[i - n_one], matching)

    # One output label set per distinct (many source, one source) pair.
    width = n_one + n_many + 1
    uniq, inverse = _unique_pairs(mi_a, oi_a, width)
    out_ids: dict[Labels, int] = {}
    pair_out = np.empty(uniq.size, dtype=np.int64)
    for k, pk in enumerate(uniq.tolist()):
        lbl = _result_labels(many_label(pk // width), one_label(pk % width), op, matching,
                             return_bool and not delayed_names)
        pair_out[k] = out_ids.setdefault(lbl, len(out_ids))
    out_row = pair_out[inverse.ravel()]
    n_out = len(out_ids)
    if (matching.card != "one-to-one" and _has_duplicates(out_row * steps + col_a, n_out * steps)
            and _has_duplicates((out_row * nsig + sig_a) * steps + col_a, n_out * nsig * steps)):
        raise ExecutionError("multiple matches for labels: grouping labels must ensure unique matches")
    values = np.zeros((n_out, steps), dtype=np.float64)
    present = np.zeros((n_out, steps), dtype=bool)
    if _has_duplicates(out_row[keep] * steps + col_a[keep], n_out * steps):
        raise ExecutionError(DUPLICATE_LABELSET)
    values[out_row[keep], col_a[keep]] = vals[keep]
    present[out_row[keep], col_a[keep]] = True
    drop = np.full(n_out, bool(return_bool))
    out = InstantVectors(labels=list(out_ids), values=values, present=present, drop_name=drop)
    if out_h is not None and h_rows is not None:
        h_index = np.full((n_out, steps), -1, dtype=np.int64)
        h_index[out_row[keep], col_a[keep]] = h_rows[keep]
        out.h, out.h_index = out_h, h_index
    return _drop_empty(out)


def _has_duplicates(keys: np.ndarray, space: int) -> bool:
    """Whether any key occurs twice (``0 <= key < space``)."""
    if keys.size < 2:
        return False
    if space <= 4 * keys.size + 1024:
        return bool(np.bincount(keys, minlength=1).max() > 1)
    ordered = np.sort(keys)
    return bool((ordered[1:] == ordered[:-1]).any())


def _unique_pairs(a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a * width + b, return_inverse=True)``, without sorting when every ``a``
    always comes with the same ``b`` (the usual case: one partner per series)."""
    if a.size:
        partner = np.full(int(a.max()) + 1, -1, dtype=np.int64)
        partner[a] = b
        if (partner[a] == b).all():
            used = np.flatnonzero(partner >= 0)
            index = np.full(partner.size, -1, dtype=np.int64)
            index[used] = np.arange(used.size)
            return used * width + partner[used], index[a]
    keys = a * width + b
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]]) if keys.size else np.zeros(0, dtype=bool)
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def _result_labels(many: Labels, one: Labels, op: str, matching: ast.VectorMatching,
                   drop_now: bool) -> Labels:
    d = dict(many.items)
    if op in ARITHMETIC:
        for name in ("__name__", "__type__", "__unit__"):
            d.pop(name, None)
    if matching.card == "one-to-one":
        if matching.on:
            keep = set(matching.matching_labels)
            d = {k: v for k, v in d.items() if k in keep}
        else:
            for name in matching.matching_labels:
                d.pop(name, None)
    for name in matching.include:
        v = one.get(name)
        if v:
            d[name] = v
        else:
            d.pop(name, None)
    out = Labels(d)
    return drop_metadata(out) if drop_now else out
