"""Alertmanager's matcher syntax: ``foo="bar"``, ``foo=~"b.*"``, ``{a="b",c!="d"}``, unquoted values.

Parsing follows Alertmanager's ``pkg/labels`` parser (the one amtool 0.25 and the config use): a list may be
wrapped in braces, items are comma separated (commas inside quotes do not split), a value may be quoted
(``\\"``, ``\\\\`` and ``\\n`` are unescaped) or bare. The old ``match``/``match_re`` maps become equality and
regex matchers. Regexes are Go RE2, fully anchored (``model.matchers``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import re2

from ..model.matchers import Matcher, MatchType

__all__ = ["MatcherParseError", "parse_matcher", "parse_matchers", "matchers_from_maps", "is_label_name"]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Name, operator, raw value; `(?s)` so a value may contain newlines like Go's `(?s:.*?)`.
_MATCHER = re.compile(r'^\s*([a-zA-Z_:][a-zA-Z0-9_:]*|"(?:[^"\\]|\\.)*")\s*(=~|=|!=|!~)\s*(.*?)\s*$', re.S)
_OPS = {op.value: op for op in MatchType}


class MatcherParseError(ValueError):
    """A matcher string Alertmanager would reject (message in Alertmanager's words)."""


def is_label_name(name: str) -> bool:
    """Whether ``name`` is a valid (classic) Prometheus label name."""
    return bool(_LABEL_NAME.match(name))


def _unquote(raw: str, whole: str) -> str:
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        raw = raw[1:-1]
    out: list[str] = []
    escaped = False
    for c in raw:
        if escaped:
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(c, "\\" + c))
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            raise MatcherParseError(f"matcher value contains unescaped double quote: {raw}")
        else:
            out.append(c)
    if escaped:
        out.append("\\")
    return "".join(out)


def make_matcher(op: MatchType, name: str, value: str) -> Matcher:
    """Build a matcher, reporting a bad regex the way Alertmanager does."""
    try:
        return Matcher(op, name, value)
    except re2.error as exc:
        raise MatcherParseError(f"error parsing regexp: {exc}: `{value}`") from None


def parse_matcher(text: str) -> Matcher:
    """One matcher such as ``severity=~"warn|crit"``."""
    m = _MATCHER.match(text)
    if m is None:
        raise MatcherParseError(f"bad matcher format: {text}")
    name, op, raw = m.groups()
    if name.startswith('"'):
        name = _unquote(name, text)
    return make_matcher(_OPS[op], name, _unquote(raw, text))


def _split(body: str) -> list[str]:
    """Split on commas outside double quotes."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    for c in body:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    parts.append("".join(cur))
    return parts


def parse_matchers(text: str) -> list[Matcher]:
    """A matcher list: ``{a="b", c=~"d"}`` or ``a=b,c!=d``; an empty list gives no matchers."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    elif body.startswith("{") or body.endswith("}"):
        raise MatcherParseError(f"bad matcher format: {text}")
    if not body.strip():
        return []
    parts = _split(body)
    if parts and not parts[-1].strip():
        parts.pop()  # a trailing comma is allowed
    return [parse_matcher(p) for p in parts]


def matchers_from_maps(match: Mapping[str, str] | None, match_re: Mapping[str, str] | None) -> list[Matcher]:
    """The deprecated ``match`` (equality) and ``match_re`` (regex) maps as matchers.

    Like Alertmanager, a ``match_re`` value is kept in its anchored form ``^(?:re)$``.
    """
    out = [Matcher(MatchType.EQUAL, k, v) for k, v in (match or {}).items()]
    out += [make_matcher(MatchType.REGEX, k, f"^(?:{v})$") for k, v in (match_re or {}).items()]
    return out
