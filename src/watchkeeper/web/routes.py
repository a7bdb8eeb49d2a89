"""Routes of the web UI: the single-page app under ``/``, its assets under ``/static``, the stream socket.

The app's pages are client-side routes; every one of ``UI_PATHS`` answers with the same HTML shell so a
reload or a shared link lands on the right page. Nothing here touches ``/api/`` paths except the stream.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from ..api.context import ApiContext
from .stream import StreamHub

__all__ = ["UI_PATHS", "STREAM_PATH", "create_web_routes", "static_dir"]

# Page paths of the single-page app (Prometheus' UI uses /graph, /targets, /alerts, /rules too); one
# entry per page of frontend/src/main.ts's PAGES (Starlette path syntax, e.g. "/x/{rest:path}").
UI_PATHS = (
    "/",
    "/graph",
    "/dashboards",
    "/alerts",
    "/silences",
    "/events",
    "/rules",
    "/targets",
)
STREAM_PATH = "/api/v1/stream"

_SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>watchkeeper</title>
<meta name="watchkeeper-features" content="{features}">
<link rel="icon" href="{icon}">
<link rel="stylesheet" href="/static/app.css?v={version}">
</head>
<body>
<div id="app"></div>
<script src="/static/app.js?v={version}"></script>
</body>
</html>
"""

# Inline, so browsers do not ask for /favicon.ico (a 404 in every page's console).
_ICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
         "%3Ccircle cx='8' cy='8' r='7' fill='%233274d9'/%3E%3C/svg%3E")

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>watchkeeper</title></head>
<body><h1>watchkeeper</h1>
<p>The web UI's assets are missing from this installation: install with <code>pip install .</code>
from a source tree (it builds the frontend with npm), or run <code>npm ci &amp;&amp; npm run build</code>
in <code>frontend/</code>. The HTTP API under <code>/api/v1/</code> works without them.</p>
</body></html>
"""


def static_dir() -> Path:
    """Where the built frontend lives inside the installed package."""
    return Path(__file__).parent / "static"


def _asset_version(directory: Path) -> str:
    """Changes whenever the bundle is rebuilt, so browsers never run a stale cached app."""
    try:
        return str(int((directory / "app.js").stat().st_mtime))
    except OSError:
        return "0"


def create_web_routes(ctx: ApiContext, directory: Path | None = None) -> list[BaseRoute]:
    """The UI's routes, to be appended to the API app's routes (after them: API paths win)."""
    directory = directory or static_dir()
    built = (directory / "app.js").is_file() and (directory / "app.css").is_file()
    hub = StreamHub(ctx)

    async def page(request: Request) -> Response:
        if not built:
            return HTMLResponse(_NOT_BUILT, status_code=503)
        # What the app may call: the /api/v2 (Alertmanager) pages only exist with an in-process one.
        features = "alertmanager" if ctx.alertmanager() is not None else ""
        return HTMLResponse(_SHELL.format(version=_asset_version(directory), icon=_ICON, features=features),
                            headers={"Cache-Control": "no-cache"})

    async def stream(ws: WebSocket) -> None:
        await hub.serve(ws)

    routes: list[BaseRoute] = [Route(path, page, methods=["GET", "HEAD"]) for path in UI_PATHS]
    routes.append(WebSocketRoute(STREAM_PATH, stream))
    if built:
        routes.append(Mount("/static", StaticFiles(directory=directory), name="static"))
    return routes
