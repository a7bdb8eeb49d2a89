"""The top-level ``prometheus.yml`` schema, composed from the option models of inner packages.

Field names, defaults and checks follow Prometheus' ``config/config.go`` so that
a user's existing file loads unchanged and a bad one is rejected as Prometheus
would reject it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ..gocompat.durations import DurationError, parse_duration
from ..scrape.config import (
    Duration,
    FileSDConfig,
    GlobalScrapeDefaults,
    HTTPClientConfig,
    ScrapeConfig,
    Secret,
    StaticConfig,
    TLSConfig,
)
from ..scrape.relabel import RelabelConfig
from .types import LabelSet, Strict

__all__ = ["Config", "GlobalConfig", "AlertingConfig", "AlertmanagerConfig", "StaticConfig",
           "RemoteWriteConfig", "RemoteReadConfig", "QueueConfig", "MetadataConfig", "StorageConfig",
           "TracingConfig"]


class GlobalConfig(GlobalScrapeDefaults):
    """``global:``; the scrape defaults part is shared with (and resolved by) scrape configs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_interval: Duration = 60_000
    rule_query_offset: Duration = 0
    external_labels: LabelSet = {}
    query_log_file: str = ""
    scrape_failure_log_file: str = ""
    keep_dropped_targets: int = 0
    metric_name_validation_scheme: Literal["", "utf8", "legacy"] = ""
    always_scrape_classic_histograms: bool = False
    convert_classic_histograms_to_nhcb: bool = False

    @field_validator("external_labels")
    @classmethod
    def _no_name(cls, v: dict[str, str]) -> dict[str, str]:
        if "__name__" in v:
            raise ValueError("__name__ is not a valid external label name")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_timeout(cls, data: Any) -> Any:
        """An unset timeout is 10s, or the interval when that is shorter (Prometheus' rule)."""
        if not isinstance(data, dict) or "scrape_timeout" in data or "scrape_interval" not in data:
            return data
        interval = data["scrape_interval"]
        try:
            ms = parse_duration(interval) if isinstance(interval, str) else None
        except DurationError:
            return data  # reported by field validation, with its line
        if ms is not None and ms < 10_000:
            return {**data, "scrape_timeout": interval}
        return data


class AlertmanagerConfig(HTTPClientConfig):
    static_configs: list[StaticConfig] = []
    file_sd_configs: list[FileSDConfig] = []
    scheme: Literal["http", "https"] = "http"
    path_prefix: str = ""
    timeout: Duration = 10_000
    api_version: Literal["v2"] = "v2"
    relabel_configs: list[RelabelConfig] = []
    alert_relabel_configs: list[RelabelConfig] = []


class AlertingConfig(Strict):
    alert_relabel_configs: list[RelabelConfig] = []
    alertmanagers: list[AlertmanagerConfig] = []


class QueueConfig(Strict):
    capacity: int = Field(10_000, gt=0)
    max_shards: int = Field(50, gt=0)
    min_shards: int = Field(1, gt=0)
    max_samples_per_send: int = Field(2_000, gt=0)
    batch_send_deadline: Duration = 5_000
    min_backoff: Duration = 30
    max_backoff: Duration = 5_000
    retry_on_http_429: bool = False
    sample_age_limit: Duration = 0

    @model_validator(mode="after")
    def _shards(self) -> QueueConfig:
        if self.min_shards > self.max_shards:
            raise ValueError("min_shards must not be greater than max_shards")
        return self


class MetadataConfig(Strict):
    send: bool = True
    send_interval: Duration = 60_000
    max_samples_per_send: int = 2_000


# Headers a remote-write client sets itself; Prometheus refuses them in config.
_RESERVED_HEADERS = {"host", "authorization", "content-encoding", "content-type", "content-length",
                     "user-agent", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                     "www-authenticate", "accept-encoding", "x-prometheus-remote-write-version",
                     "x-prometheus-remote-read-version", "x-amz-date", "x-amz-security-token",
                     "x-amz-content-sha256"}


def _check_url(v: str) -> str:
    if not v:
        raise ValueError("url for remote_write/remote_read is empty")
    if not (v.startswith("http://") or v.startswith("https://")):
        raise ValueError(f'unsupported scheme in url "{v}": must be http or https')
    return v


def _check_headers(v: dict[str, str]) -> dict[str, str]:
    for h in v:
        if h.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{h} is a reserved header. It must not be changed")
    return v


class RemoteWriteConfig(HTTPClientConfig):
    url: str
    name: str = ""
    remote_timeout: Duration = 30_000
    headers: dict[str, Secret] = {}
    write_relabel_configs: list[RelabelConfig] = []
    send_exemplars: bool = False
    send_native_histograms: bool = False
    round_robin_dns: bool = False
    protobuf_message: Literal["prometheus.WriteRequest", "io.prometheus.write.v2.Request"] = \
        "prometheus.WriteRequest"
    queue_config: QueueConfig = QueueConfig()
    metadata_config: MetadataConfig = MetadataConfig()
    sigv4: dict[str, Any] | None = None
    azuread: dict[str, Any] | None = None
    google_iam: dict[str, Any] | None = None

    _url = field_validator("url")(_check_url)
    _headers = field_validator("headers")(_check_headers)


class RemoteReadConfig(HTTPClientConfig):
    url: str
    name: str = ""
    remote_timeout: Duration = 60_000
    headers: dict[str, Secret] = {}
    read_recent: bool = False
    required_matchers: dict[str, str] = {}
    filter_external_labels: bool = True

    _url = field_validator("url")(_check_url)
    _headers = field_validator("headers")(_check_headers)


class TSDBConfig(Strict):
    out_of_order_time_window: Duration = 0


class ExemplarsConfig(Strict):
    max_exemplars: int = 100_000


class StorageConfig(Strict):
    tsdb: TSDBConfig = TSDBConfig()
    exemplars: ExemplarsConfig = ExemplarsConfig()


class TracingConfig(Strict):
    endpoint: str = ""
    client_type: Literal["grpc", "http"] = "grpc"
    sampling_fraction: float = Field(0.0, ge=0.0, le=1.0)
    insecure: bool = False
    headers: dict[str, Secret] = {}
    compression: Literal["", "gzip"] = ""
    timeout: Duration = 10_000
    tls_config: TLSConfig = TLSConfig()


class Config(Strict):
    """A whole ``prometheus.yml``."""

    global_: GlobalConfig = Field(GlobalConfig(), alias="global")
    rule_files: list[str] = []
    scrape_config_files: list[str] = []
    scrape_configs: list[ScrapeConfig] = []
    alerting: AlertingConfig = AlertingConfig()
    remote_write: list[RemoteWriteConfig] = []
    remote_read: list[RemoteReadConfig] = []
    storage: StorageConfig = StorageConfig()
    tracing: TracingConfig = TracingConfig()
    # ``runtime`` and ``otlp`` sections exist in newer Prometheus; accepted as given.
    runtime: dict[str, Any] = {}
    otlp: dict[str, Any] = {}
    # watchkeeper's addition: an alertmanager.yml document, validated by the notification engine's own
    # loader (config/load.py) with Alertmanager's messages; left out of dumps because it holds secrets.
    alertmanager: dict[str, Any] | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> Config:
        seen: set[str] = set()
        for sc in self.scrape_configs:
            if sc.job_name in seen:
                raise ValueError(f'found multiple scrape configs with job name "{sc.job_name}"')
            seen.add(sc.job_name)
        names: set[str] = set()
        for rw in self.remote_write:
            if rw.name and rw.name in names:
                raise ValueError(f'found multiple remote write configs with job name "{rw.name}"')
            names.add(rw.name)
        return self
