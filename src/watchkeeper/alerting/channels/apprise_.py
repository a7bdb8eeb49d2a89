"""The long tail of services through the Apprise library (``apprise_configs``; watchkeeper's addition).

Each entry of ``urls`` is an Apprise URL (``ntfy://topic``, ``gotify://host/token``, ``json://host/path``,
...; https://github.com/caronc/apprise/wiki lists them). Apprise is blocking, so each URL is notified in
a worker thread, off the event loop. Apprise reports only success or failure, so every failure counts as
retryable; a retry notifies only the URLs that failed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ..schema import secret
from .base import ChannelConfig
from .fanout import FanOut
from .sending import ChannelError, SendContext

__all__ = ["AppriseConfig", "send", "NOTIFY_TYPES", "BODY_FORMATS"]

NOTIFY_TYPES = ("info", "success", "warning", "failure")
BODY_FORMATS = ("text", "markdown", "html")
_APP = {"app_id": "watchkeeper", "app_desc": "watchkeeper alert notifications"}


def _scheme(url: str) -> str:
    """The part of an Apprise URL safe to show: everything after the scheme may hold a secret."""
    return url.split("://", 1)[0] + "://" if "://" in url else "(no scheme)"


@dataclass
class AppriseConfig(ChannelConfig):
    KIND = "apprise"

    urls: list[str] | None = secret()
    title: str = '{{ template "apprise.default.title" . }}'
    body: str = '{{ template "apprise.default.body" . }}'
    notify_type: str = '{{ if eq .Status "firing" }}failure{{ else }}success{{ end }}'
    body_format: str = "text"

    def __post_init__(self) -> None:
        self._fanout = FanOut()  # not a config field: which URLs already have the current notification

    def check(self) -> None:
        super().check()
        if self.http_config is not None:
            raise ValueError("http_config is not used by apprise_configs: put options in the Apprise URLs")
        if not self.urls or not isinstance(self.urls, list):
            raise ValueError("missing urls in apprise config: a list of Apprise URLs")
        if self.body_format not in BODY_FORMATS:
            raise ValueError(f'unknown body_format "{self.body_format}" in apprise config, '
                             f"must be one of {', '.join(BODY_FORMATS)}")
        import apprise  # loading Apprise and its plugins takes a second: only when the channel is used

        asset = apprise.AppriseAsset(**_APP)
        for i, url in enumerate(self.urls, 1):
            if not isinstance(url, str) or not url:
                raise ValueError(f"apprise config: url #{i} must be a non-empty string")
            if apprise.Apprise.instantiate(url, asset=asset) is None:
                raise ValueError(
                    f"apprise config: url #{i} ({_scheme(url)}...) is not a URL Apprise supports"
                )

    def resolve(self, glob: Any) -> None:
        """Nothing to inherit: Apprise URLs carry their own settings (``http_config`` is not used)."""


def _notify(url: str, title: str, body: str, notify_type: str, body_format: str) -> str | None:
    """Blocking: notify one URL; None on success, else what Apprise logged about the failure."""
    import apprise

    ap = apprise.Apprise(asset=apprise.AppriseAsset(**_APP))
    if not ap.add(url):
        return "not a URL Apprise supports"
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
        ok = ap.notify(body=body, title=title, notify_type=notify_type, body_format=body_format)
        text = logs.getvalue().strip()
    if ok:
        return None
    return text.splitlines()[-1] if text else "Apprise reported a failure"


async def send(cfg: AppriseConfig, ctx: SendContext) -> None:
    """Notify every URL (in a worker thread each); a retry notifies only the URLs that failed."""
    title = ctx.render(cfg.title)
    body = ctx.render(cfg.body)
    notify_type = ctx.render(cfg.notify_type).strip()
    if notify_type not in NOTIFY_TYPES:
        raise ChannelError(
            f'notify_type rendered to "{notify_type}", must be one of {", ".join(NOTIFY_TYPES)}',
            retryable=False,
        )

    async def send_one(url: str) -> None:
        error = await asyncio.to_thread(_notify, url, title, body, notify_type, cfg.body_format)
        if error is not None:
            raise ChannelError(f"{_scheme(url)}: {error}", retryable=True)

    await cfg._fanout.send(ctx, cfg.urls or [], send_one, what="Apprise URLs")
