"""PromQL errors, each carrying the ``errorType`` the HTTP API reports for it."""

from __future__ import annotations

__all__ = ["PromQLError", "ParseError", "ExecutionError", "QueryTimeoutError", "QueryCanceledError",
           "TooManySamplesError"]


class PromQLError(Exception):
    """Base class; ``error_type`` is Prometheus' API ``errorType``."""

    error_type = "execution"


class ParseError(PromQLError):
    """A query failed to parse or type-check. ``str(e)`` is Prometheus' text, e.g.
    ``1:6: parse error: unexpected <op:*>``; ``start``/``end`` are character offsets."""

    error_type = "bad_data"

    def __init__(self, message: str, *, start: int = 0, end: int = 0, query: str = "") -> None:
        super().__init__(message)
        self.start = start
        self.end = end
        self.query = query


class ExecutionError(PromQLError):
    error_type = "execution"


class TooManySamplesError(ExecutionError):
    def __init__(self) -> None:
        super().__init__("query processing would load too many samples into memory in query execution")


class QueryTimeoutError(PromQLError):
    error_type = "timeout"


class QueryCanceledError(PromQLError):
    error_type = "canceled"
