"""Alert fingerprints and the strings Alertmanager prints for label sets, matchers and group keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..model.matchers import Matcher

__all__ = ["fingerprint", "go_quote", "format_labelset", "format_matchers", "group_key"]

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
}


def _fnv(h: int, data: bytes) -> int:
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & _MASK
    return h


def fingerprint(labels: Mapping[str, str]) -> str:
    """64-bit FNV-1a over ``name 0xFF value 0xFF`` for each label sorted by name, as 16 hex digits."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        h = _fnv(h, name.encode())
        h = _fnv(h, b"\xff")
        h = _fnv(h, labels[name].encode())
        h = _fnv(h, b"\xff")
    return f"{h:016x}"


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote``: printable characters kept, others escaped."""
    out = []
    for c in s:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def format_labelset(labels: Mapping[str, str]) -> str:
    """Prometheus' ``LabelSet.String()``: ``{a="1", b="2"}`` sorted by name."""
    return "{" + ", ".join(f"{k}={go_quote(labels[k])}" for k in sorted(labels)) + "}"


def _sort_key(m: Matcher) -> tuple[str, str, str]:
    return (m.name, m.value, m.type.value)


def format_matchers(matchers: Iterable[Matcher]) -> str:
    """A route's matchers as in its key: sorted by name, value, operator; ``{a="b",c=~"d"}``."""
    parts = [f"{m.name}{m.type.value}{go_quote(m.value)}" for m in sorted(matchers, key=_sort_key)]
    return "{" + ",".join(parts) + "}"


def group_key(route_key: str, group_labels: Mapping[str, str]) -> str:
    """The aggregation group key ``<route key>:<group labels>``."""
    return f"{route_key}:{format_labelset(group_labels)}"
