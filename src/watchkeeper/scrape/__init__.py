"""Pull-based metric collection, behaving like Prometheus' scraping.

``ScrapeManager`` runs one pool per ``scrape_configs`` job: discovery
(static, file, HTTP) yields targets, ``relabel_configs`` shape them, and one
``ScrapeLoop`` per target fetches, parses (``exposition.textparse``), relabels and appends
samples, report series and staleness markers through ``storage.api.Appender``.
"""

from ..exposition.textparse import ParsedScrape, ParseError, parse
from .config import GlobalScrapeDefaults, ScrapeConfig
from .manager import ConfigError, ScrapeManager
from .relabel import RelabelConfig, relabel

__all__ = [
    "ConfigError",
    "GlobalScrapeDefaults",
    "ParseError",
    "ParsedScrape",
    "RelabelConfig",
    "ScrapeConfig",
    "ScrapeManager",
    "parse",
    "relabel",
]
