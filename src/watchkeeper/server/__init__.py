"""The composition root: ``Server`` wires storage, engine, scraping and the HTTP API and runs them."""

from .options import ServerOptions
from .server import Server

__all__ = ["Server", "ServerOptions"]
