"""Jira receiver config (``jira_configs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..durations import parse_duration
from ..globalconfig import GlobalConfig
from .base import ChannelConfig

__all__ = ["JiraConfig"]


@dataclass
class JiraConfig(ChannelConfig):
    KIND = "jira"
    URL_FIELDS = ("api_url",)

    api_url: str | None = None
    api_type: str = "auto"
    project: str | None = None
    summary: str = '{{ template "jira.default.summary" . }}'
    description: str = '{{ template "jira.default.description" . }}'
    labels: list[str] | None = None
    priority: str = '{{ template "jira.default.priority" . }}'
    issue_type: str | None = None
    reopen_transition: str | None = None
    resolve_transition: str | None = None
    wont_fix_resolution: str | None = None
    reopen_duration: str | None = None
    fields: dict[str, Any] | None = None

    def check(self) -> None:
        super().check()
        if not self.project:
            raise ValueError("missing project in jira_config")
        if not self.issue_type:
            raise ValueError("missing issue_type in jira_config")
        if self.api_type not in ("auto", "cloud", "datacenter"):
            raise ValueError(f"unknown api_type on jira_config: {self.api_type}")
        if self.reopen_duration is not None:
            parse_duration(self.reopen_duration)

    def resolve(self, glob: GlobalConfig) -> None:
        super().resolve(glob)
        if not self.api_url:
            if not glob.jira_api_url:
                raise ValueError("no global Jira Cloud URL set")
            self.api_url = glob.jira_api_url
