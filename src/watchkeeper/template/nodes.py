"""Parse-tree nodes of Go text/template; ``str(node)`` rebuilds source as Go's ``Node.String`` does.

Go puts ``node.String()`` into execution errors (``executing "x" at <.Foo>: ...``), so each
node renders itself the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .gofmt import quote

__all__ = [
    "Node", "ListNode", "TextNode", "CommentNode", "ActionNode", "PipeNode", "CommandNode",
    "IdentifierNode", "VariableNode", "DotNode", "NilNode", "FieldNode", "ChainNode", "BoolNode",
    "NumberNode", "StringNode", "IfNode", "RangeNode", "WithNode", "TemplateNode", "BreakNode",
    "ContinueNode", "Tree",
]


@dataclass(eq=False)
class Node:
    pos: int

    def __str__(self) -> str:  # pragma: no cover - every node overrides it
        raise NotImplementedError


@dataclass(eq=False)
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


@dataclass(eq=False)
class TextNode(Node):
    text: str = ""

    def __str__(self) -> str:
        return quote(self.text)


@dataclass(eq=False)
class CommentNode(Node):
    text: str = ""

    def __str__(self) -> str:
        return "{{" + self.text + "}}"


@dataclass(eq=False)
class VariableNode(Node):
    ident: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return ".".join(self.ident)


@dataclass(eq=False)
class CommandNode(Node):
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        parts = []
        for a in self.args:
            parts.append(f"({a})" if isinstance(a, PipeNode) else str(a))
        return " ".join(parts)


@dataclass(eq=False)
class PipeNode(Node):
    line: int = 0
    is_assign: bool = False
    decl: list[VariableNode] = field(default_factory=list)
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


@dataclass(eq=False)
class ActionNode(Node):
    line: int = 0
    pipe: PipeNode | None = None

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(eq=False)
class IdentifierNode(Node):
    ident: str = ""

    def __str__(self) -> str:
        return self.ident


@dataclass(eq=False)
class DotNode(Node):
    def __str__(self) -> str:
        return "."


@dataclass(eq=False)
class NilNode(Node):
    def __str__(self) -> str:
        return "nil"


@dataclass(eq=False)
class FieldNode(Node):
    ident: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join("." + i for i in self.ident)


@dataclass(eq=False)
class ChainNode(Node):
    node: Node | None = None
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return base + "".join("." + f for f in self.fields)


@dataclass(eq=False)
class BoolNode(Node):
    value: bool = False

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(eq=False)
class NumberNode(Node):
    text: str = ""
    value: Any = 0  # int for integer constants (incl. chars), float otherwise

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False)
class StringNode(Node):
    quoted: str = ""
    text: str = ""

    def __str__(self) -> str:
        return self.quoted


@dataclass(eq=False)
class BranchNode(Node):
    line: int = 0
    pipe: PipeNode | None = None
    list: ListNode | None = None
    else_list: ListNode | None = None
    keyword: str = ""

    def __str__(self) -> str:
        s = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class IfNode(BranchNode):
    pass


class RangeNode(BranchNode):
    pass


class WithNode(BranchNode):
    pass


@dataclass(eq=False)
class TemplateNode(Node):
    line: int = 0
    name: str = ""
    pipe: PipeNode | None = None

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + quote(self.name) + "}}"
        return "{{template " + quote(self.name) + " " + str(self.pipe) + "}}"


@dataclass(eq=False)
class BreakNode(Node):
    line: int = 0

    def __str__(self) -> str:
        return "{{break}}"


@dataclass(eq=False)
class ContinueNode(Node):
    line: int = 0

    def __str__(self) -> str:
        return "{{continue}}"


@dataclass(eq=False)
class Tree:
    """One named template: its root list plus the source it was parsed from (for error positions)."""

    name: str
    parse_name: str
    text: str
    root: ListNode

    def is_empty(self) -> bool:
        """Go's IsEmptyTree: only whitespace text, comments and nothing else."""
        return _is_empty(self.root)


def _is_empty(n: Node) -> bool:
    if isinstance(n, ListNode):
        return all(_is_empty(c) for c in n.nodes)
    if isinstance(n, TextNode):
        return not n.text.strip(" \t\r\n")
    return isinstance(n, CommentNode)
