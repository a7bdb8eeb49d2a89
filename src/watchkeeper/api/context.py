"""Everything the HTTP layer needs from the rest of the server, handed in by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiContext", "IngestCounters"]


@dataclass
class IngestCounters:
    """Push ingestion outcomes, exported on ``/metrics``."""

    samples: dict[str, int] = field(default_factory=dict)  # by endpoint
    rejected: dict[tuple[str, int], int] = field(default_factory=dict)  # by (endpoint, status)

    def ok(self, endpoint: str, n: int) -> None:
        self.samples[endpoint] = self.samples.get(endpoint, 0) + n

    def reject(self, endpoint: str, status: int) -> None:
        self.rejected[(endpoint, status)] = self.rejected.get((endpoint, status), 0) + 1


@dataclass
class ApiContext:
    """Collaborators of the HTTP API.

    ``storage`` is a ``storage.db.TSDB`` (the Storage protocol plus ``series``,
    ``delete_series`` and ``stats``); ``engine`` is a ``promql.engine.Engine``.
    Functions are called per request so they always see the current config.
    """

    storage: Any
    engine: Any
    executor: ThreadPoolExecutor
    lookback_ms: Callable[[], int]
    external_labels: Callable[[], dict[str, str]]
    config_yaml: Callable[[], str]
    flags: dict[str, str]
    runtime_info: Callable[[], dict[str, Any]]
    scrape_manager: Callable[[], Any]
    reload: Callable[[], Awaitable[None]]
    is_ready: Callable[[], bool]
    own_metrics: Callable[[], bytes]
    host_metrics: Callable[[], bytes] | None = None
    max_body_bytes: int = 32 << 20
    admin_api: bool = False
    ingest: IngestCounters = field(default_factory=IngestCounters)
    build_info: dict[str, str] = field(default_factory=dict)
    # The rule engine: a ``rules.RuleManager``, the API-managed ``rules.store.RuleGroupStore``
    # (None when the server runs without rules) and a reload of the rule files alone.
    rules: Callable[[], Any] = lambda: None
    rule_store: Callable[[], Any] = lambda: None
    reload_rules: Callable[[], Awaitable[None]] | None = None
    # ``/api/v1/alertmanagers`` data: {"activeAlertmanagers": [{"url": ...}], "droppedAlertmanagers": [...]}.
    alertmanagers: Callable[[], dict[str, Any]] | None = None
    # The in-process ``alerting.service.AlertmanagerService`` (None unless started with
    # --alertmanager.config): the UI stream's ``alerts`` and ``events`` channels read it.
    alertmanager: Callable[[], Any] = lambda: None
