"""``watchkeeper alertmanager``: the notification engine alone, serving Alertmanager's API v2.

    watchkeeper alertmanager --config alertmanager.yml --data-dir DIR --listen HOST:PORT

``add_arguments(parser)`` and ``run(args)`` are what the CLI wires in; ``create_app(service, path)`` is
the Starlette app (API v2, ``/metrics``, ``/-/healthy``, ``/-/ready``, ``POST /-/reload`` re-reading
``path``), also used by tests.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ..support import eventloop
from .argtypes import duration_ms

if TYPE_CHECKING:  # the CLI builds its parser from this module: keep importing it cheap
    from starlette.applications import Starlette

    from ..alerting.service import AlertmanagerService

__all__ = ["add_arguments", "run", "create_app"]

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "--config.file", dest="config", required=True,
                        help="alertmanager.yml (Alertmanager's format, unchanged)")
    parser.add_argument("--data-dir", "--storage.path", dest="data_dir", default="data",
                        help="where silences, the notification log and active alerts persist")
    parser.add_argument("--listen", "--web.listen-address", dest="listen", default="0.0.0.0:9093",
                        help="HOST:PORT to serve the API on")
    parser.add_argument("--web.external-url", dest="external_url", default="",
                        help="URL the engine is reachable under (used in notification links)")
    parser.add_argument("--data.retention", dest="data_retention", default="120h", type=duration_ms,
                        metavar="DURATION", help="how long expired silences and notification-log entries "
                                                 "are kept (Alertmanager's flag; default 120h)")
    parser.add_argument("--events.retention", dest="events_retention", default="7d", type=duration_ms,
                        metavar="DURATION", help="how long the event log (alert state changes, silence "
                                                 "changes, notification attempts) is kept (default 7d)")


def create_app(service: AlertmanagerService, config_path: str | None = None) -> Starlette:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from ..api.alertmanager_v2 import alertmanager_v2_routes

    async def healthy(request: Request) -> Response:
        return PlainTextResponse("OK")

    async def reload(request: Request) -> Response:
        from ..alerting.config import load_config_file

        try:
            service.reload(load_config_file(config_path))
        except Exception as exc:  # the reason is the response; the old config stays in force
            return PlainTextResponse(f"failed to reload config: {exc}\n", status_code=500)
        return PlainTextResponse("")

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(service.metrics_text(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        *alertmanager_v2_routes(service),
        Route("/-/healthy", healthy, methods=["GET", "HEAD"]),
        Route("/-/ready", healthy, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
        *([Route("/-/reload", reload, methods=["POST", "PUT"])] if config_path else []),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def run(args: argparse.Namespace) -> int:
    """Load the config, serve until SIGINT/SIGTERM; 1 on a bad config or address."""
    import uvicorn

    from ..alerting.config import load_config_file
    from ..alerting.errors import ConfigError
    from ..alerting.service import AlertmanagerService
    from ..server.options import parse_listen

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    try:
        config = load_config_file(args.config)
        host, port = parse_listen(args.listen)
    except (ConfigError, ValueError, OSError) as exc:
        log.error("%s", exc)
        return 1
    external = args.external_url or f"http://{host if host != '0.0.0.0' else 'localhost'}:{port}"
    service = AlertmanagerService(config, data_dir=args.data_dir, external_url=external,
                                  data_retention_ns=args.data_retention * 1_000_000,
                                  event_retention_ns=args.events_retention * 1_000_000)
    app = create_app(service, args.config)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    eventloop.run(server.serve())
    return 0
