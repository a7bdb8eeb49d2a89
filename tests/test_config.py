"""prometheus.yml loading: valid files, FILE:LINE errors, inheritance from global, secrets masked."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from watchkeeper.config import ConfigError, load_config_file, load_config_text, redacted_yaml
from watchkeeper.config.default import default_config_text
from watchkeeper.config.yamlsrc import YAMLSyntaxError, load_yaml

GOOD = """\
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels: {dc: eu1}
  query_log_file: /tmp/q.log
scrape_configs:
  - job_name: node
    basic_auth: {username: u, password: hunter2}
    static_configs:
      - targets: ["localhost:9100"]
  - job_name: fast
    scrape_interval: 5s
    static_configs:
      - targets: ["localhost:9101"]
alerting:
  alert_relabel_configs:
    - action: labeldrop
      regex: replica
  alertmanagers:
    - scheme: http
      path_prefix: /am
      timeout: 5s
      static_configs: [{targets: ["localhost:9093"]}]
remote_write:
  - url: http://localhost:9201/write
    authorization: {credentials: s3cret-token}
    headers: {X-Scope-OrgID: tenant1}
    queue_config: {capacity: 5000, max_shards: 10}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
remote_read:
  - url: http://localhost:9201/read
    read_recent: true
storage:
  tsdb: {out_of_order_time_window: 30m}
tracing:
  endpoint: localhost:4317
"""


def test_good_config_loads_with_defaults_and_inheritance() -> None:
    cfg = load_config_text(GOOD, filename="p.yml").config
    assert cfg.global_.scrape_interval == 15_000
    assert cfg.global_.evaluation_interval == 30_000
    assert cfg.global_.scrape_timeout == 10_000
    node, fast = cfg.scrape_configs
    assert (node.interval_ms, node.timeout_ms) == (15_000, 10_000)
    # A job interval shorter than the global timeout pulls the timeout down with it.
    assert (fast.interval_ms, fast.timeout_ms) == (5_000, 5_000)
    assert cfg.remote_write[0].queue_config.capacity == 5000
    assert cfg.remote_write[0].queue_config.max_samples_per_send == 2000
    assert cfg.storage.tsdb.out_of_order_time_window == 30 * 60_000


def test_short_global_interval_shortens_the_default_timeout() -> None:
    cfg = load_config_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: a\n").config
    assert cfg.global_.scrape_timeout == 1000
    assert cfg.scrape_configs[0].timeout_ms == 1000


def test_empty_file_is_the_default_config() -> None:
    cfg = load_config_text("", filename="e.yml").config
    assert cfg.global_.scrape_interval == 60_000
    assert cfg.scrape_configs == []


def test_secrets_are_masked_in_the_shown_config() -> None:
    text = redacted_yaml(load_config_text(GOOD).config)
    assert "hunter2" not in text and "s3cret-token" not in text
    shown = yaml.safe_load(text)
    assert shown["scrape_configs"][0]["basic_auth"]["password"] == "<secret>"
    assert shown["remote_write"][0]["authorization"]["credentials"] == "<secret>"
    assert shown["global"]["scrape_interval"] == "15s"
    assert list(shown["scrape_configs"][0])[0] == "job_name"
    # The shown config is itself a valid config.
    load_config_text(text)


BAD = [
    ("global:\n  scrape_intervall: 15s\n", "x.yml:2: field scrape_intervall not found in global"),
    ("global:\n  evaluation_interval: [1]\n", "x.yml:2: global.evaluation_interval"),
    ("global:\n  scrape_interval: 1x\n", 'x.yml:2: global.scrape_interval: '),
    ("global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n",
     "global scrape timeout greater than scrape interval"),
    ("scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a]\n        lables: {}\n",
     "x.yml:5: field lables not found in scrape_configs[0].static_configs[0]"),
    ("scrape_configs:\n  - job_name: a\n  - job_name: a\n",
     'found multiple scrape configs with job name "a"'),
    ("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
     "x.yml:2: scrape_configs[0]: scrape timeout greater than scrape interval"),
    ("scrape_configs:\n  - static_configs: []\n",
     "x.yml:2: scrape_configs[0]: missing required field job_name"),
    ("remote_write:\n  - name: x\n", "x.yml:2: remote_write[0]: missing required field url"),
    ("remote_write:\n  - url: ftp://x\n", "x.yml:2: remote_write[0].url: unsupported scheme"),
    ("remote_write:\n  - url: http://x\n    headers: {Authorization: x}\n",
     "Authorization is a reserved header"),
    ("remote_write:\n  - url: http://x\n    queue_config:\n      capacity: -1\n",
     "x.yml:4: remote_write[0].queue_config.capacity"),
    ("remote_write:\n  - url: http://x\n    basic_auth: {username: a, password: b}\n"
     "    bearer_token: c\n", "at most one of"),
    ("alerting:\n  alertmanagers:\n    - api_version: v1\n",
     "x.yml:3: alerting.alertmanagers[0].api_version"),
    ("global:\n  external_labels:\n    0bad: x\n", "is not a valid label name"),
    ("rule_files: ['[a']\n", "x.yml:1: invalid rule_files path"),
    ("foo: 1\n", "x.yml:1: field foo not found in top level"),
    ("global: [\n", "x.yml:"),
    ("a: 1\na: 2\n", 'x.yml:2: yaml: mapping key "a" already defined at line 1'),
    ("- 1\n", "x.yml:1: the config must be a YAML mapping"),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[b[1][:40] for b in BAD])
def test_bad_configs_name_file_line_and_problem(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(text, filename="x.yml")
    assert any(expected in m for m in err.value.messages), err.value.messages


def test_every_problem_is_reported() -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text("global:\n  bogus: 1\nremote_write:\n  - urll: x\n", filename="x.yml")
    lines = "\n".join(err.value.messages)
    assert "x.yml:2:" in lines and "x.yml:4:" in lines


def test_scrape_config_files_and_rule_globs(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "a.yml").write_text(
        "scrape_configs:\n  - job_name: extra\n    scrape_interval: 7s\n")
    (tmp_path / "jobs" / "b.yml").write_text("scrape_configs:\n  - job_name: broken\n    bogus: 1\n")
    (tmp_path / "r1.rules.yml").write_text("groups: []\n")
    main = tmp_path / "prometheus.yml"
    main.write_text(textwrap.dedent("""\
        rule_files: ["*.rules.yml", "missing/*.yml"]
        scrape_config_files: ["jobs/a.yml"]
        scrape_configs:
          - job_name: main
        """))
    loaded = load_config_file(str(main))
    assert [sc.job_name for sc in loaded.config.scrape_configs] == ["main", "extra"]
    assert loaded.config.scrape_configs[1].interval_ms == 7000
    assert loaded.rule_files == [str(tmp_path / "r1.rules.yml")]
    main.write_text('scrape_config_files: ["jobs/*.yml"]\n')
    with pytest.raises(ConfigError) as err:
        load_config_file(str(main))
    # The error points into the file that holds the bad job.
    bad = tmp_path / "jobs" / "b.yml"
    assert err.value.messages == [f"{bad}:3: field bogus not found in scrape_configs[1]"]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(str(tmp_path / "nope.yml"))


def test_default_config_scrapes_self_and_host() -> None:
    cfg = load_config_text(default_config_text("127.0.0.1:9999")).config
    jobs = {sc.job_name: sc for sc in cfg.scrape_configs}
    assert set(jobs) == {"watchkeeper", "node"}
    assert jobs["node"].metrics_path == "/host/metrics"
    assert all(sc.interval_ms == 15_000 for sc in cfg.scrape_configs)
    assert jobs["watchkeeper"].static_configs[0].targets == ["127.0.0.1:9999"]


def test_yaml_source_map_points_at_keys_and_items() -> None:
    data, srcmap = load_yaml("a:\n  b:\n    - 1\n    - x: 2\n", "f.yml")
    assert data == {"a": {"b": [1, {"x": 2}]}}
    assert srcmap.line_of(("a", "b", 1, "x")) == 4
    assert srcmap.line_of(("a", "b", 0)) == 3
    # Unknown tail parts fall back to the deepest known prefix.
    assert srcmap.where(("a", "b", 7, "zzz")) == "f.yml:2"
    with pytest.raises(YAMLSyntaxError):
        load_yaml("a: [1\n", "f.yml")


def test_bare_number_interval_rejected_like_prometheus() -> None:
    # Prometheus reads `15` as the duration string "15", which has no unit.
    with pytest.raises(ConfigError) as e:
        load_config_text("global:\n  scrape_interval: 15\n", filename="p.yml", base_dir=".")
    text = "\n".join(e.value.messages)
    assert "p.yml:2" in text and 'not a valid duration string: "15"' in text
