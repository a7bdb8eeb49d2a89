"""Prometheus API response envelopes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from .errors import ApiError
from .jsonfmt import error_json, success_json

__all__ = ["json_response", "raw_success", "api_error_response"]

_JSON = "application/json"


def raw_success(data_json: str, warnings: Sequence[str] = (), infos: Sequence[str] = ()) -> Response:
    """A success envelope around already-encoded ``data``."""
    return Response(success_json(data_json, warnings, infos), media_type=_JSON)


def json_response(data: Any, warnings: Sequence[str] = (), infos: Sequence[str] = ()) -> Response:
    return raw_success(json.dumps(data, ensure_ascii=False, separators=(",", ":")), warnings, infos)


def api_error_response(err: ApiError, warnings: Sequence[str] = ()) -> Response:
    body = error_json(err.error_type, err.message, warnings)
    return Response(body, status_code=err.status, media_type=_JSON)
