"""The Starlette application: Prometheus' HTTP API, federation, push ingest, health and reload."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..config.default import HOST_METRICS_PATH
from . import federate, meta, query, rules, scrape_info, status
from .context import ApiContext
from .errors import ApiError
from .ingest import RemoteWriteEndpoint, import_text, otlp_metrics
from .responses import api_error_response
from .textfmt import CONTENT_TYPE

__all__ = ["create_app"]

log = logging.getLogger(__name__)

Handler = Callable[[ApiContext, Request], Awaitable[Response]]


def _bind(ctx: ApiContext, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Give a handler its context and translate API errors into Prometheus' error JSON, once."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(ctx, request)
        except ApiError as e:
            return api_error_response(e)

    return endpoint


async def _healthy(ctx: ApiContext, request: Request) -> Response:
    return PlainTextResponse("Watchkeeper Server is Healthy.\n")


async def _ready(ctx: ApiContext, request: Request) -> Response:
    if ctx.is_ready():
        return PlainTextResponse("Watchkeeper Server is Ready.\n")
    return PlainTextResponse("Service Unavailable\n", status_code=503)


async def _reload(ctx: ApiContext, request: Request) -> Response:
    try:
        await ctx.reload()
    except Exception as e:  # the reason is the response; the old config stays in force
        return PlainTextResponse(f"failed to reload config: {e}\n", status_code=500)
    return PlainTextResponse("")


async def _own_metrics(ctx: ApiContext, request: Request) -> Response:
    # Collecting reads storage statistics and /proc: keep it off the event loop.
    return Response(await run_in_threadpool(ctx.own_metrics), media_type=CONTENT_TYPE)


async def _host_metrics(ctx: ApiContext, request: Request) -> Response:
    assert ctx.host_metrics is not None
    return Response(await run_in_threadpool(ctx.host_metrics), media_type=CONTENT_TYPE)


def create_app(ctx: ApiContext) -> Starlette:
    """Build the ASGI app; ``ctx`` supplies storage, engine, config and server callbacks."""
    remote_write = RemoteWriteEndpoint(max_decoded_bytes=ctx.max_body_bytes * 4)
    get_post = ["GET", "POST"]
    table: list[tuple[str, Handler, list[str]]] = [
        ("/api/v1/query", query.instant_query, get_post),
        ("/api/v1/query_range", query.range_query, get_post),
        ("/api/v1/query_exemplars", query.query_exemplars, get_post),
        ("/api/v1/series", meta.series, get_post),
        ("/api/v1/labels", meta.label_names, get_post),
        ("/api/v1/label/{name}/values", meta.label_values, ["GET"]),
        ("/api/v1/metadata", scrape_info.metadata, ["GET"]),
        ("/api/v1/targets", scrape_info.targets, ["GET"]),
        ("/api/v1/targets/metadata", scrape_info.target_metadata, ["GET"]),
        ("/api/v1/rules", rules.rules, get_post),
        ("/api/v1/alerts", rules.alerts, get_post),
        ("/api/v1/alertmanagers", rules.alertmanagers, ["GET"]),
        ("/api/v1/rules-api", rules.ruler_list, ["GET"]),
        ("/api/v1/rules-api/{namespace}", rules.ruler_namespace, ["GET"]),
        ("/api/v1/rules-api/{namespace}", rules.ruler_post, ["POST"]),
        ("/api/v1/rules-api/{namespace}", rules.ruler_delete_namespace, ["DELETE"]),
        ("/api/v1/rules-api/{namespace}/{group}", rules.ruler_group, ["GET"]),
        ("/api/v1/rules-api/{namespace}/{group}", rules.ruler_delete_group, ["DELETE"]),
        ("/api/v1/status/buildinfo", status.buildinfo, ["GET"]),
        ("/api/v1/status/config", status.config, ["GET"]),
        ("/api/v1/status/flags", status.flags, ["GET"]),
        ("/api/v1/status/runtimeinfo", status.runtimeinfo, ["GET"]),
        ("/api/v1/status/tsdb", status.tsdb, ["GET"]),
        ("/api/v1/admin/tsdb/delete_series", status.delete_series, ["POST", "PUT"]),
        ("/api/v1/write", remote_write, ["POST"]),
        ("/api/v1/import/prometheus", import_text, ["POST"]),
        ("/v1/metrics", otlp_metrics, ["POST"]),
        ("/api/v1/otlp/v1/metrics", otlp_metrics, ["POST"]),
        ("/federate", federate.federate, ["GET"]),
        ("/metrics", _own_metrics, ["GET"]),
        ("/-/healthy", _healthy, ["GET", "HEAD"]),
        ("/-/ready", _ready, ["GET", "HEAD"]),
        ("/-/reload", _reload, ["POST", "PUT"]),
    ]
    if ctx.host_metrics is not None:
        table.append((HOST_METRICS_PATH, _host_metrics, ["GET"]))
    routes: list[BaseRoute] = [Route(path, _bind(ctx, handler), methods=methods)
                               for path, handler, methods in table]
    # The UI at / and the /api/v1/stream socket, after the API routes. Imported here: the web package
    # uses api modules, so a module-level import would be circular.
    from ..web.routes import create_web_routes

    routes += create_web_routes(ctx)
    return Starlette(routes=routes)
