"""info(v [, selector]): enrich series with the data labels of matching info series.

An info series (``target_info`` by default, or those chosen by the ``__name__``
matchers of the selector) matches a base series when they agree on the
identifying labels ``instance`` and ``job``. Info series are looked up as of the
time the base series' samples were read (the ``@`` and ``offset`` of the
argument's selector), with the usual lookback; when several info series of one
metric match, the one with the newest sample wins.
"""

from __future__ import annotations

import re

import numpy as np

from ...model.labels import METRIC_NAME, Labels
from ...model.matchers import Matcher, MatchType
from .. import ast
from ..errors import ExecutionError
from ..selectors import instant_select
from ..values import InstantVectors
from .base import FuncCall, empty_vectors

__all__ = ["FUNCTIONS"]

TARGET_INFO = "target_info"
IDENTIFYING_LABELS = ("instance", "job")


def _reference_times(call: FuncCall, expr: ast.Expr) -> np.ndarray:
    """When the first selector under ``expr`` reads its samples, per evaluation step."""
    t = call.eval_ts.astype(np.int64).copy()
    node: ast.Expr | None = expr
    while node is not None:
        if isinstance(node, ast.SubqueryExpr | ast.VectorSelector):
            t = _pinned(call, t, node.timestamp_ms, node.start_or_end) - node.offset_ms
        if isinstance(node, ast.VectorSelector):
            return t
        node = _first_child(node)
    return t


def _pinned(call: FuncCall, t: np.ndarray, timestamp_ms: int | None, start_or_end: str | None) -> np.ndarray:
    if timestamp_ms is not None:
        return np.full_like(t, timestamp_ms)
    if start_or_end is not None and call.query_range is not None:
        start, end, _ = call.query_range
        return np.full_like(t, start if start_or_end == "start" else end)
    return t


def _first_child(node: ast.Expr) -> ast.Expr | None:
    """The first child in Prometheus' depth-first inspection order."""
    if isinstance(node, ast.MatrixSelector):
        return node.vector_selector
    if isinstance(node, ast.SubqueryExpr | ast.ParenExpr | ast.UnaryExpr | ast.StepInvariantExpr):
        return node.expr
    if isinstance(node, ast.AggregateExpr):
        return node.param if node.param is not None else node.expr
    if isinstance(node, ast.BinaryExpr):
        return node.lhs
    if isinstance(node, ast.Call):
        return node.args[0] if node.args else None
    return None


def _selector_matchers(call: FuncCall) -> list[Matcher]:
    if len(call.exprs) < 2:
        return [Matcher.eq(METRIC_NAME, TARGET_INFO)]
    expr = call.exprs[1]
    while isinstance(expr, ast.StepInvariantExpr | ast.ParenExpr):
        expr = expr.expr
    if not isinstance(expr, ast.VectorSelector):
        raise ExecutionError("info(): the second argument must be a label selector")
    return list(expr.matchers)


def _info(call: FuncCall) -> InstantVectors:
    base = call.vector(0)
    matchers = _selector_matchers(call)
    name_matchers = [m for m in matchers if m.name == METRIC_NAME]
    data_matchers: dict[str, list[Matcher]] = {}
    for m in matchers:
        if m.name != METRIC_NAME:
            data_matchers.setdefault(m.name, []).append(m)
    positive = [m for m in name_matchers if m.type in (MatchType.EQUAL, MatchType.REGEX)]
    # Info series themselves are passed through: those whose name satisfies every __name__ matcher,
    # provided at least one of them selects names positively.
    ignore = np.array([bool(positive) and all(m.matches(lbl.name) for m in name_matchers)
                       for lbl in base.labels], dtype=bool)

    id_values: dict[str, set[str]] = {}
    for lbl, skip in zip(base.labels, ignore, strict=True):
        if skip:
            continue
        for name in IDENTIFYING_LABELS:
            value = lbl.get(name)
            if value:
                id_values.setdefault(name, set()).add(value)

    ref = _reference_times(call, call.exprs[0])
    info_labels: list[Labels] = []
    info_t = np.zeros((0, ref.shape[0]), dtype=np.int64)
    info_present = np.zeros((0, ref.shape[0]), dtype=bool)
    if id_values and call.querier is not None and len(base.labels):
        select = [Matcher(MatchType.REGEX, name, "|".join(re.escape(v) for v in sorted(values)))
                  for name, values in id_values.items()]
        select += matchers
        if not name_matchers:
            select.insert(0, Matcher.eq(METRIC_NAME, TARGET_INFO))
        elif not positive:
            select.append(Matcher(MatchType.REGEX, METRIC_NAME, ".+_info"))
        ss = call.querier.select(select, int(ref.min()) - call.lookback_ms + 1, int(ref.max()))
        found = instant_select(ss, ref, call.lookback_ms)
        if found.h_index is not None and (found.h_index >= 0).any():
            row = int(np.flatnonzero((found.h_index >= 0).any(axis=1))[0])
            raise ExecutionError(f"this should be an info metric, with float samples: {found.labels[row]}")
        info_labels = found.labels
        info_present = found.present
        info_t = found.timestamps if found.timestamps is not None else np.zeros(found.values.shape, np.int64)
    return _combine(base, ignore, info_labels, info_t, info_present, data_matchers)


def _signature(name: str, lbls: Labels) -> tuple[str, ...]:
    return (name, *(lbls.get(n) for n in IDENTIFYING_LABELS))


def _newest_per_signature(info_labels: list[Labels], info_t: np.ndarray, info_present: np.ndarray,
                          signatures: dict[tuple[str, ...], int]) -> np.ndarray:
    """(G, S) index of the info series with the newest sample per signature and step, or -1."""
    steps = info_present.shape[1]
    best = np.full((len(signatures), steps), -1, dtype=np.int64)
    best_t = np.zeros((len(signatures), steps), dtype=np.int64)
    for k, lbls in enumerate(info_labels):
        g = signatures[_signature(lbls.name, lbls)]
        here = info_present[k]
        taken = best[g] >= 0
        clash = here & taken & (best_t[g] == info_t[k])
        if clash.any():
            j = int(np.flatnonzero(clash)[0])
            other = int(best[g, j])
            raise ExecutionError(
                f"found duplicate series for info metric: existing {info_labels[other]} @ "
                f"{info_t[other, j]}, new {lbls} @ {info_t[k, j]}")
        newer = here & (~taken | (best_t[g] < info_t[k]))
        best[g] = np.where(newer, k, best[g])
        best_t[g] = np.where(newer, info_t[k], best_t[g])
    return best


def _enrichment(lbls: Labels, chosen: list[int], info_labels: list[Labels],
                data_matchers: dict[str, list[Matcher]]) -> dict[str, str]:
    """The data labels the chosen info series add to ``lbls``."""
    extra: dict[str, str] = {}
    for k in chosen:
        for lname, lvalue in info_labels[k]:
            if lname == METRIC_NAME or (data_matchers and lname not in data_matchers):
                continue
            if extra.get(lname, lvalue) != lvalue:
                raise ExecutionError(f"conflicting label: {lname}")
            if not lbls.has(lname):
                extra[lname] = lvalue
    return extra


def _combine(base: InstantVectors, ignore: np.ndarray, info_labels: list[Labels], info_t: np.ndarray,
             info_present: np.ndarray, data_matchers: dict[str, list[Matcher]]) -> InstantVectors:
    steps = base.values.shape[1]
    signatures: dict[tuple[str, ...], int] = {}
    for lbls in info_labels:
        signatures.setdefault(_signature(lbls.name, lbls), len(signatures))
    newest = _newest_per_signature(info_labels, info_t, info_present, signatures)
    info_names = sorted({lbl.name for lbl in info_labels})
    needs_info = any(not m.matches_empty for ms in data_matchers.values() for m in ms)
    rows: dict[Labels, int] = {}
    out_values: list[np.ndarray] = []
    out_present: list[np.ndarray] = []
    drops: list[bool] = []
    base_drop = base.drop_name_mask()

    def emit(lbls: Labels, i: int, steps_mask: np.ndarray) -> None:
        row = rows.get(lbls)
        if row is None:
            row = rows[lbls] = len(out_values)
            out_values.append(np.full(steps, np.nan))
            out_present.append(np.zeros(steps, dtype=bool))
            drops.append(bool(base_drop[i]))
        elif (out_present[row] & steps_mask).any():
            raise ExecutionError("vector cannot contain metrics with the same labelset")
        out_values[row][steps_mask] = base.values[i, steps_mask]
        out_present[row] |= steps_mask

    for i, lbls in enumerate(base.labels):
        if not base.present[i].any():
            continue
        if ignore[i]:
            emit(lbls, i, base.present[i])
            continue
        groups = [signatures.get(_signature(name, lbls)) for name in info_names]
        chosen = np.array([newest[g] if g is not None else np.full(steps, -1) for g in groups],
                          dtype=np.int64).reshape(len(groups), steps)
        # Steps with the same chosen info series give the same output labels.
        patterns, inverse = np.unique(chosen, axis=1, return_inverse=True)
        inverse = inverse.ravel()
        for p in range(patterns.shape[1]):
            mask = base.present[i] & (inverse == p)
            if not mask.any():
                continue
            picked = [int(k) for k in patterns[:, p] if k >= 0]
            if not picked and needs_info:
                continue
            extra = _enrichment(lbls, picked, info_labels, data_matchers)
            emit(lbls.merge(extra) if extra else lbls, i, mask)
    if not out_values:
        return empty_vectors(steps)
    return InstantVectors(list(rows), np.vstack(out_values), np.vstack(out_present), np.array(drops))


FUNCTIONS = {"info": _info}
