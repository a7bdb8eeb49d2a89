"""alertmanager.yml loading and `check alertmanager` verdicts against the upstream fixtures, read in place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.alerting.check import check_alertmanager
from watchkeeper.alerting.config import dump_config, load_config, load_config_file
from watchkeeper.alerting.errors import ConfigError

CONF = CONFORMANCE / "alertmanager"
pytestmark = pytest.mark.skipif(not CONF.is_dir(), reason="conformance data not present")


def _table() -> list[list[str]]:
    if not CONF.is_dir():
        return []
    lines = (CONF / "config-testdata" / "EXPECTED.md").read_text().splitlines()
    return [[c.strip() for c in line.split("|")[1:-1]] for line in lines if line.startswith("| `conf")]


def _expected_rows() -> list[tuple[str, str, str]]:
    """(file, HEAD verdict, HEAD error text)."""
    return [(row[0].strip("`"), row[1], row[2]) for row in _table()]


def _amtool_rows() -> list[tuple[str, str]]:
    """(file, amtool 0.25 result: 'valid' or 'invalid: FAILED: <first line>')."""
    return [(row[0].strip("`"), row[3]) for row in _table()]


def _needle(text: str) -> str:
    """What the expected HEAD error text requires to appear in our message."""
    m = re.search(r"mentions `([^`]+)`", text)
    if m:
        return m.group(1)
    return text.split("  line")[0].strip() if text.startswith("yaml:") else text


@pytest.mark.parametrize(("name", "verdict", "message"), _expected_rows(), ids=lambda x: str(x)[:60])
def test_fixture_verdict(name: str, verdict: str, message: str) -> None:
    code, out = check_alertmanager([str(CONF / "config-testdata" / name)])
    assert (code == 0) == (verdict == "valid"), out
    if verdict == "invalid":
        assert _needle(message) in out
        line = re.search(r"line \d+", message)
        if line:  # the line number upstream reports is reported too
            assert line.group(0) in out


@pytest.mark.parametrize(("name", "amtool"), _amtool_rows(), ids=lambda x: str(x)[:60])
def test_fixture_verdict_in_0_25_mode_equals_amtool(name: str, amtool: str) -> None:
    code, out = check_alertmanager([str(CONF / "config-testdata" / name)], compat="0.25")
    assert (code == 0) == (amtool == "valid"), out
    if amtool != "valid":
        assert amtool.removeprefix("invalid: FAILED: ") in out


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("cli-testdata/conf.bad.yml", False),
        ("cli-testdata/conf.good.yml", True),
        ("cli-testdata/conf.routing.yml", True),
        ("cli-testdata/conf.routing-reverted.yml", True),
        ("examples/ha-alertmanager.yml", True),
        ("examples/simple.yml", False),  # `tracing:` is newer than 0.25
        ("examples/route_labels.yml", False),  # so are route `labels`
    ],
)
def test_other_fixtures_in_0_25_mode(path: str, valid: bool) -> None:
    code, out = check_alertmanager([str(CONF / path)], compat="0.25")
    assert (code == 0) == valid, out


def test_expected_table_covers_every_fixture() -> None:
    listed = {r[0] for r in _expected_rows()}
    assert listed == {p.name for p in (CONF / "config-testdata").glob("conf.*.yml")}
    assert len(listed) == 46


@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("cli-testdata/conf.bad.yml", False),
        ("cli-testdata/conf.good.yml", True),
        ("cli-testdata/conf.routing.yml", True),
        ("cli-testdata/conf.routing-reverted.yml", True),
        ("examples/ha-alertmanager.yml", True),
        # Valid for current Alertmanager (HEAD); 0.25 rejects them only for the newer
        # `tracing:` / route `labels`.
        ("examples/simple.yml", True),
        ("examples/route_labels.yml", True),
    ],
)
def test_other_fixtures(path: str, valid: bool) -> None:
    code, out = check_alertmanager([str(CONF / path)])
    assert (code == 0) == valid, out


def test_check_report_shape() -> None:
    code, out = check_alertmanager(
        [str(CONF / "config-testdata/conf.good.yml"), str(CONF / "cli-testdata/conf.bad.yml")]
    )
    assert code == 1
    assert "conf.good.yml'  SUCCESS" in out and " - 1 inhibit rules" in out and " - 9 receivers" in out
    assert "conf.bad.yml'  FAILED (line 1): yaml: unmarshal errors:" in out
    assert "cannot unmarshal !!str `BAD` into config.plain" in out
    assert out.rstrip().endswith("failed to validate 1 file(s)")


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    code, out = check_alertmanager([str(tmp_path / "nope.yml")])
    assert code == 1 and "nope.yml" in out and "no such file" in out


def test_defaults_filled_like_alertmanager() -> None:
    cfg = load_config_file(CONF / "config-testdata/conf.good.yml")
    assert cfg.global_.resolve_timeout_seconds == 300
    pager = cfg.receivers["team-X-pager"]
    email = pager.integrations["email_configs"][0]
    assert email.send_resolved is False
    assert email.smarthost == "localhost:25" and email.from_ == "alertmanager@example.org"
    assert email.hello == "host.example.org" and email.auth_password == "multiline\nmysecret"
    assert email.require_tls is True
    pd = pager.integrations["pagerduty_configs"][0]
    assert pd.send_resolved is True and pd.url == "https://events.pagerduty.com/v2/enqueue"
    assert pd.severity == "error"
    og = cfg.receivers["opsGenie-receiver"].integrations["opsgenie_configs"][0]
    assert og.api_url == "https://api.opsgenie.com/" and og.api_key == "mysecret"
    slack = cfg.receivers["slack-receiver"].integrations["slack_configs"][0]
    assert slack.api_url == "http://mysecret.example.com/" and slack.send_resolved is False
    assert slack.http_config == {"proxy_url": "http://127.0.0.1:1025"}  # global http_config inherited
    vo = cfg.receivers["victorOps-receiver"].integrations["victorops_configs"][0]
    assert vo.api_url.endswith("/alert/") and vo.message_type == "CRITICAL"
    assert [(k, i) for k, i, _ in pager.all_integrations()] == [("email", 0), ("pagerduty", 0)]
    assert cfg.templates == [str(CONF / "config-testdata" / "/etc/alertmanager/template/*.tmpl")]


def test_smtp_password_inheritance() -> None:
    cfg = load_config_file(CONF / "config-testdata/conf.smtp-password-global-and-local.yml")
    one, two, three, four, five = cfg.receivers["email-notifications"].integrations["email_configs"]
    assert (one.auth_username, one.auth_password_file) == ("globaluser", "/tmp/globaluserpassword")
    assert (two.auth_password_file, two.auth_password) == ("/tmp/localuser1password", None)
    assert (three.auth_password, three.auth_password_file) == ("mysecret", None)
    assert four.auth_secret == "myprecious" and four.auth_password_file == "/tmp/globaluserpassword"
    assert five.auth_secret_file == "/tmp/localuser4secret"


def test_dump_masks_secrets() -> None:
    cfg = load_config_file(CONF / "config-testdata/conf.good.yml")
    out = dump_config(cfg)
    assert "mysecret" not in out and "<secret>" in out
    assert "smtp_auth_password: <secret>" in out and "routing_key: <secret>" in out
    assert "smarthost: localhost:25" in out


BASE = "route: {receiver: r}\nreceivers: [{name: r}]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("receivers: [{name: r}]\n", "no routes provided"),
        ("route: {group_by: [a]}\nreceivers: [{name: r}]\n", "root route must specify a default receiver"),
        (
            "route: {receiver: r, matchers: ['a=b']}\nreceivers: [{name: r}]\n",
            "root route must not have any matchers",
        ),
        (
            "route: {receiver: r, mute_time_intervals: [x]}\n"
            "receivers: [{name: r}]\ntime_intervals: [{name: x}]\n",
            "root route must not have any mute time intervals",
        ),
        (
            "route: {receiver: r, routes: [{receiver: s}]}\nreceivers: [{name: r}]\n",
            'undefined receiver "s" used in route',
        ),
        (
            "route: {receiver: r, routes: [{mute_time_intervals: [x]}]}\nreceivers: [{name: r}]\n",
            'undefined time interval "x" used in route',
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r}, {name: r}]\n",
            'notification config name "r" is not unique',
        ),
        (
            "route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]\n",
            "cannot have wildcard group_by",
        ),
        (
            "route: {receiver: r, group_by: [a, a]}\nreceivers: [{name: r}]\n",
            'duplicated label "a" in group_by',
        ),
        (
            "route: {receiver: r, group_by: [a-b]}\nreceivers: [{name: r}]\n",
            'invalid label name "a-b" in group_by list',
        ),
        (
            "route: {receiver: r, group_interval: 0s}\nreceivers: [{name: r}]\n",
            "group_interval cannot be zero",
        ),
        (
            "route: {receiver: r, repeat_interval: 0}\nreceivers: [{name: r}]\n",
            "repeat_interval cannot be zero",
        ),
        (
            # current prometheus/common's ParseDuration wording (0.25 said 'not a valid duration string')
            "route: {receiver: r, group_wait: 5x}\nreceivers: [{name: r}]\n",
            'unknown unit "x" in duration "5x"',
        ),
        (
            "route: {receiver: r, routes: [{match: {a-b: c}}]}\nreceivers: [{name: r}]\n",
            'invalid label name "a-b"',
        ),
        (
            "route: {receiver: r, routes: [{matchers: ['a=~\"(\"']}]}\nreceivers: [{name: r}]\n",
            "error parsing regexp",
        ),
        (
            "route: {receiver: r, routes: [{matchers: ['a']}]}\nreceivers: [{name: r}]\n",
            "bad matcher format: a",
        ),
        (
            "route: {receiver: r, foo: 1}\nreceivers: [{name: r}]\n",
            "field foo not found in type config.plain",
        ),
        (BASE + "bogus: 1\n", "field bogus not found"),
        ("route: {receiver: r}\nreceivers: [{}]\n", "missing name in receiver"),
        (
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{}]}]\n",
            "one of url or url_file must be configured",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'ftp://x'}]}]\n",
            'unsupported scheme "ftp"',
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://x', nope: 1}]}]\n",
            "field nope not found",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a@b}]}]\n",
            "no global SMTP smarthost set",
        ),
        (
            "global: {smtp_smarthost: 'h:25'}\nroute: {receiver: r}\n"
            "receivers: [{name: r, email_configs: [{to: a@b}]}]\n",
            "no global SMTP from set",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{smarthost: 'h:1'}]}]\n",
            "missing to address in email config",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{}]}]\n",
            "missing service or routing key in PagerDuty config",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, pushover_configs: [{token: t}]}]\n",
            "one of user_key or user_key_file must be configured",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, victorops_configs: [{api_key: k}]}]\n",
            "missing Routing key in VictorOps config",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, webex_configs: [{room_id: x}]}]\n",
            "missing webex_configs.http_config.authorization",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, discord_configs: [{}]}]\n",
            "one of webhook_url or webhook_url_file must be configured",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, jira_configs: [{project: P, issue_type: Bug}]}]\n",
            "no global Jira Cloud URL set",
        ),
        (
            "route: {receiver: r}\nreceivers: [{name: r, telegram_configs: [{bot_token: x}]}]\n",
            "missing chat_id or chat_id_file on telegram_config",
        ),
        (
            "route: {receiver: r}\n"
            "receivers: [{name: r, opsgenie_configs: [{api_key: k, responders: [{type: team}]}]}]\n",
            "has to have at least one of id, username or name specified",
        ),
        (
            "route: {receiver: r}\n"
            "receivers: [{name: r, webhook_configs: [{url: 'http://x', send_resolved: maybe}]}]\n",
            "send_resolved must be a boolean",
        ),
        (
            BASE + "inhibit_rules: [{source_matchers: ['a=b'], equal: ['x y']}]\n",
            'invalid label name "x y" in equal list',
        ),
        (BASE + "time_intervals: [{name: a}, {name: a}]\n", 'time interval "a" is not unique'),
        (
            BASE + "time_intervals: [{name: a, time_intervals: [{weekdays: [funday]}]}]\n",
            "funday is not a valid weekday",
        ),
        ("global: {resolve_timeout: x}\n" + BASE, 'not a valid duration string: "x"'),
        (
            "route: {receiver: r}\n"
            "receivers: [{name: r, slack_configs: [{api_url: 'http://x', http_config: {bearer_token: a, "
            "basic_auth: {username: u}}}]}]\n",
            "at most one of basic_auth, oauth2, bearer_token",
        ),
        ("route: [\n", "yaml:"),
    ],
)
def test_invalid_configs(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert message in str(info.value)


def test_error_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "am.yml"
    p.write_text("route:\n  receiver: r\n  routes:\n    - receiver: nope\nreceivers:\n  - name: r\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(p)
    assert info.value.line == 4 and info.value.file == str(p)
    assert str(info.value) == f'{p}:4: undefined receiver "nope" used in route'


def test_old_match_maps_and_tracing_and_time_intervals() -> None:
    cfg = load_config(
        "route:\n  receiver: r\n  routes:\n    - match: {a: '1'}\n      match_re: {b: 'x|y'}\n"
        "      mute_time_intervals: [old]\n      active_time_intervals: [new]\n"
        "receivers: [{name: r}]\nmute_time_intervals: [{name: old, time_intervals: [{weekdays: [monday]}]}]\n"
        "time_intervals: [{name: new, time_intervals: [{"
        "times: [{start_time: '09:00', end_time: '17:00'}]}]}]\n"
        "tracing: {endpoint: 'localhost:4317'}\n"
    )
    child = cfg.route.routes[0]
    assert [str(m) for m in child.matchers] == ['a="1"', 'b=~"^(?:x|y)$"']
    assert set(cfg.time_intervals) == {"old", "new"}
    assert child.opts.mute_time_intervals == ("old",) and child.opts.active_time_intervals == ("new",)


def test_check_parses_templates(tmp_path: Path) -> None:
    tmpl = CONF / "templates"
    (tmp_path / "bad.tmpl").write_text('{{ define "x" }}{{ .Foo }\n')
    good = tmp_path / "good.yml"
    good.write_text(
        f"route: {{receiver: r}}\nreceivers: [{{name: r}}]\n"
        f"templates: ['{tmpl}/default-v0.25.0.tmpl', '{tmpl}/email.tmpl', 'nothing-*.tmpl']\n"
    )
    code, out = check_alertmanager([str(good)])
    assert code == 0 and " - 3 templates\n  SUCCESS\n" in out, out
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "route: {receiver: r}\nreceivers: [{name: r}]\ntemplates: ['*.tmpl']\n"
    )  # relative to file
    code, out = check_alertmanager([str(bad)])
    assert code == 1
    assert ' - 1 templates\n  FAILED: template: bad.tmpl:1: unexpected "}" in operand\n' in out


def test_load_from_mapping_as_server_section() -> None:
    from watchkeeper.alerting.config import load_config_mapping

    cfg = load_config_mapping({"route": {"receiver": "r"}, "receivers": [{"name": "r"}]})
    assert cfg.route.opts.receiver == "r" and "receiver: r" in cfg.original
    with pytest.raises(ConfigError, match='undefined receiver "x"'):
        load_config_mapping({"route": {"receiver": "x"}, "receivers": [{"name": "r"}]})


def test_dump_masks_http_and_url_secrets() -> None:
    cfg = load_config(
        "route: {receiver: r}\nreceivers:\n  - name: r\n    webhook_configs:\n"
        "      - url: 'http://user:pw@hook/x'\n        http_config:\n"
        "          basic_auth: {username: u, password: hunter2}\n"
        "      - url: 'http://hook/y'\n        http_config: {authorization: {credentials: tok3n}}\n"
    )
    out = dump_config(cfg)
    for secret in ("hunter2", "tok3n", "user:pw"):
        assert secret not in out
    assert "username: u" in out and out.count("<secret>") == 4
