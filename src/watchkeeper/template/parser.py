"""Parser for Go text/template, following Go's parse package (same grammar, same error texts)."""

from __future__ import annotations

from collections.abc import Callable

from .errors import TemplateError
from .lexer import Tok, Token, lex
from .nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    Tree,
    VariableNode,
    WithNode,
)

__all__ = ["parse", "unquote"]


class _End(Node):
    def __str__(self) -> str:
        return "{{end}}"


class _Else(Node):
    def __str__(self) -> str:
        return "{{else}}"


_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def unquote(s: str) -> str:
    """strconv.Unquote for "..." , `...` and '...' literals; raises ValueError("invalid syntax")."""
    if len(s) < 2 or s[0] != s[-1] or s[0] not in "\"`'":
        raise ValueError("invalid syntax")
    q, body = s[0], s[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == q or (c == "\n"):
            raise ValueError("invalid syntax")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("invalid syntax")
        e = body[i + 1]
        i += 2
        if e in _ESC:
            out.append(_ESC[e])
        elif e == q:
            out.append(e)
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            h = body[i : i + n]
            if len(h) != n or any(ch not in "0123456789abcdefABCDEF" for ch in h):
                raise ValueError("invalid syntax")
            v = int(h, 16)
            if e != "x" and (v > 0x10FFFF or 0xD800 <= v < 0xE000):
                raise ValueError("invalid syntax")
            out.append(chr(v))
            i += n
        elif e in "01234567":
            o = body[i - 1 : i + 2]
            if len(o) != 3 or any(ch not in "01234567" for ch in o) or int(o, 8) > 255:
                raise ValueError("invalid syntax")
            out.append(chr(int(o, 8)))
            i += 2
        else:
            raise ValueError("invalid syntax")
    res = "".join(out)
    if q == "'" and len(res) != 1:
        raise ValueError(f"malformed character constant: {s}" if res else "invalid syntax")
    return res


def _parse_number(text: str, typ: Tok) -> int | float:
    if typ is Tok.CHAR_CONSTANT:
        return ord(unquote(text))
    t = text.replace("_", "")
    if t.endswith("i"):
        raise ValueError(f"complex numbers are not supported: {text}")
    sign = 1
    body = t
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    low = body.lower()
    try:
        if low.startswith("0x"):
            if "." in low or "p" in low:
                return sign * float.fromhex(low)
            return sign * int(low[2:], 16)
        if low.startswith("0o"):
            return sign * int(low[2:], 8)
        if low.startswith("0b"):
            return sign * int(low[2:], 2)
        if any(c in low for c in ".e"):
            return sign * float(low)
        if len(low) > 1 and low.startswith("0"):
            return sign * int(low, 8)
        return sign * int(low, 10)
    except ValueError:
        raise ValueError(f'illegal number syntax: "{text}"') from None


class _Parser:
    def __init__(self, text: str, parse_name: str, has_func: Callable[[str], bool]) -> None:
        self.text = text
        self.parse_name = parse_name
        self.has_func = has_func
        self.toks = lex(text)
        self.i = 0
        self.cur: Token = self.toks[0]
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.trees: dict[str, Tree] = {}

    # token stream ---------------------------------------------------------------------------
    def next(self) -> Token:
        tok = self.toks[min(self.i, len(self.toks) - 1)]
        self.i += 1
        self.cur = tok
        return tok

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Token:
        return self.toks[min(self.i, len(self.toks) - 1)]

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.typ is Tok.SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    def errorf(self, msg: str) -> TemplateError:
        return TemplateError(f"template: {self.parse_name}:{self.cur.line}: {msg}")

    def expect(self, typ: Tok, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ is not typ:
            raise self.unexpected(tok, context)
        return tok

    def unexpected(self, tok: Token, context: str) -> TemplateError:
        if tok.typ is Tok.ERROR:
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in {context}"
                if context.endswith(" clause"):
                    extra = ""
            return self.errorf(f"{tok}{extra}")
        return self.errorf(f"unexpected {tok} in {context}")

    # grammar --------------------------------------------------------------------------------
    def parse(self, name: str) -> dict[str, Tree]:
        root = ListNode(self.peek().pos)
        while self.peek().typ is not Tok.EOF:
            if self.peek().typ is Tok.LEFT_DELIM:
                delim_i = self.i
                self.next()
                tok = self.next_non_space()
                if tok.typ is Tok.KEYWORD and tok.val == "define":
                    self.parse_definition()
                    continue
                self.i = delim_i
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                raise self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self.add(Tree(name, self.parse_name, self.text, root))
        return self.trees

    def add(self, tree: Tree) -> None:
        old = self.trees.get(tree.name)
        if old is None or old.is_empty():
            self.trees[tree.name] = tree
            return
        if not tree.is_empty():
            raise self.errorf(f"template: multiple definition of template {_q(tree.name)}")

    def parse_definition(self) -> None:
        ctx = "define clause"
        tok = self.next_non_space()
        name = self.template_name(tok, ctx)
        self.expect(Tok.RIGHT_DELIM, ctx)
        saved_vars, self.vars = self.vars, ["$"]
        lst, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, _End):
            raise self.errorf(f"unexpected {end} in {ctx}")
        self.add(Tree(name, self.parse_name, self.text, lst))

    def template_name(self, tok: Token, context: str) -> str:
        if tok.typ in (Tok.STRING, Tok.RAW_STRING):
            try:
                return unquote(tok.val)
            except ValueError as e:
                raise self.errorf(str(e)) from None
        raise self.unexpected(tok, context)

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ is not Tok.EOF:
            n = self.text_or_action()
            if isinstance(n, (_End, _Else)):
                return lst, n
            lst.nodes.append(n)
        raise self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ is Tok.TEXT:
            return TextNode(tok.pos, tok.val)
        if tok.typ is Tok.LEFT_DELIM:
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if tok.typ is Tok.COMMENT:
            return CommentNode(tok.pos, tok.val)
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ is Tok.KEYWORD:
            kw = tok.val
            if kw == "block":
                return self.block_control(tok)
            if kw == "break":
                return self.break_control(tok, "break")
            if kw == "continue":
                return self.break_control(tok, "continue")
            if kw == "else":
                return self.else_control(tok)
            if kw == "end":
                self.expect(Tok.RIGHT_DELIM, "end")
                return _End(tok.pos)
            if kw in ("if", "range", "with"):
                return self.control(kw, tok)
            if kw == "template":
                return self.template_control(tok)
        self.backup()
        tok = self.peek()
        return ActionNode(tok.pos, tok.line, self.pipeline("command", Tok.RIGHT_DELIM))

    def break_control(self, tok: Token, word: str) -> Node:
        nxt = self.next_non_space()
        if nxt.typ is not Tok.RIGHT_DELIM:
            raise self.unexpected(nxt, "{{" + word + "}}")
        if self.range_depth == 0:
            raise self.errorf("{{" + word + "}} outside {{range}}")
        return BreakNode(tok.pos, tok.line) if word == "break" else ContinueNode(tok.pos, tok.line)

    def else_control(self, tok: Token) -> Node:
        peek = self.peek_non_space()
        if peek.typ is Tok.KEYWORD and peek.val in ("if", "with"):
            return _Else(peek.pos)
        self.expect(Tok.RIGHT_DELIM, "else")
        return _Else(tok.pos)

    def control(self, context: str, tok: Token) -> BranchNode:
        nvars = len(self.vars)
        pipe = self.pipeline(context, Tok.RIGHT_DELIM)
        if context == "range":
            self.range_depth += 1
        lst, nxt = self.item_list()
        if context == "range":
            self.range_depth -= 1
        else_list = None
        if isinstance(nxt, _Else):
            peek = self.peek()
            if context in ("if", "with") and peek.typ is Tok.KEYWORD and peek.val == context:
                kw = self.next()
                else_list = ListNode(nxt.pos, [self.control(context, kw)])
            else:
                else_list, nxt = self.item_list()
                if not isinstance(nxt, _End):
                    raise self.errorf(f"expected end; found {nxt}")
        del self.vars[nvars:]
        cls = {"if": IfNode, "range": RangeNode, "with": WithNode}[context]
        return cls(pipe.pos, tok.line, pipe, lst, else_list, context)

    def template_control(self, tok: Token) -> Node:
        ctx = "template clause"
        name_tok = self.next_non_space()
        name = self.template_name(name_tok, ctx)
        pipe = None
        if self.next_non_space().typ is not Tok.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(ctx, Tok.RIGHT_DELIM)
        return TemplateNode(name_tok.pos, name_tok.line, name, pipe)

    def block_control(self, tok: Token) -> Node:
        ctx = "block clause"
        name = self.template_name(self.next_non_space(), ctx)
        pipe = self.pipeline(ctx, Tok.RIGHT_DELIM)
        saved_vars, self.vars = self.vars, ["$"]
        lst, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, _End):
            raise self.errorf(f"unexpected {end} in {ctx}")
        self.add(Tree(name, self.parse_name, self.text, lst))
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def pipeline(self, context: str, end: Tok) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line)
        while True:
            v = self.peek_non_space()
            if v.typ is not Tok.VARIABLE:
                break
            start = self.i
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.typ in (Tok.ASSIGN, Tok.DECLARE):
                pipe.is_assign = nxt.typ is Tok.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                break
            if nxt.typ is Tok.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    p = self.peek_non_space()
                    if p.typ in (Tok.VARIABLE, Tok.RIGHT_DELIM, Tok.RIGHT_PAREN):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            self.i = start
            break
        while True:
            tok = self.next_non_space()
            if tok.typ is end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ in (Tok.BOOL, Tok.CHAR_CONSTANT, Tok.DOT, Tok.FIELD, Tok.IDENT, Tok.NUMBER, Tok.NIL,
                           Tok.RAW_STRING, Tok.STRING, Tok.VARIABLE, Tok.LEFT_PAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(tok, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                raise self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            op = self.operand()
            if op is not None:
                cmd.args.append(op)
            tok = self.next()
            if tok.typ is Tok.SPACE:
                continue
            if tok.typ in (Tok.RIGHT_DELIM, Tok.RIGHT_PAREN):
                self.backup()
            elif tok.typ is not Tok.PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ is Tok.FIELD:
            chain = ChainNode(self.peek().pos, node, [])
            while self.peek().typ is Tok.FIELD:
                chain.fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, node.ident + chain.fields)
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, node.ident + chain.fields)
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                raise self.errorf(f"unexpected . after term {_q(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        tok = self.next_non_space()
        t = tok.typ
        if t is Tok.IDENT:
            if not self.has_func(tok.val):
                raise self.errorf(f"function {_q(tok.val)} not defined")
            return IdentifierNode(tok.pos, tok.val)
        if t is Tok.DOT:
            return DotNode(tok.pos)
        if t is Tok.NIL:
            return NilNode(tok.pos)
        if t is Tok.VARIABLE:
            if tok.val not in self.vars:
                raise self.errorf(f"undefined variable {_q(tok.val)}")
            return VariableNode(tok.pos, [tok.val])
        if t is Tok.FIELD:
            return FieldNode(tok.pos, [tok.val[1:]])
        if t is Tok.BOOL:
            return BoolNode(tok.pos, tok.val == "true")
        if t in (Tok.NUMBER, Tok.CHAR_CONSTANT):
            try:
                return NumberNode(tok.pos, tok.val, _parse_number(tok.val, t))
            except ValueError as e:
                raise self.errorf(str(e)) from None
        if t is Tok.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", Tok.RIGHT_PAREN)
        if t in (Tok.STRING, Tok.RAW_STRING):
            try:
                return StringNode(tok.pos, tok.val, unquote(tok.val))
            except ValueError as e:
                raise self.errorf(str(e)) from None
        self.backup()
        return None


def _q(s: str) -> str:
    from .gofmt import quote

    return quote(s)


def parse(text: str, name: str, has_func: Callable[[str], bool]) -> dict[str, Tree]:
    """Parse one source text; returns the top-level tree under `name` plus every {{define}}/{{block}}."""
    return _Parser(text, name, has_func).parse(name)
