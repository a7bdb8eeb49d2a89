"""The ``alertmanager:`` section of the server config: validated like ``check alertmanager`` (same messages,
line numbers of the server config), run by ``watchkeeper server --config`` as the embedded notification
engine, re-read on reload, exclusive with --alertmanager.config; the new channels' metrics in /metrics."""

from __future__ import annotations

import http.server
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from conftest import Processes
from watchkeeper.alerting.check import check_alertmanager
from watchkeeper.cli.main import main
from watchkeeper.config import ConfigError, load_config_file, load_config_text

SID = "AC" + "0123456789abcdef" * 2

SECTION = """\
scrape_configs: []
alertmanager:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1s
  receivers:
    - name: hook
      webhook_configs: [{url: 'http://127.0.0.1:9/'}]
"""


def _indent(am_yaml: str) -> str:
    return "scrape_configs: []\nalertmanager:\n" + "".join(f"  {line}\n" for line in am_yaml.splitlines())


def test_section_loads_into_the_notification_config() -> None:
    loaded = load_config_text(SECTION)
    assert loaded.alertmanager is not None
    assert list(loaded.alertmanager.receivers) == ["hook"]
    assert loaded.alertmanager.route.opts.receiver == "hook"
    assert load_config_text("scrape_configs: []\n").alertmanager is None
    # The section holds secrets: it is not part of the Prometheus-style config dump.
    assert "alertmanager" not in loaded.config.model_dump(by_alias=True)


@pytest.mark.parametrize(
    ("am_yaml", "line"),
    [
        ("route: {receiver: nope}\nreceivers: [{name: hook}]", 3),
        ("route:\n  receiver: hook\nreceivers:\n  - name: hook\n    slack_configs: [{channel: x}]", 7),
        ("route: {receiver: hook}\nreceivers:\n  - name: hook\n    bogus_configs: []", 6),
        ("receivers: [{name: hook}]", None),
        ("route: {receiver: hook}\nreceivers:\n  - name: hook\n    twilio_configs: [{account_sid: x}]", 6),
    ],
)
def test_errors_are_check_alertmanagers_messages_with_server_config_lines(
    am_yaml: str, line: int | None, tmp_path: Path
) -> None:
    standalone = tmp_path / "am.yml"
    standalone.write_text(am_yaml + "\n")
    code, out = check_alertmanager([str(standalone)])
    assert code == 1
    message = out.split("FAILED", 1)[1].split(": ", 1)[1].split("\n\nerror:")[0].strip()
    with pytest.raises(ConfigError) as info:
        load_config_text(_indent(am_yaml), filename="prometheus.yml")
    [text] = info.value.messages
    # Lines inside the message (Go's "line N: field x not found") count in the server config too.
    shifted = re.sub(r"line (\d+)", lambda m: f"line {int(m.group(1)) + 2}", message)
    assert shifted in text, (shifted, text)
    assert text.startswith("prometheus.yml:") and ": alertmanager: " in text
    if line is not None:  # the section's own line numbers are shifted by the two lines above it
        assert text.startswith(f"prometheus.yml:{line}: ")


def test_not_a_mapping_and_empty_section() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text("alertmanager: [1]\n", filename="p.yml")
    assert info.value.messages[0].startswith("p.yml:1: alertmanager")
    with pytest.raises(ConfigError) as info:
        load_config_text("scrape_configs: []\nalertmanager:\n", filename="p.yml")
    assert info.value.messages == ["p.yml:2: alertmanager: no routes provided"]


def test_templates_resolve_against_the_config_dir_and_are_parsed(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "ok.tmpl").write_text('{{ define "mine" }}hi{{ end }}')
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(SECTION + "  templates: ['t/*.tmpl']\n")
    loaded = load_config_file(str(cfg))
    assert loaded.alertmanager is not None and loaded.alertmanager.templates == [str(tmp_path / "t/*.tmpl")]
    (tmp_path / "t" / "bad.tmpl").write_text('{{ define "x" }}{{ .Foo ')
    with pytest.raises(ConfigError) as info:
        load_config_file(str(cfg))
    assert info.value.messages[0].startswith(f"{cfg}:11: alertmanager: ")


def test_check_config_accepts_the_section_and_reports_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yml"
    good.write_text(SECTION)
    assert main(["check", "config", str(good)]) == 0
    assert "SUCCESS" in capsys.readouterr().out
    bad = tmp_path / "bad.yml"
    bad.write_text(SECTION.replace("receiver: hook", "receiver: gone"))
    assert main(["check", "config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f'FAILED: {bad}:4: alertmanager: undefined receiver "gone" used in route' in out


class _Recorder:
    """A local HTTP endpoint (thread) recording (path, headers, body) of every POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rec.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"sid": "SM0", "status": "queued"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    rec = _Recorder()
    try:
        yield rec
    finally:
        rec.server.shutdown()
        rec.server.server_close()


def _server_config(rec: _Recorder, receiver: str) -> str:
    return f"""\
scrape_configs: []
alertmanager:
  route:
    receiver: {receiver}
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1s
  receivers:
    - name: hook
      webhook_configs: [{{url: '{rec.url}/hook'}}]
    - name: sms
      twilio_configs:
        - api_url: {rec.url}/twilio/
          account_sid: {SID}
          auth_token: tok
          from: "+15550001111"
          to: ["+15550002222"]
"""


def _wait_for(check: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _post_alert(url: str, name: str) -> None:
    r = httpx.post(url + "/api/v2/alerts", json=[{"labels": {"alertname": name}}], timeout=10)
    assert r.status_code == 200, r.text


def test_server_runs_the_section_and_reloads_it(
    procs: Processes, tmp_path: Path, recorder: _Recorder
) -> None:
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(_server_config(recorder, "hook"))
    wk = procs.watchkeeper(config=cfg, data_dir=tmp_path / "wk")
    receivers = httpx.get(wk.url + "/api/v2/receivers", timeout=10).json()
    assert [r["name"] for r in receivers] == ["hook", "sms"]
    _post_alert(wk.url, "First")
    _wait_for(lambda: [r for r in recorder.requests if r[0] == "/hook"], "the webhook notification")
    assert json.loads(recorder.requests[0][2])["commonLabels"] == {"alertname": "First"}

    # SIGHUP re-reads the section: the root route now pages through Twilio.
    cfg.write_text(_server_config(recorder, "sms"))
    wk.signal(signal.SIGHUP)
    _wait_for(lambda: "receiver: sms" in httpx.get(wk.url + "/api/v2/status", timeout=10).json()["config"]
              ["original"], "the reloaded config")
    _post_alert(wk.url, "Second")
    # Both alerts now route to the SMS receiver (the still-firing "First" re-groups after the reload).
    def two_sms() -> list[tuple[str, dict[str, str], bytes]] | None:
        got = [r for r in recorder.requests if r[0].startswith("/twilio/")]
        return got if len(got) == 2 else None

    sms = _wait_for(two_sms, "two SMS")
    bodies = set()
    for path, headers, body in sms:
        assert path == f"/twilio/Accounts/{SID}/Messages.json"
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        form = parse_qs(body.decode())
        assert (form["To"], form["From"]) == (["+15550002222"], ["+15550001111"])
        bodies.add(form["Body"][0])
    assert bodies == {"[FIRING:1] First ", "[FIRING:1] Second "}

    # POST /-/reload with a broken section fails and keeps the running config.
    cfg.write_text(_server_config(recorder, "nobody"))
    r = httpx.post(wk.url + "/-/reload", timeout=30)
    assert r.status_code == 500 and 'alertmanager: undefined receiver "nobody" used in route' in r.text
    assert "receiver: sms" in httpx.get(wk.url + "/api/v2/status", timeout=10).json()["config"]["original"]

    metrics = httpx.get(wk.url + "/metrics", timeout=10).text
    assert 'alertmanager_notifications_total{integration="twilio"} 2' in metrics
    assert 'alertmanager_notifications_total{integration="webhook"} 1' in metrics
    assert 'alertmanager_notifications_total{integration="apprise"} 0' in metrics


def test_section_and_flag_together_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(SECTION)
    am = tmp_path / "alertmanager.yml"
    am.write_text("route: {receiver: r}\nreceivers: [{name: r}]\n")
    out = subprocess.run(
        [sys.executable, "-m", "watchkeeper.cli.main", "server", "--config", str(cfg),
         "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d"), "--alertmanager.config", str(am)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 1
    assert "an alertmanager: section and --alertmanager.config" in out.stderr
    assert "use one of them" in out.stderr
