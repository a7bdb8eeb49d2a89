"""YAML loading that remembers where every value came from, so errors can say ``FILE:LINE``.

PyYAML composes the document into nodes that carry their positions; we build
the plain Python data from the same nodes and, alongside, a map from each
value's path (keys and list indexes) to its 1-based line number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["SourceMap", "YAMLSyntaxError", "load_yaml"]

Path = tuple[str | int, ...]


class YAMLSyntaxError(ValueError):
    """The text is not valid YAML (or repeats a key); ``line`` is 1-based, 0 if unknown."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class SourceMap:
    """Where each path of a loaded document sits in its file."""

    filename: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[Any]) -> int:
        """Line of the deepest known prefix of ``path`` (pydantic locations may carry extra parts)."""
        best = self.lines.get((), 1)
        prefix: list[str | int] = []
        for part in path:
            if not isinstance(part, str | int):
                continue
            candidate = (*prefix, part)
            if candidate in self.lines:
                prefix.append(part)
                best = self.lines[candidate]
        return best

    def where(self, path: Sequence[Any]) -> str:
        return f"{self.filename}:{self.line_of(path)}"


def load_yaml(text: str, filename: str = "<config>") -> tuple[Any, SourceMap]:
    """Parse one YAML document; returns the data (None for an empty document) and its source map."""
    loader = yaml.SafeLoader(text)
    srcmap = SourceMap(filename)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, srcmap
        _check_and_map(node, (), srcmap)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YAMLSyntaxError(f"{e.problem or e}", line) from None
    except yaml.YAMLError as e:
        raise YAMLSyntaxError(str(e)) from None
    finally:
        loader.dispose()
    return data, srcmap


def _check_and_map(node: yaml.Node, path: Path, srcmap: SourceMap) -> None:
    srcmap.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise YAMLSyntaxError(f'mapping key "{key}" already defined at line {seen[key]}', line)
            seen[key] = line
            # Point errors about a key at the key's own line, its children at theirs.
            _check_and_map(value_node, (*path, key), srcmap)
            srcmap.lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_and_map(item, (*path, i), srcmap)
