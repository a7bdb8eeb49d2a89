"""Strict mapping of YAML blocks onto config dataclasses, as Go's ``yaml.UnmarshalStrict`` does.

A dataclass field holds a YAML key of the same name. Unknown keys are rejected with Go's wording
(``field X not found in type T``); fields marked ``secret()`` are printed as ``<secret>`` when dumped.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypeVar

from .errors import ConfigError
from .yamlnodes import line_of

__all__ = ["secret", "load_strict", "dump", "Strict", "SECRET_MASK", "check_http_config", "one_of"]

SECRET_MASK = "<secret>"
T = TypeVar("T", bound="Strict")

_HTTP_KEYS = {
    "authorization",
    "basic_auth",
    "oauth2",
    "bearer_token",
    "bearer_token_file",
    "tls_config",
    "proxy_url",
    "no_proxy",
    "proxy_from_environment",
    "proxy_connect_header",
    "follow_redirects",
    "enable_http2",
    "http_headers",
}
_HTTP_SECRET_KEYS = {"credentials", "password", "bearer_token", "client_secret", "key"}


class Strict:
    """Base of config dataclasses; ``GO_TYPE`` names the type in 'field not found' errors."""

    GO_TYPE: ClassVar[str] = "config.plain"
    # YAML keys that are Python keywords map onto a field with a trailing underscore (`from` -> `from_`).
    RENAMES: ClassVar[dict[str, str]] = {}


def secret(default: Any = None) -> Any:
    """A dataclass field whose value is masked when the config is dumped."""
    return dataclasses.field(default=default, metadata={"secret": True})


def load_strict(
    cls: type[T],
    node: Any,
    *,
    what: str,
    unknown: list[tuple[int | None, str]],
    removed: frozenset[str] = frozenset(),
) -> T:
    """Build ``cls`` from mapping ``node`` (``None`` gives all defaults).

    Unknown keys (and ``removed`` ones, for an older Alertmanager) are appended to ``unknown`` as
    ``(line, message)`` and left out, because Go's strict YAML decoding reports them together at the end
    rather than stopping at the first.
    """
    if node is None:
        node = {}
    if not isinstance(node, dict):
        raise ConfigError(f"{what} must be a mapping, got {type(node).__name__}", line=line_of(node))
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in node.items():
        field_name = cls.RENAMES.get(key, key)
        if field_name not in names or key in cls.RENAMES.values() or key in removed:
            unknown.append((line_of(node, key), f"field {key} not found in type {cls.GO_TYPE}"))
        elif value is not None:
            kwargs[field_name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field is missing
        raise ConfigError(f"{what}: {exc}", line=line_of(node)) from None


def one_of(a: Any, b: Any, message: str) -> None:
    """Alertmanager's 'at most one of X & X_file' rule."""
    if a and b:
        raise ValueError(message)


def check_http_config(node: Any) -> None:
    """Validate an ``http_config`` block: known keys, at most one auth method, no inline+file duplicates."""
    if node is None:
        return
    if not isinstance(node, dict):
        raise ValueError("http_config must be a mapping")
    for key in node:
        if key not in _HTTP_KEYS:
            raise ValueError(f"field {key} not found in type config.plain")
    methods = [
        k
        for k in ("basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file")
        if node.get(k)
    ]
    if "bearer_token" in methods and "bearer_token_file" in methods:
        raise ValueError("at most one of bearer_token & bearer_token_file must be configured")
    if len(methods) > 1 and not set(methods) <= {"bearer_token", "bearer_token_file"}:
        raise ValueError(
            "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
        )
    auth = node.get("authorization") or {}
    if auth.get("credentials") and auth.get("credentials_file"):
        raise ValueError("at most one of authorization credentials & credentials_file must be configured")
    basic = node.get("basic_auth") or {}
    if basic.get("password") and basic.get("password_file"):
        raise ValueError("at most one of basic_auth password & password_file must be configured")


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: SECRET_MASK if k in _HTTP_SECRET_KEYS and v else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def dump(obj: Any) -> Any:
    """Plain data for YAML/JSON output, secrets masked; ``None`` fields left out."""
    if isinstance(obj, Strict) and dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {}
        back = {v: k for k, v in obj.RENAMES.items()}
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if v is None or f.name.startswith("_"):
                continue
            out[back.get(f.name, f.name)] = SECRET_MASK if f.metadata.get("secret") and v else dump(v)
        return out
    if isinstance(obj, list | tuple):
        return [dump(v) for v in obj]
    if isinstance(obj, dict):
        return {k: dump(v) for k, v in _mask(obj).items()}
    return obj
