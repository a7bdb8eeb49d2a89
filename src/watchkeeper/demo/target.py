"""The simulated exporters as one in-process HTTP scrape target.

All 30 targets (20 ``node``, 10 ``app``) are served from one loopback port, told apart by path
(``/node/web-01/metrics``); the scrape config sets each target's ``__metrics_path__`` and
``instance`` (``web-01:9100``), so the server scrapes them exactly as it would scrape real exporters
and records ``up``, scrape durations and staleness itself. A host that is down answers 503, which the
server reports as a failed scrape (``up == 0``).
"""

from __future__ import annotations

import time

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .catalog import Job
from .fleet import Fleet

__all__ = ["CONTENT_TYPE", "metrics_path", "target_app"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_path(job: Job, host: str) -> str:
    return f"/{job.name}/{host}/metrics"


def target_app(fleet: Fleet, jobs: tuple[Job, ...]) -> Starlette:
    """The ASGI app answering every simulated target's scrapes from ``fleet``'s current state."""
    by_name = {j.name: j for j in jobs}
    index = {h: i for i, h in enumerate(fleet.hosts)}

    async def scrape(request: Request) -> Response:
        job = by_name.get(request.path_params["job"])
        host = request.path_params["host"]
        if job is None or host not in job.host_names:
            return PlainTextResponse("no such target\n", status_code=404)
        snap = fleet.advance(np.array([time.time()]))
        if not snap.up[-1, index[host]]:
            return PlainTextResponse(f"{host} is down (simulated)\n", status_code=503)
        return Response(job.render(snap, host), media_type=CONTENT_TYPE)

    return Starlette(routes=[Route("/{job}/{host}/metrics", scrape)])
