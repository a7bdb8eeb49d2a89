"""Go's ``strconv.Quote`` (``%q``), as Prometheus prints names and values in its messages."""

from __future__ import annotations

__all__ = ["go_quote", "go_quote_rune"]


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (``%q``) for a string."""
    out = ['"']
    for ch in s:
        out.append(_quote_char(ch, '"'))
    out.append('"')
    return "".join(out)


def go_quote_rune(ch: str) -> str:
    """Go's ``%q`` for a rune: ``'a'``, ``'\\n'``."""
    return "'" + _quote_char(ch, "'") + "'"


_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
                   "\\": "\\\\"}


def _quote_char(ch: str, quote: str) -> str:
    if ch == quote:
        return "\\" + ch
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch]
    cp = ord(ch)
    if 0xDC80 <= cp <= 0xDCFF:  # a raw byte kept by surrogateescape decoding
        return f"\\x{cp - 0xDC00:02x}"
    if ch.isprintable() or ch == " ":
        return ch
    if cp < 0x80:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"
