"""Differential checks against the real amtool 0.25 (Debian `prometheus-alertmanager`): routing results,
the printed routing tree, and check-config verdicts on hand-written configs."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.alerting.check import check_alertmanager
from watchkeeper.alerting.config import load_config_file
from watchkeeper.alerting.route import render_tree

AMTOOL = shutil.which("amtool")
CONF = CONFORMANCE / "alertmanager"
pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(AMTOOL is None or not CONF.is_dir(), reason="amtool or conformance data missing"),
]

ROUTING_CONFIGS = [
    "scenarios/routing-tree.yml",
    "cli-testdata/conf.routing.yml",
    "cli-testdata/conf.routing-reverted.yml",
    "config-testdata/conf.good.yml",
    "examples/ha-alertmanager.yml",
]


def amtool(*args: str) -> str:
    out = subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=30, check=False)
    return out.stdout


def _label_sets() -> list[dict[str, str]]:
    """A grid over the labels these configs route on, including absent labels and near misses."""
    values = {
        "team": [None, "db", "front", "frontend", "xfrontend", "DB"],
        "severity": [None, "critical", "warning"],
        "env": [None, "prod", "dev"],
        "service": [None, "foo1", "files", "database", "x"],
        "owner": [None, "team-Y"],
        "test": [None, "1", "2"],
    }
    out = []
    for combo in itertools.islice(itertools.product(*values.values()), 0, None, 53):
        labels = {k: v for k, v in zip(values, combo, strict=True) if v is not None}
        out.append({"alertname": "A", **labels})
    return out


@pytest.mark.parametrize("config", ROUTING_CONFIGS)
def test_routes_equal_amtool(config: str) -> None:
    path = CONF / config
    root = load_config_file(path).route
    sets = _label_sets()
    assert len(sets) > 25
    for labels in sets:
        ours = ",".join(r.opts.receiver for r in root.match(labels))
        theirs = amtool(
            "config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in labels.items())
        ).strip()
        assert ours == theirs, labels


@pytest.mark.parametrize("config", ROUTING_CONFIGS)
def test_tree_rendering_equals_amtool(config: str) -> None:
    path = CONF / config
    theirs = amtool("config", "routes", f"--config.file={path}")
    assert render_tree(load_config_file(path).route) == theirs.rstrip("\n") + "\n"


CONFIGS = {
    "ok_minimal": "route: {receiver: r}\nreceivers: [{name: r}]\n",
    "ok_full": (
        "global: {resolve_timeout: 1m, smtp_smarthost: 'h:25', smtp_from: a@b}\n"
        "route:\n  receiver: r\n  group_by: [a]\n  routes:\n"
        "    - matchers: ['x=~\"1|2\"']\n      mute_time_intervals: [t]\n      continue: true\n"
        "receivers:\n  - name: r\n    email_configs: [{to: c@d}]\n    webhook_configs: [{url: 'http://h/x'}]\n"
        "inhibit_rules: [{source_matchers: [a=b], target_matchers: [c=d], equal: [e]}]\n"
        "time_intervals: [{name: t, time_intervals: "
        "[{weekdays: ['monday:friday'], location: Europe/Berlin}]}]\n"
    ),
    "bad_receiver": "route: {receiver: nope}\nreceivers: [{name: r}]\n",
    "bad_group_by": "route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]\n",
    "bad_interval": "route: {receiver: r, repeat_interval: 0s}\nreceivers: [{name: r}]\n",
    "bad_key": "route: {receiver: r, colour: red}\nreceivers: [{name: r}]\n",
    "bad_matcher": "route: {receiver: r, routes: [{matchers: ['a']}]}\nreceivers: [{name: r}]\n",
    "bad_email": "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a@b}]}]\n",
    "bad_pd": "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{}]}]\n",
    "bad_weekday": "route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: t, time_intervals: "
    "[{weekdays: [funday]}]}]\n",
    "bad_times": "route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: t, time_intervals: "
    "[{times: [{start_time: '10:00', end_time: '09:00'}]}]}]\n",
    "bad_scheme": "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'ftp://x'}]}]\n",
    "bad_025_slack_app_token": (
        "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{app_token: x, channel: c}]}]\n"
    ),
    "bad_025_tracing": "route: {receiver: r}\nreceivers: [{name: r}]\ntracing: {endpoint: 'h:1'}\n",
    "bad_025_telegram_global_token": (
        "global: {telegram_bot_token: t}\n"
        "route: {receiver: r}\nreceivers: [{name: r, telegram_configs: [{chat_id: 1}]}]\n"
    ),
    "ok_telegram_inline_token": (
        "route: {receiver: r}\nreceivers: [{name: r, telegram_configs: [{chat_id: 1, bot_token: t}]}]\n"
    ),
    "bad_global_both": "global: {opsgenie_api_key: a, opsgenie_api_key_file: /f}\n"
    "route: {receiver: r}\nreceivers: [{name: r}]\n",
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_check_config_verdict_equals_amtool(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yml"
    path.write_text(CONFIGS[name])
    theirs = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, timeout=30, check=False)
    ours, out = check_alertmanager([str(path)], compat="0.25")
    assert (ours == 0) == (theirs.returncode == 0), out
    assert (ours == 0) == name.startswith("ok_")
