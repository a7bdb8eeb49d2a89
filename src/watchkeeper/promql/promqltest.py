"""Runner for PromQL ``.test`` scripts: the conformance suite of the query engine.

``ScriptRunner`` executes the commands of one script (see ``testscript``)
against a fresh in-memory TSDB and the engine, and checks every ``eval`` the way
Prometheus' ``promqltest`` harness does: exact label sets, tolerant float
comparison, ordering, annotations, failures with message or regex, and for
instant evals the same query re-run in range mode. ``run_cli`` is the
``watchkeeper promqltest FILE...`` command.

Evals are independent once the data they see is loaded, so the runner builds
the storage state lazily up to the eval asked for; running evals in file order
loads every block once.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model import histogram_ops as hops
from ..model.batch import SampleBatch
from ..model.histogram import CUSTOM_BUCKETS_SCHEMA, HistogramBatch
from ..model.labels import METRIC_NAME, Labels
from ..storage.api import Storage, StorageError
from . import ast
from .engine import Engine, QueryResult
from .errors import PromQLError
from .floatcmp import almost_equal, almost_equal_arrays
from .parser import parse
from .signatures import FUNCTIONS
from .testhistogram import HistogramLiteral, batch_equal_tolerant, format_histogram, histograms_equal
from .testscript import ClearCmd, Command, EvalCmd, LoadCmd, ScriptError, Value, parse_script

__all__ = ["EvalFailure", "EvalOutcome", "ScriptRunner", "corpus_engine", "eval_requirements", "run_file",
           "run_cli"]

# Features an eval can need that this implementation does not (yet) provide. ``eval_requirements``
# derives them from the script content; the conformance tests mark such evals as expected failures.
NATIVE_HISTOGRAMS = "native histograms"
START_TIMESTAMPS = "start timestamps"
EXPERIMENTAL_SYNTAX = "experimental syntax"

EXPERIMENTAL_AGGREGATORS = frozenset({"limitk", "limit_ratio"})
_QUERY_CONTEXT_FUNCS = re.compile(r"(start|end|range|step)\(\)")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')

MS_PER_MINUTE = 60_000
# Functions whose result depends on the evaluation time even when every argument is pinned with ``@``.
AT_MODIFIER_UNSAFE_FUNCTIONS = frozenset({
    "time", "timestamp", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute",
    "month", "year", "predict_linear", "start", "end", "range", "step"})


class EvalFailure(AssertionError):
    """An eval did not produce what the script expects."""


@dataclass
class EvalOutcome:
    line: int
    expr: str
    passed: bool
    message: str = ""
    requires: tuple[str, ...] = ()


# --------------------------------------------------------------------------- content-derived requirements


def _walk(node: object) -> Iterator[object]:
    """Every AST node below (and including) ``node``."""
    yield node
    if is_dataclass(node):
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, ast.Expr):
                yield from _walk(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.Expr):
                        yield from _walk(item)


def _series_flags(values: list[Value], has_st: bool) -> frozenset[str]:
    flags = set()
    if any(isinstance(v, HistogramLiteral) for v in values):
        flags.add(NATIVE_HISTOGRAMS)
    if has_st:
        flags.add(START_TIMESTAMPS)
    return frozenset(flags)


def _nhcb_labels(load: LoadCmd) -> list[Labels]:
    """Labels of the native histograms ``load_with_nhcb`` synthesises from classic histogram series."""
    out = []
    for labels in load.series:
        name = labels.name
        for suffix in ("_bucket", "_count", "_sum"):
            if name.endswith(suffix) and len(name) > len(suffix):
                base = labels.without("le") if suffix == "_bucket" else labels
                out.append(base.merge({METRIC_NAME: name[: -len(suffix)]}))
    return out


def eval_requirements(commands: list[Command]) -> dict[int, tuple[str, ...]]:
    """For each eval (keyed by line) the unsupported features it needs, derived from the content.

    An eval needs native histograms if its expected output holds a histogram literal
    or its query selects a loaded series holding histogram samples (``load_with_nhcb``
    series included); start timestamps likewise by the series it selects (``@st``
    lines); experimental functions by the ``experimental`` flag of their signature;
    experimental syntax (``anchored``/``smoothed``, ``fill()``, duration expressions)
    when the query parses only with upstream's feature flags on.
    """
    loaded: dict[Labels, frozenset[str]] = {}
    out: dict[int, tuple[str, ...]] = {}
    for cmd in commands:
        if isinstance(cmd, ClearCmd):
            loaded = {}
        elif isinstance(cmd, LoadCmd):
            loaded = dict(loaded)
            for labels, values in cmd.series.items():
                flags = _series_flags(values, labels in cmd.start_timestamps)
                loaded[labels] = loaded.get(labels, frozenset()) | flags
            if cmd.with_nhcb:
                for labels in _nhcb_labels(cmd):
                    loaded[labels] = loaded.get(labels, frozenset()) | {NATIVE_HISTOGRAMS}
        elif isinstance(cmd, EvalCmd):
            out[cmd.line] = tuple(sorted(_eval_requirements(cmd, loaded)))
    return out


def _eval_requirements(cmd: EvalCmd, loaded: dict[Labels, frozenset[str]]) -> set[str]:
    needs: set[str] = set()
    if cmd.has_histograms:
        needs.add(NATIVE_HISTOGRAMS)
    flagged = {labels: flags for labels, flags in loaded.items() if flags}
    try:
        root = parse(cmd.expr, enable_experimental=True)
    except PromQLError:
        # Invalid even with every feature on (an ``expect fail`` query): judge the data by the names in it.
        text = _STRINGS.sub('""', cmd.expr)
        for labels, flags in flagged.items():
            if labels.name and re.search(rf"(?<![\w:]){re.escape(labels.name)}(?![\w:])", text):
                needs |= flags
        return needs
    try:
        parse(cmd.expr)
    except PromQLError:
        # Valid only with upstream's feature flags on: experimental syntax such as ``anchored``,
        # ``fill()`` or duration expressions (experimental functions are named below).
        needs.add(EXPERIMENTAL_SYNTAX)
    for node in _walk(root):
        if isinstance(node, ast.Call):
            sig = FUNCTIONS.get(node.func)
            if sig is not None and sig.experimental:
                needs.add(f"experimental function {node.func}")
        elif isinstance(node, ast.AggregateExpr) and node.op in EXPERIMENTAL_AGGREGATORS:
            needs.add(f"experimental function {node.op}")
        elif isinstance(node, ast.VectorSelector):
            for labels, flags in flagged.items():
                if all(m.matches_labels(labels) for m in node.matchers):
                    needs |= flags
    if any(n.startswith("experimental function") for n in needs):
        needs.discard(EXPERIMENTAL_SYNTAX)
    return needs


# --------------------------------------------------------------------------- result normalisation


# A result sample: a float, or a histogram (one-row literal, hint not spelled out).
_Sample = float | HistogramLiteral


@dataclass
class _Vector:
    samples: list[tuple[Labels, _Sample]]


@dataclass
class _Series:
    """One matrix series: float points ``t``/``v`` and histogram points ``ht``/``hrows`` (rows of ``h``)."""

    labels: Labels
    t: np.ndarray
    v: np.ndarray
    ht: np.ndarray
    hrows: np.ndarray


@dataclass
class _Matrix:
    series: list[_Series]
    h: HistogramBatch | None = None


def _hist_sample(h: HistogramBatch, row: int) -> HistogramLiteral:
    return HistogramLiteral(hops.take(h, np.array([row])))


def _normalise(result: QueryResult) -> _Vector | _Matrix | float | str:
    kind = result.result_type
    if kind == "scalar":
        return float(result.scalar[1])
    if kind == "string":
        return str(result.string[1])
    ss = result.series
    hix = ss.h_index if ss.h is not None else None
    if kind == "vector":
        samples: list[tuple[Labels, _Sample]] = []
        for i in range(len(ss)):
            k = int(ss.offsets[i + 1]) - 1
            if hix is not None and hix[k] >= 0:
                samples.append((ss.labels[i], _hist_sample(ss.h, int(hix[k]))))
            else:
                samples.append((ss.labels[i], float(ss.v[k])))
        return _Vector(samples)
    if kind == "matrix":
        out = []
        for i in range(len(ss)):
            a, b = int(ss.offsets[i]), int(ss.offsets[i + 1])
            t, v = ss.t[a:b], ss.v[a:b]
            is_h = hix[a:b] >= 0 if hix is not None else np.zeros(b - a, dtype=bool)
            out.append(_Series(ss.labels[i], t[~is_h], v[~is_h], t[is_h],
                               hix[a:b][is_h] if hix is not None else np.zeros(0, np.int64)))
        return _Matrix(out, ss.h)
    raise EvalFailure(f"unexpected result type {kind!r}")


def _describe(value: _Vector | _Matrix | float | str) -> str:
    if isinstance(value, _Vector):
        return "vector " + ", ".join(f"{labels} {v}" for labels, v in value.samples[:10])
    if isinstance(value, _Matrix):
        return "matrix " + ", ".join(f"{s.labels} {len(s.t) + len(s.ht)} points" for s in value.series[:10])
    return f"{type(value).__name__} {value!r}"


def _fmt_points(s: _Series, h: HistogramBatch | None) -> str:
    pairs = [f"{val!r} @[{ts}]" for ts, val in zip(s.t.tolist()[:20], s.v.tolist()[:20], strict=True)]
    if h is not None:
        pairs += [f"{format_histogram(h, row)} @[{ts}]"
                  for ts, row in zip(s.ht.tolist()[:20], s.hrows.tolist()[:20], strict=True)]
    return "[" + ", ".join(pairs) + "]"


# --------------------------------------------------------------------------- comparison


def _compare_vector(cmd: EvalCmd, got: _Vector, ordered: bool) -> None:
    if cmd.expected_scalar is not None:
        raise EvalFailure(f"expected scalar result, but got {_describe(got)}")
    seen = set()
    for pos, (labels, value) in enumerate(got.samples, start=1):
        entry = cmd.expected.get(labels)
        if entry is None:
            raise EvalFailure(f"unexpected metric {labels} in result, has value {value}")
        exp_pos, values = entry
        if ordered and exp_pos != pos:
            raise EvalFailure(f"expected metric {labels} at position {exp_pos} but was at {pos}")
        expected = values[0] if values else None
        if isinstance(expected, HistogramLiteral):
            if not isinstance(value, HistogramLiteral):
                raise EvalFailure(f"expected histogram {expected} for {labels} but got float value {value!r}")
            if not histograms_equal(expected, value):
                raise EvalFailure(f"expected {expected} for {labels} but got {value}")
        elif isinstance(value, HistogramLiteral):
            raise EvalFailure(f"expected float value {expected!r} for {labels} but got histogram {value}")
        elif expected is None or not almost_equal(expected, value):
            raise EvalFailure(f"expected {expected!r} for {labels} but got {value!r}")
        seen.add(labels)
    for labels, (_, values) in cmd.expected.items():
        if labels not in seen:
            raise EvalFailure(f"expected metric {labels} with {_fmt_values(values)} not found")


def _fmt_values(values: list[Value]) -> str:
    return "[" + " ".join("_" if v is None else str(v) for v in values) + "]"


def _labels_key(labels: Labels) -> tuple[tuple[bytes, bytes], ...]:
    """Byte-wise label order (FORMAT 7.3): pairs sorted by name, compared name then value."""
    return tuple((k.encode(), v.encode()) for k, v in labels.items)


def _compare_matrix(cmd: EvalCmd, got: _Matrix, start: int, end: int, step: int) -> None:
    if cmd.ordered:
        raise EvalFailure("expected ordered result, but query returned a matrix")
    if cmd.expected_scalar is not None:
        raise EvalFailure(f"expected scalar result, but got {_describe(got)}")
    _assert_sorted(got)
    seen = set()
    for s in got.series:
        labels = s.labels
        entry = cmd.expected.get(labels)
        if entry is None:
            raise EvalFailure(f"unexpected metric {labels} in result, has {_fmt_points(s, got.h)}")
        seen.add(labels)
        values = entry[1]
        if values and start + (len(values) - 1) * step > end:
            raise EvalFailure(f"expected {len(values)} points for {labels}, but query time range cannot "
                              f"return this many points")
        exp_t = [start + i * step for i, x in enumerate(values) if isinstance(x, float)]
        exp_v = [x for x in values if isinstance(x, float)]
        exp_ht = [start + i * step for i, x in enumerate(values) if isinstance(x, HistogramLiteral)]
        exp_h = [x for x in values if isinstance(x, HistogramLiteral)]
        if len(exp_t) != len(s.t) or len(exp_ht) != len(s.ht):
            raise EvalFailure(f"expected {len(exp_t)} float points and {len(exp_ht)} histogram points for "
                              f"{labels}, but got {_fmt_points(s, got.h)}")
        _check_timestamps(labels, "float", exp_t, s, s.t, got.h)
        ok = almost_equal_arrays(np.asarray(exp_v, dtype=np.float64), s.v)
        if not ok.all():
            i = int(np.nonzero(~ok)[0][0])
            raise EvalFailure(f"expected float value at index {i} (t={int(s.t[i])}) for {labels} to be "
                              f"{exp_v[i]!r}, but got {float(s.v[i])!r} (result has {_fmt_points(s, got.h)})")
        if exp_h and got.h is not None:
            _check_timestamps(labels, "histogram", exp_ht, s, s.ht, got.h)
            expected = hops.concatenate([x.batch for x in exp_h])
            hints = np.array([x.hint_set for x in exp_h])
            same = batch_equal_tolerant(expected, hops.take(got.h, s.hrows), hints)
            if not same.all():
                i = int(np.nonzero(~same)[0][0])
                raise EvalFailure(f"expected histogram value at index {i} (t={int(s.ht[i])}) for {labels} "
                                  f"to be {exp_h[i]}, but got {format_histogram(got.h, int(s.hrows[i]))} "
                                  f"(result has {_fmt_points(s, got.h)})")
    for labels in cmd.expected:
        if labels not in seen:
            raise EvalFailure(f"expected metric {labels} not found")


def _check_timestamps(labels: Labels, kind: str, expected: list[int], s: _Series, got: np.ndarray,
                      h: HistogramBatch | None) -> None:
    exp = np.asarray(expected, dtype=np.int64)
    bad = np.nonzero(exp != got)[0]
    if bad.size:
        i = int(bad[0])
        raise EvalFailure(f"expected {kind} value at index {i} for {labels} to have timestamp {expected[i]}, "
                          f"but it had timestamp {int(got[i])} (result has {_fmt_points(s, h)})")


def _assert_sorted(got: _Matrix) -> None:
    keys = [_labels_key(s.labels) for s in got.series]
    for i in range(len(keys) - 1):
        if keys[i] > keys[i + 1]:
            raise EvalFailure(f"matrix results should always be sorted by labels, but "
                              f"{got.series[i + 1].labels} sorts before {got.series[i].labels}")


def _compare(cmd: EvalCmd, got: _Vector | _Matrix | float | str) -> None:
    if isinstance(got, _Matrix):
        if cmd.is_range:
            _compare_matrix(cmd, got, cmd.start_ms, cmd.end_ms, cmd.step_ms)
        elif cmd.range_vector is not None:
            _compare_matrix(cmd, got, *cmd.range_vector)
        else:
            raise EvalFailure(f"unexpected range vector result (no 'expect range vector'): {_describe(got)}")
    elif cmd.is_range or cmd.range_vector is not None:
        raise EvalFailure(f"expected a matrix result, got {_describe(got)}")
    elif isinstance(got, _Vector):
        _compare_vector(cmd, got, cmd.ordered)
    elif isinstance(got, str):
        expected = cmd.expected_string if cmd.expected_string is not None else ""
        if got != expected:
            raise EvalFailure(f'expected string "{expected}" but got "{got}"')
    else:
        if cmd.expected_scalar is None:
            raise EvalFailure(f"expected vector or matrix result, but got scalar {got!r}")
        if not almost_equal(cmd.expected_scalar, got):
            raise EvalFailure(f"expected scalar {cmd.expected_scalar!r} but got {got!r}")


def _check_annotations(cmd: EvalCmd, warnings: list[str], infos: list[str]) -> None:
    if cmd.warn_expected and not warnings:
        raise EvalFailure("expected warnings but got none")
    if cmd.info_expected and not infos:
        raise EvalFailure("expected info annotations but got none")
    for kind, expects, actual in (("warn", cmd.warns, warnings), ("info", cmd.infos, infos)):
        if not expects:
            continue
        if not actual:
            raise EvalFailure(f"expected {kind} annotations but none were found")
        for e in expects:
            if not any(e.matches(a) for a in actual):
                raise EvalFailure(f"expected {kind} annotation matching {e} but no matching annotation was "
                                  f"found, found: {warnings + infos}")
        for a in actual:
            if not any(e.matches(a) for e in expects):
                raise EvalFailure(f"unexpected {kind} annotation {a!r}")
    if cmd.no_warn and warnings:
        raise EvalFailure(f"unexpected warning annotations: {warnings}")
    if cmd.no_info and infos:
        raise EvalFailure(f"unexpected info annotations: {infos}")


def _check_failure(cmd: EvalCmd, err: Exception) -> None:
    text = str(err)
    if cmd.fail is not None and not cmd.fail.matches(text):
        raise EvalFailure(f"expected error matching {cmd.fail} but got: {text}")


# --------------------------------------------------------------------------- runner


def _load_batch(cmd: LoadCmd) -> SampleBatch:
    """The samples of a load block: floats, and native histograms as rows of one ``HistogramBatch``
    (``load_with_nhcb`` adds the custom-bucket histograms converted from classic ones). Start
    timestamps are left out; evals that need them are flagged by ``eval_requirements``."""
    labels_list: list[Labels] = []
    sids, ts, vs, hrows = [], [], [], []
    hists: list[HistogramBatch] = []
    series = list(cmd.series.items())
    if cmd.with_nhcb:
        series += _nhcb_series(cmd)
    for labels, values in series:
        slots = [(i, v) for i, v in enumerate(values) if v is not None]
        if not slots:
            continue
        n = len(slots)
        sids.append(np.full(n, len(labels_list), dtype=np.int64))
        ts.append(np.fromiter((i for i, _ in slots), dtype=np.int64, count=n) * cmd.step_ms)
        vs.append(np.fromiter((v if isinstance(v, float) else np.nan for _, v in slots), dtype=np.float64,
                              count=n))
        rows = np.full(n, -1, dtype=np.int64)
        for k, (_, v) in enumerate(slots):
            if isinstance(v, HistogramLiteral):
                rows[k] = len(hists)
                hists.append(v.batch)
        hrows.append(rows)
        labels_list.append(labels)
    if not labels_list:
        return SampleBatch([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))
    batch = SampleBatch(labels_list, np.concatenate(sids), np.concatenate(ts), np.concatenate(vs))
    if hists:
        batch.h = hops.concatenate(hists)
        batch.h_index = np.concatenate(hrows)
    return batch


def _nhcb_series(cmd: LoadCmd) -> list[tuple[Labels, list[Value]]]:
    """``load_with_nhcb``: every classic histogram (``X_bucket``/``X_count``/``X_sum``) converted,
    timestamp by timestamp, into a custom-bucket native histogram named ``X`` (Prometheus' convertnhcb)."""
    groups: dict[Labels, dict[int, dict[str, object]]] = {}
    for labels, values in cmd.series.items():
        name = labels.name or ""
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                break
        else:
            continue
        le = 0.0
        if suffix == "_bucket":
            try:
                le = float(labels.get("le") or "")
            except ValueError:
                continue
            if math.isnan(le):
                continue
        base = labels.without("le").merge({METRIC_NAME: name[: -len(suffix)]})
        per_t = groups.setdefault(base, {})
        for i, v in enumerate(values):
            if not isinstance(v, float):
                continue
            slot = per_t.setdefault(i, {"buckets": {}})
            if suffix == "_bucket":
                slot["buckets"].setdefault(le, v)  # type: ignore[union-attr]
            else:
                slot[suffix] = v
    out: list[tuple[Labels, list[Value]]] = []
    for base, per_t in groups.items():
        values: list[Value] = [None] * (max(per_t) + 1 if per_t else 0)
        for i, slot in per_t.items():
            values[i] = _convert_classic(base, slot)
        out.append((base, values))
    return out


def _convert_classic(base: Labels, slot: dict[str, object]) -> HistogramLiteral:
    """One timestamp of a classic histogram (cumulative ``le`` buckets, count, sum) as an NHCB."""
    buckets: dict[float, float] = slot["buckets"]  # type: ignore[assignment]
    bounds = sorted(buckets)
    cum = [buckets[b] for b in bounds]
    if any(c < 0 for c in cum) or any(b < a for a, b in zip(cum, cum[1:], strict=False)):
        raise StorageError(f"classic histogram {base} is not cumulative")
    count = slot.get("_count")
    if count is None:
        if not cum:
            raise StorageError(f"classic histogram {base}: count must be provided when no buckets are "
                               "present")
        count = cum[-1]
    if not bounds or bounds[-1] != math.inf:
        bounds.append(math.inf)
        cum.append(float(count))  # type: ignore[arg-type]
    if count != cum[-1]:
        raise StorageError(f"classic histogram {base}: count mismatch")
    diffs = np.diff(np.asarray(cum, dtype=np.float64), prepend=0.0)
    batch = hops.compact(hops.from_python([{
        "schema": CUSTOM_BUCKETS_SCHEMA, "count": count, "sum": slot.get("_sum", 0.0),
        "positive": dict(enumerate(diffs.tolist())), "custom_values": bounds[:-1]}]))
    return HistogramLiteral(batch)


def _default_storage() -> Storage:
    from ..storage.db import TSDB

    return TSDB()


def corpus_engine() -> Engine:
    """An engine configured as the corpus assumes: Prometheus 3 defaults, every feature flag on,
    at most 10000 samples per query."""
    return Engine(lookback_delta_ms=300_000, max_samples=10_000, enable_experimental=True,
                  enable_delayed_name_removal=True, no_step_subquery_interval_ms=60_000)


class ScriptRunner:
    """Runs the evals of one parsed script; see the module docstring."""

    def __init__(self, commands: list[Command], *, engine: Engine | None = None,
                 new_storage: Callable[[], Storage] = _default_storage, range_check: bool = True,
                 step_invariance: bool = False) -> None:
        self.commands = commands
        self.engine = engine if engine is not None else corpus_engine()
        self._new_storage = new_storage
        self.range_check = range_check
        self.step_invariance = step_invariance
        self.evals = [c for c in commands if isinstance(c, EvalCmd)]
        self._index = {id(c): i for i, c in enumerate(commands)}
        self._next = 0
        self._storage = new_storage()
        self._load_error: str | None = None
        self._requirements: dict[int, tuple[str, ...]] | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> ScriptRunner:
        return cls(parse_script(Path(path).read_text(encoding="utf-8")), **kwargs)

    @property
    def requirements(self) -> dict[int, tuple[str, ...]]:
        if self._requirements is None:
            self._requirements = eval_requirements(self.commands)
        return self._requirements

    def _prepare(self, position: int) -> None:
        """Apply the load/clear commands before ``position`` that have not been applied yet."""
        if position < self._next:
            self._storage = self._new_storage()
            self._load_error = None
            self._next = 0
        for cmd in self.commands[self._next:position]:
            if isinstance(cmd, ClearCmd):
                self._storage = self._new_storage()
                self._load_error = None
            elif isinstance(cmd, LoadCmd):
                try:
                    self._storage.append(_load_batch(cmd))
                except StorageError as e:
                    self._load_error = f"load at line {cmd.line} failed: {e}"
        self._next = position

    def run(self, cmd: EvalCmd) -> None:
        """Run one eval; raises ``EvalFailure`` with the reason if it does not hold."""
        self._prepare(self._index[id(cmd)])
        if self._load_error is not None:
            raise EvalFailure(self._load_error)
        if cmd.is_range:
            self._run_range(cmd)
        else:
            self._run_instant(cmd)

    def outcome(self, cmd: EvalCmd) -> EvalOutcome:
        requires = self.requirements.get(cmd.line, ())
        try:
            self.run(cmd)
        except EvalFailure as e:
            return EvalOutcome(cmd.line, cmd.expr, False, str(e), requires)
        except Exception as e:  # noqa: BLE001 - an engine crash is a failed eval, not a dead run
            return EvalOutcome(cmd.line, cmd.expr, False, f"{type(e).__name__}: {e}", requires)
        return EvalOutcome(cmd.line, cmd.expr, True, "", requires)

    def run_all(self) -> list[EvalOutcome]:
        return [self.outcome(cmd) for cmd in self.evals]

    def _execute(self, cmd: EvalCmd, query: Callable[[], QueryResult], *,
                 annotations: bool = True) -> QueryResult | None:
        """Run ``query``; returns its result, or None when an expected failure happened."""
        try:
            result = query()
        except PromQLError as e:
            if cmd.fail is None:
                raise EvalFailure(f"error evaluating query {cmd.expr!r}: {e}") from None
            _check_failure(cmd, e)
            return None
        if cmd.fail is not None:
            raise EvalFailure(f"expected error evaluating query {cmd.expr!r} but got none")
        if annotations:
            _check_annotations(cmd, list(result.annotations.warnings), list(result.annotations.infos))
        return result

    def _run_range(self, cmd: EvalCmd) -> None:
        result = self._execute(cmd, lambda: self.engine.range_query(
            self._storage, cmd.expr, cmd.start_ms, cmd.end_ms, cmd.step_ms))
        if result is not None:
            _compare(cmd, _normalise(result))

    def _run_instant(self, cmd: EvalCmd) -> None:
        t = cmd.eval_ms
        result = self._execute(cmd, lambda: self.engine.instant_query(self._storage, cmd.expr, t))
        if result is None:
            return
        got = _normalise(result)
        _compare(cmd, got)
        if self.step_invariance and cmd.range_vector is None:
            self._check_step_invariance(cmd, t)
        if (not self.range_check or cmd.ordered or cmd.range_vector is not None
                or cmd.expected_string is not None or isinstance(got, str)
                or _QUERY_CONTEXT_FUNCS.search(cmd.expr)):
            return
        self._check_range_mode(cmd, got, t)

    def _check_step_invariance(self, cmd: EvalCmd, t: int) -> None:
        """With every selector pinned to ``@ t`` the result must not depend on the evaluation time.

        Annotations are not compared: their positions refer to the original query text.
        """
        try:
            pinned = parse(cmd.expr, enable_experimental=True)
        except PromQLError:
            return  # the eval itself already showed how the engine treats this query
        if any(isinstance(n, ast.Call) and n.func in AT_MODIFIER_UNSAFE_FUNCTIONS for n in _walk(pinned)):
            return
        _pin_evaluation_time(pinned, t)
        for at in ((-10 * t, 0, t // 5, t, 10 * t) if t else (-1000, 0, 1000)):
            result = self._execute(cmd, lambda at=at: self.engine.instant_query(self._storage, pinned, at),
                                   annotations=False)
            if result is None:
                continue
            try:
                _compare(cmd, _normalise(result))
            except EvalFailure as e:
                raise EvalFailure(f"with every selector at @ {t / 1000:g}, evaluated at {at}: {e}") from None

    def _check_range_mode(self, cmd: EvalCmd, instant: _Vector | _Matrix | float, t: int) -> None:
        """The instant result must equal the middle step of a range query around ``t``."""
        try:
            result = self.engine.range_query(self._storage, cmd.expr, t - MS_PER_MINUTE, t + MS_PER_MINUTE,
                                             MS_PER_MINUTE)
        except PromQLError as e:
            raise EvalFailure(f"error evaluating query {cmd.expr!r} in range mode: {e}") from None
        mat = _normalise(result)
        if not isinstance(mat, _Matrix):
            raise EvalFailure(f"range mode: expected a matrix, got {_describe(mat)}")
        _assert_sorted(mat)
        samples: list[tuple[Labels, _Sample]] = []
        for ser in mat.series:
            hit = np.nonzero(ser.t == t)[0]
            if hit.size:
                samples.append((ser.labels, float(ser.v[hit[0]])))
                continue
            hit = np.nonzero(ser.ht == t)[0]
            if hit.size and mat.h is not None:
                samples.append((ser.labels, _hist_sample(mat.h, int(ser.hrows[hit[0]]))))
        try:
            if isinstance(instant, float):
                if not samples or not isinstance(samples[0][1], float):
                    raise EvalFailure("range mode: scalar query returned no point at the evaluation time")
                _compare(cmd, samples[0][1])
            else:
                _compare(cmd, _Vector(samples))
        except EvalFailure as e:
            raise EvalFailure(f"range mode: {e}") from None


def _pin_evaluation_time(node: ast.Expr, t: int) -> None:
    """Add ``@ t`` to every selector and subquery without one, not descending into pinned subqueries."""
    if isinstance(node, ast.SubqueryExpr):
        if node.timestamp_ms is not None:
            return
        if node.start_or_end is None:
            node.timestamp_ms = t
            return
    elif isinstance(node, ast.VectorSelector):
        if node.timestamp_ms is None and node.start_or_end is None:
            node.timestamp_ms = t
        return
    for f in fields(node):
        value = getattr(node, f.name)
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, ast.Expr):
                _pin_evaluation_time(child, t)


def run_file(path: str | Path, **kwargs: Any) -> list[EvalOutcome]:
    """Parse and run every eval of one script file."""
    return ScriptRunner.from_file(path, **kwargs).run_all()


def run_cli(argv: list[str]) -> int:
    """``watchkeeper promqltest FILE...``: print per-file counts and failures; 1 if anything failed."""
    ap = argparse.ArgumentParser(prog="watchkeeper promqltest",
                                 description="Run PromQL .test scripts against the watchkeeper engine.")
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--no-range-check", action="store_true",
                    help="do not re-run instant evals as range queries")
    ap.add_argument("--step-invariance", action="store_true",
                    help="also re-run instant evals with every selector pinned by @ at other times (slow)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only the per-file counts")
    args = ap.parse_args(argv)
    failed_any = False
    total_pass = total = 0
    for name in args.files:
        started = time.perf_counter()
        try:
            outcomes = run_file(name, range_check=not args.no_range_check,
                                step_invariance=args.step_invariance)
        except (OSError, ScriptError) as e:
            print(f"{name}: ERROR {e}")
            failed_any = True
            continue
        passed = sum(o.passed for o in outcomes)
        total_pass += passed
        total += len(outcomes)
        elapsed = time.perf_counter() - started
        print(f"{name}: {passed}/{len(outcomes)} passed ({elapsed:.2f}s)")
        for o in outcomes:
            if o.passed:
                continue
            failed_any = True
            if not args.quiet:
                needs = f" [needs {', '.join(o.requires)}]" if o.requires else ""
                print(f"  FAIL line {o.line}: {o.expr}{needs}\n    {o.message}")
    if len(args.files) > 1:
        print(f"total: {total_pass}/{total} passed")
    sys.stdout.flush()
    return 1 if failed_any else 0
