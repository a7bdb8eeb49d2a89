"""The one place domain errors become Prometheus API errors (``errorType`` and HTTP status)."""

from __future__ import annotations

__all__ = ["ApiError", "STATUS_BY_ERROR_TYPE", "bad_data", "invalid_param"]

# Prometheus' web/api/v1 mapping from errorType to HTTP status.
STATUS_BY_ERROR_TYPE = {
    "bad_data": 400,
    "execution": 422,
    "timeout": 503,
    "canceled": 499,
    "internal": 500,
    "not_found": 404,
    "not_acceptable": 406,
    "unavailable": 503,
}


class ApiError(Exception):
    """An error answered as ``{"status":"error","errorType":...,"error":...}``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    @property
    def status(self) -> int:
        return STATUS_BY_ERROR_TYPE.get(self.error_type, 500)


def bad_data(message: str) -> ApiError:
    return ApiError("bad_data", message)


def invalid_param(name: str, message: str) -> ApiError:
    return ApiError("bad_data", f'invalid parameter "{name}": {message}')
