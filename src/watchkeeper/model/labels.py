"""Label sets: the identity of a series.

A ``Labels`` is an immutable, hashable set of (name, value) pairs kept sorted by
name, with empty values removed (Prometheus treats an empty value as absent).
One object exists per series, never per sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

METRIC_NAME = "__name__"

__all__ = ["METRIC_NAME", "Labels", "format_label_value"]


def format_label_value(value: str) -> str:
    """Quote a label value the way Prometheus prints it (Go %q-like escaping)."""
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def _is_legacy_name(name: str) -> bool:
    if not name:
        return False
    first = name[0]
    if not (first.isascii() and (first.isalpha() or first in "_:")):
        return False
    return all(c.isascii() and (c.isalnum() or c in "_:") for c in name)


class Labels:
    """An immutable sorted label set."""

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        if isinstance(items, Mapping):
            items = items.items()
        d = {k: v for k, v in items if v != ""}
        self._items: tuple[tuple[str, str], ...] = tuple(sorted(d.items()))
        self._hash = hash(self._items)

    @classmethod
    def from_sorted(cls, items: tuple[tuple[str, str], ...]) -> Labels:
        """Build from pairs already sorted by name with no empty values (no checks)."""
        obj = cls.__new__(cls)
        obj._items = items
        obj._hash = hash(items)
        return obj

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        return self._items

    def get(self, name: str, default: str = "") -> str:
        for k, v in self._items:
            if k == name:
                return v
        return default

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self._items)

    @property
    def name(self) -> str:
        """The metric name (``__name__``), or '' if none."""
        return self.get(METRIC_NAME)

    def names(self) -> list[str]:
        return [k for k, _ in self._items]

    def to_dict(self) -> dict[str, str]:
        return dict(self._items)

    def without(self, *names: str) -> Labels:
        drop = set(names)
        return Labels.from_sorted(tuple(p for p in self._items if p[0] not in drop))

    def only(self, *names: str) -> Labels:
        keep = set(names)
        return Labels.from_sorted(tuple(p for p in self._items if p[0] in keep))

    def without_name(self) -> Labels:
        return self.without(METRIC_NAME)

    def with_(self, **kv: str) -> Labels:
        return self.merge(kv)

    def merge(self, kv: Mapping[str, str]) -> Labels:
        """Return a copy with ``kv`` set (an empty value deletes the label)."""
        d = dict(self._items)
        d.update(kv)
        return Labels(d)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Labels) and self._items == other._items

    def __lt__(self, other: Labels) -> bool:
        return self._items < other._items

    def __repr__(self) -> str:
        return f"Labels({str(self)})"

    def __str__(self) -> str:
        """Prometheus' text form: ``name{a="b", c="d"}``."""
        name = self.name
        rest = []
        for k, v in self._items:
            if k == METRIC_NAME:
                continue
            key = k if _is_legacy_name(k) else format_label_value(k)
            rest.append(f"{key}={format_label_value(v)}")
        if name and not _is_legacy_name(name):
            rest.insert(0, format_label_value(name))
            name = ""
        return f"{name}{{{', '.join(rest)}}}" if rest or not name else name
