"""``watchkeeper check rules``, ``test rules`` and ``rules backtest``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conformance_data import CONFORMANCE
from watchkeeper.cli.main import main
from watchkeeper.model.batch import SampleBatch
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.storage.db import TSDB

PROMTOOL_DIR = CONFORMANCE / "rules" / "prometheus-testdata" / "promtool"
PROMTOOL = "/usr/bin/promtool"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args", [["check", "rules"], ["test", "rules"], ["rules", "backtest"]])
def test_help(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*args, "--help"])
    assert e.value.code == 0
    assert f"usage: watchkeeper {' '.join(args)}" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "flags", "code"), [
    ("rules.yml", [], 0),
    ("rules-bad.yml", [], 1),
    ("rules_duplicates.yml", [], 0),
    ("rules_duplicates.yml", ["--lint-fatal"], 3),
    ("rules_duplicates.yml", ["--lint=none"], 0),
])
def test_check_rules(capsys: pytest.CaptureFixture[str], name: str, flags: list[str], code: int) -> None:
    path = str(PROMTOOL_DIR / name)
    if not os.path.exists(path):
        pytest.skip("conformance data not available")
    got = _run(capsys, "check", "rules", *flags, path)
    assert got[0] == code
    assert got[1].startswith(f"Checking {path}\n")
    if os.access(PROMTOOL, os.X_OK):
        theirs = subprocess.run([PROMTOOL, "check", "rules", *flags, path], capture_output=True, text=True,
                                timeout=60)
        assert (got[0], got[1], got[2]) == (theirs.returncode, theirs.stdout, theirs.stderr)


@pytest.mark.parametrize(("name", "code"), [("at-modifier-test.yml", 0), ("failing.yml", 1),
                                            ("bad-promql.yml", 1)])
def test_test_rules(capsys: pytest.CaptureFixture[str], name: str, code: int) -> None:
    path = str(PROMTOOL_DIR / name)
    if not os.path.exists(path):
        pytest.skip("conformance data not available")
    got, out, err = _run(capsys, "test", "rules", path)
    assert got == code
    assert out.startswith(f"Unit Testing:  {path}\n")
    assert ("SUCCESS" in out) == (code == 0) and ("FAILED" in err) == (code == 1)


T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
BACKTEST_RULES = """\
groups:
  - name: temp
    interval: 1m
    rules:
      - record: room:temp:max
        expr: max by (room) (temp)
      - alert: Hot
        expr: room:temp:max > 30
        for: 2m
"""


def _history(data_dir: Path) -> None:
    """temp{room="hall"}: 20 for 10 min, 35 for 10 min, 20 for 10 min, a sample every 15 s."""
    t = T0 + np.arange(120) * 15_000
    v = np.where((t >= T0 + 600_000) & (t < T0 + 1_200_000), 35.0, 20.0)
    with TSDB(data_dir) as db:
        db.append(SampleBatch([Labels({"__name__": "temp", "room": "hall"})], np.zeros(120, np.int64), t, v))


def test_backtest_reports_transitions_without_writing_history(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    _history(data)
    rules = tmp_path / "rules.yml"
    rules.write_text(BACKTEST_RULES)
    code, out, err = _run(capsys, "rules", "backtest", str(rules), "--data-dir", str(data),
                          "--from", str(T0 // 1000), "--to", "2023-11-14T22:43:00Z")
    assert (code, err) == (0, "")
    lines = [line.split() for line in out.splitlines()]
    assert [(w[1], w[2]) for w in lines] == [("pending", 'Hot{room="hall"}'), ("firing", 'Hot{room="hall"}'),
                                            ("resolved", 'Hot{room="hall"}')]
    pending, firing, resolved = (int(w[0][14:16]) * 60 + int(w[0][17:19]) for w in lines)
    assert firing - pending == 120 and 600 <= resolved - pending <= 660
    with TSDB(data) as db:
        for name in ("room:temp:max", "ALERTS"):
            assert len(db.select([Matcher(MatchType.EQUAL, "__name__", name)], 0, 2 * T0)) == 0


def test_backtest_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n")
    code, _, err = _run(capsys, "rules", "backtest", str(rules), "--data-dir", str(tmp_path),
                        "--from", "0", "--to", "60")
    assert code == 1 and "invalid rule files" in err
    code, _, err = _run(capsys, "rules", "backtest", str(rules), "--from", "60", "--to", "0")
    assert code == 2 and "before" in err
    code, _, err = _run(capsys, "rules", "backtest", str(rules), "--data-dir", str(tmp_path / "none"),
                        "--from", "0", "--to", "60")
    assert code == 1 and "no data directory" in err


GOOD_RULES = "groups:\n- name: g\n  rules:\n  - record: a\n    expr: vector(1)\n"
BAD_RULES = "groups:\n- name: g\n  rules:\n  - record: a\n    expr: sum(\n"
DUP_RULES = GOOD_RULES + "  - record: a\n    expr: vector(2)\n"


@pytest.mark.parametrize(("rule_files", "flags", "code"), [
    (["good.yml"], [], 0),
    (["good.yml", "bad.yml"], [], 1),
    (["dup.yml"], [], 0),
    (["dup.yml"], ["--lint-fatal"], 3),
    (["*.yml"], [], 1),
    (["nomatch*.yml"], [], 0),
    (["missing.yml"], [], 1),
])
def test_check_config_checks_its_rule_files(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, rule_files: list[str],
                                            flags: list[str], code: int) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in (("good.yml", GOOD_RULES), ("bad.yml", BAD_RULES), ("dup.yml", DUP_RULES)):
        (rules / name).write_text(text)
    (tmp_path / "prometheus.yml").write_text(f"rule_files: {[f'rules/{f}' for f in rule_files]}\n")
    monkeypatch.chdir(tmp_path)
    got = _run(capsys, "check", "config", *flags, "prometheus.yml")
    assert got[0] == code
    if os.access(PROMTOOL, os.X_OK):
        theirs = subprocess.run([PROMTOOL, "check", "config", *flags, "prometheus.yml"], capture_output=True,
                                text=True, timeout=60, cwd=tmp_path)
        assert got == (theirs.returncode, theirs.stdout, theirs.stderr)
    else:
        assert "Checking rules/" in got[1] or code == 1
