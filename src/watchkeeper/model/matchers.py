"""Label matchers (``=``, ``!=``, ``=~``, ``!~``) with Go RE2 semantics.

Regexes are fully anchored and compiled with google-re2, so that what a user's
Prometheus matches, watchkeeper matches. Prometheus 3 lets ``.`` match newlines.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import re2

from .labels import Labels, format_label_value

__all__ = ["MatchType", "Matcher", "compile_anchored"]


class MatchType(enum.Enum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


_OPTIONS = re2.Options()
_OPTIONS.dot_nl = True
_OPTIONS.max_mem = 64 << 20
# Invalid user regexes are reported as errors to the caller; RE2's own stderr log would only be noise.
_OPTIONS.log_errors = False


def compile_anchored(pattern: str) -> re2._Regexp:
    """Compile ``pattern`` as a fully anchored RE2 regex; raises ``re2.error`` if invalid."""
    return re2.compile(f"^(?:{pattern})$", options=_OPTIONS)


@dataclass(frozen=True)
class Matcher:
    """One label matcher. ``matches`` treats a missing label as the empty string."""

    type: MatchType
    name: str
    value: str
    _re: object = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.type in (MatchType.REGEX, MatchType.NOT_REGEX):
            object.__setattr__(self, "_re", compile_anchored(self.value))

    @classmethod
    def eq(cls, name: str, value: str) -> Matcher:
        return cls(MatchType.EQUAL, name, value)

    def matches(self, value: str) -> bool:
        t = self.type
        if t is MatchType.EQUAL:
            return value == self.value
        if t is MatchType.NOT_EQUAL:
            return value != self.value
        hit = self._re.match(value) is not None  # type: ignore[attr-defined]
        return hit if t is MatchType.REGEX else not hit

    def matches_labels(self, labels: Labels) -> bool:
        return self.matches(labels.get(self.name))

    @property
    def matches_empty(self) -> bool:
        return self.matches("")

    def __str__(self) -> str:
        return f"{self.name}{self.type.value}{format_label_value(self.value)}"
