"""The routing tree: parsing ``route:``, resolving inherited options, and matching alerts to nodes.

Matching is Alertmanager's depth-first search (``dispatch/route.go``): a node matches when all its matchers
do; its children are tried in file order, a matching child without ``continue`` ends the search among its
siblings, and a node none of whose children match is itself the result. Options are inherited from the
parent except matchers, ``continue`` and the time intervals, which belong to the node that lists them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model.matchers import Matcher, MatchType
from .durations import format_duration, parse_duration
from .errors import ConfigError
from .keys import format_matchers, group_key
from .matchers import MatcherParseError, is_label_name, make_matcher, parse_matchers
from .yamlnodes import line_of

__all__ = ["RouteOpts", "Route", "parse_route", "parse_matcher_list", "render_tree", "DEFAULT_ROUTE_OPTS"]

_ROUTE_KEYS = {
    "receiver",
    "group_by",
    "match",
    "match_re",
    "matchers",
    "continue",
    "routes",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "mute_time_intervals",
    "active_time_intervals",
    "labels",
    # watchkeeper extension (not in Alertmanager): tell a paged receiver when a silenced alert resolves.
    "send_resolved_when_silenced",
}


@dataclass(frozen=True)
class RouteOpts:
    """A node's effective options. Durations are seconds; ``group_by_all`` is ``group_by: ['...']``."""

    receiver: str
    group_by: frozenset[str] = frozenset()
    group_by_all: bool = False
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    send_resolved_when_silenced: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The shape Alertmanager's API prints for route options."""
        return {
            "receiver": self.receiver,
            "group_by": ["..."] if self.group_by_all else sorted(self.group_by),
            "group_wait": format_duration(self.group_wait),
            "group_interval": format_duration(self.group_interval),
            "repeat_interval": format_duration(self.repeat_interval),
            "mute_time_intervals": list(self.mute_time_intervals),
            "active_time_intervals": list(self.active_time_intervals),
        }


DEFAULT_ROUTE_OPTS = RouteOpts(receiver="")


@dataclass(eq=False)
class Route:
    """One node of the routing tree with its resolved options."""

    opts: RouteOpts
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    routes: list[Route] = field(default_factory=list)
    parent: Route | None = field(default=None, repr=False)
    line: int | None = None

    @property
    def key(self) -> str:
        """``{}`` for the root, ``<parent key>/{matchers}`` below it."""
        own = format_matchers(self.matchers)
        return own if self.parent is None else f"{self.parent.key}/{own}"

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The nodes an alert with ``labels`` is processed on, in order (see module docstring)."""
        if not self.matches(labels):
            return []
        result: list[Route] = []
        for child in self.routes:
            found = child.match(labels)
            result += found
            if found and not child.continue_:
                break
        return result or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The alert's labels restricted to this node's ``group_by`` (all of them with ``'...'``)."""
        if self.opts.group_by_all:
            return dict(labels)
        return {k: v for k, v in labels.items() if k in self.opts.group_by}

    def group_key(self, labels: Mapping[str, str]) -> str:
        """The aggregation group key of an alert on this node."""
        return group_key(self.key, self.group_labels(labels))

    def walk(self) -> Iterator[Route]:
        """This node and all below it, depth first in file order."""
        yield self
        for child in self.routes:
            yield from child.walk()


def _err(message: str, node: Any, key: Any = None) -> ConfigError:
    return ConfigError(message, line=line_of(node, key))


def parse_matcher_list(node: Any, owner: Any, key: str) -> list[Matcher]:
    """A ``matchers:`` list of strings (each may hold several comma-separated matchers)."""
    if node is None:
        return []
    if not isinstance(node, list):
        raise _err(f"{key} must be a list of strings", owner, key)
    out: list[Matcher] = []
    for item in node:
        try:
            out += parse_matchers(str(item))
        except MatcherParseError as exc:
            raise _err(str(exc), owner, key) from None
    return out


def parse_label_maps(node: Mapping[str, Any], eq_key: str, re_key: str) -> list[Matcher]:
    """The deprecated ``match``/``match_re`` maps (or ``source_match``/...), validated like Alertmanager."""
    out: list[Matcher] = []
    for key, regex in ((eq_key, False), (re_key, True)):
        values = node.get(key)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise _err(f"{key} must be a mapping", node, key)
        for name, value in values.items():
            if regex and value is None:
                raise _err(f'invalid regexp value for "{name}"', values, name)
            if not is_label_name(str(name)):
                raise _err(f'invalid label name "{name}"', values, name)
            try:
                if regex:
                    # Alertmanager compiles match_re values anchored and builds the matcher from that
                    # anchored text, which is what route keys and `amtool config routes` show.
                    out.append(make_matcher(MatchType.REGEX, str(name), f"^(?:{value})$"))
                else:
                    out.append(make_matcher(MatchType.EQUAL, str(name), "" if value is None else str(value)))
            except MatcherParseError as exc:
                raise _err(str(exc), values, name) from None
    return out


def _duration(node: Mapping[str, Any], key: str, inherited: float) -> float:
    if node.get(key) is None:
        return inherited
    try:
        value = parse_duration(node[key])
    except ValueError as exc:
        raise _err(str(exc), node, key) from None
    if value == 0 and key in ("group_interval", "repeat_interval"):
        raise _err(f"{key} cannot be zero", node, key)
    return value


def _group_by(node: Mapping[str, Any]) -> tuple[frozenset[str], bool] | None:
    raw = node.get("group_by")
    if not raw:
        return None  # unset or [] inherits the parent's list (as the 0.25 binary does)
    if not isinstance(raw, list):
        raise _err("group_by must be a list", node, "group_by")
    names: list[str] = []
    group_all = False
    for item in raw:
        name = str(item)
        if name == "...":
            group_all = True
            continue
        if not is_label_name(name):
            raise _err(f'invalid label name "{name}" in group_by list', node, "group_by")
        if name in names:
            raise _err(f'duplicated label "{name}" in group_by', node, "group_by")
        names.append(name)
    if group_all and names:
        raise _err(
            "cannot have wildcard group_by (`...`) and other other labels at the same time", node, "group_by"
        )
    return frozenset(names), group_all


def _names(node: Mapping[str, Any], key: str) -> tuple[str, ...]:
    raw = node.get(key) or []
    if not isinstance(raw, list):
        raise _err(f"{key} must be a list", node, key)
    return tuple(str(x) for x in raw)


def parse_route(
    node: Any,
    parent: Route | None = None,
    *,
    unknown: list[tuple[int | None, str]],
    removed: frozenset[str] = frozenset(),
) -> Route:
    """Parse a route node (and its children) from YAML, resolving options against ``parent``.

    Unknown keys (and ``removed`` ones) are collected in ``unknown`` as ``(line, message)``.
    """
    if not isinstance(node, dict):
        raise ConfigError("route must be a mapping", line=line_of(node))
    for key in node:
        if key not in _ROUTE_KEYS or key in removed:
            unknown.append((line_of(node, key), f"field {key} not found in type config.plain"))
    base = parent.opts if parent is not None else DEFAULT_ROUTE_OPTS
    matchers = parse_label_maps(node, "match", "match_re") + parse_matcher_list(
        node.get("matchers"), node, "matchers"
    )
    grouping = _group_by(node)
    group_by, group_all = grouping if grouping is not None else (base.group_by, base.group_by_all)
    cont = node.get("continue", False)
    if not isinstance(cont, bool):
        raise _err(f"continue must be a boolean, got {cont!r}", node, "continue")
    srws = node.get("send_resolved_when_silenced", base.send_resolved_when_silenced)
    if not isinstance(srws, bool):
        raise _err(
            f"send_resolved_when_silenced must be a boolean, got {srws!r}",
            node,
            "send_resolved_when_silenced",
        )
    labels = node.get("labels") or {}
    if not isinstance(labels, dict):
        raise _err("labels must be a mapping", node, "labels")
    opts = RouteOpts(
        receiver=str(node["receiver"]) if node.get("receiver") else base.receiver,
        group_by=group_by,
        group_by_all=group_all,
        group_wait=_duration(node, "group_wait", base.group_wait),
        group_interval=_duration(node, "group_interval", base.group_interval),
        repeat_interval=_duration(node, "repeat_interval", base.repeat_interval),
        mute_time_intervals=_names(node, "mute_time_intervals"),
        active_time_intervals=_names(node, "active_time_intervals"),
        labels={**base.labels, **{str(k): str(v) for k, v in labels.items()}},
        send_resolved_when_silenced=srws,
    )
    route = Route(opts=opts, matchers=tuple(matchers), continue_=cont, parent=parent, line=line_of(node))
    children = node.get("routes") or []
    if not isinstance(children, list):
        raise _err("routes must be a list", node, "routes")
    route.routes = [parse_route(child, route, unknown=unknown, removed=removed) for child in children]
    return route


def render_tree(root: Route) -> str:
    """The routing tree as ``amtool config routes`` prints it."""

    def slug(node: Route) -> str:
        out = format_matchers(node.matchers) if node.matchers else "default-route"
        if node.continue_:
            out += "  continue: true"
        return f"{out}  receiver: {node.opts.receiver}"

    lines = ["Routing tree:", ".", f"└── {slug(root)}"]

    def walk(node: Route, prefix: str) -> None:
        for i, child in enumerate(node.routes):
            last = i == len(node.routes) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{slug(child)}")
            # amtool's tree library pads the vertical bar with two no-break spaces.
            walk(child, prefix + ("    " if last else "│\u00a0\u00a0 "))

    walk(root, "    ")
    return "\n".join(lines) + "\n"
