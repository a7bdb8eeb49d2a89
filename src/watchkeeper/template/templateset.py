"""TemplateSet: a named collection of parsed templates sharing one function map (Go's *Template)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .builtins import BUILTINS
from .errors import TemplateError
from .executor import Executor, _Sig
from .gofmt import quote
from .htmlescape import HTMLContext
from .nodes import Tree
from .parser import parse

__all__ = ["TemplateSet", "expand"]

_MISSINGKEY = {"default", "invalid", "zero", "error"}


class TemplateSet:
    """Templates parsed from one or more texts; ``{{define}}``d names are shared across parses.

    `funcs` extend (and may override) Go's builtins; a function signals failure by raising, which
    becomes Go's ``error calling NAME: ...``.  `html=True` applies html/template's contextual
    escaping; `missingkey` is Go's ``Option("missingkey=...")``: ``default``/``invalid`` print
    ``<no value>``, ``zero`` yields the map's zero value ("" for string maps), ``error`` fails.
    """

    def __init__(
        self,
        funcs: Mapping[str, Callable[..., Any]] | None = None,
        *,
        html: bool = False,
        missingkey: str = "default",
    ) -> None:
        if missingkey not in _MISSINGKEY:
            raise ValueError(f"unrecognized option: missingkey={missingkey}")
        self.funcs: dict[str, Callable[..., Any]] = dict(BUILTINS)
        if funcs:
            self.funcs.update(funcs)
        self.html = html
        self.missingkey = missingkey
        self.trees: dict[str, Tree] = {}
        self._sigs: dict[Callable[..., Any], _Sig] = {}

    def _has_func(self, name: str) -> bool:
        return name in self.funcs or name in ("and", "or")

    def parse(self, text: str, name: str = "") -> TemplateSet:
        """Parse `text` as template `name`; its {{define}}s replace same-named earlier ones."""
        trees = parse(text, name, self._has_func)
        for tname, tree in trees.items():
            old = self.trees.get(tname)
            if old is not None and tree.is_empty() and not old.is_empty():
                continue  # Go keeps a non-empty template rather than replace it with an empty one
            self.trees[tname] = tree
        return self

    def names(self) -> list[str]:
        """Names of all templates in the set, sorted."""
        return sorted(self.trees)

    def lookup(self, name: str) -> Tree | None:
        return self.trees.get(name)

    def execute(self, name: str, data: Any) -> str:
        """Execute template `name` with `data` as dot; raises TemplateError like Go's Execute."""
        tree = self.trees.get(name)
        if tree is None:
            raise TemplateError(f"template: no template {quote(name)} associated with template {quote(name)}")
        html = HTMLContext() if self.html else None
        ex = Executor(self.trees, self.funcs, self._sigs, self.missingkey, html)
        try:
            return ex.run(tree, data)
        except RecursionError:
            raise ex.errorf("exceeded maximum template depth") from None


def expand(
    text: str, data: Any, funcs: Mapping[str, Callable[..., Any]] | None = None, *, name: str = ""
) -> str:
    """Parse and execute `text` once (text mode, missingkey=default)."""
    return TemplateSet(funcs).parse(text, name).execute(name, data)
