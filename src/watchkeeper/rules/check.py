"""``check rules``: validate rule files with ``promtool check rules``' output and exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..model.labels import Labels
from .rulefmt import NameValidation, RuleFile, parse_rule_file
from .templating import check_template

__all__ = ["check_rules", "check_rules_split", "duplicate_rules", "EXIT_OK", "EXIT_FAILURE", "EXIT_LINT"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_LINT = 3  # lint problems with --lint-fatal

LINT_OPTIONS = ("all", "duplicate-rules", "none")


@dataclass
class _Out:
    chunks: list[tuple[str, str]] = field(default_factory=list)  # (stream, text)

    def out(self, text: str) -> None:
        self.chunks.append(("stdout", text))

    def err(self, text: str) -> None:
        self.chunks.append(("stderr", text))

    def text(self, stream: str | None = None) -> str:
        return "".join(t for s, t in self.chunks if stream is None or s == stream)


def duplicate_rules(rf: RuleFile) -> list[tuple[str, Labels]]:
    """Rules with the same name and labels (group labels included), each reported once, in
    promtool's order (sorted by name, then labels)."""
    keyed = sorted(
        ((r.name, Labels({**g.labels, **r.labels})) for g in rf.groups for r in g.rules),
        key=lambda x: (x[0].encode("utf-8", "surrogateescape"), _label_key(x[1])),
    )
    dups: list[tuple[str, Labels]] = []
    for prev, cur in zip(keyed, keyed[1:], strict=False):
        if prev == cur and (not dups or dups[-1] != prev):
            dups.append(cur)
    return dups


def _label_key(lbls: Labels) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in lbls.items)


def _lint_message(dups: list[tuple[str, Labels]]) -> str:
    msg = f"lint error {len(dups)} duplicate rule(s) found.\n"
    for name, lbls in dups:
        msg += f"Metric: {name}\nLabel(s):\n"
        for k, v in lbls.items:
            msg += f"\t{k}: {v}\n"
    return msg + "Might cause inconsistency while recording expressions"


def check_rules_split(
    files: list[str | Path],
    *,
    lint: str = "duplicate-rules",
    lint_fatal: bool = False,
    name_validation: NameValidation = "utf8",
    error_prefix: str = "",
) -> tuple[int, str, str]:
    """Check each file; returns ``(exit code, stdout text, stderr text)`` as promtool prints them.

    ``error_prefix`` starts each error (``check config`` indents them by five spaces)."""
    o = _check(files, lint, lint_fatal, name_validation, error_prefix)
    return o[0], o[1].text("stdout"), o[1].text("stderr")


def check_rules(
    files: list[str | Path],
    *,
    lint: str = "duplicate-rules",
    lint_fatal: bool = False,
    name_validation: NameValidation = "utf8",
) -> tuple[int, str]:
    """Check each file; returns ``(exit code, output)``, stdout and stderr interleaved as on a terminal."""
    code, out = _check(files, lint, lint_fatal, name_validation)
    return code, out.text()


def _check(
    files: list[str | Path], lint: str, lint_fatal: bool, name_validation: NameValidation,
    error_prefix: str = "",
) -> tuple[int, _Out]:
    o = _Out()
    settings = set(lint.split(","))
    unknown = settings - set(LINT_OPTIONS)
    for s in sorted(unknown):
        o.out(f"WARNING: unknown lint option {s}\n")
    lint_dups = bool(settings & {"all", "duplicate-rules"})
    failed = has_errors = False
    for f in files:
        o.out(f"Checking {f}\n")
        rf, errs = parse_rule_file(f, name_validation=name_validation, check_template=check_template)
        lint_err = False
        if not errs and rf is not None and lint_dups:
            dups = duplicate_rules(rf)
            if dups:
                errs = [_lint_message(dups)]
                lint_err = True
        if errs:
            o.err("  FAILED:\n")
            for e in errs:
                o.err(error_prefix + e + "\n")
            failed = True
            has_errors = has_errors or not lint_err
        else:
            n = sum(len(g.rules) for g in rf.groups) if rf is not None else 0
            o.out(f"  SUCCESS: {n} rules found\n")
        o.out("\n")
    if failed and has_errors:
        return EXIT_FAILURE, o
    if failed and lint_fatal:
        return EXIT_LINT, o
    return EXIT_OK, o
