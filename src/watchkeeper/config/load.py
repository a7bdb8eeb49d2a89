"""Reading ``prometheus.yml``: YAML with line numbers, validation, readable ``FILE:LINE: message`` errors."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from .model import Config
from .yamlsrc import SourceMap, YAMLSyntaxError, load_yaml

if TYPE_CHECKING:
    from ..alerting.config import AlertmanagerConfig as NotificationConfig

__all__ = ["ConfigError", "LoadedConfig", "load_config_file", "load_config_text", "redacted_yaml"]


class ConfigError(Exception):
    """The config is invalid; ``messages`` are ``FILE:LINE: what is wrong`` lines, one per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


@dataclass
class LoadedConfig:
    """A validated config plus where it came from (rule files resolved against the config's directory)."""

    config: Config
    text: str
    filename: str
    rule_files: list[str] = field(default_factory=list)
    scrape_config_files: list[str] = field(default_factory=list)
    # The ``alertmanager:`` section, loaded as an alertmanager.yml (None when the key is absent).
    alertmanager: NotificationConfig | None = None


def load_config_file(path: str) -> LoadedConfig:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError([f"{path}: cannot read config file: {e.strerror}"]) from None
    return load_config_text(text, filename=path, base_dir=os.path.dirname(os.path.abspath(path)))


def load_config_text(text: str, *, filename: str = "<config>", base_dir: str = ".") -> LoadedConfig:
    """Parse and validate config ``text``; raises ``ConfigError`` listing every problem found."""
    data, srcmap = _load_mapping(text, filename)
    # Scrape configs may come from other files; remember which file each index came from.
    origins: list[tuple[SourceMap, int]] = [(srcmap, i) for i in range(len(data.get("scrape_configs") or []))]
    sc_files = _resolve_globs(data.get("scrape_config_files") or [], base_dir, srcmap, "scrape_config_files")
    extra: list[Any] = []
    for path in sc_files:
        try:
            with open(path, encoding="utf-8") as f:
                sub_text = f.read()
        except OSError as e:
            raise ConfigError([f"{path}: cannot read scrape config file: {e.strerror}"]) from None
        sub, sub_map = _load_mapping(sub_text, path)
        unknown = sorted(set(sub) - {"scrape_configs"})
        if unknown:
            raise ConfigError([f"{sub_map.where((unknown[0],))}: field {unknown[0]} not allowed in a "
                               f"scrape config file (only scrape_configs)"])
        for i, sc in enumerate(sub.get("scrape_configs") or []):
            extra.append(sc)
            origins.append((sub_map, i))
    if extra:
        data = {**data, "scrape_configs": list(data.get("scrape_configs") or []) + extra}
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_messages(e, srcmap, origins)) from None
    # Jobs inherit interval, timeout and limits from ``global:``, as in Prometheus.
    resolved = []
    for i, sc in enumerate(cfg.scrape_configs):
        try:
            resolved.append(sc.resolve(cfg.global_))
        except ValueError as e:
            where_map, idx = origins[i]
            raise ConfigError([f"{where_map.where(('scrape_configs', idx))}: {e}"]) from None
    cfg.scrape_configs = resolved
    rule_files = _resolve_globs(cfg.rule_files, base_dir, srcmap, "rule_files")
    alertmanager = None
    if "alertmanager" in data:
        alertmanager = _load_alertmanager_section(text, data["alertmanager"], filename, base_dir, srcmap)
    return LoadedConfig(cfg, text, filename, rule_files, sc_files, alertmanager)


def _load_alertmanager_section(
    text: str, plain: Any, filename: str, base_dir: str, srcmap: SourceMap
) -> NotificationConfig:
    """Validate the ``alertmanager:`` section exactly as ``check alertmanager`` validates a file (same
    messages, templates parsed too), with line numbers of this file. Imported here, not at the top: the
    notification engine is only needed when the section is there."""
    from ..alerting.check import template_error
    from ..alerting.config import load_config_mapping
    from ..alerting.errors import ConfigError as AlertmanagerConfigError
    from ..alerting.yamlnodes import load_yaml as load_yaml_with_lines

    section = load_yaml_with_lines(text)["alertmanager"]  # parsed again: mappings that know their lines
    original = yaml.safe_dump(plain, sort_keys=False) if plain is not None else ""
    try:
        loaded = load_config_mapping(section, base_dir=base_dir, original=original)
    except AlertmanagerConfigError as e:
        line = e.line or srcmap.line_of(("alertmanager",))
        raise ConfigError([f"{filename}:{line}: alertmanager: {e.message}"]) from None
    error = template_error(loaded.templates)
    if error:
        raise ConfigError([f"{srcmap.where(('alertmanager', 'templates'))}: alertmanager: {error}"])
    return loaded


def _load_mapping(text: str, filename: str) -> tuple[dict[str, Any], SourceMap]:
    try:
        data, srcmap = load_yaml(text, filename)
    except YAMLSyntaxError as e:
        raise ConfigError([f"{filename}:{e.line}: yaml: {e}"]) from None
    if data is None:
        return {}, srcmap
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1: the config must be a YAML mapping of sections"])
    return data, srcmap


def _resolve_globs(patterns: Any, base_dir: str, srcmap: SourceMap, key: str) -> list[str]:
    if not isinstance(patterns, list):
        return []
    out: list[str] = []
    for i, pat in enumerate(patterns):
        if not isinstance(pat, str):
            continue
        if pat.count("[") != pat.count("]"):
            raise ConfigError([f"{srcmap.where((key, i))}: invalid {key} path {pat!r}: syntax error in "
                               f"pattern"])
        full = pat if os.path.isabs(pat) else os.path.join(base_dir, pat)
        out.extend(sorted(glob.glob(full)))
    return out


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "top level"


def _messages(err: ValidationError, srcmap: SourceMap, origins: list[tuple[SourceMap, int]]) -> list[str]:
    out: list[str] = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if isinstance(p, str | int))
        where_map, map_loc = srcmap, loc
        if len(loc) >= 2 and loc[0] == "scrape_configs" and isinstance(loc[1], int) and loc[1] < len(origins):
            where_map, idx = origins[loc[1]]
            map_loc = ("scrape_configs", idx, *loc[2:])
        where = where_map.where(map_loc)
        kind, msg = e["type"], e["msg"]
        if kind == "extra_forbidden":
            text = f"field {loc[-1]} not found in {_dotted(loc[:-1])}"
        elif kind == "missing":
            text = f"{_dotted(loc[:-1])}: missing required field {loc[-1]}"
        else:
            msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
            text = f"{_dotted(loc)}: {msg}" if loc else msg
        line = f"{where}: {text}"
        if line not in out:
            out.append(line)
    return out


_SECRET_KEYS = {"password", "credentials", "bearer_token", "client_secret", "secret_key"}


def _redact(obj: Any, parent: str = "") -> Any:
    """Drop empty values and mask secrets, including those in models owned by other packages."""
    if isinstance(obj, dict):
        out = {}
        # Prometheus prints a job's name first; keep that familiar order.
        items = sorted(obj.items(), key=lambda kv: kv[0] != "job_name")
        for k, v in items:
            if v is None or v == "" or v == {} or v == []:
                continue
            if (k in _SECRET_KEYS or (k == "key" and parent == "tls_config")) and isinstance(v, str):
                v = "<secret>"
            out[k] = _redact(v, k)
        return out
    if isinstance(obj, list):
        return [_redact(v, parent) for v in obj]
    return obj


def redacted_yaml(cfg: Config) -> str:
    """The effective config as YAML with secrets shown as ``<secret>`` (``/api/v1/status/config``)."""
    data = _redact(cfg.model_dump(mode="json", by_alias=True))
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
