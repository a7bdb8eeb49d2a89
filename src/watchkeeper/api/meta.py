"""Series and label lookups: ``/api/v1/series``, ``/labels``, ``/label/<name>/values``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..model.labels import Labels
from ..storage.api import StorageError
from .context import ApiContext
from .errors import ApiError, bad_data
from .jsonfmt import labels_json
from .params import MAX_TIME_MS, MIN_TIME_MS, limit_param, matchers_param, time_param
from .request import form_params
from .responses import json_response, raw_success

__all__ = ["series", "label_names", "label_values"]

_TRUNCATED = "results truncated due to limit"
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


async def _in_thread(fn: Callable[[], Any]) -> Any:
    try:
        return await run_in_threadpool(fn)
    except StorageError as e:
        raise ApiError("execution", str(e)) from None


async def series(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    sets = matchers_param(params.getlist("match[]"))
    start = time_param(params, "start", MIN_TIME_MS)
    end = time_param(params, "end", MAX_TIME_MS)
    limit = limit_param(params)
    storage = ctx.storage

    def work() -> list[Labels]:
        found: set[Labels] = set()
        for matchers in sets:
            found.update(storage.series(matchers, start, end))
        return sorted(found)

    found = await _in_thread(work)
    warnings = []
    if limit and len(found) > limit:
        found, warnings = found[:limit], [_TRUNCATED]
    return raw_success("[" + ",".join(map(labels_json, found)) + "]", warnings)


def _limited(values: list[str], limit: int) -> Response:
    if limit and len(values) > limit:
        return json_response(values[:limit], warnings=[_TRUNCATED])
    return json_response(values)


async def label_names(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    sets = matchers_param(params.getlist("match[]"), required=False)
    start = time_param(params, "start", MIN_TIME_MS)
    end = time_param(params, "end", MAX_TIME_MS)
    limit = limit_param(params)
    storage = ctx.storage

    def work() -> list[str]:
        if not sets:
            return list(storage.label_names([], start, end))
        names: set[str] = set()
        for matchers in sets:
            names.update(storage.label_names(matchers, start, end))
        return sorted(names)

    return _limited(await _in_thread(work), limit)


async def label_values(ctx: ApiContext, request: Request) -> Response:
    name = request.path_params["name"]
    if not _LABEL_NAME.match(name):
        raise bad_data(f'invalid label name: "{name}"')
    params = await form_params(request)
    sets = matchers_param(params.getlist("match[]"), required=False)
    start = time_param(params, "start", MIN_TIME_MS)
    end = time_param(params, "end", MAX_TIME_MS)
    limit = limit_param(params)
    storage = ctx.storage

    def work() -> list[str]:
        if not sets:
            return list(storage.label_values(name, [], start, end))
        values: set[str] = set()
        for matchers in sets:
            values.update(storage.label_values(name, matchers, start, end))
        return sorted(values)

    return _limited(await _in_thread(work), limit)
