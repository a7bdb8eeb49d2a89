"""The one error type of the template package; its text reads like Go's template errors."""

from __future__ import annotations

__all__ = ["TemplateError"]


class TemplateError(Exception):
    """A parse or execution error, e.g. ``template: x:1:5: executing "x" at <.Foo>: ...``."""
