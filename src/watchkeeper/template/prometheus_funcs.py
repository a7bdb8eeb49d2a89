"""Prometheus' template functions (template/template.go) with Prometheus' exact output formats.

`prometheus_funcs(query=...)` returns the function map for alert annotations, labels and
console templates.  `query` is the rule engine's callable: PromQL text in, a sequence of
samples out (anything with ``.Labels`` (a str→str mapping incl. ``__name__``) and ``.Value``).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..gocompat.regexp import expand
from .builtins import query_escape
from .gofmt import format_float, go_type_name
from .goregexp import compile_go, must_compile
from .gotime import GoDuration, GoTime
from .values import HTML

__all__ = [
    "prometheus_funcs", "QuerySample", "convert_to_float", "humanize", "humanize1024",
    "humanize_duration", "humanize_percentage", "go_match", "QueryResult", "AlertTemplateData",
    "TEMPLATE_HEADER", "humanize_timestamp", "go_title", "cases_title",
    "go_upper", "go_lower", "re_replace_all", "strip_port", "strip_domain", "parse_duration",
]


class Sample(Protocol):
    Labels: Any
    Value: float


@dataclass(slots=True)
class QuerySample:
    """One element of a ``query`` result, as Prometheus' templates see it."""

    Labels: dict[str, str] = field(default_factory=dict)
    Value: float = 0.0

    go_type = "*template.sample"
    go_pointer = True

    def __str__(self) -> str:
        from .gofmt import format_v

        return "{" + format_v(self.Labels) + " " + format_v(self.Value) + "}"


@dataclass(slots=True)
class AlertTemplateData:
    """The dot of an alert annotation/label template (Prometheus' AlertTemplateData struct)."""

    Labels: dict[str, str]
    ExternalLabels: dict[str, str]
    ExternalURL: str
    Value: Any

    go_type = (
        "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; "
        "Value float64 }"
    )

    def __str__(self) -> str:
        from .gofmt import format_v

        parts = (self.Labels, self.ExternalLabels, self.ExternalURL, self.Value)
        return "{" + " ".join(format_v(p) for p in parts) + "}"


TEMPLATE_HEADER = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)
"""Prepended by Prometheus to every alert annotation and label template."""


class QueryResult(list[Any]):
    """What ``query`` returns (Go's template.queryResult, a slice of samples)."""

    go_type = "template.queryResult"


def _parse_float(s: str) -> float:
    bad = ValueError(f'strconv.ParseFloat: parsing "{s}": invalid syntax')
    if not s or s != s.strip() or "_" in s:
        raise bad
    try:
        if s.lower().lstrip("+-").startswith("0x"):
            return float.fromhex(s)
        return float(s)
    except ValueError:
        raise bad from None


def convert_to_float(i: Any) -> float:
    """Prometheus' convertToFloat: float, int, numeric string or duration."""
    if isinstance(i, bool) or i is None:
        raise ValueError(f"can't convert {go_type_name(i)} to float")
    if isinstance(i, float):
        return i
    if isinstance(i, int):
        return float(i)
    if isinstance(i, str):
        return _parse_float(str.__str__(i))
    if isinstance(i, GoDuration):
        return i.Seconds()
    raise ValueError(f"can't convert {go_type_name(i)} to float")


def _g4(v: float) -> str:
    return format_float(v, "g", 4)


def humanize(i: Any) -> str:
    v = convert_to_float(i)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v) + prefix
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v) + prefix


def humanize1024(i: Any) -> str:
    v = convert_to_float(i)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _g4(v) + prefix


def humanize_duration(v: float) -> str:
    """Seconds as "1d 2h 3m 4s", "4.5s" or "12.3ms" (Prometheus' humanizeDuration)."""
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = ""
        if v < 0:
            sign, v = "-", -v
        dur = int(v)
        seconds = dur % 60
        minutes = (dur // 60) % 60
        hours = (dur // 3600) % 24
        days = dur // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{_g4(v)}{prefix}s"


def humanize_percentage(i: Any) -> str:
    return _g4(convert_to_float(i) * 100) + "%"


def _float_to_time(v: float) -> GoTime:
    ts = v * 1e9
    if ts > 2**63 - 1 or ts < -(2**63):
        raise ValueError(f"{format_float(v)} cannot be represented as a nanoseconds timestamp since it "
                         "overflows int64")
    ms = int(int(ts) / 1_000_000)  # model.TimeFromUnixNano truncates to milliseconds toward zero
    return GoTime(ms * 1_000_000)


def humanize_timestamp(i: Any) -> str:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    return _float_to_time(v).String()


def _to_time(i: Any) -> GoTime:
    v = convert_to_float(i)
    if math.isnan(v) or math.isinf(v):
        raise ValueError("value is NaN or Inf")
    return _float_to_time(v)


def _to_duration(i: Any) -> GoDuration:
    return GoDuration(int(convert_to_float(i) * 1e9))


_DUR_RE = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_DUR_UNITS = (365 * 86400_000, 7 * 86400_000, 86400_000, 3600_000, 60_000, 1000, 1)


def parse_duration(d: str) -> float:
    """Prometheus model.ParseDuration, returned as seconds."""
    if d == "":
        raise ValueError("empty duration string")
    if d == "0":
        return 0.0
    m = _DUR_RE.fullmatch(d)
    if m is None or not any(m.groups()):
        raise ValueError(f'not a valid duration string: "{d}"')
    ms = sum(int(g) * u for g, u in zip(m.groups(), _DUR_UNITS, strict=True) if g)
    return ms / 1000


def _to_title(c: str) -> str:
    t = c.title()
    return t if len(t) == 1 else c


def _is_separator(c: str) -> bool:
    if ord(c) <= 0x7F:
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdigit():
        return False
    return c.isspace()


def go_title(s: str) -> str:
    """strings.Title: upper-case the first letter of each word, leave the rest alone."""
    out = []
    prev = " "
    for c in s:
        out.append(_to_title(c) if _is_separator(prev) else c)
        prev = c
    return "".join(out)


_WORD_RE = re.compile(r"[^\W_]+(?:['’._:][^\W_]+|_+[^\W_]*)*")


def _title_word(w: str) -> str:
    for i, c in enumerate(w):
        if c.isalpha():  # leading digits stay; the first letter is title-cased ("3rd" → "3Rd")
            return w[:i] + _to_title(c) + go_lower(w[i + 1 :])
    return w


def cases_title(s: str) -> str:
    """golang.org/x/text cases.Title: first letter of each word upper, the rest lower."""
    return _WORD_RE.sub(lambda m: _title_word(m.group(0)), s)


def go_upper(s: str) -> str:
    """strings.ToUpper: per-rune mapping (no multi-character expansions such as ß → SS)."""
    if s.isascii():
        return s.upper()
    return "".join(u if len(u := c.upper()) == 1 else c for c in s)


def go_lower(s: str) -> str:
    """strings.ToLower: per-rune mapping."""
    if s.isascii():
        return s.lower()
    return "".join(u if len(u := c.lower()) == 1 else c for c in s)


def re_replace_all(pattern: str, repl: str, text: str) -> str:
    """regexp.MustCompile(pattern).ReplaceAllString(text, repl) with Go's $1/${name} expansion."""
    rx = must_compile(pattern)
    names = dict(rx.groupindex)
    out: list[str] = []
    pos = 0
    last_end = -1
    search_at = 0
    n = len(text)
    while search_at <= n:
        m = rx.search(text, search_at)
        if m is None:
            break
        a, b = m.span()
        if a == b and a == last_end:
            # Go ignores an empty match right after the previous match
            search_at = a + 1
            continue
        out.append(text[pos:a])
        out.append(expand(repl, m, names))
        pos = b
        last_end = b
        search_at = b if b > a else b + 1
    out.append(text[pos:])
    return "".join(out)


def go_match(pattern: str, s: str) -> bool:
    """regexp.MatchString: unanchored search."""
    return compile_go(pattern).search(s) is not None


def _split_host_port(hp: str) -> tuple[str, str]:
    i = hp.rfind(":")
    if i < 0:
        raise ValueError("missing port in address")
    j = k = 0
    if hp.startswith("["):
        end = hp.find("]")
        if end < 0:
            raise ValueError("missing ']' in address")
        if end + 1 == len(hp):
            raise ValueError("missing port in address")
        if end + 1 != i:
            too_many = hp[end + 1] == ":"
            raise ValueError("too many colons in address" if too_many else "missing port in address")
        host = hp[1:end]
        j, k = 1, end + 1
    else:
        host = hp[:i]
        if ":" in host:
            raise ValueError("too many colons in address")
    if "[" in hp[j:] or "]" in hp[k:]:
        raise ValueError("unexpected bracket in address")
    return host, hp[i + 1 :]


def strip_port(host_port: str) -> str:
    try:
        return _split_host_port(host_port)[0]
    except ValueError:
        return host_port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def strip_domain(host_port: str) -> str:
    try:
        host, port = _split_host_port(host_port)
    except ValueError:
        host, port = host_port, ""
    if _is_ip(host):
        return host_port
    host = host.split(".")[0]
    if port:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return host


def prometheus_funcs(
    query: Callable[[str], Sequence[Sample]] | None = None,
    *,
    external_url: str = "",
) -> dict[str, Callable[..., Any]]:
    """Prometheus' template function map; `query` runs PromQL at the evaluation time."""

    def query_fn(q: str) -> QueryResult:
        if query is None:
            raise ValueError("query is not available in this context")
        return QueryResult(query(q))

    def first(v: Sequence[Sample] | None) -> Any:
        if v:
            return v[0]
        raise ValueError("first() called on vector with no elements")

    def label(name: str, s: Sample) -> str:
        return str((s.Labels or {}).get(name, ""))

    def value(s: Sample) -> float:
        return s.Value

    def strvalue(s: Sample) -> str:
        return str((s.Labels or {}).get("__value__", ""))

    def sort_by_label(name: str, v: Sequence[Sample]) -> QueryResult:
        return QueryResult(sorted(v, key=lambda s: (s.Labels or {}).get(name, "")))

    def args(*a: Any) -> dict[str, Any]:
        return {f"arg{i}": x for i, x in enumerate(a)}

    def title(s: str) -> str:
        return go_title(s)

    def path_prefix() -> str:
        from urllib.parse import urlsplit

        return urlsplit(external_url).path

    def graph_link(expr: str) -> str:
        return f"/graph?g0.expr={query_escape(expr)}&g0.tab=0"

    def table_link(expr: str) -> str:
        return f"/graph?g0.expr={query_escape(expr)}&g0.tab=1"

    def safe_html(s: str) -> HTML:
        return HTML(s)

    def re_replace(pattern: str, repl: str, text: str) -> str:
        return re_replace_all(pattern, repl, text)

    def to_upper(s: str) -> str:
        return go_upper(s)

    def to_lower(s: str) -> str:
        return go_lower(s)

    def strip_port_fn(s: str) -> str:
        return strip_port(s)

    def strip_domain_fn(s: str) -> str:
        return strip_domain(s)

    def parse_duration_fn(d: str) -> float:
        return parse_duration(d)

    return {
        "query": query_fn,
        "first": first,
        "label": label,
        "value": value,
        "strvalue": strvalue,
        "args": args,
        "reReplaceAll": re_replace,
        "safeHtml": safe_html,
        "match": go_match,
        "title": title,
        "toUpper": to_upper,
        "toLower": to_lower,
        "graphLink": graph_link,
        "tableLink": table_link,
        "sortByLabel": sort_by_label,
        "humanize": humanize,
        "humanize1024": humanize1024,
        "humanizeDuration": lambda i: humanize_duration(convert_to_float(i)),
        "humanizePercentage": humanize_percentage,
        "humanizeTimestamp": humanize_timestamp,
        "toTime": _to_time,
        "toDuration": _to_duration,
        "parseDuration": parse_duration_fn,
        "pathPrefix": path_prefix,
        "externalURL": lambda: external_url,
        "stripPort": strip_port_fn,
        "stripDomain": strip_domain_fn,
    }
