"""OpsGenie receiver config (``opsgenie_configs``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..globalconfig import GlobalConfig
from ..schema import secret
from .base import ChannelConfig
from .sending import SendContext, group_hash, post_json, read_secret

__all__ = ["OpsGenieConfig", "send"]

_RESPONDER_TYPES = ("team", "teams", "user", "escalation", "schedule")
_TEMPLATE = re.compile(r"\{\{.*\}\}", re.S)


@dataclass
class OpsGenieConfig(ChannelConfig):
    KIND = "opsgenie"
    URL_FIELDS = ("api_url",)

    api_key: str | None = secret()
    api_key_file: str | None = None
    api_url: str | None = None
    message: str = '{{ template "opsgenie.default.message" . }}'
    description: str = '{{ template "opsgenie.default.description" . }}'
    source: str = '{{ template "opsgenie.default.source" . }}'
    details: dict[str, str] | None = None
    entity: str | None = None
    responders: list[dict[str, Any]] | None = None
    actions: str | None = None
    tags: str | None = None
    note: str | None = None
    priority: str | None = None
    update_alerts: bool = False

    def check(self) -> None:
        super().check()
        self.exclusive(self.api_key, self.api_key_file, "api_key")
        for r in self.responders or []:
            if not (r.get("id") or r.get("username") or r.get("name")):
                raise ValueError(
                    f"opsGenieConfig responder {r} has to have at least one of id, username or name specified"
                )
            rtype = str(r.get("type", ""))
            if _TEMPLATE.search(rtype):
                continue
            r["type"] = rtype.lower()
            if r["type"] not in _RESPONDER_TYPES:
                raise ValueError(
                    f"opsGenieConfig responder {r} type does not match valid options "
                    "team|teams|user|escalation|schedule"
                )

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        url = self.api_url or glob.opsgenie_api_url
        self.api_url = url if url.endswith("/") else url + "/"
        if not self.api_key and not self.api_key_file:
            if not glob.opsgenie_api_key and not glob.opsgenie_api_key_file:
                raise ValueError("no global OpsGenie API Key set either inline or in a file")
            self.api_key, self.api_key_file = glob.opsgenie_api_key, glob.opsgenie_api_key_file


async def send(cfg: OpsGenieConfig, ctx: SendContext) -> None:
    """Create (firing) or close (resolved) the alert aliased by the group key's hash, with
    ``Authorization: GenieKey <api_key>``."""
    alias = group_hash(ctx.group_key)
    base = str(cfg.api_url).rstrip("/") + "/v2/alerts"
    headers = {"Authorization": "GenieKey " + read_secret(cfg.api_key, cfg.api_key_file)}
    if not ctx.firing:
        url = f"{base}/{alias}/close?identifierType=alias"
        body_close = {"source": ctx.render(cfg.source)}
        await post_json(ctx, url, body_close, http_config=cfg.http_config, headers=headers)
        return
    body: dict[str, Any] = {
        "alias": alias,
        "message": ctx.render(cfg.message)[:130],
        "description": ctx.render(cfg.description),
        "details": {k: ctx.render(v) for k, v in (cfg.details or {}).items()},
        "source": ctx.render(cfg.source),
    }
    for key in ("entity", "note", "priority"):
        value = getattr(cfg, key)
        if value:
            body[key] = ctx.render(value)
    if cfg.tags:
        body["tags"] = [t.strip() for t in ctx.render(cfg.tags).split(",") if t.strip()]
    if cfg.actions:
        body["actions"] = [t.strip() for t in ctx.render(cfg.actions).split(",") if t.strip()]
    if cfg.responders:
        body["responders"] = [{k: ctx.render(v) for k, v in r.items()} for r in cfg.responders]
    await post_json(ctx, base, body, http_config=cfg.http_config, headers=headers)
