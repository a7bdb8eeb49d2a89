"""The ``scrape_configs`` entry of prometheus.yml, with Prometheus' defaults and checks.

Durations are kept as Prometheus duration strings' millisecond values and
printed back in Prometheus' form; secrets dump as ``<secret>`` so that
``/api/v1/status/config`` never shows them.
"""

from __future__ import annotations

import os.path
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from ..gocompat.durations import DurationError, format_duration, parse_duration
from .relabel import RelabelConfig

__all__ = [
    "Duration",
    "Secret",
    "ByteSize",
    "SCRAPE_PROTOCOL_HEADERS",
    "DEFAULT_SCRAPE_PROTOCOLS",
    "BasicAuth",
    "Authorization",
    "TLSConfig",
    "HTTPClientConfig",
    "StaticConfig",
    "FileSDConfig",
    "HTTPSDConfig",
    "GlobalScrapeDefaults",
    "ScrapeConfig",
    "parse_byte_size",
    "check_unique_jobs",
]


def _duration(v: Any) -> int:
    # YAML ``15`` is not a duration to Prometheus (it wants ``15s``): reject numbers with its message.
    if isinstance(v, (int, float)):
        v = str(v).lower()
    if not isinstance(v, str):
        raise ValueError(f"not a valid duration string: {v!r}")
    try:
        return parse_duration(v)
    except DurationError as e:
        raise ValueError(str(e)) from None


Duration = Annotated[int, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]
"""Milliseconds; YAML/JSON side is a Prometheus duration string."""

Secret = Annotated[str, PlainSerializer(lambda v: "<secret>" if v else "", return_type=str)]
"""A string that dumps as ``<secret>`` (Prometheus' config.Secret)."""

_BYTE_UNITS = {
    "B": 1,
    "KB": 1 << 10,
    "KIB": 1 << 10,
    "MB": 1 << 20,
    "MIB": 1 << 20,
    "GB": 1 << 30,
    "GIB": 1 << 30,
    "TB": 1 << 40,
    "TIB": 1 << 40,
    "PB": 1 << 50,
    "PIB": 1 << 50,
    "EB": 1 << 60,
    "EIB": 1 << 60,
}
_BYTE_RE = re.compile(r"((?:\d+)(?:[A-Za-z]+))")


def parse_byte_size(v: Any) -> int:
    """Parse ``10MB``/``1KiB``/``0`` (base-2 units, like Prometheus' units.Base2Bytes)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    s = str(v).strip()
    if s == "0":
        return 0
    parts = _BYTE_RE.findall(s)
    if not parts or "".join(parts) != s:
        raise ValueError(f"units: invalid unit in {s}")
    total = 0
    for p in parts:
        digits = p.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        unit = p[len(digits) :].upper()
        if unit not in _BYTE_UNITS:
            raise ValueError(f"units: unknown unit {p[len(digits) :]} in {s}")
        total += int(digits) * _BYTE_UNITS[unit]
    return total


def _format_bytes(n: int) -> str:
    if n == 0:
        return "0B"
    for unit in ("EiB", "PiB", "TiB", "GiB", "MiB", "KiB"):
        mult = _BYTE_UNITS[unit.upper()]
        if n % mult == 0:
            return f"{n // mult}{unit}"
    return f"{n}B"


ByteSize = Annotated[int, BeforeValidator(parse_byte_size), PlainSerializer(_format_bytes, return_type=str)]

SCRAPE_PROTOCOL_HEADERS = {
    "PrometheusProto": (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
    ),
    "PrometheusText0.0.4": "text/plain;version=0.0.4",
    "PrometheusText1.0.0": "text/plain;version=1.0.0",
    "OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
    "OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0",
}
DEFAULT_SCRAPE_PROTOCOLS = [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
]
# The default when a job scrapes native histograms: only the protobuf format carries them.
PROTO_FIRST_SCRAPE_PROTOCOLS = ["PrometheusProto", *DEFAULT_SCRAPE_PROTOCOLS]


def _check_protocol(p: str) -> str:
    if p not in SCRAPE_PROTOCOL_HEADERS:
        raise ValueError(
            f"unknown scrape protocol {p}, supported: [{' '.join(sorted(SCRAPE_PROTOCOL_HEADERS))}]"
        )
    return p


def _timeout_msg(job: str) -> str:
    return f'scrape timeout greater than scrape interval for scrape config with job name "{job}"'


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BasicAuth(_Strict):
    username: str = ""
    username_file: str = ""
    password: Secret = ""
    password_file: str = ""

    @model_validator(mode="after")
    def _check(self) -> BasicAuth:
        if self.username and self.username_file:
            raise ValueError("at most one of basic_auth username & username_file must be configured")
        if self.password and self.password_file:
            raise ValueError("at most one of basic_auth password & password_file must be configured")
        return self


class Authorization(_Strict):
    type: str = "Bearer"
    credentials: Secret = ""
    credentials_file: str = ""

    @model_validator(mode="after")
    def _check(self) -> Authorization:
        if self.type.strip().lower() == "basic":
            raise ValueError('authorization type cannot be set to "basic", use "basic_auth" instead')
        if self.credentials and self.credentials_file:
            raise ValueError("at most one of authorization credentials & credentials_file must be configured")
        return self


class TLSConfig(_Strict):
    ca_file: str = ""
    ca: str = ""
    cert_file: str = ""
    cert: str = ""
    key_file: str = ""
    key: Secret = ""
    server_name: str = ""
    insecure_skip_verify: bool = False
    min_version: str = ""
    max_version: str = ""

    @model_validator(mode="after")
    def _check(self) -> TLSConfig:
        if self.ca and self.ca_file:
            raise ValueError("at most one of ca and ca_file must be configured")
        if self.cert and self.cert_file:
            raise ValueError("at most one of cert and cert_file must be configured")
        if self.key and self.key_file:
            raise ValueError("at most one of key and key_file must be configured")
        if bool(self.cert or self.cert_file) != bool(self.key or self.key_file):
            raise ValueError(
                "exactly one of key or key_file must be configured when a client certificate is set"
            )
        return self


class HTTPClientConfig(_Strict):
    """Prometheus' common HTTP client options (prometheus/common config.HTTPClientConfig)."""

    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: Secret = ""
    bearer_token_file: str = ""
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    proxy_url: str = ""
    no_proxy: str = ""
    proxy_from_environment: bool = False
    follow_redirects: bool = True
    enable_http2: bool = True
    http_headers: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_auth(self) -> HTTPClientConfig:
        if self.bearer_token and self.bearer_token_file:
            raise ValueError("at most one of bearer_token & bearer_token_file must be configured")
        if self.basic_auth is not None and (self.bearer_token or self.bearer_token_file):
            raise ValueError(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
            )
        if self.authorization is not None and (self.bearer_token or self.bearer_token_file):
            raise ValueError("authorization is not compatible with bearer_token & bearer_token_file")
        if self.authorization is not None and self.basic_auth is not None:
            raise ValueError("at most one of basic_auth, oauth2 & authorization must be configured")
        return self


class StaticConfig(_Strict):
    targets: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class FileSDConfig(_Strict):
    files: list[str]
    refresh_interval: Duration = 300_000

    @field_validator("files")
    @classmethod
    def _files(cls, v: list[str]) -> list[str]:
        for f in v:
            base = os.path.basename(f)
            if not re.fullmatch(r"[^*]*(\*[^*]*)?\.(json|yml|yaml|JSON|YML|YAML)", base):
                raise ValueError(f"path name {f!r} is not valid for file discovery")
        return v


class HTTPSDConfig(HTTPClientConfig):
    url: str
    refresh_interval: Duration = 60_000

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v:
            raise ValueError("URL is missing")
        if not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError("URL scheme must be 'http' or 'https'")
        return v


class GlobalScrapeDefaults(_Strict):
    """The parts of ``global:`` that scrape configs inherit (Prometheus' GlobalConfig)."""

    @classmethod
    def from_global(cls, data: Mapping[str, Any]) -> GlobalScrapeDefaults:
        """Build from a whole ``global:`` mapping, ignoring keys that are not about scraping."""
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})

    scrape_interval: Duration = 60_000
    scrape_timeout: Duration = 10_000
    scrape_protocols: list[str] = Field(default_factory=lambda: list(DEFAULT_SCRAPE_PROTOCOLS))
    scrape_native_histograms: bool = False
    external_labels: dict[str, str] = Field(default_factory=dict)
    body_size_limit: ByteSize = 0
    sample_limit: int = 0
    target_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0

    @model_validator(mode="before")
    @classmethod
    def _default_timeout(cls, data: Any) -> Any:
        # An unset global timeout is 10s, or the global interval when that is shorter.
        if isinstance(data, dict) and data.get("scrape_timeout") in (None, 0, "0"):
            try:
                interval = _duration(data.get("scrape_interval", "1m"))
            except ValueError:
                return data  # the field validator reports the bad interval
            data = {**data, "scrape_timeout": format_duration(min(10_000, interval))}
        return data

    @model_validator(mode="after")
    def _check(self) -> GlobalScrapeDefaults:
        for p in self.scrape_protocols:
            _check_protocol(p)
        if self.scrape_timeout > self.scrape_interval:
            raise ValueError("global scrape timeout greater than scrape interval")
        return self


_SUPPORTED_SD = {"static_configs", "file_sd_configs", "http_sd_configs"}


class ScrapeConfig(HTTPClientConfig):
    """One ``scrape_configs`` entry. Unset interval/timeout/limits come from ``resolve(global)``."""

    job_name: str
    honor_labels: bool = False
    honor_timestamps: bool = True
    track_timestamps_staleness: bool = False
    params: dict[str, list[str]] = Field(default_factory=dict)
    scrape_interval: Duration | None = None
    scrape_timeout: Duration | None = None
    scrape_protocols: list[str] | None = None
    fallback_scrape_protocol: str = ""
    enable_compression: bool = True
    metrics_path: str = "/metrics"
    scheme: str = "http"
    body_size_limit: ByteSize | None = None
    sample_limit: int | None = None
    target_limit: int | None = None
    label_limit: int | None = None
    label_name_length_limit: int | None = None
    label_value_length_limit: int | None = None
    keep_dropped_targets: int = 0
    # Native histograms from protobuf expositions (Prometheus 3.9's setting; unset: global's).
    scrape_native_histograms: bool | None = None
    # With native histograms scraped, also keep the classic series of histograms that have both.
    always_scrape_classic_histograms: bool = False
    # Resolution limits for scraped native histograms (0: none).
    native_histogram_bucket_limit: int = 0
    native_histogram_min_bucket_factor: float = 0.0
    # Accepted for compatibility; these change nothing.
    scrape_classic_histograms: bool = False
    convert_classic_histograms_to_nhcb: bool = False
    metric_name_validation_scheme: str = ""
    metric_name_escaping_scheme: str = ""
    scrape_failure_log_file: str = ""
    static_configs: list[StaticConfig] = Field(default_factory=list)
    file_sd_configs: list[FileSDConfig] = Field(default_factory=list)
    http_sd_configs: list[HTTPSDConfig] = Field(default_factory=list)
    relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    metric_relabel_configs: list[RelabelConfig] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _unsupported_sd(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if isinstance(key, str) and key.endswith("_sd_configs") and key not in _SUPPORTED_SD:
                    raise ValueError(
                        f"{key} is not supported by watchkeeper "
                        "(use static_configs, file_sd_configs or http_sd_configs)"
                    )
        return data

    @field_validator("job_name")
    @classmethod
    def _job(cls, v: str) -> str:
        if not v:
            raise ValueError("job_name is empty")
        return v

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if v not in ("http", "https"):
            raise ValueError("URL scheme must be 'http' or 'https'")
        return v

    @field_validator("relabel_configs", "metric_relabel_configs", mode="before")
    @classmethod
    def _no_nulls(cls, v: Any) -> Any:
        if isinstance(v, list) and any(x is None for x in v):
            raise ValueError("empty or null relabeling rule in scrape config")
        return v

    @field_validator("scrape_protocols")
    @classmethod
    def _protocols(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        seen = set()
        for p in v:
            _check_protocol(p)
            if p in seen:
                raise ValueError(f"duplicated protocol in scrape_protocols, got {v}")
            seen.add(p)
        return v

    @field_validator("fallback_scrape_protocol")
    @classmethod
    def _fallback(cls, v: str) -> str:
        if v:
            _check_protocol(v)
        return v

    @model_validator(mode="after")
    def _check(self) -> ScrapeConfig:
        if (
            self.scrape_interval is not None
            and self.scrape_timeout is not None
            and self.scrape_timeout > self.scrape_interval
        ):
            raise ValueError(_timeout_msg(self.job_name))
        return self

    def resolve(self, g: GlobalScrapeDefaults) -> ScrapeConfig:
        """Fill unset fields from ``global:`` exactly as Prometheus' Validate does."""
        interval = self.scrape_interval if self.scrape_interval is not None else g.scrape_interval
        timeout = self.scrape_timeout
        if timeout is None:
            timeout = min(g.scrape_timeout, interval)
        if timeout > interval:
            raise ValueError(_timeout_msg(self.job_name))

        def pick(own: Any, glob: Any) -> Any:
            return glob if own is None else own

        native = pick(self.scrape_native_histograms, g.scrape_native_histograms)
        protocols = self.scrape_protocols
        if protocols is None:
            # As Prometheus: protocols set in global win; otherwise jobs that scrape native
            # histograms ask for protobuf first.
            explicit = "scrape_protocols" in g.model_fields_set
            protocols = list(g.scrape_protocols if explicit or not native else PROTO_FIRST_SCRAPE_PROTOCOLS)
        return self.model_copy(
            update={
                "scrape_interval": interval,
                "scrape_timeout": timeout,
                "scrape_native_histograms": native,
                "scrape_protocols": protocols,
                "body_size_limit": pick(self.body_size_limit, g.body_size_limit),
                "sample_limit": pick(self.sample_limit, g.sample_limit),
                "target_limit": pick(self.target_limit, g.target_limit),
                "label_limit": pick(self.label_limit, g.label_limit),
                "label_name_length_limit": pick(self.label_name_length_limit, g.label_name_length_limit),
                "label_value_length_limit": pick(self.label_value_length_limit, g.label_value_length_limit),
            }
        )

    @property
    def interval_ms(self) -> int:
        """Resolved scrape interval (call ``resolve`` first)."""
        return int(self.scrape_interval or 0)

    @property
    def timeout_ms(self) -> int:
        return int(self.scrape_timeout or 0)


def check_unique_jobs(configs: Iterable[ScrapeConfig]) -> None:
    """Reject two scrape configs with one job name, with Prometheus' message."""
    seen: set[str] = set()
    for c in configs:
        if c.job_name in seen:
            raise ValueError(f'found multiple scrape configs with job name "{c.job_name}"')
        seen.add(c.job_name)
