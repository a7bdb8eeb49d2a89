"""Go's `fmt` value formatting (Sprint, Sprintln, Sprintf) over Python values.

Templates written for Prometheus and Alertmanager print values through Go's fmt package, so the
text users see (``1.234567891e+06``, ``map[a:b]``, ``%!d(string=x)``) must come out byte for byte
the same.  Python values map onto Go kinds as: ``str`` → string, ``bool`` → bool, ``int`` → int,
``float`` → float64, ``None`` → nil, list/tuple → slice, Mapping → map.  Objects with a ``String()``
method are Go Stringers; objects with ``Error()`` are Go errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["go_type_name", "format_float", "sprint", "sprintln", "sprintf", "quote", "format_v"]


def go_type_name(v: Any) -> str:
    """The Go type name fmt shows in ``%!verb(type=value)`` and template errors."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        name = getattr(type(v), "go_type", None)
        return name or "string"
    name = getattr(v, "go_type", None)
    if isinstance(name, str):
        return name
    if isinstance(v, Mapping):
        vals = list(v.values())
        if vals and all(isinstance(x, str) for x in vals):
            return "map[string]string"
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, str) for x in v):
            return "[]string"
        return "[]interface {}"
    if callable(v):
        return "func"
    return type(v).__name__


def _digits(v: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(v) and the decimal point position (Go's digs.dp)."""
    r = repr(abs(v))
    if "e" in r:
        mant, exp_s = r.split("e")
        exp = int(exp_s)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    if fp == "0":
        fp = ""
    digits = ip + fp
    dp = len(ip) + exp
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        return "0", 1
    return digits, dp


def _shortest(v: float, verb: str) -> str:
    """strconv.FormatFloat(v, verb, -1, 64) for verb in e, f, g (lower case)."""
    digits, dp = _digits(v)
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    nd = len(digits)
    exp = dp - 1
    if verb == "g":
        verb = "e" if (exp < -4 or exp >= 6) and digits != "0" else "f"
        if digits == "0":
            return sign + "0"
    if verb == "e":
        if digits == "0":
            exp = 0
        mant = digits[0] + ("." + digits[1:] if nd > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    # %f shortest: all digits, no exponent.
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= nd:
        return sign + digits + "0" * (dp - nd)
    return sign + digits[:dp] + "." + digits[dp:]


def format_float(v: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat for verbs e E f F g G (prec -1 = shortest), with Go's Inf/NaN spelling."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    low = verb.lower()
    if prec < 0:
        out = _shortest(v, low)
    elif low == "f":
        out = f"{v:.{prec}f}"
    elif low == "e":
        out = f"{v:.{prec}e}"
    else:
        out = f"{v:.{max(prec, 1)}g}"
    if verb in "EG":
        out = out.upper()
    return out


def quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote (or QuoteToASCII): a double-quoted Go string literal with Go escapes."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\v":
            out.append("\\v")
        elif (ch.isprintable() or ch == " ") and (o < 0x80 or not ascii_only):
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _stringer(v: Any) -> str | None:
    for meth in ("Error", "String"):
        fn = getattr(v, meth, None)
        if callable(fn) and not isinstance(v, type):
            return str(fn())
    return None


def format_v(v: Any, top: bool = True) -> str:
    """``%v`` of one value, as fmt prints it (maps sorted by key, slices space separated)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v, "g", -1)
    if isinstance(v, str):
        return str.__str__(v)
    s = _stringer(v)
    if s is not None:
        return s
    if getattr(v, "go_pointer", False):
        return "&" + str(v)  # fmt prints a pointer to a struct as &{...}
    if isinstance(v, Mapping):
        items = sorted(v.items(), key=lambda kv: _sort_key(kv[0]))
        return "map[" + " ".join(f"{format_v(k, False)}:{format_v(x, False)}" for k, x in items) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(format_v(x, False) for x in v) + "]"
    if isinstance(v, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in v) + "]"
    return str(v)


def _sort_key(k: Any) -> tuple[int, Any]:
    if isinstance(k, (int, float)) and not isinstance(k, bool):
        return (0, k)
    return (1, str(k))


def sprint(*args: Any) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out: list[str] = []
    prev_str = True
    for i, a in enumerate(args):
        is_str = isinstance(a, str)
        if i > 0 and not is_str and not prev_str:
            out.append(" ")
        out.append(format_v(a))
        prev_str = is_str
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: always spaces between operands, newline at the end."""
    return " ".join(format_v(a) for a in args) + "\n"


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "prec")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.prec: int | None = None


def _pad(s: str, sp: _Spec, numeric: bool = False) -> str:
    if sp.width is None or len(s) >= sp.width:
        return s
    n = sp.width - len(s)
    if sp.minus:
        return s + " " * n
    if sp.zero:
        if numeric and s[:1] in "+- ":
            return s[0] + "0" * n + s[1:]
        return "0" * n + s
    return " " * n + s


def _bad(verb: str, v: Any) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(v)}={format_v(v)})"


def _fmt_int(v: int, verb: str, sp: _Spec) -> str:
    if verb == "c":
        return _pad(chr(v), sp)
    if verb == "q":
        return _pad("'" + quote(chr(v))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'", sp)
    if verb == "U":
        s = f"U+{v:04X}"
        if sp.sharp:
            s += f" '{chr(v)}'"
        return _pad(s, sp)
    base = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}[verb]
    a = abs(v)
    if base == 10:
        digits = str(a)
    elif base == 2:
        digits = format(a, "b")
    elif base == 8:
        digits = format(a, "o")
    else:
        digits = format(a, "x" if verb == "x" else "X")
    if sp.prec is not None:
        if sp.prec == 0 and v == 0:
            digits = ""
        digits = digits.rjust(sp.prec, "0")
    prefix = ""
    if verb == "O" or (sp.sharp and verb == "o" and not digits.startswith("0")):
        prefix = "0o" if verb == "O" else "0"
    elif sp.sharp and verb in "xX":
        prefix = "0x" if verb == "x" else "0X"
    elif sp.sharp and verb == "b":
        prefix = "0b"
    sign = "-" if v < 0 else ("+" if sp.plus else (" " if sp.space else ""))
    body = prefix + digits
    if sp.zero and not sp.minus and sp.prec is None and sp.width is not None:
        body = body.rjust(sp.width - len(sign), "0")
    return _pad(sign + body, sp)


def _fmt_float(v: float, verb: str, sp: _Spec) -> str:
    if verb == "v":
        verb = "g"
    if verb in "fFeE":
        prec = 6 if sp.prec is None else sp.prec
    else:
        prec = -1 if sp.prec is None else sp.prec
    if verb in "xX":
        s = _hex_float(v)
        s = s if verb == "x" else s.upper()
    else:
        s = format_float(v, "f" if verb == "F" else verb, prec)
    if sp.sharp and verb in "gG" and math.isfinite(v):
        s = f"{v:#.{6 if prec < 0 else max(prec, 1)}{verb}}"  # '#' keeps trailing zeros
    if math.isnan(v):
        s = "+NaN" if sp.plus else (" NaN" if sp.space else "NaN")
        return _pad(s, _nozero(sp))
    if not s.startswith(("-", "+")):
        if sp.plus:
            s = "+" + s
        elif sp.space:
            s = " " + s
    elif s.startswith("+") and math.isinf(v) and not sp.plus:
        s = " " + s[1:] if sp.space else s
    if math.isinf(v):
        return _pad(s, _nozero(sp))
    return _pad(s, sp, numeric=True)


def _hex_float(v: float) -> str:
    """strconv 'x' format, shortest: -0x1p-01, 0x1.5p+05, +Inf."""
    if not math.isfinite(v):
        return format_float(v)
    mant, _, exp = float.hex(v).partition("p")
    mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
    e = int(exp)
    return f"{mant}p{'-' if e < 0 else '+'}{abs(e):02d}"


def _nozero(sp: _Spec) -> _Spec:
    out = _Spec()
    out.minus, out.width = sp.minus, sp.width
    return out


def _fmt_str(s: str, verb: str, sp: _Spec) -> str:
    if verb in "sv":
        if sp.prec is not None:
            s = s[: sp.prec]
        return _pad(s, sp)
    if verb == "q":
        if sp.prec is not None:
            s = s[: sp.prec]
        if sp.sharp and "`" not in s and all(c.isprintable() or c == "\t" for c in s):
            return _pad("`" + s + "`", sp)
        return _pad(quote(s, ascii_only=sp.plus), sp)
    if verb in "xX":
        b = s.encode()
        if sp.prec is not None:
            b = b[: sp.prec]
        h = b.hex() if verb == "x" else b.hex().upper()
        if sp.space:
            pre = ("0x" if verb == "x" else "0X") if sp.sharp else ""
            h = " ".join(pre + h[i : i + 2] for i in range(0, len(h), 2))
        elif sp.sharp and h:
            h = ("0x" if verb == "x" else "0X") + h
        return _pad(h, sp)
    return _bad(verb, s)


def _fmt_one(v: Any, verb: str, sp: _Spec) -> str:
    if verb == "T":
        return _pad(go_type_name(v) if v is not None else "<nil>", sp)
    if v is None:
        if verb == "v":
            return _pad("<nil>", sp)
        return _bad(verb, v)
    if isinstance(v, bool):
        if verb in "tv":
            return _pad("true" if v else "false", sp)
        return _bad(verb, v)
    if isinstance(v, int):
        if verb in "dvboOxXcqU":
            return _fmt_int(v, verb, sp)
        return _bad(verb, v)
    if isinstance(v, float):
        if verb in "vbeEfFgGxX":
            return _fmt_float(v, verb, sp)
        return _bad(verb, v)
    if isinstance(v, str):
        return _fmt_str(str.__str__(v), verb, sp)
    if verb in "vsq":
        s = _stringer(v)
        if s is not None:
            return _fmt_str(s, verb, sp)
    if isinstance(v, Mapping):
        items = sorted(v.items(), key=lambda kv: _sort_key(kv[0]))
        return "map[" + " ".join(f"{_fmt_one(k, verb, sp)}:{_fmt_one(x, verb, sp)}" for k, x in items) + "]"
    if isinstance(v, Sequence):
        return "[" + " ".join(_fmt_one(x, verb, sp) for x in v) + "]"
    if verb in "vs":
        return _pad(format_v(v), sp)
    return _bad(verb, v)


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf with Go's verbs, flags, width/precision (incl. ``*``) and error annotations."""
    out: list[str] = []
    i, n = 0, len(fmt)
    argi = 0
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        if i >= n:
            out.append("%!(NOVERB)")
            break
        sp = _Spec()
        while i < n and fmt[i] in "+-# 0":
            c = fmt[i]
            if c == "+":
                sp.plus = True
            elif c == "-":
                sp.minus = True
                sp.zero = False
            elif c == "#":
                sp.sharp = True
            elif c == " ":
                sp.space = True
            elif not sp.minus:
                sp.zero = True
            i += 1
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int) and not isinstance(args[argi], bool):
                sp.width = args[argi]
                if sp.width < 0:
                    sp.minus, sp.zero, sp.width = True, False, -sp.width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > start:
                sp.width = int(fmt[start:i])
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and isinstance(args[argi], int) and not isinstance(args[argi], bool):
                    sp.prec = args[argi] if args[argi] >= 0 else None
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                start = i
                while i < n and fmt[i].isdigit():
                    i += 1
                sp.prec = int(fmt[start:i]) if i > start else 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "v":
            sp.plus = sp.sharp = False  # %+v / %#v change struct output only, never numbers
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(_fmt_one(arg, verb, sp))
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type_name(a)}={format_v(a)}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
