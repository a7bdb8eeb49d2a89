"""The web UI: static single-page app, its HTML shell, and the live-streaming WebSocket endpoint."""

from .routes import UI_PATHS, create_web_routes, static_dir

__all__ = ["UI_PATHS", "create_web_routes", "static_dir"]
