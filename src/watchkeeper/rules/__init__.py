"""Prometheus alerting and recording rules: files, evaluation, state, checks and unit tests.

The server hands the manager its collaborators as callables (query, appendable,
notify, clock); this package imports nothing from storage internals or from the
notification engine. ``rules.unittest`` (the ``test rules`` runner) is the exception: like
promtool it brings its own in-memory store, so it is imported separately.
"""

from .alert import RESOLVED_RETENTION_MS, Alert, AlertState
from .alerting_rule import AlertingRule
from .api import alerts_data, rules_data
from .check import check_rules, check_rules_split
from .group import Group, GroupOptions
from .manager import RuleLoadError, RuleManager
from .notify import to_api_alert
from .recording_rule import RecordingRule
from .rulefmt import GroupDef, RuleDef, RuleFile, parse_rule_file, parse_rules

__all__ = [
    "Alert",
    "AlertState",
    "RESOLVED_RETENTION_MS",
    "AlertingRule",
    "RecordingRule",
    "Group",
    "GroupOptions",
    "RuleManager",
    "RuleLoadError",
    "RuleDef",
    "GroupDef",
    "RuleFile",
    "parse_rules",
    "parse_rule_file",
    "check_rules",
    "check_rules_split",
    "rules_data",
    "alerts_data",
    "to_api_alert",
]
