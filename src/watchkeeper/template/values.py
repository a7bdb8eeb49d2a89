"""How Python values behave as Go values inside templates: missing values, truth, typed strings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NO_VALUE", "NoValue", "HTML", "URL", "JS", "CSS", "HTMLAttr", "is_true", "map_zero", "is_plain"]


class NoValue:
    """Go's invalid reflect.Value: what a missing map key yields; prints as ``<no value>``."""

    _instance: NoValue | None = None

    def __new__(cls) -> NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return False


NO_VALUE = NoValue()


class HTML(str):
    """html/template.HTML: trusted markup, printed unescaped in HTML text context."""

    go_type = "template.HTML"


class URL(str):
    """html/template.URL: a trusted URL, not filtered in URL attributes."""

    go_type = "template.URL"


class JS(str):
    """html/template.JS: trusted JavaScript expression."""

    go_type = "template.JS"


class CSS(str):
    """html/template.CSS: trusted CSS."""

    go_type = "template.CSS"


class HTMLAttr(str):
    """html/template.HTMLAttr: a trusted attribute name/value pair."""

    go_type = "template.HTMLAttr"


def is_plain(v: Any) -> bool:
    """True for the Python builtins that stand for Go basic kinds, maps and slices."""
    return type(v) in (str, int, float, bool, dict, list, tuple) or v is None


def is_true(v: Any) -> tuple[bool, bool]:
    """Go's template truth: (truth, ok). Empty strings/maps/slices, zero numbers, nil are false."""
    if v is NO_VALUE or v is None:
        return False, True
    if isinstance(v, bool):
        return v, True
    if isinstance(v, (int, float, complex)):
        return v != 0, True
    if isinstance(v, (str, bytes, Mapping, Sequence)):
        return len(v) > 0, True
    return True, True


def map_zero(m: Mapping[Any, Any]) -> Any:
    """Zero value of a map's element type, for ``missingkey=zero`` and ``index``.

    Python maps carry no element type; a map whose values are all strings (or that declares
    ``go_elem_zero``) stands for Go's map[string]string, whose zero is "".  Anything else stands
    for map[string]interface{}, whose zero is a nil interface that prints as ``<no value>``.
    """
    zero = getattr(m, "go_elem_zero", NO_VALUE)
    if zero is not NO_VALUE:
        return zero
    if all(isinstance(x, str) for x in m.values()):
        return ""
    return NO_VALUE
