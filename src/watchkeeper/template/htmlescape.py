"""Contextual auto-escaping in the manner of Go's html/template.

Go decides, before execution, in which HTML context each action sits (text, attribute value,
URL attribute, script, style, RCDATA) and appends the matching escapers to its pipeline.  Here
the context is tracked during execution over the template's literal text only (values never
move it, as in Go), and each printed value goes through the escaper chain Go would pick.  HTML
comments in template text are dropped, as html/template does.  Script and style contents get
Go's value escapers in simplified form (strings and numbers as Go would print them; other
values JSON-encoded).
"""

from __future__ import annotations

import re
from typing import Any

from .builtins import html_escape
from .gojson import marshal
from .values import CSS, HTML, JS, NO_VALUE, URL, HTMLAttr

__all__ = ["HTMLContext"]

TEXT, TAG, ATTR_NAME, AFTER_NAME, BEFORE_VALUE, ATTR, RCDATA, COMMENT, SCRIPT, STYLE = range(10)
_NORMAL, _URL, _JS, _CSS, _SRCSET = range(5)

_URL_ATTRS = {
    "action", "archive", "background", "cite", "classid", "codebase", "data", "formaction", "href",
    "icon", "longdesc", "manifest", "poster", "profile", "src", "usemap", "xmlns",
}
_NOSPACE_ESC = {c: f"&#{ord(c)};" for c in "\t\n\v\f\r =`"}
_NOSPACE_ESC.update({"&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "+": "&#43;",
                     "\0": "&#xfffd;"})


def _html_escaper(s: str) -> str:
    """Go's htmlEscaper table: html_escape plus '+' → &#43;."""
    return html_escape(s).replace("+", "&#43;")


def _html_norm(s: str) -> str:
    """Escape like _html_escaper but keep existing entities (for trusted HTML in attributes)."""
    return _html_escaper(s).replace("&amp;", "&")


_TAG_RE = re.compile(r"<[^>]*>")


def _url_escape(s: str, norm: bool) -> str:
    out = []
    for b in s.encode():
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "-._~"):
            out.append(c)
        elif norm and c in "!#$&*+,/:;=?@[]%'()":
            out.append(c)
        else:
            out.append(f"%{b:02x}")
    return "".join(out)


def _url_filter(s: str) -> str:
    i = s.find(":")
    if i >= 0 and "/" not in s[:i]:
        if s[:i].lower() not in ("http", "https", "mailto"):
            return "#ZgotmplZ"
    return s


def _js_val(v: Any) -> str:
    """jsValEscaper: JSON for values, padded numbers/bools, trusted JS as is."""
    if isinstance(v, JS):
        return str(v)
    if v is None or v is NO_VALUE:
        return " null "
    if isinstance(v, (bool, int, float)):
        return " " + marshal(v) + " "
    try:
        return marshal(v)
    except ValueError:
        return marshal(str(v))


_JS_STR = {"\0": "\\u0000", "\t": "\\t", "\n": "\\n", "\v": "\\u000b", "\f": "\\f", "\r": "\\r",
           '"': "\\u0022", "`": "\\u0060", "&": "\\u0026", "'": "\\u0027", "+": "\\u002b", "/": "\\/",
           "<": "\\u003c", ">": "\\u003e", "\\": "\\\\", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _js_str(s: str) -> str:
    """jsStrEscaper: a value inside a JS string literal."""
    return "".join(_JS_STR.get(c, c) for c in s)


def _attr_kind(name: str) -> int:
    if name.startswith("data-"):
        name = name[5:]
    elif ":" in name:
        name = name.split(":", 1)[1]
    if name == "srcset":
        return _SRCSET
    if name.startswith("on"):
        return _JS
    if name == "style":
        return _CSS
    if name in _URL_ATTRS or "src" in name or "uri" in name or "url" in name:
        return _URL
    return _NORMAL


def _name_filter(s: str) -> str:
    """htmlNameFilter: an attribute name from data must be plain [a-z0-9]+ and not a special kind."""
    low = s.lower()
    if not re.fullmatch(r"[a-z0-9]+", low) or _attr_kind(low) != _NORMAL:
        return "ZgotmplZ"
    return low


def _srcset(s: str) -> str:
    """srcsetFilterAndEscaper: filter each URL of a srcset list, keep safe descriptors."""
    out = []
    for part in s.split(","):
        stripped = part.lstrip(" \t\n\f\r")
        start = len(part) - len(stripped)
        m = re.match(r"[^ \t\n\f\r]*", stripped)
        url = m.group(0) if m else ""
        end = start + len(url)
        meta = part[end:]
        if url and _url_filter(url) == url and re.fullmatch(r"[ \t\n\f\rA-Za-z0-9]*", meta):
            out.append(part[:start] + _url_escape(url, norm=True) + meta)
        else:
            out.append("#ZgotmplZ")
    return ",".join(out)


def _css_filter(s: str) -> str:
    if re.fullmatch(r"[\w\s#%.,\-()!]*", s) and "expression" not in s.lower():
        return s
    return "ZgotmplZ"


class HTMLContext:
    """The HTML context at the current output position, advanced over literal template text."""

    def __init__(self) -> None:
        self.state = TEXT
        self.element = ""
        self.attr = _NORMAL
        self.delim = ""
        self.url_part = 0  # 0 none, 1 pre-query, 2 query or fragment
        self.js_quote = ""  # the quote of the JS string literal we are in, if any
        self._js_escape = False

    def text(self, t: str) -> str:
        """Advance the context over literal text; returns the text as emitted (comments removed)."""
        out: list[str] = []
        i, n = 0, len(t)
        while i < n:
            st = self.state
            if st == COMMENT:
                j = t.find("-->", i)
                if j < 0:
                    return "".join(out)
                i = j + 3
                self.state = TEXT
                continue
            if st == TEXT:
                j = t.find("<", i)
                if j < 0:
                    out.append(t[i:])
                    break
                if t.startswith("<!--", j):
                    out.append(t[i:j])
                    self.state = COMMENT
                    i = j + 4
                    continue
                m = re.match(r"</?([a-zA-Z][a-zA-Z0-9:-]*)", t[j:])
                if m is None:
                    out.append(t[i : j + 1])
                    i = j + 1
                    continue
                out.append(t[i : j + m.end()])
                i = j + m.end()
                closing = t[j + 1] == "/"
                self.element = "" if closing else m.group(1).lower()
                self.state = TAG
                continue
            if st in (RCDATA, SCRIPT, STYLE):
                end = "</" + self.element
                j = t.lower().find(end, i)
                chunk = t[i:] if j < 0 else t[i:j]
                if st == SCRIPT:
                    self._js_advance(chunk)
                out.append(chunk)
                if j < 0:
                    break
                i = j
                self.state = TEXT
                self.js_quote = ""
                continue
            c = t[i]
            out.append(c)
            i += 1
            if st == TAG:
                if c == ">":
                    self.state = {"script": SCRIPT, "style": STYLE, "textarea": RCDATA, "title": RCDATA}.get(
                        self.element, TEXT)
                elif not c.isspace() and c != "/":
                    self.state = ATTR_NAME
                    self._attr_name(t, i - 1)
            elif st == ATTR_NAME:
                if c == "=":
                    self.state = BEFORE_VALUE
                elif c.isspace():
                    self.state = AFTER_NAME
                elif c == ">":
                    self.state = TEXT
                    self._tag_end()
            elif st == AFTER_NAME:
                if c == "=":
                    self.state = BEFORE_VALUE
                elif c == ">":
                    self._tag_end()
                elif not c.isspace():
                    self.state = ATTR_NAME
                    self._attr_name(t, i - 1)
            elif st == BEFORE_VALUE:
                if c in "\"'":
                    self.state, self.delim, self.url_part = ATTR, c, 0
                elif c == ">":
                    self._tag_end()
                elif not c.isspace():
                    self.state, self.delim, self.url_part = ATTR, " ", 0
                    self._url_advance(c)
            elif st == ATTR:
                if (self.delim == " " and (c.isspace() or c == ">")) or c == self.delim:
                    self.state = TAG
                    self.js_quote = ""
                    if c == ">":
                        self._tag_end()
                elif self.attr == _JS:
                    self._js_advance(c)
                else:
                    self._url_advance(c)
        return "".join(out)

    def _attr_name(self, t: str, start: int) -> None:
        m = re.match(r"[^\s=>/]+", t[start:])
        self.attr = _attr_kind((m.group(0) if m else "").lower())

    def _js_advance(self, chunk: str) -> None:
        """Track whether JS text leaves us inside a '...', "..." or `...` string literal."""
        for c in chunk:
            if self._js_escape:
                self._js_escape = False
            elif self.js_quote:
                if c == "\\":
                    self._js_escape = True
                elif c == self.js_quote:
                    self.js_quote = ""
            elif c in "'\"`":
                self.js_quote = c

    def _tag_end(self) -> None:
        self.state = {"script": SCRIPT, "style": STYLE, "textarea": RCDATA, "title": RCDATA}.get(
            self.element, TEXT)

    def _url_advance(self, c: str) -> None:
        if self.attr != _URL:
            return
        if c in "?#":
            self.url_part = 2
        elif self.url_part == 0:
            self.url_part = 1

    def value(self, v: Any, s: str, last_fn: str) -> str:
        """Escape one printed value for the current context (Go's escaper chain for it)."""
        if v is None or v is NO_VALUE:
            s = ""
        st = self.state
        if st == BEFORE_VALUE:
            self.state, self.delim, self.url_part = ATTR, " ", 0
            st = ATTR
        if st in (TEXT, COMMENT):
            if st == COMMENT:
                return ""
            if isinstance(v, HTML) or last_fn == "html":
                return s
            return _html_escaper(s)
        if st == RCDATA:
            return _html_norm(s) if isinstance(v, HTML) else _html_escaper(s)
        if st == SCRIPT:
            return _js_str(s) if self.js_quote else _js_val(v)
        if st == STYLE:
            return str(v) if isinstance(v, CSS) else _css_filter(s)
        if st in (TAG, ATTR_NAME, AFTER_NAME):
            return s if isinstance(v, HTMLAttr) else _name_filter(s)
        # attribute value
        if self.attr == _SRCSET:
            s = _srcset(s) if not isinstance(v, URL) else s
        elif self.attr == _URL:
            if self.url_part == 2:
                if last_fn != "urlquery":
                    s = _url_escape(s, norm=False)
            else:
                if self.url_part == 0 and not isinstance(v, URL):
                    s = _url_filter(s)
                if last_fn != "urlquery":
                    s = _url_escape(s, norm=True)
            if self.url_part == 0 and s:
                self.url_part = 1
        elif self.attr == _JS:
            s = _js_str(s) if self.js_quote else _js_val(v)
        elif self.attr == _CSS:
            s = str(v) if isinstance(v, CSS) else _css_filter(s)
        elif isinstance(v, HTML):
            s = _TAG_RE.sub("", s)
            return _html_norm(s) if self.delim != " " else "".join(_NOSPACE_ESC.get(c, c) for c in s)
        if self.delim == " ":
            return "".join(_NOSPACE_ESC.get(c, c) for c in s)
        return _html_escaper(s)

