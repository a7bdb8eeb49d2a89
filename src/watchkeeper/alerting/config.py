"""alertmanager.yml, loaded and validated as Alertmanager does it, with its error messages.

``load_config(text)`` / ``load_config_file(path)`` return an ``AlertmanagerConfig`` whose receivers have
every default filled in (per-integration ``send_resolved``, global URLs, keys and HTTP settings), or raise
``ConfigError`` naming the line where one is known. ``dump_config`` prints it back with secrets masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..model.matchers import Matcher
from .channels import CHANNEL_CONFIGS, ChannelConfig
from .dialect import HEAD, Dialect
from .errors import ConfigError
from .globalconfig import GlobalConfig
from .matchers import is_label_name
from .route import Route, parse_label_maps, parse_matcher_list, parse_route
from .schema import dump, load_strict
from .timeintervals import NamedTimeInterval, parse_named_interval
from .yamlnodes import line_of, load_yaml

__all__ = [
    "AlertmanagerConfig",
    "Receiver",
    "InhibitRule",
    "load_config",
    "load_config_file",
    "load_config_mapping",
    "dump_config",
]

_TOP_KEYS = {
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "mute_time_intervals",
    "time_intervals",
    "tracing",
}
_INHIBIT_KEYS = {
    "source_match",
    "source_match_re",
    "source_matchers",
    "target_match",
    "target_match_re",
    "target_matchers",
    "equal",
}


@dataclass
class Receiver:
    """A named receiver; ``integrations`` maps ``<kind>_configs`` to its entries, in file order."""

    name: str
    integrations: dict[str, list[ChannelConfig]] = field(default_factory=dict)

    def all_integrations(self) -> list[tuple[str, int, ChannelConfig]]:
        """``(kind, index, config)`` for every integration, the identity the notification log keys on."""
        return [
            (cls.KIND, i, cfg)
            for key, cls in CHANNEL_CONFIGS.items()
            for i, cfg in enumerate(self.integrations.get(key, []))
        ]


@dataclass
class InhibitRule:
    """Mute alerts matching ``target_matchers`` while one matching ``source_matchers`` fires (``equal``)."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


@dataclass
class AlertmanagerConfig:
    """A loaded alertmanager.yml."""

    global_: GlobalConfig
    route: Route
    receivers: dict[str, Receiver]
    inhibit_rules: list[InhibitRule]
    time_intervals: dict[str, NamedTimeInterval]
    templates: list[str]
    tracing: dict[str, Any] | None = None
    original: str = ""


def _err(message: str, node: Any = None, key: Any = None) -> ConfigError:
    return ConfigError(message, line=line_of(node, key))


@dataclass
class _Parse:
    """State of one load: the dialect's rules and the unknown keys found so far (reported together)."""

    dialect: Dialect
    unknown: list[tuple[int | None, str]] = field(default_factory=list)

    def check_keys(self, node: dict[str, Any], allowed: set[str], context: str) -> None:
        removed = self.dialect.removed_in(context)
        for key in node:
            if key not in allowed or key in removed:
                self.unknown.append((line_of(node, key), f"field {key} not found in type config.plain"))

    def err(self, exc: ValueError, node: Any, key: Any = None) -> ConfigError:
        return _err(self.dialect.message(str(exc)), node, key)


def _parse_receiver(node: Any, p: _Parse) -> Receiver:
    if not isinstance(node, dict):
        raise _err("receiver must be a mapping", node)
    p.check_keys(node, {"name", *CHANNEL_CONFIGS}, "receiver")
    name = node.get("name")
    if not name:
        raise _err("missing name in receiver", node)
    receiver = Receiver(str(name))
    for key, cls in CHANNEL_CONFIGS.items():
        entries = node.get(key)
        if entries is None or key in p.dialect.removed_in("receiver"):
            continue
        if not isinstance(entries, list):
            raise _err(f"{key} must be a list", node, key)
        built = []
        for entry in entries:
            before = len(p.unknown)
            cfg = load_strict(cls, entry, what=key, unknown=p.unknown, removed=p.dialect.removed_in(cls.KIND))
            if len(p.unknown) == before:  # Go skips a block's own checks when it has unknown keys
                try:
                    cfg.check()
                    if p.dialect.telegram_token_inline and cls.KIND == "telegram" and not cfg.bot_token:
                        raise ValueError("missing bot_token on telegram_config")
                except ValueError as exc:
                    raise p.err(exc, entry) from None
            built.append(cfg)
        receiver.integrations[key] = built
    return receiver


def _parse_inhibit_rule(node: Any, p: _Parse) -> InhibitRule:
    if not isinstance(node, dict):
        raise _err("inhibit rule must be a mapping", node)
    p.check_keys(node, _INHIBIT_KEYS, "inhibit_rule")
    source = parse_label_maps(node, "source_match", "source_match_re") + parse_matcher_list(
        node.get("source_matchers"), node, "source_matchers"
    )
    target = parse_label_maps(node, "target_match", "target_match_re") + parse_matcher_list(
        node.get("target_matchers"), node, "target_matchers"
    )
    equal = [str(x) for x in node.get("equal") or []]
    for name in equal:
        if not is_label_name(name):
            raise _err(f'invalid label name "{name}" in equal list', node, "equal")
    return InhibitRule(tuple(source), tuple(target), tuple(equal))


def _parse_intervals(doc: dict[str, Any]) -> dict[str, NamedTimeInterval]:
    out: dict[str, NamedTimeInterval] = {}
    for key, label in (("mute_time_intervals", "mute time interval"), ("time_intervals", "time interval")):
        for entry in doc.get(key) or []:
            try:
                named = parse_named_interval(entry)
            except ValueError as exc:
                raise _err(str(exc), entry) from None
            if named.name in out:
                raise _err(f'{label} "{named.name}" is not unique', entry)
            out[named.name] = named
    return out


def _check_tree(
    route: Route, receivers: dict[str, Receiver], intervals: dict[str, NamedTimeInterval]
) -> None:
    """Alertmanager's checkReceiver then checkTimeInterval, children before the node itself."""
    for node in _post_order(route):
        if node.opts.receiver not in receivers:
            raise ConfigError(f'undefined receiver "{node.opts.receiver}" used in route', line=node.line)
    for node in _post_order(route):
        for name in node.opts.active_time_intervals + node.opts.mute_time_intervals:
            if name not in intervals:
                raise ConfigError(f'undefined time interval "{name}" used in route', line=node.line)


def _post_order(route: Route) -> list[Route]:
    out: list[Route] = []
    for child in route.routes:
        out += _post_order(child)
    out.append(route)
    return out


def _resolve_templates(globs: Any, base_dir: str | None) -> list[str]:
    if globs is None:
        return []
    if not isinstance(globs, list):
        raise ConfigError("templates must be a list of file globs")
    out = []
    for g in globs:
        g = str(g)
        out.append(g if base_dir is None or os.path.isabs(g) else os.path.join(base_dir, g))
    return out


def load_config(text: str, *, base_dir: str | None = None, dialect: Dialect = HEAD) -> AlertmanagerConfig:
    """Parse and validate alertmanager.yml content; relative template globs resolve against ``base_dir``.

    ``dialect`` selects the Alertmanager version whose rules apply (``HEAD`` unless checking for 0.25).
    """
    try:
        doc = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"yaml: {exc}", line=mark.line + 1 if mark else None) from None
    return load_config_mapping(doc, base_dir=base_dir, original=text, dialect=dialect)


def load_config_mapping(
    doc: Any, *, base_dir: str | None = None, original: str | None = None, dialect: Dialect = HEAD
) -> AlertmanagerConfig:
    """Validate an already parsed document, e.g. the ``alertmanager:`` section of the server config.

    Line numbers in errors are known only when ``doc`` came from ``yamlnodes.load_yaml``.
    """
    if original is None:
        original = yaml.safe_dump(doc, sort_keys=False) if doc is not None else ""
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(
            f"yaml: unmarshal errors:\n  line 1: cannot unmarshal !!{type(doc).__name__} "
            f"`{str(doc)[:40]}` into config.plain",
            line=1,
        )
    p = _Parse(dialect)
    p.check_keys(doc, _TOP_KEYS, "top")
    glob = load_strict(
        GlobalConfig,
        doc.get("global"),
        what="global",
        unknown=p.unknown,
        removed=dialect.removed_in("global"),
    )
    route_node = doc.get("route")
    route = None
    if route_node is not None:
        route = parse_route(route_node, unknown=p.unknown, removed=dialect.removed_in("route"))
    receivers = [_parse_receiver(r, p) for r in doc.get("receivers") or []]
    inhibit = [_parse_inhibit_rule(r, p) for r in doc.get("inhibit_rules") or []]
    intervals_only = _parse_intervals(doc)
    if p.unknown:
        lines = "\n".join(f"  line {line}: {msg}" for line, msg in p.unknown)
        raise ConfigError(f"yaml: unmarshal errors:\n{lines}", line=p.unknown[0][0])

    try:
        glob.validate()
    except ValueError as exc:
        gnode = doc.get("global") or {}
        named = [k for k in gnode if isinstance(k, str) and k in str(exc)]
        raise p.err(exc, gnode, named[0] if named else None) from None
    by_name: dict[str, Receiver] = {}
    for node, rcv in zip(doc.get("receivers") or [], receivers, strict=True):
        if rcv.name in by_name:
            raise _err(f'notification config name "{rcv.name}" is not unique', node)
        for key, configs in rcv.integrations.items():
            for entry, cfg in zip(node[key], configs, strict=True):
                try:
                    cfg.resolve(glob)
                except ValueError as exc:
                    raise p.err(exc, entry) from None
        by_name[rcv.name] = rcv

    if route is None:
        raise ConfigError("no routes provided")
    if not route_node.get("receiver"):
        raise _err("root route must specify a default receiver", route_node)
    if route.matchers:
        raise _err("root route must not have any matchers", route_node)
    if route.opts.mute_time_intervals:
        raise _err("root route must not have any mute time intervals", route_node)
    if route.opts.active_time_intervals:
        raise _err("root route must not have any active time intervals", route_node)
    if route_node.get("continue"):
        raise _err("cannot have continue in root route", route_node)
    _check_tree(route, by_name, intervals_only)

    tracing = doc.get("tracing")
    if tracing is not None and not isinstance(tracing, dict):
        raise _err("tracing must be a mapping", doc, "tracing")
    return AlertmanagerConfig(
        global_=glob,
        route=route,
        receivers=by_name,
        inhibit_rules=inhibit,
        time_intervals=intervals_only,
        templates=_resolve_templates(doc.get("templates"), base_dir),
        tracing=tracing,
        original=original,
    )


def load_config_file(path: str | os.PathLike[str], *, dialect: Dialect = HEAD) -> AlertmanagerConfig:
    """Load a file; errors carry its name."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"open {p}: {exc.strerror.lower() if exc.strerror else exc}", file=str(p)) from None
    try:
        return load_config(text, base_dir=str(p.parent), dialect=dialect)
    except ConfigError as exc:
        exc.file = str(p)
        raise


def dump_config(cfg: AlertmanagerConfig) -> str:
    """The effective config as YAML with secrets shown as ``<secret>`` (Alertmanager's ``/api/v2/status``)."""
    doc = yaml.load(cfg.original, Loader=yaml.SafeLoader) or {}  # noqa: S506 - plain safe loader
    out: dict[str, Any] = {"global": dump(cfg.global_)}
    out["route"] = doc.get("route") or {}
    if doc.get("inhibit_rules"):
        out["inhibit_rules"] = doc["inhibit_rules"]
    receivers = []
    for rcv in cfg.receivers.values():
        r: dict[str, Any] = {"name": rcv.name}
        for key, configs in rcv.integrations.items():
            r[key] = [dump(c) for c in configs]
        receivers.append(r)
    out["receivers"] = receivers
    for key in ("mute_time_intervals", "time_intervals"):
        if doc.get(key):
            out[key] = doc[key]
    out["templates"] = list(cfg.templates)
    return yaml.safe_dump(out, sort_keys=False, default_flow_style=False)
