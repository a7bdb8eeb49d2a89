"""Notification templates: watchkeeper's defaults plus the user's ``templates:`` files, and rendering of
a channel field (``title: '{{ template "slack.default.title" . }}'``) against one notification.

Text fields use Go text/template semantics, email HTML bodies html/template's escaping, as Alertmanager.
Field texts are parsed once and cached by text.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from importlib import resources

from ..template import TemplateSet
from ..template.alertmanager_data import Data
from ..template.alertmanager_funcs import alertmanager_funcs

__all__ = ["Templates"]

_DEFAULTS = ("default.tmpl", "email.tmpl")


def _default_texts() -> list[tuple[str, str]]:
    pkg = resources.files(__package__) / "templates"
    return [(name, (pkg / name).read_text(encoding="utf-8")) for name in _DEFAULTS]


class Templates:
    """The template sets of one configuration (one for text fields, one for HTML)."""

    def __init__(self, user_globs: Iterable[str] = ()) -> None:
        texts = _default_texts()
        for pattern in user_globs:
            for path in sorted(glob.glob(pattern)):
                with open(path, encoding="utf-8") as fh:
                    texts.append((path, fh.read()))
        self._text = TemplateSet(alertmanager_funcs(), missingkey="zero")
        self._html = TemplateSet(alertmanager_funcs(), html=True, missingkey="zero")
        for name, text in texts:
            self._text.parse(text, name)
            self._html.parse(text, name)
        self._fields: dict[tuple[bool, str], str] = {}

    def execute(self, name: str, data: Data) -> str:
        """Run a defined template (e.g. ``__subject``)."""
        return self._text.execute(name, data)

    def render(self, text: str | None, data: Data, *, html: bool = False) -> str:
        """Expand a config field's template text; ``None`` renders as empty."""
        if not text:
            return ""
        if "{{" not in text:
            return text
        ts = self._html if html else self._text
        key = (html, text)
        name = self._fields.get(key)
        if name is None:
            name = f"__field_{len(self._fields)}"
            ts.parse(f'{{{{ define "{name}" }}}}{text}{{{{ end }}}}', name)
            self._fields[key] = name
        return ts.execute(name, data)
