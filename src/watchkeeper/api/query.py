"""``/api/v1/query`` and ``/api/v1/query_range``: evaluation off the event loop, cancelled on disconnect."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import Response

from ..model.batch import SeriesSet
from ..promql.engine import QueryResult
from ..promql.errors import ParseError, PromQLError
from ..promql.parser import parse
from ..storage.api import StorageError
from .context import ApiContext
from .errors import ApiError, bad_data, invalid_param
from .jsonfmt import format_value, matrix_json, scalar_json, success_json, vector_json
from .params import MAX_TIME_MS, MIN_TIME_MS, now_ms, parse_step_ms, parse_time_ms, time_param
from .request import form_params

__all__ = ["instant_query", "range_query", "query_exemplars", "MAX_POINTS"]

log = logging.getLogger(__name__)

# Prometheus refuses range queries with more points per series than this.
MAX_POINTS = 11_000


def _required_time(params: MultiDict, name: str) -> int:
    try:
        return parse_time_ms(params.get(name, ""))
    except ValueError as e:
        raise invalid_param(name, str(e)) from None


def _check_timeout(params: MultiDict) -> None:
    text = params.get("timeout", "")
    if text:
        try:
            parse_step_ms(text)
        except ValueError as e:
            raise invalid_param("timeout", str(e)) from None


def _render(result: QueryResult) -> bytes:
    """Encode a query result as the API's success envelope."""
    kind = result.result_type
    if kind == "matrix":
        data = matrix_json(result.series or SeriesSet.empty())
    elif kind == "vector":
        data = vector_json(result.series or SeriesSet.empty())
    elif kind == "scalar":
        assert result.scalar is not None
        t, v = result.scalar
        data = scalar_json(t, format_value(v))
    else:
        assert result.string is not None
        t, s = result.string
        data = scalar_json(t, s)
    ann = result.annotations
    body = '{"resultType":"' + kind + '","result":' + data + "}"
    return success_json(body, ann.warnings if ann else (), ann.infos if ann else ())


async def _wait_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _run(ctx: ApiContext, request: Request, work: Callable[[threading.Event], bytes]) -> Response:
    """Run ``work`` in the query pool; if the client goes away first, tell it to stop."""
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    fut = loop.run_in_executor(ctx.executor, work, cancel)
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    try:
        done, _ = await asyncio.wait({fut, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if fut not in done:
            cancel.set()
            log.info("client went away; cancelling query")
        body = await fut
    finally:
        watcher.cancel()
    return Response(body, media_type="application/json")


def _evaluate(call: Callable[[], QueryResult]) -> bytes:
    try:
        return _render(call())
    except ParseError as e:
        raise invalid_param("query", str(e)) from None
    except PromQLError as e:
        raise ApiError(e.error_type, str(e)) from None
    except StorageError as e:
        raise ApiError("execution", str(e)) from None


async def instant_query(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    t = time_param(params, "time", now_ms())
    _check_timeout(params)
    query = params.get("query", "")
    storage, engine = ctx.storage, ctx.engine

    def work(cancel: threading.Event) -> bytes:
        return _evaluate(lambda: engine.instant_query(storage, query, t, cancel=cancel))

    return await _run(ctx, request, work)


async def range_query(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    start = _required_time(params, "start")
    end = _required_time(params, "end")
    if end < start:
        raise invalid_param("end", "end timestamp must not be before start time")
    try:
        step = parse_step_ms(params.get("step", ""))
    except ValueError as e:
        raise invalid_param("step", str(e)) from None
    if step <= 0:
        raise invalid_param("step", "zero or negative query resolution step widths are not accepted. "
                            "Try a positive integer")
    if (end - start) // step > MAX_POINTS:
        raise bad_data("exceeded maximum resolution of 11,000 points per timeseries. "
                       "Try decreasing the query resolution (?step=XX)")
    _check_timeout(params)
    query = params.get("query", "")
    storage, engine = ctx.storage, ctx.engine

    def work(cancel: threading.Event) -> bytes:
        return _evaluate(lambda: engine.range_query(storage, query, start, end, step, cancel=cancel))

    return await _run(ctx, request, work)


async def query_exemplars(ctx: ApiContext, request: Request) -> Response:
    """``/api/v1/query_exemplars``: the query is checked, and the answer is empty.

    Exemplars are not stored (ingest drops them), so there are never any to
    return; Grafana asks for them whenever its exemplar toggle is on.
    """
    params = await form_params(request)
    start = time_param(params, "start", MIN_TIME_MS)
    end = time_param(params, "end", MAX_TIME_MS)
    if end < start:
        raise invalid_param("end", "end timestamp must not be before start time")
    try:
        parse(params.get("query", ""))
    except ParseError as e:
        raise invalid_param("query", str(e)) from None
    return Response(success_json("[]"), media_type="application/json")
