"""Go regexp (RE2 syntax) compilation via google-re2, with Go's error texts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from .gofmt import quote

__all__ = ["compile_go", "must_compile"]

_CODES = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "bad repetition operator": "invalid nested repetition operator",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "invalid named capture group": "invalid named capture",
    "bad perl operator": "invalid or unsupported Perl syntax",
    "invalid perl operator": "invalid or unsupported Perl syntax",
}


def _options() -> Any:
    opts = re2.Options()
    opts.log_errors = False  # errors are reported to the template, not to stderr
    return opts


@lru_cache(maxsize=256)
def compile_go(pattern: str) -> Any:
    """regexp.Compile: raises ValueError("error parsing regexp: CODE: `FRAGMENT`")."""
    try:
        return re2.compile(pattern, _options())
    except re2.error as e:
        raw = e.args[0] if e.args else b""
        msg = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        if msg == "trailing \\":
            code, frag = "trailing backslash at end of expression", ""
        else:
            code, _, frag = msg.partition(": ")
        code = _CODES.get(code, code)
        raise ValueError(f"error parsing regexp: {code}: `{frag}`") from None


def must_compile(pattern: str) -> Any:
    """regexp.MustCompile: the panic text names the pattern, as Go's does."""
    try:
        return compile_go(pattern)
    except ValueError as e:
        q = f"`{pattern}`" if "`" not in pattern and pattern.isprintable() else quote(pattern)
        raise ValueError(f"regexp: Compile({q}): {e}") from None
