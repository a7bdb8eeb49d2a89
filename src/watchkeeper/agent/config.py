"""The agent's YAML config file: schema (unknown keys are errors) and loading with ``FILE:LINE`` messages.

Every key is optional: with no file at all the agent runs node_exporter's default collectors
at a 15 s interval. Command-line flags override the file.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from ..config.types import LabelSet, Strict
from ..config.yamlsrc import SourceMap, YAMLSyntaxError, load_yaml
from ..scrape.config import BasicAuth, ByteSize, Duration, Secret, TLSConfig

__all__ = [
    "AgentConfig",
    "AgentConfigError",
    "CollectorsConfig",
    "ProcessPattern",
    "QueueConfig",
    "RemoteWriteConfig",
    "ScriptConfig",
    "SystemdConfig",
    "load_agent_config",
    "parse_agent_config",
]


class ProcessPattern(Strict):
    """Processes whose name or command line fully matches ``pattern`` (RE2) form group ``name``."""

    name: str
    pattern: str


class ScriptConfig(Strict):
    name: str
    command: list[str] = Field(min_length=1)
    timeout: Duration = 10_000


class SystemdConfig(Strict):
    enabled: bool | None = None  # None: on exactly when systemd is PID 1
    unit_include: str = ".+"
    unit_exclude: str = ".+\\.(automount|device|mount|scope|slice)"


class CollectorsConfig(Strict):
    enabled: list[str] | None = None  # None: all default collectors
    disabled: list[str] = Field(default_factory=list)
    timeout: Duration = 10_000


class RemoteWriteConfig(Strict):
    url: str = ""
    basic_auth: BasicAuth | None = None
    bearer_token: Secret = ""
    bearer_token_file: str = ""
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    timeout: Duration = 30_000

    @model_validator(mode="after")
    def _check_auth(self) -> RemoteWriteConfig:
        if self.bearer_token and self.bearer_token_file:
            raise ValueError("at most one of bearer_token & bearer_token_file must be configured")
        if self.basic_auth is not None and (self.bearer_token or self.bearer_token_file):
            raise ValueError("at most one of basic_auth, bearer_token & bearer_token_file must be configured")
        return self


class QueueConfig(Strict):
    max_bytes: ByteSize = 256 << 20


class AgentConfig(Strict):
    interval: Duration = 15_000
    labels: LabelSet = Field(default_factory=dict)
    listen: str = ""
    server: str = ""
    data_dir: str = ""
    textfile_directory: str = ""
    collectors: CollectorsConfig = Field(default_factory=CollectorsConfig)
    remote_write: RemoteWriteConfig = Field(default_factory=RemoteWriteConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    processes: list[ProcessPattern] = Field(default_factory=list)
    scripts: list[ScriptConfig] = Field(default_factory=list)
    systemd: SystemdConfig = Field(default_factory=SystemdConfig)

    @field_validator("interval")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("interval must be positive")
        return v


class AgentConfigError(Exception):
    """``messages`` are ``FILE:LINE: what is wrong`` lines."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "top level"


def parse_agent_config(text: str, *, filename: str = "<config>") -> AgentConfig:
    try:
        data, srcmap = load_yaml(text, filename)
    except YAMLSyntaxError as e:
        raise AgentConfigError([f"{filename}:{e.line}: {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AgentConfigError([f"{filename}:1: the agent config must be a mapping"])
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as err:
        raise AgentConfigError(_messages(err, srcmap)) from None


def _messages(err: ValidationError, srcmap: SourceMap) -> list[str]:
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if isinstance(p, str | int))
        if e["type"] == "extra_forbidden":
            text = f"field {loc[-1]} not found in {_dotted(loc[:-1])}"
        elif e["type"] == "missing":
            text = f"{_dotted(loc[:-1])}: missing required field {loc[-1]}"
        else:
            text = f"{_dotted(loc)}: {e['msg'].removeprefix('Value error, ')}"
        out.append(f"{srcmap.where(loc)}: {text}")
    return out


def load_agent_config(path: str) -> AgentConfig:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise AgentConfigError([f"{path}: cannot read config file: {e.strerror}"]) from None
    return parse_agent_config(text, filename=path)
