"""``http_sd_configs``: poll a URL returning JSON target groups; keep the last good answer on error."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import httpx

from ..config import HTTPSDConfig
from ..httpclient import ScrapeError, auth_headers, make_client
from ..target import TargetGroup
from . import Update, groups_from_json

__all__ = ["HTTPSDProvider"]

log = logging.getLogger(__name__)


class HTTPSDProvider:
    def __init__(
        self,
        cfg: HTTPSDConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.cfg = cfg
        self.sleep = sleep
        self._client = client
        self.last: list[TargetGroup] | None = None
        self.last_error = ""

    async def fetch(self) -> list[TargetGroup]:
        """One request, validated like Prometheus' HTTP SD (200, application/json, group list)."""
        cfg = self.cfg
        client = self._client or make_client(cfg)
        headers = {"X-Prometheus-Refresh-Interval-Seconds": str(cfg.refresh_interval // 1000)}
        headers.update(auth_headers(cfg))
        try:
            resp = await client.get(cfg.url, headers=headers, timeout=30)
        except httpx.HTTPError as e:
            raise ScrapeError(f'Get "{cfg.url}": {e or type(e).__name__}') from None
        finally:
            if self._client is None:
                await client.aclose()
        if resp.status_code != 200:
            raise ScrapeError(f"server returned HTTP status {resp.status_code} {resp.reason_phrase}")
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype != "application/json":
            raise ScrapeError(f'unsupported content type "{resp.headers.get("Content-Type", "")}"')
        try:
            data = json.loads(resp.content)
            return groups_from_json(data, cfg.url, {"__meta_url": cfg.url})
        except ValueError as e:
            raise ScrapeError(str(e)) from None

    async def refresh(self) -> bool:
        """Fetch once; True if the groups changed. On error the last good groups stay."""
        try:
            groups = await self.fetch()
        except ScrapeError as e:
            self.last_error = str(e)
            log.error("http_sd %s: %s", self.cfg.url, e)
            return False
        self.last_error = ""
        if groups == self.last:
            return False
        self.last = groups
        return True

    async def run(self, update: Update) -> None:
        while True:
            if await self.refresh() and self.last is not None:
                update(self.last)
            await self.sleep(self.cfg.refresh_interval / 1000)
