"""Dashboards: the file format, the watched directory of dashboard files, Grafana import and the HTTP API.

Format and behaviour are described in docs/dashboards.md.
"""

from .grafana import convert_grafana
from .http import DASHBOARDS_PATH, dashboard_routes
from .library import BUILTIN_DIR, DashboardEntry, DashboardLibrary, LoadError, NotFound, ReadOnly
from .model import Dashboard, DashboardError, dump_dashboard, parse_dashboard

__all__ = [
    "BUILTIN_DIR",
    "DASHBOARDS_PATH",
    "Dashboard",
    "DashboardEntry",
    "DashboardError",
    "DashboardLibrary",
    "LoadError",
    "NotFound",
    "ReadOnly",
    "convert_grafana",
    "dashboard_routes",
    "dump_dashboard",
    "parse_dashboard",
]
