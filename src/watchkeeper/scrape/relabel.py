"""Relabeling (``relabel_configs`` / ``metric_relabel_configs``) with Prometheus' semantics.

Regexes are fully anchored RE2 (``compile_anchored``); replacements expand
``$1``, ``${1}``, ``$name`` and ``$$`` exactly like Go's ``regexp.Expand``;
``hashmod`` uses the low 8 bytes of the MD5 digest, big-endian, as Prometheus does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum
from functools import cached_property
from typing import Any

import re2
from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from ..gocompat.regexp import expand
from ..model.matchers import compile_anchored

__all__ = ["Action", "RelabelConfig", "relabel", "is_valid_label_name"]

DEFAULT_REGEX = "(.*)"

# Validation compiles quietly: RE2 would otherwise log every rejected pattern to stderr.
_QUIET = re2.Options()
_QUIET.log_errors = False


class Action(StrEnum):
    REPLACE = "replace"
    KEEP = "keep"
    DROP = "drop"
    KEEPEQUAL = "keepequal"
    DROPEQUAL = "dropequal"
    HASHMOD = "hashmod"
    LABELMAP = "labelmap"
    LABELDROP = "labeldrop"
    LABELKEEP = "labelkeep"
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"


def is_valid_label_name(name: str) -> bool:
    """Prometheus 3 (UTF-8 validation): any non-empty string is a valid label name."""
    return name != ""


def _is_legacy_label_name(name: str) -> bool:
    if not name or not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        return False
    return name.isascii() and name.replace("_", "a").isalnum()


def _var_in_template(s: str) -> bool:
    return "$" in s


class RelabelConfig(BaseModel):
    """One relabel rule as written in prometheus.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    source_labels: list[str] = Field(default_factory=list)
    separator: str = ";"
    regex: str = DEFAULT_REGEX
    modulus: int = 0
    target_label: str = ""
    replacement: str = "$1"
    action: Action = Action.REPLACE

    @field_validator("action", mode="before")
    @classmethod
    def _action(cls, v: Any) -> Any:
        if isinstance(v, str) and v.lower() in Action._value2member_map_:
            return v.lower()
        if isinstance(v, str):
            raise ValueError(f'unknown relabel action "{v}"')
        return v

    @field_validator("regex", mode="before")
    @classmethod
    def _regex(cls, v: Any) -> Any:
        if v is None:
            return DEFAULT_REGEX
        if not isinstance(v, str):
            v = str(v)
        try:
            re2.compile(f"^(?:{v})$", options=_QUIET)
        except re2.error as e:
            msg = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
            raise ValueError(f"error parsing regexp: {msg.split(': ^(?:')[0]}: `{v}`") from None
        return v

    @field_validator("source_labels")
    @classmethod
    def _sources(cls, v: list[str]) -> list[str]:
        for name in v:
            if not is_valid_label_name(name):
                raise ValueError(f'"{name}" is not a valid label name')
        return v

    @model_validator(mode="after")
    def _validate(self) -> RelabelConfig:
        a = self.action
        if a is Action.HASHMOD and self.modulus == 0:
            raise ValueError("relabel configuration for hashmod requires non-zero modulus")
        needs_target = (
            Action.REPLACE,
            Action.HASHMOD,
            Action.LOWERCASE,
            Action.UPPERCASE,
            Action.KEEPEQUAL,
            Action.DROPEQUAL,
        )
        if a in needs_target and not self.target_label:
            raise ValueError(f"relabel configuration for {a.value} action requires 'target_label' value")
        if (
            a is Action.REPLACE
            and not _var_in_template(self.target_label)
            and not is_valid_label_name(self.target_label)
        ):
            raise ValueError(f"\"{self.target_label}\" is invalid 'target_label' for {a.value} action")
        if a in (Action.LOWERCASE, Action.UPPERCASE, Action.KEEPEQUAL, Action.DROPEQUAL) and (
            _var_in_template(self.target_label) or not is_valid_label_name(self.target_label)
        ):
            raise ValueError(f"\"{self.target_label}\" is invalid 'target_label' for {a.value} action")
        if a in (Action.LOWERCASE, Action.UPPERCASE, Action.KEEPEQUAL, Action.DROPEQUAL) and (
            self.replacement != "$1"
        ):
            raise ValueError(f"'replacement' can not be set for {a.value} action")
        if (
            a is Action.LABELMAP
            and not _var_in_template(self.replacement)
            and not is_valid_label_name(self.replacement)
        ):
            raise ValueError(f"\"{self.replacement}\" is invalid 'replacement' for {a.value} action")
        if a is Action.HASHMOD and not is_valid_label_name(self.target_label):
            raise ValueError(f"\"{self.target_label}\" is invalid 'target_label' for {a.value} action")
        if a in (Action.LABELDROP, Action.LABELKEEP) and (
            self.source_labels
            or self.target_label
            or self.modulus
            or self.separator != ";"
            or self.replacement != "$1"
        ):
            raise ValueError(f"{a.value} action requires only 'regex', and no other fields")
        if a in (Action.KEEPEQUAL, Action.DROPEQUAL) and (
            self.regex != DEFAULT_REGEX or self.modulus or self.separator != ";" or self.replacement != "$1"
        ):
            raise ValueError(
                f"{a.value} action requires only 'source_labels' and `target_label`, and no other fields"
            )
        return self

    @field_serializer("action")
    def _ser_action(self, v: Action) -> str:
        return v.value

    @cached_property
    def compiled(self) -> Any:
        """The anchored RE2 regex (compiled once per config object)."""
        return compile_anchored(self.regex)


def _apply(cfg: RelabelConfig, lb: dict[str, str]) -> bool:
    """Apply one rule to ``lb`` in place; False means the series/target is dropped."""
    a = cfg.action
    val = cfg.separator.join(lb.get(n, "") for n in cfg.source_labels)
    rx = cfg.compiled
    if a is Action.REPLACE:
        m = rx.match(val)
        if m is None:
            return True
        target = expand(cfg.target_label, m, rx.groupindex)
        if not is_valid_label_name(target):
            return True
        res = expand(cfg.replacement, m, rx.groupindex)
        if res:
            lb[target] = res
        else:
            lb.pop(target, None)
    elif a is Action.KEEP:
        return rx.match(val) is not None
    elif a is Action.DROP:
        return rx.match(val) is None
    elif a is Action.KEEPEQUAL:
        return lb.get(cfg.target_label, "") == val
    elif a is Action.DROPEQUAL:
        return lb.get(cfg.target_label, "") != val
    elif a is Action.LOWERCASE:
        _set(lb, cfg.target_label, val.lower())
    elif a is Action.UPPERCASE:
        _set(lb, cfg.target_label, val.upper())
    elif a is Action.HASHMOD:
        digest = hashlib.md5(val.encode()).digest()
        _set(lb, cfg.target_label, str(int.from_bytes(digest[8:], "big") % cfg.modulus))
    elif a is Action.LABELMAP:
        for name, value in list(lb.items()):
            m = rx.match(name)
            if m is not None:
                _set(lb, expand(cfg.replacement, m, rx.groupindex), value)
    elif a is Action.LABELDROP:
        for name in [n for n in lb if rx.match(n) is not None]:
            del lb[name]
    elif a is Action.LABELKEEP:
        for name in [n for n in lb if rx.match(n) is None]:
            del lb[name]
    return True


def _set(lb: dict[str, str], name: str, value: str) -> None:
    if value:
        lb[name] = value
    else:
        lb.pop(name, None)


def relabel(labels: dict[str, str], configs: Sequence[RelabelConfig]) -> dict[str, str] | None:
    """Apply ``configs`` in order to a copy of ``labels``; None if a rule dropped it."""
    lb = dict(labels)
    for cfg in configs:
        if not _apply(cfg, lb):
            return None
    return lb
