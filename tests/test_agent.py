"""Agent pieces in-process: supervision, remote-write encoding, config, extra collectors."""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import re2

import watchkeeper.agent
from watchkeeper.agent.agent import Agent, build_collector_factories
from watchkeeper.agent.collectors import HostPaths, MetricFamily
from watchkeeper.agent.collectors.process import ProcessCollector, ProcessGroup
from watchkeeper.agent.collectors.script import ScriptCollector
from watchkeeper.agent.collectors.systemd import SystemdCollector
from watchkeeper.agent.config import AgentConfig, AgentConfigError, parse_agent_config
from watchkeeper.agent.remote_write_client import WriteRequestEncoder
from watchkeeper.agent.supervise import SupervisedCollectors
from watchkeeper.ingest.remote_write import decode_remote_write
from watchkeeper.support.backoff import Backoff


class _Good:
    name = "good"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        return [MetricFamily("good_metric", "fine", "gauge").add(1)]


class _Flaky:
    """Raises on its first ``fail`` runs, counted across instances (restarts make new ones)."""

    name = "flaky"
    runs = 0

    def __init__(self, fail: int) -> None:
        self.fail = fail

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        type(self).runs += 1
        if type(self).runs <= self.fail:
            raise RuntimeError("boom")
        return [MetricFamily("flaky_metric", "recovered", "gauge").add(2)]


class _Hangs:
    name = "hangs"

    def __init__(self, release: threading.Event, hang_first: int) -> None:
        self.release = release
        self.hang_first = hang_first
        self.runs = [0]

    def __copy__(self) -> _Hangs:
        twin = _Hangs(self.release, self.hang_first)
        twin.runs = self.runs  # shared so restarts see how many runs happened
        return twin

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        self.runs[0] += 1
        if self.runs[0] <= self.hang_first:
            self.release.wait(30)
        return [MetricFamily("hangs_metric", "finally", "gauge").add(3)]


def _values(families: list[MetricFamily], name: str) -> dict[str, float]:
    for fam in families:
        if fam.name == name:
            return {labels.get("collector", ""): v for labels, v in fam.samples}
    return {}


def _names(families: list[MetricFamily]) -> set[str]:
    return {f.name for f in families}


def _no_jitter() -> Backoff:
    return Backoff(initial=0.05, maximum=0.2, jitter=0.0)


def test_raising_collector_is_reported_and_restarted() -> None:
    _Flaky.runs = 0
    now = [100.0]
    sup = SupervisedCollectors(
        [_Good, lambda: _Flaky(fail=2)], backoff=_no_jitter, timeout=2.0, clock=lambda: now[0]
    )
    fams = sup.collect()
    assert "good_metric" in _names(fams) and "flaky_metric" not in _names(fams)
    assert _values(fams, "watchkeeper_agent_collector_up") == {"good": 1, "flaky": 0}
    assert _values(fams, "node_scrape_collector_success")["flaky"] == 0
    now[0] += 0.04
    fams = sup.collect()  # still inside the backoff: not run again, still down
    assert _Flaky.runs == 1 and "good_metric" in _names(fams)
    now[0] += 0.02
    sup.collect()  # restarted, fails again: the backoff doubles to 0.1
    assert _Flaky.runs == 2
    now[0] += 0.09
    sup.collect()
    assert _Flaky.runs == 2
    now[0] += 0.02
    fams = sup.collect()
    assert "flaky_metric" in _names(fams)
    assert _values(fams, "watchkeeper_agent_collector_up") == {"good": 1, "flaky": 1}
    assert _values(fams, "watchkeeper_agent_collector_failures_total")["flaky"] == 2
    assert _values(fams, "watchkeeper_agent_collector_restarts_total") == {"good": 0, "flaky": 2}


def test_hanging_collector_times_out_without_blocking_others() -> None:
    release = threading.Event()
    template = _Hangs(release, hang_first=1)
    sup = SupervisedCollectors(
        [_Good, lambda: template.__copy__()], backoff=_no_jitter, timeout=5.0, timeouts={"hangs": 0.2}
    )
    try:
        start = time.monotonic()
        fams = sup.collect()
        assert time.monotonic() - start < 2.0  # bounded by the hanging one's timeout, not its hang
        assert "good_metric" in _names(fams)
        assert _values(fams, "watchkeeper_agent_collector_up") == {"good": 1, "hangs": 0}
        time.sleep(0.06)
        fams = sup.collect()  # restarted as a fresh instance; its second run returns
        assert "hangs_metric" in _names(fams)
        assert _values(fams, "watchkeeper_agent_collector_restarts_total")["hangs"] == 1
        assert _values(fams, "watchkeeper_agent_collector_failures_total")["hangs"] == 1
    finally:
        release.set()


def test_stuck_threads_are_bounded() -> None:
    release = threading.Event()
    template = _Hangs(release, hang_first=100)
    sup = SupervisedCollectors(
        [lambda: template.__copy__()], backoff=_no_jitter, timeouts={"hangs": 0.05}, max_stuck=2
    )
    try:
        for _ in range(8):
            sup.collect()
            time.sleep(0.06)
        # Two abandoned threads at most; later rounds stay down instead of starting more.
        assert template.runs[0] == 2
        assert len([t for t in sup.slots[0].stuck if t.is_alive()]) == 2
    finally:
        release.set()


def test_encoder_round_trip() -> None:
    fams = [
        MetricFamily("node_load1", "load", "gauge").add(0.5),
        MetricFamily("node_cpu_seconds_total", "cpu", "counter")
        .add(12.25, {"cpu": "0", "mode": "idle"})
        .add(-1e-300, {"cpu": "1", "mode": "idle"}),
        MetricFamily("h", "hist", "histogram").add(7, {"__name__": "h_bucket", "le": "+Inf"}),
        MetricFamily("nan_metric", "", "gauge").add(math.nan),
        MetricFamily("own_job", "", "gauge").add(1, {"job": "custom", "empty": ""}),
        MetricFamily("node_load1", "a textfile repeating a series", "gauge").add(9.0),
    ]
    enc = WriteRequestEncoder(extra_labels={"job": "node", "instance": "host-1:9100"})
    ts = 1_700_000_000_123
    for _ in range(2):  # the second pass uses the label cache
        batch = decode_remote_write(
            enc.encode(fams, ts), content_type="application/x-protobuf", content_encoding="snappy"
        )
        rows = zip(batch.series, batch.t, batch.v, strict=True)
        got = {str(batch.labels[s]): (int(t), float(v)) for s, t, v in rows}
        assert got['node_load1{instance="host-1:9100", job="node"}'] == (ts, 0.5)
        assert got['node_cpu_seconds_total{cpu="1", instance="host-1:9100", job="node", mode="idle"}'] == (
            ts, -1e-300
        )
        assert got['h_bucket{instance="host-1:9100", job="node", le="+Inf"}'] == (ts, 7.0)
        assert math.isnan(got['nan_metric{instance="host-1:9100", job="node"}'][1])
        assert 'own_job{instance="host-1:9100", job="custom"}' in got  # series' own label wins
        assert len(got) == 6


def test_encoder_negative_timestamp() -> None:
    body = WriteRequestEncoder().encode([MetricFamily("x", "", "gauge").add(1)], -5)
    batch = decode_remote_write(body)
    assert batch.t.tolist() == [-5]


def test_config_defaults_and_errors(tmp_path: Path) -> None:
    cfg = parse_agent_config("")
    assert cfg.interval == 15_000 and cfg.queue.max_bytes == 256 << 20
    cfg = parse_agent_config(
        "interval: 30s\nlabels: {dc: eu1}\nqueue: {max_bytes: 10MiB}\n"
        "remote_write:\n  url: https://x/api/v1/write\n  basic_auth: {username: u, password: p}\n"
        "  tls_config: {ca_file: /etc/ca.pem, insecure_skip_verify: true}\n"
        "processes:\n  - {name: py, pattern: 'python.*'}\n"
        "scripts:\n  - {name: s, command: [/bin/true], timeout: 2s}\n",
        filename="agent.yml",
    )
    assert cfg.interval == 30_000 and cfg.labels == {"dc": "eu1"} and cfg.queue.max_bytes == 10 << 20
    assert cfg.remote_write.tls_config.insecure_skip_verify and cfg.scripts[0].timeout == 2000
    with pytest.raises(AgentConfigError) as err:
        parse_agent_config("interval: 15s\nqueue:\n  max_bytez: 1MiB\n", filename="agent.yml")
    assert err.value.messages == ["agent.yml:3: field max_bytez not found in queue"]
    with pytest.raises(AgentConfigError) as err:
        parse_agent_config("interval: soon\n", filename="agent.yml")
    assert err.value.messages[0].startswith("agent.yml:1: interval: not a valid duration string")
    with pytest.raises(AgentConfigError) as err:
        parse_agent_config("remote_write:\n  bearer_token: a\n  bearer_token_file: b\n", filename="f")
    assert "at most one of bearer_token" in err.value.messages[0]


def test_collector_selection() -> None:
    cfg = AgentConfig.model_validate({"collectors": {"enabled": ["cpu", "loadavg"]}})
    factories, _ = build_collector_factories(cfg)
    assert sorted(f().name for f in factories) == ["cpu", "loadavg"]
    cfg = AgentConfig.model_validate({"collectors": {"disabled": ["cpu"]}})
    names = {f().name for f in build_collector_factories(cfg)[0]}
    assert "cpu" not in names and "meminfo" in names
    with pytest.raises(ValueError, match="unknown collectors"):
        build_collector_factories(AgentConfig.model_validate({"collectors": {"enabled": ["gpu"]}}))


def test_agent_self_metrics_and_push_round(tmp_path: Path) -> None:
    cfg = AgentConfig.model_validate({
        "collectors": {"enabled": ["loadavg"]},
        "remote_write": {"url": "http://127.0.0.1:9/api/v1/write"},
        "data_dir": str(tmp_path),
        "labels": {"instance": "me"},
    })
    agent = Agent(cfg, push=True, clock=lambda: 1000.0)
    agent.push_round()
    item = agent.queue.peek()  # type: ignore[union-attr]
    assert item is not None
    batch = decode_remote_write(item[1])
    got = {str(batch.labels[s]): float(v) for s, v in zip(batch.series, batch.v, strict=True)}
    assert got['watchkeeper_agent_heartbeat_timestamp_seconds{instance="me", job="node"}'] == 1000.0
    assert got['up{instance="me", job="node"}'] == 1.0
    assert got['watchkeeper_agent_interval_seconds{instance="me", job="node"}'] == 15.0
    assert 'node_load1{instance="me", job="node"}' in got
    assert set(batch.t.tolist()) == {1_000_000}
    agent.close()
    agent.queue.close()  # type: ignore[union-attr]


def test_script_collector(tmp_path: Path) -> None:
    ok = tmp_path / "ok.sh"
    ok.write_text(
        "#!/bin/sh\necho '# TYPE jobs_done counter'\necho 'jobs_done_total{queue=\"a\"} 4'\n"
        "echo '# TYPE lat histogram'\necho 'lat_bucket{le=\"+Inf\"} 2'\necho 'lat_count 2'\n"
    )
    ok.chmod(0o755)
    fams = {f.name: f for f in ScriptCollector("ok", [str(ok)]).collect(HostPaths())}
    assert fams["watchkeeper_agent_script_success"].samples[0] == ({"script": "ok"}, 1.0)
    assert fams["jobs_done"].samples == [({"queue": "a", "__name__": "jobs_done_total"}, 4.0)]
    assert fams["jobs_done"].type == "counter" and fams["lat"].type == "histogram"
    assert len(fams["lat"].samples) == 2
    slow = ScriptCollector("slow", [sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.3)
    start = time.monotonic()
    fams = {f.name: f for f in slow.collect(HostPaths())}
    assert time.monotonic() - start < 5
    assert fams["watchkeeper_agent_script_success"].samples[0][1] == 0.0
    bad = ScriptCollector("bad", ["/bin/sh", "-c", "echo 'not valid {'"])
    fams = {f.name: f for f in bad.collect(HostPaths())}
    assert fams["watchkeeper_agent_script_success"].samples[0][1] == 0


def test_process_collector_matches_this_process() -> None:
    fams = {f.name: f for f in ProcessCollector([
        # This process under whatever name the runner gave it (python, pytest, python3.11, ...).
        ProcessGroup("me", re2.escape(psutil.Process().name())),
        ProcessGroup("nothing", "no-such-process-xyz"),
    ]).collect(HostPaths())}
    up = {labels["groupname"]: v for labels, v in fams["watchkeeper_process_up"].samples}
    assert up == {"me": 1.0, "nothing": 0.0}
    rss = {labels["groupname"]: v for labels, v in fams["watchkeeper_process_resident_memory_bytes"].samples}
    assert rss["me"] > 1 << 20 and rss["nothing"] == 0
    threads = {labels["groupname"]: v for labels, v in fams["watchkeeper_process_threads"].samples}
    assert threads["me"] >= 1


def test_systemd_collector_parses_units() -> None:
    listing = (
        "ssh.service loaded active running OpenBSD Secure Shell server\n"
        "cron.service loaded failed failed Regular background program processing daemon\n"
        "dev-sda.device loaded active plugged Disk\n"
        "apt-daily.timer loaded inactive dead Daily apt download activities\n"
    )
    fams = {f.name: f for f in SystemdCollector(list_units=lambda: listing).collect(HostPaths())}
    states = {(lb["name"], lb["state"]): v for lb, v in fams["node_systemd_unit_state"].samples}
    assert states[("ssh.service", "active")] == 1 and states[("ssh.service", "failed")] == 0
    assert states[("cron.service", "failed")] == 1
    assert states[("apt-daily.timer", "inactive")] == 1
    assert not any(name == "dev-sda.device" for name, _ in states)  # excluded by default, still counted
    assert {lb["state"]: v for lb, v in fams["node_systemd_units"].samples}["active"] == 2
    types = {lb["name"]: lb["type"] for lb, _ in fams["node_systemd_unit_state"].samples}
    assert types["apt-daily.timer"] == "timer"


_HOST_DOWN = Path(watchkeeper.agent.__file__).parent / "rules" / "host-down.yml"  # shipped as package data
_HOST_DOWN_TEST = """\
rule_files: [{rules}]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:  # heartbeats every 15s until 5m, then silence
      - series: 'watchkeeper_agent_heartbeat_timestamp_seconds{{job="node",instance="h1"}}'
        values: '0+15x20'
      - series: 'watchkeeper_agent_interval_seconds{{job="node",instance="h1"}}'
        values: '15x20'
    alert_rule_test:
      - {{eval_time: 5m15s, alertname: HostDown, exp_alerts: []}}
      - {{eval_time: 5m30s, alertname: HostDown, exp_alerts: []}}
      - eval_time: 5m45s
        alertname: HostDown
        exp_alerts:
          - exp_labels: {{job: node, instance: h1, severity: critical}}
            exp_annotations:
              summary: Host h1 stopped reporting
              description: No heartbeat from the watchkeeper agent on h1 (job node) for 45s, more than two
                collection intervals.
      - eval_time: 50m
        alertname: HostDown
        exp_alerts:
          - exp_labels: {{job: node, instance: h1, severity: critical}}
            exp_annotations:
              summary: Host h1 stopped reporting
              description: No heartbeat from the watchkeeper agent on h1 (job node) for 45m 0s, more than two
                collection intervals.
"""


def test_host_down_rule_fires_after_two_intervals(tmp_path: Path) -> None:
    from watchkeeper.rules.unittest import run_rule_test_file

    test_file = tmp_path / "host-down.test.yml"
    test_file.write_text(_HOST_DOWN_TEST.format(rules=_HOST_DOWN))
    assert run_rule_test_file(test_file) == []


@pytest.mark.peer
@pytest.mark.skipif(not Path("/usr/bin/promtool").exists(), reason="promtool not installed")
def test_host_down_rule_under_promtool(tmp_path: Path) -> None:
    import subprocess

    test_file = tmp_path / "host-down.test.yml"
    test_file.write_text(_HOST_DOWN_TEST.format(rules=_HOST_DOWN))
    cmd = ["/usr/bin/promtool", "test", "rules", str(test_file)]
    done = subprocess.run(cmd, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@pytest.mark.skipif(not Path("/usr/bin/openssl").exists(), reason="needs openssl to make a certificate")
def test_remote_write_client_tls_and_auth(tmp_path: Path) -> None:
    import ssl
    import subprocess
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from watchkeeper.agent.remote_write_client import RemoteWriteClient, TLSOptions

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=wk.test", "-addext", "subjectAltName=DNS:wk.test"],
        check=True, capture_output=True, timeout=60,
    )
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/api/v1/write"
    body = WriteRequestEncoder().encode([MetricFamily("x", "", "gauge").add(1)], 1000)
    try:
        tls = TLSOptions(ca_file=str(cert), server_name="wk.test")
        good = RemoteWriteClient(url, basic_auth=("u", "p"), tls=tls)
        assert good.send(body).status == 204
        good.close()
        wrong_name = RemoteWriteClient(url, tls=TLSOptions(ca_file=str(cert)), timeout=5)
        result = wrong_name.send(body)  # the certificate is for wk.test, not 127.0.0.1
        assert result.status == 0 and result.retryable and "CERTIFICATE" in result.message.upper()
        skip = RemoteWriteClient(url, bearer_token="tok", tls=TLSOptions(insecure_skip_verify=True))
        assert skip.send(body).ok
        skip.close()
        assert seen == ["Basic dTpw", "Bearer tok"]
    finally:
        server.shutdown()
        server.server_close()


def test_flags_override_config(tmp_path: Path) -> None:
    import argparse

    from watchkeeper.agent.main import add_arguments, resolve_config, split_listen

    cfg_file = tmp_path / "agent.yml"
    cfg_file.write_text("interval: 30s\nlabels: {dc: a, team: x}\nqueue: {max_bytes: 1MiB}\n"
                        "remote_write: {url: http://a/api/v1/write, bearer_token: t}\n")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--config", str(cfg_file), "--interval", "5s", "--label", "dc=b",
                              "--queue.max-bytes", "2MiB", "--remote-write-url", "http://b/api/v1/write",
                              "--data-dir", "/tmp/x"])
    cfg = resolve_config(args)
    assert cfg.interval == 5000 and cfg.labels == {"dc": "b", "team": "x"}
    assert cfg.queue.max_bytes == 2 << 20 and cfg.data_dir == "/tmp/x"
    assert cfg.remote_write.url == "http://b/api/v1/write" and cfg.remote_write.bearer_token == "t"
    with pytest.raises(SystemExit):
        parser.parse_args(["--interval", "0s"])
    assert split_listen(":9100") == ("0.0.0.0", 9100)
    assert split_listen("[::1]:9100") == ("::1", 9100)
    assert split_listen("127.0.0.1:1") == ("127.0.0.1", 1)
    with pytest.raises(ValueError):
        split_listen("localhost")


def test_cli_agent_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from watchkeeper.cli.main import main

    bad = tmp_path / "agent.yml"
    bad.write_text("collectors:\n  timeout: 1s\n  enable: [cpu]\n")
    assert main(["agent", "--config", str(bad), "--listen", "127.0.0.1:0"]) == 1
    assert capsys.readouterr().err.strip() == f"{bad}:3: field enable not found in collectors"
