"""Alertmanager-compatible notification engine: configuration, routing, time intervals, silences,
inhibition. Imports only ``model`` (and ``support``); never PromQL, storage, rules or the HTTP layer."""

from __future__ import annotations

from .alert import Alert
from .channels.webhook import webhook_message
from .check import check_alertmanager
from .config import (
    AlertmanagerConfig,
    InhibitRule,
    Receiver,
    dump_config,
    load_config,
    load_config_file,
    load_config_mapping,
)
from .dialect import AM_0_25, DIALECTS, HEAD, Dialect
from .dispatch import AlertStore, Dispatcher, Flush, Notification
from .errors import ConfigError
from .inhibit import Inhibitor
from .keys import fingerprint, format_labelset, group_key
from .matchers import MatcherParseError, parse_matcher, parse_matchers
from .nflog import LogEntry, NotificationLog, dedup_reason, hash_alert
from .notifydata import template_data
from .route import Route, RouteOpts, render_tree
from .silences import Silence, SilenceError, SilenceNotFound, Silences, SilenceState
from .timeintervals import NamedTimeInterval, TimeInterval, suppressed

__all__ = [
    "AM_0_25",
    "DIALECTS",
    "Dialect",
    "HEAD",
    "Alert",
    "AlertStore",
    "AlertmanagerConfig",
    "ConfigError",
    "Dispatcher",
    "Flush",
    "InhibitRule",
    "LogEntry",
    "Inhibitor",
    "MatcherParseError",
    "NamedTimeInterval",
    "Notification",
    "NotificationLog",
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
    "dedup_reason",
    "dump_config",
    "fingerprint",
    "format_labelset",
    "group_key",
    "hash_alert",
    "load_config",
    "load_config_file",
    "load_config_mapping",
    "parse_matcher",
    "parse_matchers",
    "render_tree",
    "suppressed",
    "template_data",
    "webhook_message",
]
