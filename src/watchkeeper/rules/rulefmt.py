"""Prometheus rule files: parsing and validation with Prometheus' messages.

Accepts a plain rule file (top-level ``groups``) and the ``PrometheusRule``
Kubernetes resource (``spec.groups``), which is how many teams keep rules. The
YAML is composed into a node tree first so errors can carry ``line:column``
positions the way Prometheus' yaml.v3 nodes do (1-based), and unknown fields are
rejected as yaml.v3's ``KnownFields`` decoding rejects them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..gocompat.durations import DurationError, parse_duration
from ..gocompat.quote import go_quote
from ..promql.errors import ParseError
from ..promql.parser import parse as parse_promql

# libyaml when available: rule files run to megabytes and pure-Python composing is slow.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "RuleDef",
    "GroupDef",
    "RuleFile",
    "parse_rules",
    "parse_rule_file",
    "NameValidation",
    "valid_label_name",
    "valid_metric_name",
]

NameValidation = str  # "utf8" (Prometheus 3.x default) or "legacy"

_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"

_FILE_FIELDS = {"groups"}
_GROUP_FIELDS = {"name", "interval", "query_offset", "limit", "rules", "labels"}
# "watchkeeper" is the extension key (severity levels, recovery thresholds); Prometheus rejects it.
_RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations", "watchkeeper"}
_EXT_FIELDS = {"levels"}
_LEVEL_FIELDS = {"labels", "above", "below", "recover_below", "recover_above"}


def valid_label_name(name: str, scheme: NameValidation = "utf8") -> bool:
    if scheme == "legacy":
        return bool(_LEGACY_LABEL.match(name))
    return name != ""


def valid_metric_name(name: str, scheme: NameValidation = "utf8") -> bool:
    if scheme == "legacy":
        return bool(_LEGACY_METRIC.match(name))
    return name != ""


@dataclass(frozen=True)
class RuleDef:
    """One rule as written. Exactly one of ``record`` and ``alert`` is set."""

    expr: str
    record: str = ""
    alert: str = ""
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # Extension: severity levels, each {labels, above|below, recover_below|recover_above} as written.
    levels: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return self.alert or self.record


@dataclass(frozen=True)
class GroupDef:
    """A rule group as written; ``interval_ms``/``query_offset_ms`` are None when unset."""

    name: str
    rules: list[RuleDef]
    interval_ms: int | None = None
    query_offset_ms: int | None = None
    limit: int = 0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleFile:
    groups: list[GroupDef]


class _Fatal(Exception):
    """Decoding stops (yaml syntax error, bad duration): one message, no validation."""


@dataclass
class _Pos:
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


def _pos(node: yaml.Node | None) -> _Pos:
    if node is None:
        return _Pos()
    return _Pos(node.start_mark.line + 1, node.start_mark.column + 1)


class _Decoder:
    """Walks a composed YAML tree into definitions, collecting yaml.v3-style unmarshal errors."""

    def __init__(self, known_fields: bool) -> None:
        self.known_fields = known_fields
        self.unmarshal_errors: list[str] = []

    def pairs(
        self, node: yaml.Node, type_name: str, known: set[str] | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Mapping entries (merge keys resolved) as name -> (key node, value node)."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.unmarshal_errors.append(
                f"line {_pos(node).line}: cannot unmarshal {_short_tag(node)} into {type_name}"
            )
            return {}
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            if k.tag == _MERGE_TAG:
                sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
                for src in sources:
                    for name, pair in self.pairs(src, type_name, known).items():
                        merged.setdefault(name, pair)
                continue
            name = str(k.value)
            if self.known_fields and known is not None and name not in known:
                self.unmarshal_errors.append(
                    f"line {_pos(k).line}: field {name} not found in type {type_name}"
                )
                continue
            out[name] = (k, v)
        for name, pair in merged.items():
            out.setdefault(name, pair)
        return out

    def string(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode):
            return "" if node.tag == _NULL_TAG else str(node.value)
        self.unmarshal_errors.append(
            f"line {_pos(node).line}: cannot unmarshal {_short_tag(node)} into string"
        )
        return ""

    def string_map(self, node: yaml.Node) -> dict[str, str]:
        return {k: self.string(v) for k, (_, v) in self.pairs(node, "map[string]string", None).items()}

    def duration(self, node: yaml.Node) -> int:
        text = self.string(node)
        try:
            return parse_duration(text)
        except DurationError as e:
            raise _Fatal(str(e)) from None

    def integer(self, node: yaml.Node) -> int:
        text = self.string(node)
        try:
            return int(text, 0)
        except ValueError:
            self.unmarshal_errors.append(f"line {_pos(node).line}: cannot unmarshal !!str `{text}` into int")
            return 0


def _short_tag(node: yaml.Node) -> str:
    tag = node.tag
    return "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else tag


@dataclass
class _RuleNodes:
    record: yaml.Node | None = None
    alert: yaml.Node | None = None
    expr: yaml.Node | None = None


def parse_rules(
    content: str | bytes,
    *,
    ignore_unknown_fields: bool = False,
    name_validation: NameValidation = "utf8",
    check_template: Callable[[str, str], str | None] | None = None,
) -> tuple[RuleFile | None, list[str]]:
    """Parse and validate rule file content; returns ``(file, errors)``.

    ``file`` is None when the YAML itself cannot be decoded. ``check_template``
    returns a parse error text for a label/annotation template (or None).
    """
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="surrogateescape")
    try:
        docs = list(yaml.compose_all(content, Loader=_LOADER))
    except yaml.YAMLError as e:
        return None, [_yaml_syntax_message(e)]
    root = docs[0] if docs else None
    dec = _Decoder(known_fields=not ignore_unknown_fields)
    try:
        groups, nodes = _decode_file(dec, root)
    except _Fatal as e:
        return None, [str(e)]
    if dec.unmarshal_errors:
        return None, ["yaml: unmarshal errors:\n  " + "\n  ".join(dec.unmarshal_errors)]
    rf = RuleFile(groups)
    return rf, _validate(rf, nodes, name_validation, check_template)


def parse_rule_file(path: str | Path, **kwargs: object) -> tuple[RuleFile | None, list[str]]:
    """``parse_rules`` on a file; every error is prefixed with the path as Prometheus does."""
    try:
        content = Path(path).read_bytes()
    except OSError as e:
        return None, [f"{path}: {e.strerror.lower() if e.strerror else e}"]
    rf, errs = parse_rules(content, **kwargs)  # type: ignore[arg-type]
    return rf, [f"{path}: {e}" for e in errs]


def _yaml_syntax_message(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is not None:
        return f"yaml: line {mark.line + 1}: {problem}"
    return f"yaml: {problem}"


def _decode_file(
    dec: _Decoder, root: yaml.Node | None
) -> tuple[list[GroupDef], list[tuple[yaml.Node, list[_RuleNodes]]]]:
    if root is None:
        return [], []
    top = dec.pairs(root, "rulefmt.RuleGroups", None)
    if "spec" in top and "groups" not in top:
        # A PrometheusRule custom resource: the groups live under spec.
        spec = dec.pairs(top["spec"][1], "PrometheusRuleSpec", None)
        groups_node = spec.get("groups", (None, None))[1]
    else:
        if dec.known_fields:
            for name, (k, _) in top.items():
                if name not in _FILE_FIELDS:
                    dec.unmarshal_errors.append(
                        f"line {_pos(k).line}: field {name} not found in type rulefmt.RuleGroups"
                    )
        groups_node = top.get("groups", (None, None))[1]
    groups: list[GroupDef] = []
    nodes: list[tuple[yaml.Node, list[_RuleNodes]]] = []
    if groups_node is None or (isinstance(groups_node, yaml.ScalarNode) and groups_node.tag == _NULL_TAG):
        return groups, nodes
    if not isinstance(groups_node, yaml.SequenceNode):
        dec.unmarshal_errors.append(
            f"line {_pos(groups_node).line}: cannot unmarshal {_short_tag(groups_node)} "
            "into []rulefmt.RuleGroup"
        )
        return groups, nodes
    for gnode in groups_node.value:
        g, rnodes = _decode_group(dec, gnode)
        groups.append(g)
        nodes.append((gnode, rnodes))
    return groups, nodes


def _decode_group(dec: _Decoder, gnode: yaml.Node) -> tuple[GroupDef, list[_RuleNodes]]:
    f = dec.pairs(gnode, "rulefmt.RuleGroup", _GROUP_FIELDS)
    name = dec.string(f["name"][1]) if "name" in f else ""
    interval = dec.duration(f["interval"][1]) if "interval" in f else None
    offset = dec.duration(f["query_offset"][1]) if "query_offset" in f else None
    limit = dec.integer(f["limit"][1]) if "limit" in f else 0
    labels = dec.string_map(f["labels"][1]) if "labels" in f else {}
    rules: list[RuleDef] = []
    rnodes: list[_RuleNodes] = []
    rules_node = f.get("rules", (None, None))[1]
    if isinstance(rules_node, yaml.SequenceNode):
        for rn in rules_node.value:
            r, n = _decode_rule(dec, rn)
            rules.append(r)
            rnodes.append(n)
    elif rules_node is not None and not (
        isinstance(rules_node, yaml.ScalarNode) and rules_node.tag == _NULL_TAG
    ):
        dec.unmarshal_errors.append(
            f"line {_pos(rules_node).line}: cannot unmarshal {_short_tag(rules_node)} into []rulefmt.Rule"
        )
    return GroupDef(
        name=name,
        rules=rules,
        interval_ms=interval or None,
        query_offset_ms=offset,
        limit=limit,
        labels=labels,
    ), rnodes


def _decode_rule(dec: _Decoder, rn: yaml.Node) -> tuple[RuleDef, _RuleNodes]:
    f = dec.pairs(rn, "rulefmt.Rule", _RULE_FIELDS)
    nodes = _RuleNodes(
        record=f.get("record", (None, None))[1],
        alert=f.get("alert", (None, None))[1],
        expr=f.get("expr", (None, None))[1],
    )
    rule = RuleDef(
        expr=dec.string(nodes.expr) if nodes.expr is not None else "",
        record=dec.string(nodes.record) if nodes.record is not None else "",
        alert=dec.string(nodes.alert) if nodes.alert is not None else "",
        for_ms=dec.duration(f["for"][1]) if "for" in f else 0,
        keep_firing_for_ms=dec.duration(f["keep_firing_for"][1]) if "keep_firing_for" in f else 0,
        labels=dec.string_map(f["labels"][1]) if "labels" in f else {},
        annotations=dec.string_map(f["annotations"][1]) if "annotations" in f else {},
        levels=_decode_levels(dec, f["watchkeeper"][1]) if "watchkeeper" in f else (),
    )
    return rule, nodes


def _decode_levels(dec: _Decoder, node: yaml.Node) -> tuple[dict[str, Any], ...]:
    ext = dec.pairs(node, "watchkeeper extension", _EXT_FIELDS)
    levels_node = ext.get("levels", (None, None))[1]
    if levels_node is None:
        return ()
    if not isinstance(levels_node, yaml.SequenceNode):
        dec.unmarshal_errors.append(
            f"line {_pos(levels_node).line}: cannot unmarshal {_short_tag(levels_node)} into levels"
        )
        return ()
    out = []
    for ln in levels_node.value:
        f = dec.pairs(ln, "watchkeeper level", _LEVEL_FIELDS)
        lv: dict[str, Any] = {"labels": dec.string_map(f["labels"][1]) if "labels" in f else {}}
        for k in ("above", "below", "recover_below", "recover_above"):
            if k in f:
                lv[k] = dec.string(f[k][1])
        out.append(lv)
    return tuple(out)


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _validate_levels(levels: tuple[dict[str, Any], ...], scheme: NameValidation) -> list[str]:
    errs = []
    for i, lv in enumerate(levels, 1):
        sides = [k for k in ("above", "below") if k in lv]
        if len(sides) != 1:
            errs.append(f"level {i}: exactly one of 'above' and 'below' must be set")
            continue
        for k in ("above", "below", "recover_below", "recover_above"):
            if k in lv and _float(lv[k]) is None:
                errs.append(f"level {i}: {k}: invalid number {go_quote(lv[k])}")
        wrong = "recover_above" if sides[0] == "above" else "recover_below"
        if wrong in lv:
            errs.append(f"level {i}: '{wrong}' does not go with '{sides[0]}'")
        for k in sorted(lv["labels"]):
            if not valid_label_name(k, scheme) or k == "__name__":
                errs.append(f"level {i}: invalid label name: {k}")
    return errs


def _validate(
    rf: RuleFile,
    nodes: list[tuple[yaml.Node, list[_RuleNodes]]],
    scheme: NameValidation,
    check_template: Callable[[str, str], str | None] | None,
) -> list[str]:
    errs: list[str] = []
    seen: set[str] = set()
    for g, (gnode, rnodes) in zip(rf.groups, nodes, strict=True):
        if g.name == "":
            errs.append(f"{_pos(gnode)}: Groupname must not be empty")
        if g.name in seen:
            errs.append(f'{_pos(gnode)}: groupname: "{g.name}" is repeated in the same file')
        seen.add(g.name)
        for k in sorted(g.labels):
            if not valid_label_name(k, scheme) or k == "__name__":
                errs.append(f"invalid label name: {k}")
        for i, (r, rn) in enumerate(zip(g.rules, rnodes, strict=True)):
            prefix = f"group {go_quote(g.name)}, rule {i + 1}, {go_quote(r.alert or r.record)}: "
            for pos, msg in _validate_rule(r, rn, scheme, check_template):
                errs.append(f"{pos}{prefix}{msg}")
    return errs


def _validate_rule(
    r: RuleDef, n: _RuleNodes, scheme: NameValidation, check_template: Callable[[str, str], str | None] | None
) -> list[tuple[str, str]]:
    """(position prefix, message) pairs, in Prometheus' order."""
    out: list[tuple[str, str]] = []
    both = f"{_pos(n.record)}: {_pos(n.alert)}: "
    rec = f"{_pos(n.record)}: "
    if r.record and r.alert:
        out.append((both, "only one of 'record' and 'alert' must be set"))
    if not r.record and not r.alert:
        out.append((both, "one of 'record' or 'alert' must be set"))
    if r.expr == "":
        out.append((f"{_pos(n.expr)}: ", "field 'expr' must be set in rule"))
    else:
        try:
            parse_promql(r.expr)
        except ParseError as e:
            out.append((f"{_pos(n.expr)}: ", f"could not parse expression: {e}"))
    if r.record:
        if r.annotations:
            out.append((rec, "invalid field 'annotations' in recording rule"))
        if r.for_ms:
            out.append((rec, "invalid field 'for' in recording rule"))
        if r.keep_firing_for_ms:
            out.append((rec, "invalid field 'keep_firing_for' in recording rule"))
        if not valid_metric_name(r.record, scheme):
            out.append((rec, f"invalid recording rule name: {r.record}"))
        if "{" in r.record or "}" in r.record:
            out.append((rec, f"braces present in the recording rule name; should it be in expr?: {r.record}"))
    for k in sorted(r.labels):
        if not valid_label_name(k, scheme) or k == "__name__":
            out.append(("", f"invalid label name: {k}"))
    for k in sorted(r.annotations):
        if not valid_label_name(k, scheme):
            out.append(("", f"invalid annotation name: {k}"))
    if r.levels:
        if r.record:
            out.append((rec, "invalid field 'watchkeeper' in recording rule"))
        out.extend(("", msg) for msg in _validate_levels(r.levels, scheme))
    if r.alert and check_template is not None:
        for kind, m in (("label", r.labels), ("annotation", r.annotations)):
            for k in sorted(m):
                err = check_template(m[k], r.alert)
                if err is not None:
                    out.append(("", f"{kind} {go_quote(k)}: {err}"))
    return out
