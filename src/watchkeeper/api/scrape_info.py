"""What the scrape manager knows: ``/api/v1/targets``, ``/targets/metadata``, ``/metadata``."""

from __future__ import annotations

from starlette.datastructures import MultiDict
from starlette.requests import Request
from starlette.responses import Response

from ..promql.errors import ParseError
from ..promql.parser import parse_metric_selector
from .context import ApiContext
from .errors import invalid_param
from .request import form_params
from .responses import json_response

__all__ = ["targets", "target_metadata", "metadata"]

_STATES = ("any", "active", "dropped")


def _int_param(params: MultiDict, name: str, default: int) -> int:
    text = params.get(name, "")
    if text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise invalid_param(name, f'cannot parse "{text}" to an integer') from None


async def targets(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    state = params.get("state", "any").lower() or "any"
    if state not in _STATES:
        state = "any"
    manager = ctx.scrape_manager()
    if manager is None:
        return json_response({"activeTargets": [], "droppedTargets": [], "droppedTargetCounts": {}})
    return json_response(manager.targets(state=state, scrape_pool=params.get("scrapePool", "")))


async def target_metadata(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    limit = _int_param(params, "limit", -1)
    matchers = []
    text = params.get("match_target", "")
    if text:
        try:
            matchers = parse_metric_selector(text)
        except ParseError as e:
            raise invalid_param("match_target", str(e)) from None
    manager = ctx.scrape_manager()
    if manager is None:
        return json_response([])
    return json_response(manager.target_metadata(matchers, params.get("metric", ""), limit))


async def metadata(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    limit = _int_param(params, "limit", -1)
    per_metric = _int_param(params, "limit_per_metric", -1)
    manager = ctx.scrape_manager()
    if manager is None:
        return json_response({})
    return json_response(manager.metadata(params.get("metric", ""), limit, per_metric))
