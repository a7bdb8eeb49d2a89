"""Rule commands: ``check rules``, ``test rules`` and ``rules backtest``."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..model.batch import SampleBatch, SeriesSet
from ..model.matchers import Matcher

__all__ = ["add_check_rules", "add_lint_flags", "add_rule_commands", "config_rule_files", "run_rule_command",
           "LayeredQuerier"]


def add_check_rules(csub: argparse._SubParsersAction) -> None:
    cr = csub.add_parser(
        "rules", help="validate rule files",
        description="Validate Prometheus rule files (and PrometheusRule resources) like promtool check "
                    "rules: same output; exit code 1 on errors, 3 on lint findings with --lint-fatal.")
    cr.add_argument("files", nargs="+", metavar="FILE")
    add_lint_flags(cr)


def add_lint_flags(p: argparse.ArgumentParser) -> None:
    """promtool's rule lint flags (``check rules``, and ``check config`` for the config's rule files)."""
    p.add_argument("--lint", default="duplicate-rules", metavar="LINTS",
                   help="comma-separated linters for rule files: all, duplicate-rules, none")
    p.add_argument("--lint-fatal", action="store_true", help="exit with code 3 on lint findings")


def config_rule_files(config_path: str, patterns: Sequence[str]) -> tuple[list[str], str]:
    """A config's rule files as promtool finds them (relative to the config's directory, shown as
    such); the second value is promtool's error for an explicit file that does not exist, or ""."""
    base = os.path.dirname(config_path)
    files: list[str] = []
    for pat in patterns:
        full = os.path.normpath(os.path.join(base, pat))
        matches = sorted(glob.glob(full))
        if "*" not in full and not matches:
            return files, f'"{full}" does not point to an existing file'
        files.extend(matches)
    return files, ""


def add_rule_commands(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("test", help="run unit tests", description="Run unit tests.")
    tsub = t.add_subparsers(dest="test_what", metavar="WHAT")
    tr = tsub.add_parser(
        "rules", help="run rule unit tests (promtool's test file format)",
        description="Run rule unit-test files in promtool's format (rule_files, evaluation_interval, "
                    "input_series, alert_rule_test, promql_expr_test); output and exit code as promtool test "
                    "rules.")
    tr.add_argument("files", nargs="+", metavar="TEST_FILE")
    tr.add_argument("--run", action="append", default=[], metavar="REGEX",
                    help="only run test groups whose name matches (repeatable)")

    r = sub.add_parser("rules", help="rule tools (backtest)", description="Rule tools.")
    rsub = r.add_subparsers(dest="rules_what", metavar="WHAT")
    bt = rsub.add_parser(
        "backtest", help="replay rules over stored history",
        description="Evaluate the rule files over a past time range of the samples stored in --data-dir, "
                    "at the instants the server would have used, and print when each alert would have gone "
                    "pending, fired and resolved. Stored history is only read: recording rule results go to "
                    "an in-memory scratch store layered over it. Run it on a stopped server's data directory "
                    "(or a copy): opening storage replays its write-ahead log.")
    bt.add_argument("files", nargs="+", metavar="FILE")
    bt.add_argument("--from", dest="start", required=True, metavar="TIME",
                    help="start of the range (RFC 3339 or Unix seconds)")
    bt.add_argument("--to", dest="end", required=True, metavar="TIME",
                    help="end of the range (RFC 3339 or Unix seconds)")
    bt.add_argument("--data-dir", dest="data_dir", default="data", metavar="DIR",
                    help="the server's data directory")
    bt.add_argument("--evaluation-interval", dest="interval", default="1m", metavar="DURATION",
                    help="interval of groups that set none (the config's global evaluation_interval)")


def run_rule_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int | None:
    """Run a rule command if ``args`` names one; None otherwise."""
    if args.command == "check" and getattr(args, "check_what", None) == "rules":
        from ..rules.check import check_rules_split

        code, out, err = check_rules_split(args.files, lint=args.lint, lint_fatal=args.lint_fatal)
        sys.stdout.write(out)
        sys.stderr.write(err)
        return code
    if args.command == "test":
        if args.test_what != "rules":
            parser.parse_args(["test", "--help"])
        return _test_rules(args.files, args.run)
    if args.command == "rules":
        if args.rules_what != "backtest":
            parser.parse_args(["rules", "--help"])
        return _backtest(args)
    return None


def _test_rules(files: Sequence[str], run: Sequence[str]) -> int:
    import re2

    from ..rules.unittest import run_rule_tests

    patterns = [re2.compile(p) for p in run]
    selector = (lambda name: any(p.search(name) for p in patterns)) if patterns else None
    code, out, err = run_rule_tests(list(files), run=selector)
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


class LayeredQuerier:
    """``base`` and ``scratch`` read as one store (scratch wins on equal timestamps); writes go to scratch."""

    def __init__(self, base: object, scratch: object) -> None:
        self.base = base
        self.scratch = scratch

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        from ..storage.merge import merge_series_sets

        return merge_series_sets([self.base.select(matchers, mint, maxt),  # type: ignore[attr-defined]
                                  self.scratch.select(matchers, mint, maxt)])  # type: ignore[attr-defined]

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted(set(self.base.label_names(matchers, mint, maxt))  # type: ignore[attr-defined]
                      | set(self.scratch.label_names(matchers, mint, maxt)))  # type: ignore[attr-defined]

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted(set(self.base.label_values(name, matchers, mint, maxt))  # type: ignore[attr-defined]
                      | set(self.scratch.label_values(name, matchers, mint, maxt)))  # type: ignore[attr-defined]

    def append(self, batch: SampleBatch) -> int:
        return self.scratch.append(batch)  # type: ignore[attr-defined]


def _backtest(args: argparse.Namespace) -> int:
    from ..api.errors import ApiError
    from ..api.params import parse_time_ms
    from ..gocompat.durations import DurationError, parse_duration
    from ..promql.engine import Engine
    from ..rules.backtest import backtest, format_report
    from ..rules.manager import RuleLoadError, RuleManager
    from ..storage.api import StorageError
    from ..storage.db import TSDB

    try:
        start, end = parse_time_ms(args.start), parse_time_ms(args.end)
        interval = parse_duration(args.interval)
    except (ApiError, DurationError, ValueError) as e:
        print(f"watchkeeper rules backtest: {e}", file=sys.stderr)
        return 2
    if end < start:
        print("watchkeeper rules backtest: --to is before --from", file=sys.stderr)
        return 2
    if not Path(args.data_dir).is_dir():
        print(f"watchkeeper rules backtest: no data directory {args.data_dir}", file=sys.stderr)
        return 1
    engine = Engine(no_step_subquery_interval_ms=interval)
    try:
        base = TSDB(args.data_dir, retention_ms=0)
    except (OSError, StorageError) as e:
        print(f"watchkeeper rules backtest: {e}", file=sys.stderr)
        return 1
    try:
        layered = LayeredQuerier(base, TSDB(None, retention_ms=0))
        mgr = RuleManager(query=lambda expr, t: engine.instant_query(layered, expr, t),
                          appendable=layered.append, notify=lambda alerts, expr: None,
                          clock=lambda: start / 1000,
                          default_interval_ms=interval)
        try:
            groups = mgr.load_groups(list(args.files))
        except RuleLoadError as e:
            print(f"watchkeeper rules backtest: invalid rule files:\n{e}", file=sys.stderr)
            return 1
        sys.stdout.write(format_report(backtest(groups, start, end)))
    finally:
        base.close()
    return 0
