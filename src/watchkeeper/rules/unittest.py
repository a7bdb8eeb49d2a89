"""``test rules``: promtool's rule unit-test files, run on an in-memory store.

Format (promtool's): ``rule_files``, ``evaluation_interval``, ``group_eval_order``,
``fuzzy_compare`` and ``tests``, each with ``interval``, ``input_series`` (series
descriptor + expanding value notation), ``alert_rule_test``, ``promql_expr_test``,
``external_labels``, ``external_url``, ``name`` and ``start_timestamp``. Rules are
evaluated every ``evaluation_interval`` from the start up to the latest
``eval_time``, exactly as promtool steps them; output and exit code follow promtool.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..gocompat.durations import DurationError, format_duration, parse_duration
from ..gocompat.quote import go_quote
from ..model.batch import SampleBatch
from ..model.labels import Labels
from ..promql.engine import Engine
from ..promql.errors import PromQLError
from ..promql.parser import parse_labels
from ..promql.testscript import parse_value_sequence
from ..storage.db import TSDB
from .alert import AlertState
from .alerting_rule import AlertingRule
from .api import go_float_exp
from .group import Group
from .manager import RuleLoadError, RuleManager
from .templating import make_templater
from .vector import RuleEvalError, query_vector

# libyaml when available: rule files run to megabytes and pure-Python composing is slow.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["run_rule_tests", "run_rule_test_file"]

_FILE_FIELDS = {"rule_files", "evaluation_interval", "group_eval_order", "tests", "fuzzy_compare"}
_GROUP_FIELDS = {
    "interval",
    "input_series",
    "alert_rule_test",
    "promql_expr_test",
    "external_labels",
    "external_url",
    "name",
    "start_timestamp",
}


class _Fail(Exception):
    """Stops a test file or test group with promtool's error texts."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def run_rule_tests(
    files: list[str | Path], *, run: Callable[[str], bool] | None = None
) -> tuple[int, str, str]:
    """Run unit-test files; returns ``(exit code, stdout, stderr)`` as promtool prints them."""
    out: list[str] = []
    err: list[str] = []
    failed = False
    for f in files:
        out.append(f"Unit Testing:  {f}\n")
        errs = run_rule_test_file(f, run=run)
        if errs:
            err.append("  FAILED:\n")
            for e in errs:
                err.append(e + "\n")
                out.append("\n")
            failed = True
        else:
            out.append("  SUCCESS\n")
        out.append("\n")
    return (1 if failed else 0), "".join(out), "".join(err)


def run_rule_test_file(path: str | Path, *, run: Callable[[str], bool] | None = None) -> list[str]:
    """The failures of one unit-test file (empty when every test passes)."""
    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
        doc = _plain(root) or {}
        _check_fields(doc, _FILE_FIELDS, "main.unitTestFile")
        rule_files = _resolve(Path(path).parent, doc.get("rule_files") or [])
        eval_ms = _duration(doc.get("evaluation_interval")) or 60_000
        order: dict[str, int] = {}
        for i, name in enumerate(doc.get("group_eval_order") or []):
            if name in order:
                raise _Fail([f"group name repeated in evaluation order: {name}"])
            order[name] = i
        errors: list[str] = []
        for tg in doc.get("tests") or []:
            tg = tg or {}
            _check_fields(tg, _GROUP_FIELDS, "main.testGroup")
            if run is not None and not run(tg.get("name", "")):
                continue
            fuzzy = str(doc.get("fuzzy_compare", "")).lower() in ("true", "yes", "on")
            errors.extend(_TestGroup(tg, eval_ms, order, fuzzy, rule_files).run())
        return errors
    except _Fail as e:
        return e.errors
    except (OSError, yaml.YAMLError) as e:
        return [str(e)]


def _plain(node: yaml.Node | None) -> Any:
    """The YAML tree with every scalar kept as its text, as Go decodes into string fields
    (``values: 0x10`` is the expanding notation, not the number 16)."""
    if node is None:
        return None
    if isinstance(node, yaml.MappingNode):
        return {str(_plain(k)): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v) for v in node.value]
    return None if node.tag == "tag:yaml.org,2002:null" else str(node.value)


def _check_fields(doc: Any, known: set[str], type_name: str) -> None:
    if not isinstance(doc, dict):
        raise _Fail([f"yaml: unmarshal errors:\n  cannot unmarshal into {type_name}"])
    unknown = [k for k in doc if k not in known]
    if unknown:
        raise _Fail(
            [
                "yaml: unmarshal errors:\n"
                + "\n".join(f"  field {k} not found in type {type_name}" for k in unknown)
            ]
        )


def _resolve(base: Path, patterns: list[str]) -> list[str]:
    out: list[str] = []
    for p in patterns:
        full = p if not p or os.path.isabs(p) else str(base / p)
        out.extend(sorted(glob.glob(full)))
    return out


def _duration(v: Any) -> int:
    if v is None:
        return 0
    try:
        return parse_duration(str(v))
    except DurationError as e:
        raise _Fail([str(e)]) from None


def go_duration(ms: int) -> str:
    """Go's ``time.Duration.String`` for whole milliseconds (``1m0s``, ``1.5s``, ``0s``)."""
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    if ms < 1000:
        return f"{sign}{ms}ms"
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, frac = divmod(rem, 1000)
    sec = f"{s}.{frac:03d}".rstrip("0") if frac else str(s)
    if h:
        return f"{sign}{h}h{m}m{sec}s"
    if m:
        return f"{sign}{m}m{sec}s"
    return f"{sign}{sec}s"


def _go_labels(lbls: Labels) -> str:
    """Go's ``labels.Labels.String``: ``{__name__="x", a="b"}`` (the name is a plain label)."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in lbls.items) + "}"


@dataclass
class _AlertCase:
    eval_ms: int
    eval_text: str
    alertname: str
    expected: list[tuple[Labels, Labels]] = field(default_factory=list)


class _TestGroup:
    def __init__(
        self, tg: dict[str, Any], eval_ms: int, order: dict[str, int], fuzzy: bool, rule_files: list[str]
    ) -> None:
        self.tg = tg
        self.eval_ms = eval_ms
        self.order = order
        self.fuzzy = fuzzy
        self.rule_files = rule_files
        self.name = str(tg.get("name") or "")
        self.interval_ms = _duration(tg.get("interval")) or eval_ms
        self.start_ms = _start_ms(tg.get("start_timestamp"))
        self.external_labels = Labels({str(k): str(v) for k, v in (tg.get("external_labels") or {}).items()})
        self.external_url = str(tg.get("external_url") or "")

    def run(self) -> list[str]:
        db = TSDB(None)
        engine = Engine(no_step_subquery_interval_ms=self.eval_ms)
        self._load(db)

        def query(expr: Any, t: int) -> Any:
            return engine.instant_query(db, expr, t)

        mgr = RuleManager(
            query=query,
            appendable=db.append,
            notify=lambda alerts, expr: None,
            clock=lambda: 0.0,
            default_interval_ms=self.interval_ms,
            templater=make_templater(external_labels=self.external_labels, external_url=self.external_url),
        )
        try:
            groups = mgr.load_groups(self.rule_files)
        except RuleLoadError as e:
            return e.errors
        groups.sort(key=lambda g: self.order.get(g.name, 0))
        alert_cases = self._alert_cases()
        max_ms = max([c.eval_ms for c in alert_cases] + [self._eval_ms(c) for c in self._expr_cases()] + [0])
        times = sorted({c.eval_ms for c in alert_cases})
        curr = 0
        errs: list[str] = []
        ts = self.start_ms
        while ts <= self.start_ms + max_ms:
            eval_errs = []
            for g in groups:
                g.evaluate(ts)
                for r in g.rules:
                    if r.last_error:
                        eval_errs.append(f"    rule: {r.name}, time: {go_duration(ts)}, err: {r.last_error}")
            errs.extend(eval_errs)
            if eval_errs:
                return errs
            while curr < len(times) and ts - self.start_ms <= times[curr] < ts + self.eval_ms - self.start_ms:
                errs.extend(self._check_alerts(groups, [c for c in alert_cases if c.eval_ms == times[curr]]))
                curr += 1
            ts += self.eval_ms
        for case in self._expr_cases():
            errs.extend(self._check_expr(query, case))
        return errs

    def _load(self, db: TSDB) -> None:
        for s in self.tg.get("input_series") or []:
            series, text = str(s.get("series") or ""), str(s.get("values") or "")
            try:
                lbls = parse_labels(series)
            except PromQLError as first:
                # promtool parses "series values" as one line: report the error where it does.
                try:
                    parse_labels(f"{series} {text}")
                except PromQLError as e:
                    raise _Fail([str(e)]) from None
                raise _Fail([str(first)]) from None
            try:
                values = parse_value_sequence(text)
            except ValueError as e:
                raise _Fail([str(e)]) from None
            ts, vs = [], []
            for i, v in enumerate(values):
                if v is None:
                    continue
                if not isinstance(v, float):
                    raise _Fail([f"native histograms are not supported in input series {s.get('series')}"])
                ts.append(self.start_ms + i * self.interval_ms)
                vs.append(v)
            if ts:
                db.append(
                    SampleBatch(
                        [lbls], np.zeros(len(ts), np.int64), np.array(ts, np.int64), np.array(vs, np.float64)
                    )
                )

    def _alert_cases(self) -> list[_AlertCase]:
        cases = []
        for a in self.tg.get("alert_rule_test") or []:
            eval_text = a.get("eval_time", 0)
            ms = _duration(eval_text)
            if not a.get("alertname"):
                where = f" (in TestGroup {self.name})" if self.name else ""
                raise _Fail(
                    [
                        f"an item under alert_rule_test misses required attribute alertname at eval_time "
                        f"{format_duration(ms) or '0s'}{where}"
                    ]
                )
            case = _AlertCase(ms, format_duration(ms) or "0s", str(a["alertname"]))
            for exp in a.get("exp_alerts") or []:
                exp = exp or {}
                lbls = {str(k): str(v) for k, v in (exp.get("exp_labels") or {}).items()}
                lbls["alertname"] = case.alertname
                ann = {str(k): str(v) for k, v in (exp.get("exp_annotations") or {}).items()}
                case.expected.append((Labels(lbls), Labels(ann)))
            cases.append(case)
        return cases

    def _expr_cases(self) -> list[dict[str, Any]]:
        return list(self.tg.get("promql_expr_test") or [])

    @staticmethod
    def _eval_ms(case: dict[str, Any]) -> int:
        return _duration(case.get("eval_time", 0))

    def _check_alerts(self, groups: list[Group], cases: list[_AlertCase]) -> list[str]:
        errs = []
        for case in cases:
            got = sorted(
                (
                    (a.labels, a.annotations)
                    for g in groups
                    for r in g.rules
                    if isinstance(r, AlertingRule) and r.name == case.alertname
                    for a in r.active.values()
                    if a.state == AlertState.FIRING
                ),
                key=_la_key,
            )
            exp = sorted(case.expected, key=_la_key)
            if exp != got:
                name = f"    name: {self.name},\n" if self.name else ""
                errs.append(
                    f"{name}    alertname: {case.alertname}, time: {case.eval_text}, \n"
                    f"        exp:{_indent(_la_string(exp), '            ')}, \n"
                    f"        got:{_indent(_la_string(got), '            ')}"
                )
        return errs

    def _check_expr(self, query: Any, case: dict[str, Any]) -> list[str]:
        expr = str(case.get("expr", ""))
        ms = self._eval_ms(case)
        when = format_duration(ms) or "0s"
        try:
            vec = query_vector(query, expr, self.start_ms + ms)
        except (PromQLError, RuleEvalError) as e:
            return [f"    expr: {go_quote(expr)}, time: {when}, err: {e}"]
        got = sorted(zip(vec.labels, vec.values.tolist(), strict=True), key=lambda s: _lbl_key(s[0]))
        exp = []
        for s in case.get("exp_samples") or []:
            text = str(s.get("labels") or "")
            try:
                lbls = parse_labels(text) if text else Labels()
            except PromQLError as e:
                return [f"    expr: {go_quote(expr)}, time: {when}, err: labels {go_quote(text)}: {e}"]
            exp.append((lbls, float(s.get("value", 0) or 0)))
        exp.sort(key=lambda s: _lbl_key(s[0]))
        if not self._samples_equal(exp, got):
            return [
                f"    expr: {go_quote(expr)}, time: {when},\n        exp: {_samples_string(exp)}\n"
                f"        got: {_samples_string(got)}"
            ]
        return []

    def _samples_equal(self, exp: list[tuple[Labels, float]], got: list[tuple[Labels, float]]) -> bool:
        if len(exp) != len(got):
            return False
        for (el, ev), (gl, gv) in zip(exp, got, strict=True):
            if el != gl:
                return False
            if ev == gv:
                continue
            if not (
                self.fuzzy and (math.nextafter(ev, -math.inf) == gv or math.nextafter(ev, math.inf) == gv)
            ):
                return False
        return True


def _start_ms(v: Any) -> int:
    if v is None or v == "":
        return 0
    text = str(v)
    try:
        return int(float(text) * 1000)
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise _Fail([f"cannot parse {go_quote(text)} to a valid timestamp"]) from None


def _lbl_key(lbls: Labels) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in lbls.items)


def _la_key(la: tuple[Labels, Labels]) -> tuple[object, ...]:
    return (_lbl_key(la[0]), _lbl_key(la[1]))


def _indent(text: str, prefix: str) -> str:
    lines = text.split("\n")
    return lines[0] + "".join("\n" + prefix + line for line in lines[1:])


def _la_string(items: list[tuple[Labels, Labels]]) -> str:
    if not items:
        return "[]"
    parts = []
    for i, (lbls, ann) in enumerate(items):
        body = _indent(f"\nLabels:{_go_labels(lbls)}\nAnnotations:{_go_labels(ann)}", "  ")
        parts.append(f"{i}:{body}")
    return "[\n" + ",\n".join(parts) + "\n]"


def _samples_string(samples: list[tuple[Labels, float]]) -> str:
    if not samples:
        return "nil"
    return ", ".join(f"{_go_labels(lbls)} {go_float_exp(v, 'E')}" for lbls, v in samples)
