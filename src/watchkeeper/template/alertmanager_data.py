"""Alertmanager's notification template data model (template.Data) with its Go methods.

The notification engine fills a `Data` per notification; templates see the same names and
methods as in Alertmanager: ``.Alerts.Firing``, ``.CommonLabels.SortedPairs.Values``,
``.CommonLabels.Remove .GroupLabels.Names`` and so on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .gofmt import format_v
from .gotime import GoTime, parse_rfc3339

__all__ = ["Pair", "Pairs", "KV", "Alert", "Alerts", "AlertSlice", "Data", "ZERO_TIME"]

ZERO_TIME = parse_rfc3339("0001-01-01T00:00:00Z")


@dataclass(frozen=True, slots=True)
class Pair:
    """A label/annotation name and value; Go prints it as ``{Name Value}``."""

    Name: str
    Value: str

    go_type = "template.Pair"

    def __str__(self) -> str:
        return "{" + self.Name + " " + self.Value + "}"


class Pairs(list[Pair]):
    """A list of pairs (Go template.Pairs) with Names and Values.

    Alertmanager 0.25 (the conformance reference) has no String method on Pairs or KV, so they
    print as Go slices and maps: ``[{alertname G1}]``, ``map[alertname:G1]``.
    """

    go_type = "template.Pairs"

    def Names(self) -> list[str]:
        return [p.Name for p in self]

    def Values(self) -> list[str]:
        return [p.Value for p in self]


class KV(dict[str, str]):
    """A label or annotation set (Go template.KV, a map[string]string with methods)."""

    go_type = "template.KV"
    go_elem_zero = ""

    def SortedPairs(self) -> Pairs:
        """Pairs sorted by name, with "alertname" first as Alertmanager does."""
        keys = sorted(k for k in self if k != "alertname")
        if "alertname" in self:
            keys.insert(0, "alertname")
        return Pairs(Pair(k, self[k]) for k in keys)

    def Remove(self, keys: Iterable[str] | None) -> KV:
        drop = set(keys or ())
        return KV({k: v for k, v in self.items() if k not in drop})

    def Names(self) -> list[str]:
        return self.SortedPairs().Names()

    def Values(self) -> list[str]:
        return self.SortedPairs().Values()


@dataclass(eq=False)
class Alert:
    """One alert as templates see it."""

    Status: str
    Labels: KV
    Annotations: KV
    StartsAt: GoTime = ZERO_TIME
    EndsAt: GoTime = ZERO_TIME
    GeneratorURL: str = ""
    Fingerprint: str = ""

    go_type = "template.Alert"

    def __str__(self) -> str:
        parts = [self.Status, format_v(dict(self.Labels)), format_v(dict(self.Annotations)),
                 self.StartsAt.String(), self.EndsAt.String(), self.GeneratorURL, self.Fingerprint]
        return "{" + " ".join(parts) + "}"

    def go_json(self) -> dict[str, Any]:
        return {
            "status": self.Status, "labels": dict(self.Labels), "annotations": dict(self.Annotations),
            "startsAt": self.StartsAt.go_json(), "endsAt": self.EndsAt.go_json(),
            "generatorURL": self.GeneratorURL, "fingerprint": self.Fingerprint,
        }


class AlertSlice(list[Alert]):
    """A plain []Alert: what Firing/Resolved return in Alertmanager (no further methods)."""

    go_type = "[]template.Alert"


class Alerts(list[Alert]):
    """A list of alerts with Firing/Resolved filters (Go template.Alerts)."""

    go_type = "template.Alerts"

    def Firing(self) -> AlertSlice:
        return AlertSlice(a for a in self if a.Status == "firing")

    def Resolved(self) -> AlertSlice:
        return AlertSlice(a for a in self if a.Status == "resolved")


@dataclass(eq=False)
class Data:
    """The dot of a notification template (Go template.Data)."""

    Receiver: str
    Status: str
    Alerts: Alerts = field(default_factory=Alerts)
    GroupLabels: KV = field(default_factory=KV)
    CommonLabels: KV = field(default_factory=KV)
    CommonAnnotations: KV = field(default_factory=KV)
    ExternalURL: str = ""

    go_type = "template.Data"

    def __str__(self) -> str:
        parts = [self.Receiver, self.Status, format_v(self.Alerts), format_v(dict(self.GroupLabels)),
                 format_v(dict(self.CommonLabels)), format_v(dict(self.CommonAnnotations)), self.ExternalURL]
        return "{" + " ".join(parts) + "}"

    def go_json(self) -> dict[str, Any]:
        return {
            "receiver": self.Receiver, "status": self.Status,
            "alerts": [a.go_json() for a in self.Alerts],
            "groupLabels": dict(self.GroupLabels), "commonLabels": dict(self.CommonLabels),
            "commonAnnotations": dict(self.CommonAnnotations), "externalURL": self.ExternalURL,
        }

    @classmethod
    def from_webhook(cls, doc: Mapping[str, Any]) -> Data:
        """Build Data from Alertmanager's webhook JSON (the same field names, lower camel case)."""
        alerts: Sequence[Mapping[str, Any]] = doc.get("alerts") or ()
        return cls(
            Receiver=doc.get("receiver", ""),
            Status=doc.get("status", ""),
            Alerts=Alerts(
                Alert(
                    Status=a.get("status", ""),
                    Labels=KV(a.get("labels") or {}),
                    Annotations=KV(a.get("annotations") or {}),
                    StartsAt=parse_rfc3339(a["startsAt"]) if a.get("startsAt") else ZERO_TIME,
                    EndsAt=parse_rfc3339(a["endsAt"]) if a.get("endsAt") else ZERO_TIME,
                    GeneratorURL=a.get("generatorURL", ""),
                    Fingerprint=a.get("fingerprint", ""),
                )
                for a in alerts
            ),
            GroupLabels=KV(doc.get("groupLabels") or {}),
            CommonLabels=KV(doc.get("commonLabels") or {}),
            CommonAnnotations=KV(doc.get("commonAnnotations") or {}),
            ExternalURL=doc.get("externalURL", ""),
        )
