"""Alertmanager-compatible notification engine: configuration, routing, time intervals, silences,
inhibition. Imports only ``model`` (and ``support``); never PromQL, storage, rules or the HTTP layer."""

from __future__ import annotations

from .alert import Alert
from .check import check_alertmanager
from .config import AlertmanagerConfig, InhibitRule, Receiver, dump_config, load_config, load_config_file
from .errors import ConfigError
from .inhibit import Inhibitor
from .keys import fingerprint, format_labelset, group_key
from .matchers import MatcherParseError, parse_matcher, parse_matchers
from .route import Route, RouteOpts
from .silences import Silence, SilenceError, SilenceNotFound, Silences, SilenceState
from .timeintervals import NamedTimeInterval, TimeInterval

__all__ = [
    "Alert",
    "AlertmanagerConfig",
    "ConfigError",
    "InhibitRule",
    "Inhibitor",
    "MatcherParseError",
    "NamedTimeInterval",
    "Receiver",
    "Route",
    "RouteOpts",
    "Silence",
    "SilenceError",
    "SilenceNotFound",
    "SilenceState",
    "Silences",
    "TimeInterval",
    "check_alertmanager",
    "dump_config",
    "fingerprint",
    "format_labelset",
    "group_key",
    "load_config",
    "load_config_file",
    "parse_matcher",
    "parse_matchers",
]
