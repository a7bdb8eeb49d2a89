"""The ``watchkeeper`` command line: help texts, ``check config``, ``promqltest``, flag validation."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance_data import CONFORMANCE
from watchkeeper.cli.main import build_parser, main


def test_help_explains_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("server", "check", "promqltest"):
        assert cmd in out
    with pytest.raises(SystemExit):
        main(["server", "--help"])
    out = capsys.readouterr().out
    for flag in ("--config", "--data-dir", "--listen", "--query.lookback-delta", "--query.timeout",
                 "--query.max-samples", "--query.max-concurrency", "--storage.tsdb.retention.time",
                 "--storage.tsdb.retention.size", "--log.level", "127.0.0.1:9090"):
        assert flag in out
    with pytest.raises(SystemExit):
        main(["check", "config", "--help"])
    assert "FILE:LINE" in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_server_flags_are_parsed_and_validated(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["server", "--query.timeout=30s", "--storage.tsdb.retention.size=1GB",
                                      "--query.max-concurrency", "4"])
    assert (args.query_timeout, args.retention_size, args.max_concurrency) == (30_000, 1 << 30, 4)
    assert (args.data_dir, args.listen, args.lookback, args.retention_time) == (
        "data", "127.0.0.1:9090", 300_000, 15 * 86_400_000)
    for bad in (["--query.timeout=soon"], ["--query.max-samples=0"], ["--log.level=loud"]):
        with pytest.raises(SystemExit):
            main(["server", *bad])
        assert "error" in capsys.readouterr().err
    assert main(["server", "--listen", "nohost"]) == 2
    assert "invalid listen address" in capsys.readouterr().err


def test_retention_flags_of_the_notification_engine() -> None:
    parser = build_parser()
    assert parser.parse_args(["server"]).events_retention == 7 * 86_400_000
    server = parser.parse_args(["server", "--alertmanager.events-retention=36h"])
    assert server.events_retention == 36 * 3_600_000
    am = parser.parse_args(["alertmanager", "--config", "am.yml", "--events.retention=1d",
                            "--data.retention=2h"])
    assert (am.events_retention, am.data_retention) == (86_400_000, 7_200_000)
    assert parser.parse_args(["alertmanager", "--config", "am.yml"]).data_retention == 120 * 3_600_000


def test_check_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yml"
    good.write_text("global: {scrape_interval: 30s}\nscrape_configs:\n  - job_name: a\n")
    bad = tmp_path / "bad.yml"
    bad.write_text("global:\n  scrape_interval: 30s\n  wat: 1\n")
    assert main(["check", "config", str(good)]) == 0
    out = capsys.readouterr().out
    assert f" SUCCESS: {good} is valid prometheus config file syntax" in out
    assert main(["check", "config", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"  FAILED: {bad}:3: field wat not found in global" in out


def test_promqltest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = tmp_path / "ok.test"
    ok.write_text("load 1m\n  m{a=\"1\"} 1 2 3\n\neval instant at 2m m\n  m{a=\"1\"} 3\n")
    bad = tmp_path / "bad.test"
    bad.write_text("load 1m\n  m{a=\"1\"} 1 2 3\n\neval instant at 2m m\n  m{a=\"1\"} 4\n")
    assert main(["promqltest", str(ok)]) == 0
    assert main(["promqltest", str(bad)]) == 1
    capsys.readouterr()


def test_installed_entry_point(tmp_path: Path) -> None:
    exe = shutil.which("watchkeeper")
    if exe is None:
        pytest.skip("watchkeeper is not installed as a script")
    cfg = tmp_path / "p.yml"
    cfg.write_text("scrape_configs: []\n")
    out = subprocess.run([exe, "check", "config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "SUCCESS" in out.stdout


def test_check_alertmanager_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    am = CONFORMANCE / "alertmanager"
    if not am.is_dir():
        pytest.skip("conformance data not present")
    assert main(["check", "alertmanager", str(am / "examples" / "simple.yml")]) == 0
    assert "SUCCESS" in capsys.readouterr().out
    bad = am / "config-testdata" / "conf.slack-no-api-url-or-token.yml"
    assert main(["check", "alertmanager", str(bad)]) == 1
    assert "no Slack API URL nor App token set" in capsys.readouterr().out
