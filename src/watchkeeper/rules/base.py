"""What alerting and recording rules share: identity, parsed query, health."""

from __future__ import annotations

import hashlib

from ..model.labels import Labels
from ..promql import ast
from ..promql.parser import parse

__all__ = ["RuleBase", "HEALTH_UNKNOWN", "HEALTH_OK", "HEALTH_ERR"]

# Prometheus' rule health strings (/api/v1/rules "health").
HEALTH_UNKNOWN = "unknown"
HEALTH_OK = "ok"
HEALTH_ERR = "err"


class RuleBase:
    kind = ""

    def __init__(self, name: str, expr: str, *, labels: Labels) -> None:
        self.name = name
        # The text is what the API shows; the parsed tree is what runs (parsed once, not per evaluation).
        self.expr = expr
        self.query_expr: ast.Expr = parse(expr)
        self.labels = labels
        self.health = HEALTH_UNKNOWN
        self.last_error = ""
        self.last_evaluation_ms = 0
        self.evaluation_seconds = 0.0

    def name_and_labels(self) -> str:
        """What Prometheus matches rules by when it carries state over a reload."""
        return f"{self.name}{self.labels}"

    def state_key(self) -> str:
        """Identity for persisted state: a rule is 'unchanged' while name, labels and expr are."""
        raw = "\xff".join([self.kind, self.name, str(self.labels), self.expr])
        return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    def set_result(self, *, error: str | None, ts_ms: int, seconds: float) -> None:
        self.health = HEALTH_ERR if error is not None else HEALTH_OK
        self.last_error = error or ""
        self.last_evaluation_ms = ts_ms
        self.evaluation_seconds = seconds
