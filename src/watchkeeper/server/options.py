"""Server options (from the command line), with Prometheus' flag names and defaults."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ServerOptions", "parse_listen"]


@dataclass
class ServerOptions:
    config_file: str | None = None
    data_dir: str = "data"
    listen: str = "127.0.0.1:9090"
    lookback_delta_ms: int = 300_000
    query_timeout_s: float = 120.0
    query_max_samples: int = 50_000_000
    query_max_concurrency: int = 20
    retention_ms: int = 15 * 24 * 3600 * 1000
    retention_bytes: int = 0
    enable_admin_api: bool = False
    max_push_body_bytes: int = 32 << 20
    maintenance_interval_s: float = 60.0
    external_url: str = ""  # empty: http://HOST:PORT of listen
    resend_delay_ms: int = 60_000
    notification_queue_capacity: int = 10_000
    alertmanager_config: str | None = None  # alertmanager.yml: serve Alertmanager's API v2 on this port
    dashboards_dir: str | None = None  # None: DATA_DIR/dashboards
    events_retention_ms: int = 7 * 24 * 3600 * 1000  # the notification engine's event log
    # Every flag as given, for /api/v1/status/flags.
    flags: dict[str, str] = field(default_factory=dict)


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` (IPv6 hosts in brackets) into its parts; ValueError if malformed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid listen address {text!r}: expected host:port")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)
