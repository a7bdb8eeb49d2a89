"""``check alertmanager FILE...``: amtool check-config's verdict and report, as a function."""

from __future__ import annotations

import glob as globmod
import os
from collections.abc import Sequence

from ..template import TemplateError, TemplateSet
from ..template.alertmanager_funcs import alertmanager_funcs
from .config import load_config_file
from .dialect import DIALECTS, Dialect
from .errors import ConfigError
from .notify import unsupported_integrations

__all__ = ["check_alertmanager", "template_error"]


def template_error(patterns: Sequence[str]) -> str | None:
    """Parse every file the globs match into one template set, as Alertmanager does; the error or None."""
    tset = TemplateSet(alertmanager_funcs())
    for pattern in patterns:
        for path in sorted(globmod.glob(pattern)):
            try:
                with open(path, encoding="utf-8") as fh:
                    tset.parse(fh.read(), os.path.basename(path))
            except OSError as exc:
                return f"open {path}: {exc.strerror or exc}"
            except TemplateError as exc:
                return str(exc)
    return None


def _check_one(path: str, dialect: Dialect) -> tuple[bool, list[str]]:
    try:
        cfg = load_config_file(path, dialect=dialect)
    except ConfigError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        return False, [f"Checking '{path}'  FAILED{where}: {exc.message}", ""]
    lines = [
        f"Checking '{path}'  SUCCESS",
        "Found:",
        " - global config",
        " - route",
        f" - {len(cfg.inhibit_rules)} inhibit rules",
        f" - {len(cfg.receivers)} receivers",
        f" - {len(cfg.templates)} templates",
    ]
    if cfg.templates:
        error = template_error(cfg.templates)
        lines.append(f"  FAILED: {error}" if error else "  SUCCESS")
        if error:
            lines.append("")
            return False, lines
    lines += [f"WARNING: {w}" for w in unsupported_integrations(cfg)]  # valid, but cannot page anyone
    lines.append("")
    return True, lines


def check_alertmanager(paths: Sequence[str], *, compat: str = "head") -> tuple[int, str]:
    """Check each config file; exit code 0 if all are valid, 1 otherwise, and the text to print.

    ``compat="0.25"`` applies Alertmanager 0.25's rules (amtool 0.25's verdicts) instead of current ones.
    """
    dialect = DIALECTS[compat]
    out: list[str] = []
    failed = 0
    for path in paths:
        ok, lines = _check_one(path, dialect)
        failed += not ok
        out += lines
    if failed:
        out.append(f"error: failed to validate {failed} file(s)")
    return (1 if failed else 0), "\n".join(out) + "\n"
