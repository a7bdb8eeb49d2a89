"""encoding/json.Marshal of template values (compact, sorted map keys, HTML-safe escapes)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .gofmt import go_type_name

__all__ = ["marshal"]


def _plain(v: Any) -> Any:
    hook = getattr(v, "go_json", None)
    if callable(hook):
        return _plain(hook())
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    ns = getattr(v, "ns", None)  # time.Duration marshals as its nanosecond count
    if isinstance(ns, int):
        return ns
    raise ValueError(f"json: unsupported type: {go_type_name(v)}")


def marshal(v: Any) -> str:
    """Go's json.Marshal: no spaces, sorted keys, <>& and U+2028/U+2029 as \\u escapes."""
    out = json.dumps(_plain(v), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                 ("\u2029", "\\u2029")):
        out = out.replace(a, b)
    return out
