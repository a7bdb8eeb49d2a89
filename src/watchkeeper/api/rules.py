"""Rules and alerts: ``/api/v1/rules``, ``/api/v1/alerts`` and the rule-group CRUD API.

The CRUD API (a watchkeeper extension) is shaped like the Cortex/Mimir ruler API:
groups live in namespaces, bodies and listings are YAML, writes answer 202 and
are followed by a reload of the rule files. A write whose reload fails (another
stored file conflicts) is rolled back, so the store never holds a group the
engine refused.
"""

from __future__ import annotations

from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import Response

from ..rules.api import alerts_data, rules_data
from ..rules.manager import RuleLoadError
from ..rules.store import RuleStoreError
from .context import ApiContext
from .errors import ApiError, bad_data, invalid_param
from .request import BodyTooLarge, form_params, read_body
from .responses import json_response

__all__ = ["rules", "alerts", "alertmanagers", "ruler_list", "ruler_namespace", "ruler_group", "ruler_post",
           "ruler_delete_group", "ruler_delete_namespace"]

_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_YAML = "application/yaml"


def _go_bool(name: str, text: str) -> bool:
    if text == "" or text in _GO_FALSE:
        return False
    if text in _GO_TRUE:
        return True
    raise invalid_param(name, f'strconv.ParseBool: parsing "{text}": invalid syntax')


async def rules(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    manager = ctx.rules()
    if manager is None:
        return json_response({"groups": []})
    exclude = _go_bool("exclude_alerts", params.get("exclude_alerts", ""))
    try:
        data = rules_data(manager, rule_type=params.get("type") or None,
                          rule_names=params.getlist("rule_name[]"),
                          rule_groups=params.getlist("rule_group[]"),
                          files=params.getlist("file[]"), exclude_alerts=exclude)
    except ValueError as e:
        raise bad_data(str(e)) from None
    return json_response(data)


async def alerts(ctx: ApiContext, request: Request) -> Response:
    manager = ctx.rules()
    return json_response(alerts_data(manager) if manager is not None else {"alerts": []})


async def alertmanagers(ctx: ApiContext, request: Request) -> Response:
    if ctx.alertmanagers is None:
        return json_response({"activeAlertmanagers": [], "droppedAlertmanagers": []})
    return json_response(ctx.alertmanagers())


def _store(ctx: ApiContext) -> Any:
    store = ctx.rule_store()
    if store is None:
        raise ApiError("unavailable", "the rules API is not available")
    return store


def _yaml(doc: Any, status: int = 200) -> Response:
    return Response(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), status_code=status,
                    media_type=_YAML)


def _accepted() -> Response:
    return Response(json_response(None).body, status_code=202, media_type="application/json")


def _not_found(what: str) -> ApiError:
    return ApiError("not_found", what)


async def ruler_list(ctx: ApiContext, request: Request) -> Response:
    """``GET /api/v1/rules-api``: every namespace with its groups, as YAML."""
    return _yaml(_store(ctx).namespaces())


async def ruler_namespace(ctx: ApiContext, request: Request) -> Response:
    """``GET /api/v1/rules-api/{namespace}``: that namespace's groups, as YAML."""
    ns = request.path_params["namespace"]
    groups = _store(ctx).groups(ns)
    if not groups:
        raise _not_found("no rule groups found")
    return _yaml({ns: groups})


async def ruler_group(ctx: ApiContext, request: Request) -> Response:
    """``GET /api/v1/rules-api/{namespace}/{group}``: one group, as YAML."""
    group = _store(ctx).group(request.path_params["namespace"], request.path_params["group"])
    if group is None:
        raise _not_found("group does not exist")
    return _yaml(group)


async def _reload_or_rollback(ctx: ApiContext, namespace: str, before: list[dict[str, Any]]) -> None:
    """Apply the store's change; if the engine refuses it, put the namespace back as it was."""
    if ctx.reload_rules is None:
        return
    try:
        await ctx.reload_rules()
    except RuleLoadError as e:
        store = _store(ctx)
        store.delete(namespace)
        for g in before:
            store.put(namespace, g)
        raise bad_data(str(e)) from None


async def ruler_post(ctx: ApiContext, request: Request) -> Response:
    """``POST /api/v1/rules-api/{namespace}`` with one YAML rule group: create or replace it."""
    store = _store(ctx)
    ns = request.path_params["namespace"]
    try:
        body = await read_body(request, ctx.max_body_bytes)
    except BodyTooLarge as e:
        raise bad_data(str(e)) from None
    try:
        doc = yaml.safe_load(body.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise bad_data(f"invalid rule group YAML: {e}") from None
    before = store.groups(ns)
    try:
        store.put(ns, doc)
    except RuleStoreError as e:
        raise bad_data(str(e)) from None
    await _reload_or_rollback(ctx, ns, before)
    return _accepted()


async def ruler_delete_group(ctx: ApiContext, request: Request) -> Response:
    """``DELETE /api/v1/rules-api/{namespace}/{group}``."""
    store = _store(ctx)
    ns = request.path_params["namespace"]
    before = store.groups(ns)
    if not store.delete(ns, request.path_params["group"]):
        raise _not_found("group does not exist")
    await _reload_or_rollback(ctx, ns, before)
    return _accepted()


async def ruler_delete_namespace(ctx: ApiContext, request: Request) -> Response:
    """``DELETE /api/v1/rules-api/{namespace}``: every group of the namespace."""
    store = _store(ctx)
    ns = request.path_params["namespace"]
    before = store.groups(ns)
    if not store.delete(ns):
        raise _not_found("namespace does not exist")
    await _reload_or_rollback(ctx, ns, before)
    return _accepted()
