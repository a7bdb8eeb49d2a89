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
        info_labels = found.labels
        info_present = found.present
        info_t = found.timestamps if found.timestamps is not None else np.zeros(found.values.shape, np.int64)
    return _combine(base, ignore, info_labels, info_t, info_present, data_matchers)


def _signature(name: str, lbls: Labels) -> tuple[str, ...]:
    return (name, *(lbls.get(n) for n in IDENTIFYING_LABELS))


def _combine(base: InstantVectors, ignore: np.ndarray, info_labels: list[Labels], info_t: np.ndarray,
             info_present: np.ndarray, data_matchers: dict[str, list[Matcher]]) -> InstantVectors:
    steps = base.values.shape[1]
    info_names = sorted({lbl.name for lbl in info_labels})
    info_sigs = [_signature(lbl.name, lbl) for lbl in info_labels]
    needs_info = any(not m.matches_empty for ms in data_matchers.values() for m in ms)
    out: dict[Labels, int] = {}
    rows_labels: list[Labels] = []
    values: list[np.ndarray] = []
    present: list[np.ndarray] = []
    drops: list[bool] = []
    base_drop = base.drop_name_mask()
    for j in range(steps):
        newest: dict[tuple[str, ...], int] = {}
        for k in np.flatnonzero(info_present[:, j]):
            sig = info_sigs[k]
            other = newest.get(sig)
            if other is None or info_t[other, j] < info_t[k, j]:
                newest[sig] = int(k)
            elif info_t[other, j] == info_t[k, j]:
                raise ExecutionError(
                    f"found duplicate series for info metric: existing {info_labels[other]} @ "
                    f"{info_t[other, j]}, new {info_labels[k]} @ {info_t[k, j]}")
        for i in np.flatnonzero(base.present[:, j]):
            lbls = base.labels[i]
            if not ignore[i]:
                extra: dict[str, str] = {}
                matched = False
                for name in info_names:
                    k = newest.get(_signature(name, lbls))
                    if k is None:
                        continue
                    matched = True
                    for lname, lvalue in info_labels[k]:
                        if lname == METRIC_NAME or (data_matchers and lname not in data_matchers):
                            continue
                        if extra.get(lname, lvalue) != lvalue:
                            raise ExecutionError(f"conflicting label: {lname}")
                        if not lbls.has(lname):
                            extra[lname] = lvalue
                if not matched and needs_info:
                    continue
                if extra:
                    lbls = lbls.merge(extra)
            row = out.get(lbls)
            if row is None:
                row = out[lbls] = len(rows_labels)
                rows_labels.append(lbls)
                values.append(np.full(steps, np.nan))
                present.append(np.zeros(steps, dtype=bool))
                drops.append(bool(base_drop[i]))
            elif present[row][j]:
                raise ExecutionError("vector cannot contain metrics with the same labelset")
            values[row][j] = base.values[i, j]
            present[row][j] = True
    if not rows_labels:
        return empty_vectors(steps)
    return InstantVectors(rows_labels, np.vstack(values), np.vstack(present), np.array(drops))


FUNCTIONS = {"info": _info}
