"""The config a server runs with when no ``--config`` is given: scrape itself and the host."""

from __future__ import annotations

__all__ = ["HOST_METRICS_PATH", "default_config_text"]

# Where the server serves the in-process host collectors' output.
HOST_METRICS_PATH = "/host/metrics"


def default_config_text(listen: str) -> str:
    """YAML for a server listening on ``listen`` (host:port): jobs ``watchkeeper`` and ``node`` every 15 s."""
    return f"""\
global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 15s
scrape_configs:
  - job_name: watchkeeper
    static_configs:
      - targets: ["{listen}"]
  - job_name: node
    metrics_path: {HOST_METRICS_PATH}
    static_configs:
      - targets: ["{listen}"]
"""
