"""PromQL tokenizer and literal decoding, following Prometheus' ``promql/parser/lex.go``.

The token stream (and the lexer error messages and their positions) must match
upstream, because parse errors quote tokens (``unexpected <op:*>``) and report
where they start. The lexer is context dependent the same way upstream's is:
inside ``{...}`` keywords are plain identifiers, inside ``[...]`` only durations,
numbers, arithmetic and a few duration keywords are allowed.

Positions are character offsets into the query string.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..gocompat.quote import go_quote, go_quote_rune

__all__ = ["Token", "tokenize", "unquote_string", "parse_go_int",
           "parse_go_float", "KEYWORDS", "AGGREGATORS", "OPERATORS"]

# Token types are plain strings named as upstream's ItemType constants.
OPERATORS = frozenset({
    "ADD", "DIV", "EQLC", "EQL_REGEX", "GTE", "GTR", "LAND", "LOR", "LSS", "LTE", "LUNLESS", "MOD", "MUL",
    "NEQ", "NEQ_REGEX", "POW", "SUB", "AT", "ATAN2", "TRIM_UPPER", "TRIM_LOWER",
})
AGGREGATORS = frozenset({
    "AVG", "BOTTOMK", "COUNT", "COUNT_VALUES", "GROUP", "MAX", "MIN", "QUANTILE", "STDDEV", "STDVAR", "SUM",
    "TOPK", "LIMITK", "LIMIT_RATIO",
})
KEYWORDS = frozenset({
    "BOOL", "BY", "GROUP_LEFT", "GROUP_RIGHT", "IGNORING", "OFFSET", "SMOOTHED", "ANCHORED", "ON", "WITHOUT",
})
PREPROCESSORS = frozenset({"START", "END", "STEP"})

# Words the lexer turns into keyword tokens (matched case-insensitively).
_KEY = {
    "and": "LAND", "or": "LOR", "unless": "LUNLESS", "atan2": "ATAN2",
    "sum": "SUM", "avg": "AVG", "count": "COUNT", "min": "MIN", "max": "MAX", "group": "GROUP",
    "stddev": "STDDEV", "stdvar": "STDVAR", "topk": "TOPK", "bottomk": "BOTTOMK",
    "count_values": "COUNT_VALUES", "quantile": "QUANTILE", "limitk": "LIMITK", "limit_ratio": "LIMIT_RATIO",
    "offset": "OFFSET", "smoothed": "SMOOTHED", "anchored": "ANCHORED", "by": "BY", "without": "WITHOUT",
    "on": "ON", "ignoring": "IGNORING", "group_left": "GROUP_LEFT", "group_right": "GROUP_RIGHT",
    "bool": "BOOL",
    "start": "START", "end": "END", "step": "STEP",
    "inf": "NUMBER", "nan": "NUMBER",
}

# Token types that have a fixed textual form; upstream prints these (and the
# keywords) as the token itself rather than "<kind> <text>".
_FIXED = frozenset({
    "LEFT_PAREN", "RIGHT_PAREN", "LEFT_BRACE", "RIGHT_BRACE", "LEFT_BRACKET", "RIGHT_BRACKET", "COMMA", "EQL",
    "COLON", "SEMICOLON", "BLANK", "TIMES", "SPACE",
}) | OPERATORS | AGGREGATORS | KEYWORDS | PREPROCESSORS

_KIND_DESC = {
    "ERROR": "error", "EOF": "end of input", "COMMENT": "comment", "IDENTIFIER": "identifier",
    "METRIC_IDENTIFIER": "metric identifier", "STRING": "string", "NUMBER": "number", "DURATION": "duration",
}

# Words allowed as bare keywords inside a duration expression (``[step() * 2]``).
_DURATION_WORDS = {"step": "STEP", "min": "MIN", "max": "MAX"}
_DURATION_IDENTS = frozenset({"range", "min_of", "max_of"})
_SIMPLE_TOKENS = {",": "COMMA", "*": "MUL", "/": "DIV", "%": "MOD", "+": "ADD", "-": "SUB", "^": "POW",
                  "@": "AT"}


@dataclass(frozen=True, slots=True)
class Token:
    type: str
    val: str
    pos: int

    @property
    def end(self) -> int:
        return self.pos + len(self.val)

    def __str__(self) -> str:
        t = self.type
        if t == "EOF":
            return "EOF"
        if t == "ERROR":
            return self.val
        if t in ("IDENTIFIER", "METRIC_IDENTIFIER"):
            return go_quote(self.val)
        if t in KEYWORDS:
            return f"<{self.val}>"
        if t in OPERATORS:
            return f"<op:{self.val}>"
        if t in AGGREGATORS:
            return f"<aggr:{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)

    def desc(self) -> str:
        """How upstream names this token in ``unexpected ...`` messages."""
        if self.type in _FIXED:
            return str(self)
        if self.type == "EOF":
            return "end of input"
        return f"{_KIND_DESC.get(self.type, self.type)} {self}"


def _is_space(c: str) -> bool:
    return c in " \t\n\r"


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or _is_digit(c)


def _sharp_u(ch: str) -> str:
    """Go's ``%#U``: ``U+0022 '"'``."""
    cp = ord(ch)
    base = f"U+{cp:04X}"
    if ch.isprintable():
        return f"{base} '{ch}'"
    return base


class _LexError(Exception):
    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


class _Lexer:
    """Scans the whole input into tokens; stops at the first error (an ``ERROR`` token)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.pos = 0
        self.start = 0
        self.tokens: list[Token] = []
        self.paren_depth = 0
        self.brace_open = False
        self.bracket_open = False
        self.got_colon = False
        self.got_duration = False
        self.duration_mode = False  # upstream's lexDurationExpr state
        self.string_open = ""

    # -- helpers mirroring upstream's primitives
    def peek(self) -> str:
        return self.s[self.pos] if self.pos < self.n else ""

    def next(self) -> str:
        if self.pos >= self.n:
            return ""
        c = self.s[self.pos]
        self.pos += 1
        return c

    def accept(self, valid: str) -> bool:
        c = self.peek()
        if c and c in valid:
            self.pos += 1
            return True
        return False

    def emit(self, typ: str) -> None:
        self.tokens.append(Token(typ, self.s[self.start:self.pos], self.start))
        self.start = self.pos

    def error(self, msg: str) -> None:
        raise _LexError(msg, self.start)

    def error_replacing_last(self, msg: str) -> None:
        """Upstream sometimes emits a token and then reports an error in the same
        step; the error item replaces the token and starts after it."""
        self.tokens.pop()
        raise _LexError(msg, self.start)

    def run(self) -> list[Token]:
        try:
            while True:
                if self.brace_open:
                    self.lex_inside_braces()
                elif self.duration_mode:
                    self.lex_duration_expr()
                elif self.lex_statement():
                    break
        except _LexError as e:
            self.tokens.append(Token("ERROR", e.msg, e.pos))
        return self.tokens

    def skip_spaces(self) -> None:
        while self.pos < self.n and _is_space(self.s[self.pos]):
            self.pos += 1
        self.start = self.pos

    def lex_comment(self) -> None:
        self.pos += 1
        while self.pos < self.n and self.s[self.pos] not in "\r\n":
            self.pos += 1
        self.emit("COMMENT")

    # -- states
    def lex_statement(self) -> bool:
        """One step of upstream's lexStatements; returns True at end of input."""
        if self.s.startswith("#", self.pos):
            self.lex_comment()
            return False
        r = self.next()
        if r == "":
            if self.paren_depth != 0:
                self.error("unclosed left parenthesis")
            if self.bracket_open:
                self.error("unclosed left bracket")
            self.emit("EOF")
            return True
        if r in _SIMPLE_TOKENS:
            self.emit(_SIMPLE_TOKENS[r])
        elif _is_space(r):
            self.skip_spaces()
        elif r == "=":
            t = self.peek()
            if t == "=":
                self.next()
                self.emit("EQLC")
            elif t == "~":
                self.error(f"unexpected character after '=': {go_quote_rune(t)}")
            else:
                self.emit("EQL")
        elif r == "!":
            t = self.next()
            if t != "=":
                self.error(f"unexpected character after '!': {go_quote_rune(t or chr(0xFFFD))}")
            self.emit("NEQ")
        elif r in "<>":
            if self.peek() == "=":
                self.next()
                self.emit("LTE" if r == "<" else "GTE")
            elif self.peek() == "/":  # native-histogram trim operators ``</`` and ``>/``
                self.next()
                self.emit("TRIM_UPPER" if r == "<" else "TRIM_LOWER")
            else:
                self.emit("LSS" if r == "<" else "GTR")
        elif _is_digit(r) or (r == "." and _is_digit(self.peek())):
            self.pos -= 1
            self.lex_number_or_duration()
        elif r in "\"'":
            self.string_open = r
            self.lex_string()
        elif r == "`":
            self.string_open = r
            self.lex_raw_string()
        elif _is_alpha(r) or r == ":":
            if not self.bracket_open:
                self.pos -= 1
                self.lex_keyword_or_identifier()
            elif r == ":":
                if self.got_colon:
                    self.error(f"unexpected colon {go_quote_rune(r)}")
                self.emit("COLON")
                self.got_colon = True
            elif not self.scan_duration_keyword(r):
                self.error(f"unexpected character: {go_quote_rune(r)}, expected {go_quote_rune(':')}")
        elif r == "(":
            self.emit("LEFT_PAREN")
            self.paren_depth += 1
        elif r == ")":
            self.emit("RIGHT_PAREN")
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.error_replacing_last(f"unexpected right parenthesis {go_quote_rune(r)}")
        elif r == "{":
            self.emit("LEFT_BRACE")
            self.brace_open = True
        elif r == "[":
            if self.bracket_open:
                self.error(f"unexpected left bracket {go_quote_rune(r)}")
            self.got_colon = False
            self.got_duration = False
            self.emit("LEFT_BRACKET")
            self.skip_spaces()
            self.bracket_open = True
            self.duration_mode = True
        elif r == "]":
            if not self.bracket_open:
                self.error(f"unexpected right bracket {go_quote_rune(r)}")
            self.emit("RIGHT_BRACKET")
            self.bracket_open = False
        else:
            self.error(f"unexpected character: {go_quote_rune(r)}")
        return False

    def lex_inside_braces(self) -> None:
        if self.s.startswith("#", self.pos):
            self.lex_comment()
            return
        r = self.next()
        if r == "":
            self.error("unexpected end of input inside braces")
        elif _is_space(r):
            self.skip_spaces()
        elif _is_alpha(r):
            while self.pos < self.n and _is_alnum(self.s[self.pos]):
                self.pos += 1
            self.emit("IDENTIFIER")
        elif r == ",":
            self.emit("COMMA")
        elif r in "\"'":
            self.string_open = r
            self.lex_string()
        elif r == "`":
            self.string_open = r
            self.lex_raw_string()
        elif r == "=":
            if self.peek() == "~":
                self.next()
                self.emit("EQL_REGEX")
            else:
                self.emit("EQL")
        elif r == "!":
            nr = self.next()
            if nr == "~":
                self.emit("NEQ_REGEX")
            elif nr == "=":
                self.emit("NEQ")
            else:
                shown = go_quote_rune(nr or chr(0xFFFD))
                self.error(f"unexpected character after '!' inside braces: {shown}")
        elif r == "{":
            self.error(f"unexpected left brace {go_quote_rune(r)}")
        elif r == "}":
            self.emit("RIGHT_BRACE")
            self.brace_open = False
        else:
            self.error(f"unexpected character inside braces: {go_quote_rune(r)}")

    def lex_duration_expr(self) -> None:
        r = self.next()
        if r == "":
            self.error("unexpected end of input in duration expression")
        ops = {"+": "ADD", "-": "SUB", "*": "MUL", "/": "DIV", "%": "MOD", "^": "POW", ",": "COMMA"}
        if r == "]":
            self.emit("RIGHT_BRACKET")
            self.bracket_open = False
            self.got_colon = False
            self.duration_mode = False
        elif r == ":":
            self.emit("COLON")
            if not self.got_duration:
                self.error_replacing_last("unexpected colon before duration in duration expression")
            if self.got_colon:
                self.error_replacing_last("unexpected repeated colon in duration expression")
            self.got_colon = True
        elif r == "(":
            self.emit("LEFT_PAREN")
            self.paren_depth += 1
        elif r == ")":
            self.emit("RIGHT_PAREN")
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.error_replacing_last(f"unexpected right parenthesis {go_quote_rune(r)}")
        elif _is_space(r):
            self.skip_spaces()
        elif r in ops:
            self.emit(ops[r])
        elif _is_alpha(r):
            if not self.scan_duration_keyword(r):
                self.error(f"unexpected character in duration expression: {go_quote_rune(r)}")
        elif _is_digit(r) or (r == "." and _is_digit(self.peek())):
            self.pos -= 1
            self.got_duration = True
            self.duration_mode = False  # upstream continues in lexStatements after a number
            self.lex_number_or_duration()
        else:
            self.error(f"unexpected character in duration expression: {go_quote_rune(r)}")

    def scan_duration_keyword(self, first: str) -> bool:
        """``step``/``min``/``max`` keywords and the duration functions inside brackets."""
        while self.pos < self.n and _is_alpha(self.s[self.pos]):
            self.pos += 1
        word = self.s[self.start:self.pos].lower()
        if word in _DURATION_WORDS and first in "sSmM":
            self.emit(_DURATION_WORDS[word])
            return True
        if word in _DURATION_IDENTS:
            self.emit("IDENTIFIER")
            return True
        self.pos = self.start + 1
        return False

    def lex_keyword_or_identifier(self) -> None:
        while self.pos < self.n and (_is_alnum(self.s[self.pos]) or self.s[self.pos] == ":"):
            self.pos += 1
        word = self.s[self.start:self.pos]
        kw = _KEY.get(word.lower())
        if kw is not None:
            self.emit(kw)
        elif ":" not in word:
            self.emit("IDENTIFIER")
        else:
            self.emit("METRIC_IDENTIFIER")

    def lex_string(self) -> None:
        while True:
            c = self.next()
            if c == "\\":
                self.lex_escape()
            elif c == "" or c == "\n":
                self.error("unterminated quoted string")
            elif c == self.string_open:
                break
        self.emit("STRING")

    def lex_raw_string(self) -> None:
        while True:
            c = self.next()
            if c == "":
                self.error("unterminated raw string")
            elif c == self.string_open:
                break
        self.emit("STRING")

    def lex_escape(self) -> None:
        ch = self.next()
        if ch in ("a", "b", "f", "n", "r", "t", "v", "\\", self.string_open):
            return
        if ch == "":
            self.error("escape sequence not terminated")
        if ch in "01234567":
            n, base, max_val = 3, 8, 255
        elif ch in "xuU":
            n, base, max_val = {"x": 2, "u": 4, "U": 8}[ch], 16, (255 if ch == "x" else 0x10FFFF)
            ch = self.next()
        else:
            self.error(f"unknown escape sequence {_sharp_u(ch)}")
        x = 0
        while n > 0:
            d = int(ch, 16) if ch and ch in "0123456789abcdefABCDEF" else 16
            if d >= base:
                if ch == "":
                    self.error("escape sequence not terminated")
                self.error(f"illegal character {_sharp_u(ch)} in escape sequence")
            x = x * base + d
            n -= 1
            if n > 0:
                ch = self.next()
        if x > max_val or 0xD800 <= x < 0xE000:
            self.error("escape sequence is an invalid Unicode code point")

    def lex_number_or_duration(self) -> None:
        if self.scan_number():
            self.emit("NUMBER")
            return
        if self.accept_remaining_duration():
            self.emit("DURATION")
            return
        self.error(f"bad number or duration syntax: {go_quote(self.s[self.start:self.pos])}")

    def accept_remaining_duration(self) -> bool:
        if not self.accept("smhdwy"):
            return False
        self.accept("s")
        while self.accept("0123456789"):
            while self.accept("0123456789"):
                pass
            if not self.accept("smhdw"):
                return False
            self.accept("s")
        # Upstream reads one more rune and checks it; it backs up only on success.
        c = self.next()
        if _is_alnum(c):
            return False
        if c:
            self.pos -= 1
        return True

    def scan_number(self) -> bool:
        initial = self.pos
        digits = "0123456789"
        if self.accept("0") and self.accept("xX"):
            self.accept("_")
            digits = "0123456789abcdefABCDEF"
        self.accept(".")
        self.accept(digits)
        dot_consumed = exp_consumed = False
        while (c := self.peek()) and c in digits + "._eE":
            if c == ".":
                if dot_consumed:
                    self.accept(".")
                    return False
            if c in "eE" and exp_consumed:
                self.accept("eE")
                return False
            if self.accept("."):
                dot_consumed = True
                if self.accept("_."):
                    return False
                if len(digits) > 10:
                    return False
                continue
            if self.accept("eE"):
                exp_consumed = True
                self.accept("+-")
                if self.accept("._eE") or self.peek() == "":
                    return False
                continue
            if self.accept("_"):
                if self.accept("._eE") or self.peek() == "":
                    return False
                continue
            while self.accept(digits):
                pass
        if self.pos == initial:
            return False
        return not _is_alnum(self.peek())


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` (comments included) ending with ``EOF`` or an ``ERROR`` token."""
    return _Lexer(text).run()


# --------------------------------------------------------------------------- literal values


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def unquote_string(s: str) -> str:
    """Decode a PromQL string literal (``"..."``, ``'...'`` with Go escapes, or raw backquotes).

    ``\\x`` and octal escapes produce raw bytes; bytes that are not valid UTF-8
    are kept as surrogate escapes (``str.encode('utf-8', 'surrogateescape')``
    gives the original bytes back). Raises ``ValueError`` on bad syntax.
    """
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"'`":
        raise ValueError("invalid syntax")
    quote, body = s[0], s[1:-1]
    if quote == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if "\n" in body:
        raise ValueError("invalid syntax")
    if "\\" not in body and quote not in body:
        return body
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == quote:
            raise ValueError("invalid syntax")
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("invalid syntax")
        e = body[i + 1]
        i += 2
        if e in _ESCAPES:
            out += _ESCAPES[e].encode()
        elif e in "'\"":
            if e != quote:
                raise ValueError("invalid syntax")
            out += e.encode()
        elif e in "01234567":
            digits = body[i - 1:i + 2]
            if len(digits) < 3 or any(d not in "01234567" for d in digits):
                raise ValueError("invalid syntax")
            v = int(digits, 8)
            if v > 255:
                raise ValueError("invalid syntax")
            out.append(v)
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i:i + width]
            if len(digits) < width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid syntax")
            v = int(digits, 16)
            i += width
            if e == "x":
                out.append(v)
            else:
                if v > 0x10FFFF or 0xD800 <= v < 0xE000:
                    raise ValueError("invalid syntax")
                out += chr(v).encode()
        else:
            raise ValueError("invalid syntax")
    return out.decode("utf-8", "surrogateescape")


def parse_go_int(val: str) -> int | None:
    """Go's ``strconv.ParseInt(val, 0, 64)``; None if it fails."""
    s = val
    neg = False
    if s[:1] in "+-":
        neg, s = s[0] == "-", s[1:]
    base = 10
    low = s.lower()
    if low.startswith("0x"):
        base, s = 16, s[2:]
    elif low.startswith("0o"):
        base, s = 8, s[2:]
    elif low.startswith("0b"):
        base, s = 2, s[2:]
    elif len(s) > 1 and s[0] == "0":
        base, s = 8, s[1:]
    if base != 10 or "_" in s:
        # Go allows underscores only between digits / after a base prefix.
        if s.startswith("_") and base == 10 or s.endswith("_") or "__" in s:
            return None
        s = s.replace("_", "")
    if not s:
        return None
    try:
        v = int(s, base)
    except ValueError:
        return None
    v = -v if neg else v
    if not -(1 << 63) <= v < (1 << 63):
        return None
    return v


def parse_go_float(val: str) -> float | None:
    """Go's ``strconv.ParseFloat(val, 64)`` syntax; None if it fails (overflow gives +-Inf)."""
    low = val.lower().lstrip("+-")
    if low in ("inf", "infinity", "nan"):
        f = float(low)
        return -f if val.startswith("-") else f
    s = val
    if "_" in s:
        if s.startswith("_") or s.endswith("_") or "__" in s:
            return None
        s = s.replace("_", "")
    try:
        if low.startswith("0x"):
            return float.fromhex(s)
        return float(s)
    except ValueError:
        return None
