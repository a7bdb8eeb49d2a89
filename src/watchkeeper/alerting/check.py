"""``check alertmanager FILE...``: amtool check-config's verdict and report, as a function."""

from __future__ import annotations

import glob as globmod
from collections.abc import Sequence

from .config import load_config_file
from .errors import ConfigError

__all__ = ["check_alertmanager"]


def _check_one(path: str) -> tuple[bool, list[str]]:
    try:
        cfg = load_config_file(path)
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
    for pattern in cfg.templates:
        for tmpl in sorted(globmod.glob(pattern)):
            try:
                with open(tmpl, encoding="utf-8") as fh:
                    fh.read()
            except OSError as exc:
                lines.append(f"  FAILED: {tmpl}: {exc}")
                return False, lines
            lines.append(f"  - {tmpl}")
    lines.append("")
    return True, lines


def check_alertmanager(paths: Sequence[str]) -> tuple[int, str]:
    """Check each config file; exit code 0 if all are valid, 1 otherwise, and the text to print."""
    out: list[str] = []
    failed = 0
    for path in paths:
        ok, lines = _check_one(path)
        failed += not ok
        out += lines
    if failed:
        out.append(f"error: failed to validate {failed} file(s)")
    return (1 if failed else 0), "\n".join(out) + "\n"
