"""Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$`` in replacement strings.

Relabeling, ``label_replace`` and the ``reReplaceAll`` template function all
expand replacements this way, including Go's quirks: ``$1x`` names the group
``1x`` (so it expands to nothing), and a ``$`` that starts no reference stays.
"""

from __future__ import annotations

from typing import Any

__all__ = ["expand"]


def _is_name_char(c: str) -> bool:
    return c == "_" or c.isalpha() or c.isdecimal()


def _extract(s: str) -> tuple[str, int, str] | None:
    """Go regexp's ``extract``: the name after ``$`` (braced or not), its number (-1 if none), the rest."""
    if not s:
        return None
    brace = s[0] == "{"
    if brace:
        s = s[1:]
    i = 0
    while i < len(s) and _is_name_char(s[i]):
        i += 1
    if i == 0:
        return None
    name = s[:i]
    if brace:
        if i >= len(s) or s[i] != "}":
            return None
        i += 1
    num = 0
    for ch in name:
        if not ("0" <= ch <= "9") or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + ord(ch) - 48
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, s[i:]


def expand(template: str, match: Any, groupindex: dict[str, int]) -> str:
    """Expand ``template`` against an RE2 match exactly like Go's ``Regexp.ExpandString``."""
    out: list[str] = []
    ngroups = len(match.groups()) if match is not None else 0
    while template:
        before, sep, after = template.partition("$")
        if not sep:
            break
        out.append(before)
        template = after
        if template.startswith("$"):
            out.append("$")
            template = template[1:]
            continue
        ext = _extract(template)
        if ext is None:
            out.append("$")
            continue
        name, num, template = ext
        if num >= 0:
            if num <= ngroups:
                g = match.group(num)
                if g is not None:
                    out.append(g)
        else:
            idx = groupindex.get(name)
            if idx is not None:
                g = match.group(idx)
                if g is not None:
                    out.append(g)
    out.append(template)
    return "".join(out)
