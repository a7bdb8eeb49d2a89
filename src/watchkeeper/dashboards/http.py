"""HTTP API of the dashboards under ``/api/watchkeeper/v1/dashboards`` (documented in docs/http-api.md).

Responses use Prometheus' envelope (``{"status": "success", "data": ...}`` or ``{"status": "error",
"errorType": ..., "error": ...}``) like the rest of the API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..gocompat.durations import format_duration
from .library import DashboardEntry, DashboardLibrary, NotFound, ReadOnly
from .model import DashboardError, dump_dashboard

__all__ = ["DASHBOARDS_PATH", "dashboard_routes"]

DASHBOARDS_PATH = "/api/watchkeeper/v1/dashboards"
_MAX_BODY = 16 << 20


class _HttpError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    media_type="application/json")


def _success(data: Any) -> Response:
    return _json({"status": "success", "data": data})


async def _body(request: Request) -> Any:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > _MAX_BODY:
            raise _HttpError(413, "bad_data", f"request body larger than {_MAX_BODY} bytes")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _HttpError(400, "bad_data", f"request body is not valid JSON: {e}") from None


def _summary(e: DashboardEntry) -> dict[str, Any]:
    d = e.dashboard
    return {"uid": d.uid, "title": d.title, "description": d.description, "tags": d.tags,
            "file": e.path.name, "builtin": e.builtin, "version": str(e.version)}


def dashboard_routes(library: DashboardLibrary, *,
                     scrape_interval_ms: Callable[[], int] = lambda: 15_000) -> list[Route]:
    """Routes to add to the server's app; ``scrape_interval_ms`` feeds ``$__rate_interval`` in the UI."""

    def full(e: DashboardEntry) -> dict[str, Any]:
        meta = _summary(e)
        meta["scrape_interval"] = format_duration(scrape_interval_ms())
        return {"dashboard": dump_dashboard(e.dashboard) | {"uid": e.uid}, "meta": meta}

    def wrap(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except _HttpError as e:
                err = e
            except NotFound as e:
                err = _HttpError(404, "not_found", str(e))
            except ReadOnly as e:
                err = _HttpError(403, "forbidden", str(e))
            except FileExistsError as e:
                err = _HttpError(409, "conflict", str(e))
            except DashboardError as e:
                err = _HttpError(400, "bad_data", f"invalid dashboard: {e}")
            except ValueError as e:  # convert_grafana: not a Grafana dashboard
                err = _HttpError(400, "bad_data", str(e))
            return _json({"status": "error", "errorType": err.error_type, "error": err.message}, err.status)

        return endpoint

    async def list_(request: Request) -> Response:
        entries = await run_in_threadpool(library.list)
        errors = await run_in_threadpool(library.errors)
        return _success({"dashboards": [_summary(e) for e in entries],
                         "errors": [{"file": x.file, "error": x.error} for x in errors]})

    async def get(request: Request) -> Response:
        entry = await run_in_threadpool(library.get, request.path_params["uid"])
        return _success(full(entry))

    async def put(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, dict) and isinstance(body.get("dashboard"), dict):
            body = body["dashboard"]
        entry = await run_in_threadpool(library.save, request.path_params["uid"], body)
        return _success(full(entry))

    async def delete(request: Request) -> Response:
        await run_in_threadpool(library.delete, request.path_params["uid"])
        return _success(None)

    async def import_(request: Request) -> Response:
        body = await _body(request)
        overwrite = request.query_params.get("overwrite", "").lower() in ("1", "true", "yes")
        if isinstance(body, dict) and body.get("overwrite") is True:
            overwrite = True
        entry, notes = await run_in_threadpool(lambda: library.import_grafana(body, overwrite=overwrite))
        return _success(full(entry) | {"notes": notes})

    p = DASHBOARDS_PATH
    return [
        Route(p, wrap(list_), methods=["GET"]),
        Route(f"{p}/import", wrap(import_), methods=["POST"]),
        Route(f"{p}/{{uid}}", wrap(get), methods=["GET"]),
        Route(f"{p}/{{uid}}", wrap(put), methods=["PUT"]),
        Route(f"{p}/{{uid}}", wrap(delete), methods=["DELETE"]),
    ]
