"""Go text/template's predefined functions (and/or are lazy and live in the executor)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .gofmt import format_v, go_type_name, sprint, sprintf, sprintln
from .values import NO_VALUE, is_true, map_zero

__all__ = ["BUILTINS", "html_escape", "js_escape", "query_escape", "eval_args"]


class _Kind:
    INVALID, BOOL, INT, FLOAT, STRING, COMPLEX = range(6)


def _kind(v: Any) -> int:
    if isinstance(v, bool):
        return _Kind.BOOL
    if isinstance(v, int):
        return _Kind.INT
    if isinstance(v, float):
        return _Kind.FLOAT
    if isinstance(v, complex):
        return _Kind.COMPLEX
    if isinstance(v, str):
        return _Kind.STRING
    return _Kind.INVALID


_BAD_TYPE = "invalid type for comparison"
_BAD_CMP = "incompatible types for comparison"


def _valid(v: Any) -> bool:
    return v is not NO_VALUE


def go_eq(arg1: Any, *arg2: Any) -> bool:
    """eq: arg1 == arg2 || arg1 == arg3 ...; basic kinds must match."""
    if isinstance(arg1, (list, dict, tuple)) or (isinstance(arg1, Mapping)):
        raise ValueError(f"non-comparable type {format_v(arg1)}: {go_type_name(arg1)}")
    if not arg2:
        raise ValueError("missing argument for comparison")
    k1 = _kind(arg1)
    for a in arg2:
        k2 = _kind(a)
        if k1 != k2:
            if _valid(arg1) and _valid(a) and arg1 is not None and a is not None:
                raise ValueError(_BAD_CMP)
            truth = False
        elif k1 == _Kind.INVALID:
            if arg1 is None or a is None or arg1 is NO_VALUE or a is NO_VALUE:
                truth = (arg1 is None or arg1 is NO_VALUE) == (a is None or a is NO_VALUE)
            else:
                if isinstance(a, (list, dict, tuple, Mapping)):
                    raise ValueError(f"non-comparable types {format_v(arg1)}: {go_type_name(arg1)}, "
                                     f"{go_type_name(a)}: {format_v(a)}")
                truth = arg1 == a
        else:
            truth = arg1 == a
        if truth:
            return True
    return False


def go_ne(arg1: Any, arg2: Any) -> bool:
    return not go_eq(arg1, arg2)


def go_lt(arg1: Any, arg2: Any) -> bool:
    k1, k2 = _kind(arg1), _kind(arg2)
    if k1 in (_Kind.INVALID, _Kind.BOOL, _Kind.COMPLEX) or k2 in (_Kind.INVALID, _Kind.BOOL, _Kind.COMPLEX):
        if k1 != k2 and k1 not in (_Kind.INVALID,) and k2 not in (_Kind.INVALID,):
            raise ValueError(_BAD_CMP)
        raise ValueError(_BAD_TYPE)
    if k1 != k2:
        raise ValueError(_BAD_CMP)
    return bool(arg1 < arg2)


def go_le(arg1: Any, arg2: Any) -> bool:
    return go_lt(arg1, arg2) or go_eq(arg1, arg2)


def go_gt(arg1: Any, arg2: Any) -> bool:
    return not go_le(arg1, arg2)


def go_ge(arg1: Any, arg2: Any) -> bool:
    return not go_lt(arg1, arg2)


def go_not(arg: Any) -> bool:
    return not is_true(arg)[0]


def go_len(item: Any) -> int:
    if item is None or item is NO_VALUE:
        raise ValueError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return len(item) if item.isascii() else len(item.encode())
    if isinstance(item, (Mapping, Sequence, bytes)):
        return len(item)
    raise ValueError(f"len of type {go_type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if index is None or index is NO_VALUE:
        raise ValueError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"cannot index slice/array with type {go_type_name(index)}")
    if index < 0 or index > cap:
        raise ValueError(f"index out of range: {index}")
    return index


def go_index(item: Any, *indexes: Any) -> Any:
    if item is NO_VALUE or item is None:
        raise ValueError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise ValueError("index of nil pointer")
        if isinstance(item, str):
            b = item.encode()
            x = _index_arg(index, len(b))
            if x == len(b):
                raise ValueError(f"index out of range: {x}")
            item = b[x]
        elif isinstance(item, Mapping):
            if not isinstance(index, str) and any(isinstance(k, str) for k in item):
                raise ValueError(f"value has type {go_type_name(index)}; should be string")
            item = item[index] if index in item else map_zero(item)
        elif isinstance(item, Sequence):
            x = _index_arg(index, len(item))
            if x == len(item):
                raise ValueError(f"index out of range: {x}")
            item = item[x]
        else:
            raise ValueError(f"can't index item of type {go_type_name(item)}")
    return item


def go_slice(item: Any, *indexes: Any) -> Any:
    if item is NO_VALUE or item is None:
        raise ValueError("slice of untyped nil")
    if len(indexes) > 3:
        raise ValueError(f"too many slice indexes: {len(indexes)}")
    is_str = isinstance(item, str)
    if is_str:
        if len(indexes) == 3:
            raise ValueError("cannot 3-index slice a string")
        seq: Any = item.encode()
    elif isinstance(item, Sequence):
        seq = item
    else:
        raise ValueError(f"can't slice item of type {go_type_name(item)}")
    cap = len(seq)
    idx = [0, len(seq)]
    for i, index in enumerate(indexes):
        x = _index_arg(index, cap)
        if i < 2:
            idx[i] = x
        else:
            idx[1] = min(idx[1], x)
    if idx[0] > idx[1]:
        raise ValueError(f"invalid slice index: {idx[0]} > {idx[1]}")
    out = seq[idx[0] : idx[1]]
    return out.decode(errors="replace") if is_str else list(out)


def _print_arg(a: Any) -> Any:
    return None if a is NO_VALUE else a


def go_print(*args: Any) -> str:
    return sprint(*(_print_arg(a) for a in args))


def go_printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, *(_print_arg(a) for a in args))


def go_println(*args: Any) -> str:
    return sprintln(*(_print_arg(a) for a in args))


def eval_args(args: Sequence[Any]) -> str:
    """Go's evalArgs: a single string argument as is, otherwise fmt.Sprint of the printable values."""
    if len(args) == 1 and isinstance(args[0], str):
        return str.__str__(args[0])
    return sprint(*("<no value>" if a is NO_VALUE or a is None else a for a in args))


_HTML_ESC = {"&": "&amp;", "'": "&#39;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "\0": "\ufffd"}


def html_escape(s: str) -> str:
    """template.HTMLEscapeString."""
    if not any(c in s for c in "&'<>\"\0"):
        return s
    return "".join(_HTML_ESC.get(c, c) for c in s)


def js_escape(s: str) -> str:
    """template.JSEscapeString."""
    out = []
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif c == '"':
            out.append('\\"')
        elif c in "<>&=":
            out.append(f"\\u{ord(c):04X}")
        elif ord(c) < 0x20:
            out.append(f"\\u{ord(c):04X}")
        elif ord(c) < 0x80 or c.isprintable():
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04X}")
    return "".join(out)


def query_escape(s: str) -> str:
    """url.QueryEscape: spaces become '+', unreserved -_.~ kept."""
    return urllib.parse.quote_plus(s, safe="-_.~")


def go_html(*args: Any) -> str:
    return html_escape(eval_args(args))


def go_js(*args: Any) -> str:
    return js_escape(eval_args(args))


def go_urlquery(*args: Any) -> str:
    return query_escape(eval_args(args))


def go_call(fn: Any, *args: Any) -> Any:
    if fn is None or fn is NO_VALUE:
        raise ValueError("call of nil")
    if not callable(fn):
        raise ValueError(f"non-function of type {go_type_name(fn)}")
    return fn(*(None if a is NO_VALUE else a for a in args))


BUILTINS: dict[str, Callable[..., Any]] = {
    "call": go_call,
    "html": go_html,
    "index": go_index,
    "slice": go_slice,
    "js": go_js,
    "len": go_len,
    "not": go_not,
    "print": go_print,
    "printf": go_printf,
    "println": go_println,
    "urlquery": go_urlquery,
    "eq": go_eq,
    "ge": go_ge,
    "gt": go_gt,
    "le": go_le,
    "lt": go_lt,
    "ne": go_ne,
}
"""Builtins that get NO_VALUE arguments as they are (they implement Go's nil handling themselves)."""
