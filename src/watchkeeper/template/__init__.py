"""Go text/template and html/template semantics in Python, for Prometheus rule templates and
Alertmanager notification templates (output must equal Go's byte for byte)."""

from .errors import TemplateError
from .gofmt import format_float, sprint, sprintf, sprintln
from .templateset import TemplateSet, expand
from .values import CSS, HTML, JS, NO_VALUE, URL, HTMLAttr

__all__ = [
    "TemplateSet", "expand", "TemplateError", "sprint", "sprintf", "sprintln", "format_float",
    "HTML", "URL", "JS", "CSS", "HTMLAttr", "NO_VALUE",
]
