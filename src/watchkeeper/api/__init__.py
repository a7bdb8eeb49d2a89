"""Prometheus-compatible HTTP API (query, metadata, status, federation, push ingest) as a Starlette app."""

from .app import create_app
from .context import ApiContext, IngestCounters

__all__ = ["create_app", "ApiContext", "IngestCounters"]
