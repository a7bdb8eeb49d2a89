"""Lexer for Go text/template source, producing the token stream Go's parser sees."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Tok", "Token", "lex"]

LEFT, RIGHT = "{{", "}}"
LEFT_COMMENT, RIGHT_COMMENT = "/*", "*/"
_SPACE = " \t\r\n"
KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "nil", "template", "with"}


class Tok(enum.Enum):
    ERROR = "error"
    BOOL = "bool"
    CHAR = "char"  # printable ASCII punctuation such as ','
    CHAR_CONSTANT = "character constant"
    COMMENT = "comment"
    DECLARE = ":="
    ASSIGN = "="
    DOT = "."
    EOF = "EOF"
    FIELD = "field"
    IDENT = "identifier"
    LEFT_DELIM = "left delim"
    LEFT_PAREN = "("
    NUMBER = "number"
    PIPE = "|"
    RAW_STRING = "raw string"
    RIGHT_DELIM = "right delim"
    RIGHT_PAREN = ")"
    SPACE = "space"
    STRING = "string"
    TEXT = "text"
    VARIABLE = "variable"
    KEYWORD = "keyword"
    NIL = "nil"


@dataclass(slots=True)
class Token:
    typ: Tok
    pos: int
    val: str
    line: int

    def __str__(self) -> str:
        """How Go's parser names a token in 'unexpected X in Y' messages."""
        if self.typ is Tok.EOF:
            return "EOF"
        if self.typ is Tok.ERROR:
            return self.val
        if self.typ is Tok.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return '"' + _goquote_body(self.val[:10]) + '"...'
        return '"' + _goquote_body(self.val) + '"'


def _goquote_body(s: str) -> str:
    from .gofmt import quote

    return quote(s)[1:-1]


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.start = 0
        self._lc_pos = 0
        self._lc_line = 1
        self.paren = 0
        self.toks: list[Token] = []

    def line_at(self, pos: int) -> int:
        """1-based line of a position; positions are asked for in increasing order."""
        if pos < self._lc_pos:
            self._lc_pos, self._lc_line = 0, 1
        self._lc_line += self.text.count("\n", self._lc_pos, pos)
        self._lc_pos = pos
        return self._lc_line

    def emit(self, typ: Tok) -> None:
        val = self.text[self.start : self.pos]
        self.toks.append(Token(typ, self.start, val, self.line_at(self.start)))
        self.start = self.pos

    def ignore(self) -> None:
        self.start = self.pos

    def error(self, msg: str) -> None:
        self.toks.append(Token(Tok.ERROR, self.start, msg, self.line_at(self.start)))
        raise _Stop

    def run(self) -> list[Token]:
        try:
            self.lex_text()
        except _Stop:
            pass
        return self.toks

    def lex_text(self) -> None:
        text = self.text
        while True:
            x = text.find(LEFT, self.pos)
            if x < 0:
                self.pos = len(text)
                if self.pos > self.start:
                    self.emit_text()
                self.toks.append(Token(Tok.EOF, self.pos, "", self.line_at(self.pos)))
                return
            trim = text.startswith("-", x + 2) and x + 3 < len(text) and text[x + 3] in _SPACE
            self.pos = x
            if trim:
                end = x
                while end > self.start and text[end - 1] in _SPACE:
                    end -= 1
                self.pos = end
            if self.pos > self.start:
                self.emit_text()
            self.pos = x
            self.ignore()
            self.lex_left_delim(trim)

    def emit_text(self) -> None:
        self.emit(Tok.TEXT)

    def at_right_delim(self) -> tuple[bool, bool]:
        text, p = self.text, self.pos
        if text.startswith(RIGHT, p):
            return True, False
        if p + 1 < len(text) and text[p] in _SPACE and text.startswith("-" + RIGHT, p + 1):
            return True, True
        return False, False

    def lex_left_delim(self, trim: bool) -> None:
        self.pos += len(LEFT)
        after = 2 if trim else 0
        if self.text.startswith(LEFT_COMMENT, self.pos + after):
            self.pos += after
            self.ignore()
            self.lex_comment()
            return
        self.emit(Tok.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren = 0
        self.lex_inside()

    def lex_comment(self) -> None:
        text = self.text
        self.pos += len(LEFT_COMMENT)
        x = text.find(RIGHT_COMMENT, self.pos)
        if x < 0:
            self.error("unclosed comment")
        self.pos = x + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            self.error("comment ends before closing delimiter")
        self.emit(Tok.COMMENT)
        if trim:
            self.pos += 2
        self.pos += len(RIGHT)
        self.ignore()
        if trim:
            self.trim_following()

    def trim_following(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1
        self.ignore()

    def lex_right_delim(self, trim: bool) -> None:
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT)
        self.emit(Tok.RIGHT_DELIM)
        if trim:
            self.trim_following()

    def lex_inside(self) -> None:
        text = self.text
        while True:
            delim, trim = self.at_right_delim()
            if delim:
                if self.paren == 0:
                    self.lex_right_delim(trim)
                    return
                self.error("unclosed left paren")
            if self.pos >= len(text):
                self.error("unclosed action")
            c = text[self.pos]
            if c in _SPACE:
                while self.pos < len(text) and text[self.pos] in _SPACE:
                    if self.at_right_delim()[1]:
                        break
                    self.pos += 1
                if self.pos > self.start:
                    self.emit(Tok.SPACE)
            elif c == "=":
                self.pos += 1
                self.emit(Tok.ASSIGN)
            elif c == ":":
                if not text.startswith(":=", self.pos):
                    self.pos += 1
                    self.error("expected :=")
                self.pos += 2
                self.emit(Tok.DECLARE)
            elif c == "|":
                self.pos += 1
                self.emit(Tok.PIPE)
            elif c == '"':
                self.lex_quote()
            elif c == "`":
                x = text.find("`", self.pos + 1)
                if x < 0:
                    self.error("unterminated raw quoted string")
                self.pos = x + 1
                self.emit(Tok.RAW_STRING)
            elif c == "$":
                self.pos += 1
                self.lex_word(Tok.VARIABLE)
            elif c == "'":
                self.lex_char()
            elif c == "." and not (self.pos + 1 < len(text) and text[self.pos + 1].isdigit()):
                self.pos += 1
                if self.pos < len(text) and _is_alnum(text[self.pos]):
                    self.lex_word(Tok.FIELD)
                else:
                    self.emit(Tok.DOT)
            elif c in "+-." or c.isdigit():
                self.lex_number()
            elif _is_alnum(c):
                self.lex_identifier()
            elif c == "(":
                self.pos += 1
                self.emit(Tok.LEFT_PAREN)
                self.paren += 1
            elif c == ")":
                self.pos += 1
                self.paren -= 1
                self.emit(Tok.RIGHT_PAREN)
                if self.paren < 0:
                    self.error(f"unexpected right paren U+{ord(c):04X} {_char_quote(c)}")
            elif c.isascii() and c.isprintable():
                self.pos += 1
                self.emit(Tok.CHAR)
            else:
                self.error(f"unrecognized character in action: U+{ord(c):04X}")

    def at_terminator(self) -> bool:
        if self.pos >= len(self.text):
            return True
        c = self.text[self.pos]
        if c in _SPACE or c in ".,|:)(=":
            return True
        return self.text.startswith(RIGHT, self.pos)

    def lex_word(self, typ: Tok) -> None:
        text = self.text
        while self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            self.error(f"bad character U+{ord(text[self.pos]):04X}")
        if typ is Tok.VARIABLE and self.pos - self.start == 1:
            self.emit(Tok.VARIABLE)  # bare "$"
            return
        self.emit(typ)

    def lex_identifier(self) -> None:
        text = self.text
        while self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1
        if not self.at_terminator():
            self.error(f"bad character U+{ord(text[self.pos]):04X}")
        word = text[self.start : self.pos]
        if word in KEYWORDS:
            self.emit(Tok.NIL if word == "nil" else Tok.KEYWORD)
        elif word in ("true", "false"):
            self.emit(Tok.BOOL)
        else:
            self.emit(Tok.IDENT)

    def lex_quote(self) -> None:
        text = self.text
        p = self.pos + 1
        while True:
            if p >= len(text) or text[p] == "\n":
                self.error("unterminated quoted string")
            if text[p] == "\\":
                p += 2
                continue
            if text[p] == '"':
                break
            p += 1
        self.pos = p + 1
        self.emit(Tok.STRING)

    def lex_char(self) -> None:
        text = self.text
        p = self.pos + 1
        while True:
            if p >= len(text) or text[p] == "\n":
                self.error("unterminated character constant")
            if text[p] == "\\":
                p += 2
                continue
            if text[p] == "'":
                break
            p += 1
        self.pos = p + 1
        self.emit(Tok.CHAR_CONSTANT)

    def lex_number(self) -> None:
        text = self.text
        p = self.pos
        if text[p] in "+-":
            p += 1
        digits = "0123456789_"
        if text.startswith(("0x", "0X"), p):
            p += 2
            digits = "0123456789abcdefABCDEF_"
        elif text.startswith(("0o", "0O"), p):
            p += 2
            digits = "01234567_"
        elif text.startswith(("0b", "0B"), p):
            p += 2
            digits = "01_"
        while p < len(text) and text[p] in digits:
            p += 1
        if p < len(text) and text[p] == ".":
            p += 1
            while p < len(text) and text[p] in digits:
                p += 1
        exp = "pP" if len(digits) > 16 else "eE"
        if p < len(text) and text[p] in exp:
            p += 1
            if p < len(text) and text[p] in "+-":
                p += 1
            while p < len(text) and text[p] in "0123456789_":
                p += 1
        if p < len(text) and text[p] == "i":
            p += 1
        self.pos = p
        if p < len(text) and _is_alnum(text[p]):
            self.pos = p + 1
            self.error(f"bad number syntax: {_quoted(text[self.start : self.pos])}")
        self.emit(Tok.NUMBER)


def _char_quote(c: str) -> str:
    return "'" + c + "'"


def _quoted(s: str) -> str:
    return '"' + _goquote_body(s) + '"'


class _Stop(Exception):
    """Internal: the lexer hit an error token and stops, as Go's lexer does."""


def lex(text: str) -> list[Token]:
    """Tokenize a whole template; the list ends with EOF or an ERROR token."""
    return _Lexer(text).run()
