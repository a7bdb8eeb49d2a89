"""``/api/v1/status/*`` and ``/api/v1/admin/tsdb/delete_series``."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .context import ApiContext
from .errors import ApiError, invalid_param
from .params import MAX_TIME_MS, MIN_TIME_MS, matchers_param, time_param
from .request import form_params
from .responses import json_response

__all__ = ["buildinfo", "config", "flags", "runtimeinfo", "tsdb", "delete_series"]


async def buildinfo(ctx: ApiContext, request: Request) -> Response:
    return json_response(ctx.build_info)


async def config(ctx: ApiContext, request: Request) -> Response:
    return json_response({"yaml": ctx.config_yaml()})


async def flags(ctx: ApiContext, request: Request) -> Response:
    return json_response(ctx.flags)


async def runtimeinfo(ctx: ApiContext, request: Request) -> Response:
    return json_response(ctx.runtime_info())


async def tsdb(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    text = params.get("limit", "10")
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise invalid_param("limit", "limit must be a positive number")
    return json_response(await run_in_threadpool(ctx.storage.stats, limit))


async def delete_series(ctx: ApiContext, request: Request) -> Response:
    if not ctx.admin_api:
        raise ApiError("unavailable", "admin APIs disabled")
    params = await form_params(request)
    sets = matchers_param(params.getlist("match[]"))
    start = time_param(params, "start", MIN_TIME_MS)
    end = time_param(params, "end", MAX_TIME_MS)
    storage = ctx.storage

    def work() -> None:
        for matchers in sets:
            storage.delete_series(matchers, start, end)

    await run_in_threadpool(work)
    return Response(status_code=204)
