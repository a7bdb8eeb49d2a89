"""The demo's configuration, written into ``DATA_DIR/demo/`` so a user can read (and copy) what runs.

- ``prometheus.yml``: the server scraping itself and the 30 simulated targets (plus whatever the
  user's ``--config`` holds), loading ``rules.yml``;
- ``rules.yml``: the shipped alerting rules, their ``for:`` divided by the speed factor;
- ``alertmanager.yml``: the shipped routing to the log receiver, timers divided by the speed factor,
  writing ``notifications.log`` next to it;
- the shipped dashboards, copied into the dashboards directory unless a file of that name is there.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..gocompat.durations import format_duration, parse_duration
from .catalog import Job
from .target import metrics_path

__all__ = ["DemoConfigError", "DemoFiles", "NORMAL_INTERVAL_S", "interval_s", "write_files"]

NORMAL_INTERVAL_S = 15  # scrape and evaluation interval at speed 1


class DemoConfigError(ValueError):
    """The user's ``--config`` cannot be combined with the demo's."""


@dataclass(frozen=True)
class DemoFiles:
    prometheus: Path
    rules: Path
    alertmanager: Path
    notifications: Path


def interval_s(speed: float) -> int:
    """Scrape and evaluation interval at ``speed``: 15 s divided by it, at least 1 s."""
    return max(1, round(NORMAL_INTERVAL_S / speed))


def _scaled(text: str, speed: float) -> str:
    return format_duration(max(1000, round(parse_duration(text) / speed / 1000) * 1000))


def _shipped(name: str) -> str:
    return (resources.files("watchkeeper.demo") / name).read_text(encoding="utf-8")


def _rules(speed: float) -> str:
    doc = yaml.safe_load(_shipped("rules.yml"))
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = _scaled(rule["for"], speed)
    return yaml.safe_dump(doc, sort_keys=False, width=100)


def _alertmanager(speed: float, log_path: Path) -> str:
    doc = yaml.safe_load(_shipped("alertmanager.yml"))
    route = doc["route"]
    for key in ("group_wait", "group_interval"):
        route[key] = _scaled(route[key], speed)
    for receiver in doc["receivers"]:
        for entry in receiver.get("file_configs", []):
            if entry["path"] != "-":
                entry["path"] = str(log_path.parent / entry["path"])
    return yaml.safe_dump(doc, sort_keys=False)


def _scrape_jobs(jobs: tuple[Job, ...], target: str) -> list[dict[str, Any]]:
    return [{
        "job_name": job.name,
        "static_configs": [{"targets": [target],
                            "labels": {"__metrics_path__": metrics_path(job, h), "instance": job.instance(h)}}
                           for h in job.host_names],
    } for job in jobs]


def _prometheus(user_config: Path | None, *, self_target: str, target: str, jobs: tuple[Job, ...],
                speed: float, rules: Path) -> str:
    doc: dict[str, Any] = {}
    if user_config is not None:
        doc = yaml.safe_load(user_config.read_text(encoding="utf-8")) or {}
        if not isinstance(doc, dict):
            raise DemoConfigError(f"{user_config}: expected a mapping at the top level")
        # Rule files are relative to the config file that names them: keep pointing at the same files.
        doc["rule_files"] = [str(user_config.parent / p) for p in doc.get("rule_files") or []]
    every = f"{interval_s(speed)}s"
    glob = doc.setdefault("global", {}) or {}
    doc["global"] = glob
    glob.setdefault("scrape_interval", every)
    glob.setdefault("evaluation_interval", every)
    glob.setdefault("scrape_timeout", every if interval_s(speed) < 10 else "10s")
    doc["rule_files"] = [*doc.get("rule_files", []), str(rules)]
    scrape = list(doc.get("scrape_configs") or [])
    names = {c.get("job_name") for c in scrape if isinstance(c, dict)}
    if "watchkeeper" not in names:
        scrape.insert(0, {"job_name": "watchkeeper", "static_configs": [{"targets": [self_target]}]})
    for job in _scrape_jobs(jobs, target):
        if job["job_name"] in names:
            raise DemoConfigError(f"job_name {job['job_name']!r} in {user_config} is the demo's own: "
                                  "rename it")
        job["scrape_interval"] = every
        scrape.append(job)
    doc["scrape_configs"] = scrape
    return yaml.safe_dump(doc, sort_keys=False, width=120)


def _copy_dashboards(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    shipped = resources.files("watchkeeper.demo") / "dashboards"
    for item in shipped.iterdir():
        dest = directory / item.name
        if item.name.endswith(".yml") and not dest.exists():
            with resources.as_file(item) as src:
                shutil.copyfile(src, dest)


def write_files(data_dir: Path, *, jobs: tuple[Job, ...], target: str, self_target: str, speed: float,
                user_config: Path | None, dashboards_dir: Path) -> DemoFiles:
    """Write the demo's config files for targets served at ``target`` (host:port); returns their paths."""
    d = data_dir / "demo"
    d.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(d / "prometheus.yml", d / "rules.yml", d / "alertmanager.yml", d / "notifications.log")
    files.rules.write_text(_rules(speed), encoding="utf-8")
    files.alertmanager.write_text(_alertmanager(speed, files.notifications), encoding="utf-8")
    files.prometheus.write_text(_prometheus(user_config, self_target=self_target, target=target, jobs=jobs,
                                            speed=speed, rules=files.rules), encoding="utf-8")
    _copy_dashboards(dashboards_dir)
    return files
