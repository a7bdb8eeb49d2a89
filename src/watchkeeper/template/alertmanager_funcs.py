"""Alertmanager's template functions (template.DefaultFuncs) with Go's output formats."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from .gojson import marshal
from .gotime import GoDuration, GoTime, load_location
from .prometheus_funcs import (
    cases_title,
    convert_to_float,
    go_lower,
    go_match,
    go_upper,
    humanize_duration,
    re_replace_all,
)
from .values import HTML, URL

__all__ = ["alertmanager_funcs", "to_json"]


def _join(sep: str, s: Sequence[str] | None) -> str:
    return sep.join(s or ())


def _url_unescape(s: str) -> str:
    """url.QueryUnescape: '+' is a space; a malformed %-escape is an error."""
    i = 0
    while True:
        i = s.find("%", i)
        if i < 0:
            break
        h = s[i + 1 : i + 3]
        if len(h) != 2 or any(c not in "0123456789abcdefABCDEF" for c in h):
            bad = s[i : i + 3]
            raise ValueError(f'invalid URL escape "{bad}"')
        i += 3
    return urllib.parse.unquote_plus(s, errors="strict")


def to_json(v: Any) -> str:
    """toJson: encoding/json.Marshal of the value."""
    return marshal(v)


def _date(layout: str, t: GoTime) -> str:
    return t.Format(layout)


def _tz(name: str, t: GoTime) -> GoTime:
    return t.In(load_location(name))


def alertmanager_funcs(now: Callable[[], GoTime] | None = None) -> dict[str, Callable[..., Any]]:
    """Alertmanager's DefaultFuncs; `now` is the clock used by ``since`` (defaults to wall time)."""

    def clock() -> GoTime:
        if now is not None:
            return now()
        import time

        return GoTime(time.time_ns())

    def since(t: GoTime) -> GoDuration:
        return clock().Sub(t)

    def humanize(v: Any) -> str:
        return humanize_duration(convert_to_float(v))

    def title(s: str) -> str:
        return cases_title(s)

    def trim_space(s: str) -> str:
        return s.strip(" \t\n\r\v\f\x85\xa0")

    def safe_html(s: str) -> HTML:
        return HTML(s)

    def safe_url(s: str) -> URL:
        return URL(s)

    def string_slice(*s: str) -> list[str]:
        return list(s)

    def re_replace(pattern: str, repl: str, text: str) -> str:
        return re_replace_all(pattern, repl, text)

    return {
        "toUpper": go_upper,
        "toLower": go_lower,
        "title": title,
        "trimSpace": trim_space,
        "join": _join,
        "match": go_match,
        "safeHtml": safe_html,
        "safeUrl": safe_url,
        "urlUnescape": _url_unescape,
        "reReplaceAll": re_replace,
        "stringSlice": string_slice,
        "date": _date,
        "tz": _tz,
        "since": since,
        "humanizeDuration": humanize,
        "toJson": to_json,
    }
