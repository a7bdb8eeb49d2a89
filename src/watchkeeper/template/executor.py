"""Executes parsed templates the way Go's text/template exec.go does (field lookup, pipelines,
variables, control flow, error texts)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .builtins import BUILTINS
from .errors import TemplateError
from .gofmt import format_v, go_type_name, quote
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
from .values import NO_VALUE, is_plain, is_true, map_zero

if TYPE_CHECKING:
    from .htmlescape import HTMLContext

__all__ = ["Executor", "MAX_DEPTH"]

MAX_DEPTH = 200
"""Nested {{template}} calls allowed; Go allows 100000 but Python's stack is far smaller."""

_MISSING = object()  # "no final value" in a pipeline, Go's missingVal


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Sig:
    """Arity and string-typed parameters of a template function, read once from its signature."""

    __slots__ = ("min", "max", "str_params")

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.min, self.max = 0, -1
        self.str_params: list[int] = []
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return
        n = 0
        for i, p in enumerate(sig.parameters.values()):
            if p.kind is p.VAR_POSITIONAL:
                self.max = -1
                return
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                n += 1
                if p.default is p.empty:
                    self.min += 1
                if p.annotation in (str, "str"):
                    self.str_params.append(i)
        self.max = n


class Executor:
    """One execution: output buffer, variable stack and the node being evaluated (for errors)."""

    def __init__(
        self,
        trees: Mapping[str, Tree],
        funcs: Mapping[str, Callable[..., Any]],
        sigs: dict[Callable[..., Any], _Sig],
        missingkey: str,
        html: HTMLContext | None,
    ) -> None:
        self.trees = trees
        self.funcs = funcs
        self.sigs = sigs
        self.missingkey = missingkey
        self.out: list[str] = []
        self.vars: list[list[Any]] = []
        self.tree: Tree | None = None
        self.node: Node | None = None
        self.depth = 0
        self.html = html

    # errors -------------------------------------------------------------------------------
    def errorf(self, msg: str) -> TemplateError:
        tree, node = self.tree, self.node
        assert tree is not None
        if node is None:
            return TemplateError(f"template: {tree.name}: {msg}")
        text = tree.text[: node.pos]
        nl = text.rfind("\n")
        col = len(text[nl + 1 :].encode()) if nl >= 0 else len(text.encode())
        line = 1 + text.count("\n")
        ctx = str(node).replace("%", "%%")
        return TemplateError(
            f"template: {tree.parse_name}:{line}:{col}: executing {quote(tree.name)} at <{ctx}>: {msg}"
        )

    # entry --------------------------------------------------------------------------------
    def run(self, tree: Tree, data: Any) -> str:
        self.tree = tree
        self.vars = [["$", data]]
        self.walk(data, tree.root)
        return "".join(self.out)

    # walking ------------------------------------------------------------------------------
    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        if isinstance(node, TextNode):
            if self.html is not None:
                self.out.append(self.html.text(node.text))
            else:
                self.out.append(node.text)
        elif isinstance(node, ActionNode):
            assert node.pipe is not None
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.print_value(node, val)
        elif isinstance(node, ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, (IfNode, WithNode)):
            self.walk_if_with(dot, node)
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        elif isinstance(node, CommentNode):
            return
        else:  # pragma: no cover - the parser produces no other node types
            raise self.errorf(f"unknown node: {node}")

    def print_value(self, node: Node, val: Any) -> None:
        if val is NO_VALUE:
            s = "<no value>"
        elif callable(val) and not hasattr(val, "String") and not is_plain(val):
            raise self.errorf(f"can't print {node} of type {go_type_name(val)}")
        elif getattr(val, "go_pointer", False):
            s = str(val)  # text/template dereferences pointers before printing
        else:
            s = format_v(val)
        if self.html is not None:
            last = ""
            if isinstance(node, ActionNode) and node.pipe is not None:
                first = node.pipe.cmds[-1].args[0]
                last = first.ident if isinstance(first, IdentifierNode) else ""
            s = self.html.value(val, s, last)
        self.out.append(s)

    def mark(self) -> int:
        return len(self.vars)

    def walk_if_with(self, dot: Any, node: BranchNode) -> None:
        mark = self.mark()
        try:
            assert node.pipe is not None and node.list is not None
            val = self.eval_pipeline(dot, node.pipe)
            truth, _ = is_true(val)
            if truth:
                self.walk(val if isinstance(node, WithNode) else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        self.node = node
        mark = self.mark()
        assert node.pipe is not None and node.list is not None
        pipe = node.pipe
        try:
            val = self.eval_pipeline(dot, pipe)
            mark2 = self.mark()
            if val is NO_VALUE or val is None:
                items: Sequence[tuple[Any, Any]] = ()
            elif isinstance(val, Mapping):
                items = [(k, val[k]) for k in sorted(val, key=_map_key)]
            elif isinstance(val, (str, bytes)):
                raise self.errorf(f"range can't iterate over {format_v(val)}")
            elif isinstance(val, bool):
                raise self.errorf(f"range can't iterate over {format_v(val)}")
            elif isinstance(val, int):
                if len(pipe.decl) > 1:
                    raise self.errorf("can't use int to iterate over more than one variable")
                items = [(i, i) for i in range(val)]
            elif isinstance(val, Sequence):
                items = list(enumerate(val))
            else:
                try:
                    items = list(enumerate(iter(val)))
                except TypeError:
                    raise self.errorf(f"range can't iterate over {format_v(val)}") from None
            for index, elem in items:
                if pipe.decl:
                    if pipe.is_assign:
                        self.set_var(pipe.decl[0].ident[0], index if len(pipe.decl) > 1 else elem)
                    else:
                        self.vars[mark2 - 1][1] = elem
                if len(pipe.decl) > 1:
                    if pipe.is_assign:
                        self.set_var(pipe.decl[1].ident[0], elem)
                    else:
                        self.vars[mark2 - 2][1] = index
                try:
                    self.walk(elem, node.list)
                except _Continue:
                    pass
                except _Break:
                    break
                finally:
                    del self.vars[mark2:]
            if not items and node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        tree = self.trees.get(node.name)
        if tree is None:
            raise self.errorf(f"template {quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            raise self.errorf(f"exceeded maximum template depth ({MAX_DEPTH})")
        newdot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else NO_VALUE
        saved = (self.tree, self.vars, self.node)
        self.tree, self.vars = tree, [["$", newdot]]
        self.depth += 1
        try:
            self.walk(newdot, tree.root)
        finally:
            self.depth -= 1
            self.tree, self.vars, self.node = saved

    # variables ----------------------------------------------------------------------------
    def var_value(self, name: str) -> Any:
        for v in reversed(self.vars):
            if v[0] == name:
                return v[1]
        raise self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for v in reversed(self.vars):
            if v[0] == name:
                v[1] = value
                return
        raise self.errorf(f"undefined variable: {name}")

    # evaluation ---------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        self.node = pipe
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.ident[0], value)
            else:
                self.vars.append([var.ident[0], value])
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            raise self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return first.value
        if isinstance(first, StringNode):
            return first.text
        raise self.errorf(f"can't evaluate command {first}")  # pragma: no cover

    def eval_chain(self, dot: Any, chain: ChainNode, args: list[Node], final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, NilNode):
            raise self.errorf(f"indirection through explicit nil in {chain}")
        assert chain.node is not None
        pipe = self.eval_arg(dot, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable(self, dot: Any, var: VariableNode, args: list[Node], final: Any) -> Any:
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.ident[1:], args, final)

    def eval_field_chain(
        self, dot: Any, receiver: Any, node: Node, ident: list[str], args: list[Node], final: Any
    ) -> Any:
        for name in ident[:-1]:
            receiver = self.eval_field(dot, name, node, [], _MISSING, receiver)
        return self.eval_field(dot, ident[-1], node, args, final, receiver)

    def eval_field(
        self, dot: Any, name: str, node: Node, args: list[Node], final: Any, receiver: Any
    ) -> Any:
        if receiver is NO_VALUE:
            if self.missingkey == "error":
                raise self.errorf(f"nil data; no entry for key {quote(name)}")
            return NO_VALUE
        if receiver is None:
            raise self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        has_args = len(args) > 1 or final is not _MISSING
        plain = is_plain(receiver)
        exported = name[:1].isupper() or not isinstance(receiver, (Mapping, Sequence, str))
        if not plain and exported and not name.startswith("_"):
            attr = getattr(type(receiver), name, None)
            if attr is not None and callable(attr) and not isinstance(attr, type):
                method = getattr(receiver, name)
                return self.eval_call(dot, method, node, name, args, final)
        if isinstance(receiver, Mapping):
            if has_args:
                raise self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missingkey == "error":
                raise self.errorf(f"map has no entry for key {quote(name)}")
            if self.missingkey == "zero":
                return map_zero(receiver)
            return NO_VALUE
        if not plain and exported and not name.startswith("_") and hasattr(receiver, name):
            if has_args:
                raise self.errorf(f"{name} has arguments but cannot be invoked as function")
            return getattr(receiver, name)
        raise self.errorf(f"can't evaluate field {name} in type {go_type_name(receiver)}")

    def eval_function(
        self, dot: Any, node: IdentifierNode, cmd: Node, args: list[Node], final: Any
    ) -> Any:
        self.node = node
        name = node.ident
        if name in ("and", "or"):
            return self.eval_and_or(dot, name, args, final)
        fn = self.funcs.get(name)
        if fn is None:
            raise self.errorf(f"{quote(name)} is not a defined function")
        return self.eval_call(dot, fn, cmd, name, args, final)

    def eval_and_or(self, dot: Any, name: str, args: list[Node], final: Any) -> Any:
        nargs = len(args) - 1 + (final is not _MISSING)
        if nargs < 1:
            raise self.errorf(f"wrong number of args for {name}: want at least 1 got 0")
        v: Any = NO_VALUE
        for arg in args[1:]:
            v = self.eval_arg(dot, arg)
            if is_true(v)[0] == (name == "or"):
                return v
        if final is not _MISSING:
            v = final
        return v

    def eval_call(
        self, dot: Any, fn: Callable[..., Any], node: Node, name: str, args: list[Node], final: Any
    ) -> Any:
        argv = [self.eval_arg(dot, a) for a in args[1:]]
        if final is not _MISSING:
            argv.append(final)
        sig = self.sigs.get(fn)
        if sig is None:
            sig = self.sigs[fn] = _Sig(fn)
        n = len(argv)
        if sig.max < 0:
            if n < sig.min:
                self.node = node
                raise self.errorf(f"wrong number of args for {name}: want at least {sig.min} got {n}")
        elif not sig.min <= n <= sig.max:
            self.node = node
            raise self.errorf(f"wrong number of args for {name}: want {sig.max} got {n}")
        builtin = BUILTINS.get(name) is fn
        for i in sig.str_params:
            if i < n and not isinstance(argv[i], str):
                self.node = args[i + 1] if i + 1 < len(args) else node
                if isinstance(self.node, (BoolNode, NumberNode)):
                    raise self.errorf(f"expected string; found {self.node}")
                if isinstance(self.node, NilNode):
                    raise self.errorf("cannot assign nil to string")
                if argv[i] is NO_VALUE:
                    raise self.errorf("invalid value; expected string")
                raise self.errorf(f"wrong type for value; expected string; got {go_type_name(argv[i])}")
        if not builtin:
            argv = [None if a is NO_VALUE else a for a in argv]
        try:
            return fn(*argv)
        except TemplateError:
            raise
        except Exception as e:  # a template function failed: Go reports "error calling NAME: ERR"
            self.node = node
            raise self.errorf(f"error calling {name}: {_err_text(e)}") from e

    def eval_arg(self, dot: Any, n: Node) -> Any:
        self.node = n
        if isinstance(n, DotNode):
            return dot
        if isinstance(n, NilNode):
            return None
        if isinstance(n, FieldNode):
            return self.eval_field_chain(dot, dot, n, n.ident, [n], _MISSING)
        if isinstance(n, VariableNode):
            return self.eval_variable(dot, n, [], _MISSING)
        if isinstance(n, PipeNode):
            return self.eval_pipeline(dot, n)
        if isinstance(n, IdentifierNode):
            return self.eval_function(dot, n, n, [n], _MISSING)
        if isinstance(n, ChainNode):
            return self.eval_chain(dot, n, [], _MISSING)
        if isinstance(n, BoolNode):
            return n.value
        if isinstance(n, NumberNode):
            return n.value
        if isinstance(n, StringNode):
            return n.text
        raise self.errorf(f"can't handle {n} for arg")  # pragma: no cover


def _err_text(e: Exception) -> str:
    return str(e) if str(e) else type(e).__name__


def _map_key(k: Any) -> tuple[int, Any]:
    if isinstance(k, (int, float)) and not isinstance(k, bool):
        return (0, k)
    return (1, str(k))
