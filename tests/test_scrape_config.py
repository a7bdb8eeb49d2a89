"""scrape_config model (defaults, validation, secrets) and target label population."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from watchkeeper.scrape.config import GlobalScrapeDefaults, ScrapeConfig, parse_byte_size
from watchkeeper.scrape.httpclient import accept_header
from watchkeeper.scrape.target import Target, TargetError, TargetGroup, populate_labels, targets_from_group

FULL = """
job_name: node
scrape_interval: 15s
scrape_timeout: 5s
metrics_path: /probe
params: {module: [http_2xx], target: [a, b]}
scheme: https
honor_labels: true
honor_timestamps: false
basic_auth: {username: user, password: hunter2}
tls_config: {ca_file: /etc/ca.pem, server_name: example.org, insecure_skip_verify: true}
follow_redirects: false
enable_http2: false
proxy_url: http://proxy:3128
static_configs:
  - targets: ['a:9100', 'b:9100']
    labels: {env: prod}
file_sd_configs:
  - files: ['/etc/sd/*.json', '/etc/sd/x.yml']
    refresh_interval: 1m
http_sd_configs:
  - url: http://sd.example/targets
    authorization: {credentials: tok}
relabel_configs:
  - source_labels: [__address__]
    target_label: host
    regex: '(.*):.*'
metric_relabel_configs:
  - action: labeldrop
    regex: tmp_.*
sample_limit: 1000
label_limit: 30
label_name_length_limit: 100
label_value_length_limit: 200
body_size_limit: 10MB
target_limit: 5
scrape_protocols: [PrometheusText0.0.4]
"""


def load(text: str | dict[str, Any]) -> ScrapeConfig:
    return ScrapeConfig.model_validate(yaml.safe_load(text) if isinstance(text, str) else text)


def test_full_config_parses_and_hides_secrets() -> None:
    c = load(FULL).resolve(GlobalScrapeDefaults())
    assert (c.scrape_interval, c.scrape_timeout, c.body_size_limit) == (15_000, 5_000, 10 << 20)
    assert c.basic_auth is not None and c.basic_auth.password == "hunter2"
    dump = c.model_dump(mode="json", exclude_defaults=True)
    assert dump["basic_auth"]["password"] == "<secret>"
    assert dump["http_sd_configs"][0]["authorization"]["credentials"] == "<secret>"
    assert dump["scrape_interval"] == "15s"
    assert dump["file_sd_configs"][0]["refresh_interval"] == "1m"
    assert "hunter2" not in yaml.safe_dump(c.model_dump(mode="json"))


def test_defaults_from_global() -> None:
    c = load({"job_name": "x"}).resolve(GlobalScrapeDefaults())
    assert (c.scrape_interval, c.scrape_timeout, c.metrics_path, c.scheme) == (
        60_000,
        10_000,
        "/metrics",
        "http",
    )
    assert c.honor_timestamps and not c.honor_labels and c.enable_compression
    assert c.scrape_protocols == [
        "OpenMetricsText1.0.0",
        "OpenMetricsText0.0.1",
        "PrometheusText1.0.0",
        "PrometheusText0.0.4",
    ]
    # A job interval shorter than the global timeout caps the inherited timeout.
    c = load({"job_name": "x", "scrape_interval": "5s"}).resolve(GlobalScrapeDefaults())
    assert c.scrape_timeout == 5_000
    assert GlobalScrapeDefaults.model_validate({"scrape_interval": "5s"}).scrape_timeout == 5_000
    with pytest.raises(ValidationError, match="global scrape timeout greater than scrape interval"):
        GlobalScrapeDefaults.model_validate({"scrape_interval": "5s", "scrape_timeout": "6s"})
    g = GlobalScrapeDefaults.from_global({"scrape_interval": "30s", "evaluation_interval": "1m"})
    assert (g.scrape_interval, g.scrape_timeout) == (30_000, 10_000)
    g = GlobalScrapeDefaults.model_validate(
        {"scrape_interval": "30s", "scrape_timeout": "20s", "sample_limit": 9}
    )
    c = load({"job_name": "x"}).resolve(g)
    assert (c.scrape_interval, c.scrape_timeout, c.sample_limit) == (30_000, 20_000, 9)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"job_name": ""}, "job_name is empty"),
        (
            {"job_name": "x", "scrape_interval": "5s", "scrape_timeout": "10s"},
            'scrape timeout greater than scrape interval for scrape config with job name "x"',
        ),
        ({"job_name": "x", "scrape_interval": "5x"}, 'duration "5x"|duration string: "5x"'),
        ({"job_name": "x", "scheme": "ftp"}, "URL scheme must be 'http' or 'https'"),
        ({"job_name": "x", "bogus": 1}, "Extra inputs are not permitted"),
        ({"job_name": "x", "scrape_protocols": ["Foo"]}, "unknown scrape protocol Foo"),
        (
            {"job_name": "x", "scrape_protocols": ["PrometheusText0.0.4", "PrometheusText0.0.4"]},
            "duplicated protocol in scrape_protocols",
        ),
        (
            {"job_name": "x", "basic_auth": {"username": "u"}, "bearer_token": "t"},
            "at most one of basic_auth",
        ),
        ({"job_name": "x", "authorization": {"type": "Basic"}}, 'use "basic_auth" instead'),
        ({"job_name": "x", "body_size_limit": "10XB"}, "unknown unit"),
        ({"job_name": "x", "relabel_configs": [None]}, "empty or null relabeling rule"),
        ({"job_name": "x", "file_sd_configs": [{"files": ["/a/b.txt"]}]}, "is not valid for file discovery"),
        ({"job_name": "x", "http_sd_configs": [{"url": "ftp://x"}]}, "URL scheme must be 'http' or 'https'"),
        ({"job_name": "x", "kubernetes_sd_configs": [{"role": "pod"}]}, "kubernetes_sd_configs is not"),
    ],
)
def test_validation(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        load(cfg)


def test_resolve_rejects_timeout_above_interval() -> None:
    g = GlobalScrapeDefaults.model_validate({"scrape_timeout": "20s", "scrape_interval": "1m"})
    with pytest.raises(ValueError, match="scrape timeout greater than scrape interval"):
        load({"job_name": "x", "scrape_interval": "30s", "scrape_timeout": "40s"})
    assert load({"job_name": "x", "scrape_timeout": "40s"}).resolve(g).scrape_timeout == 40_000


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("0", 0),
        ("512B", 512),
        ("1KB", 1024),
        ("10MB", 10 << 20),
        ("1GiB", 1 << 30),
        ("1MB512KB", (1 << 20) + (512 << 10)),
    ],
)
def test_byte_sizes(text: str, n: int) -> None:
    assert parse_byte_size(text) == n


def test_accept_header_matches_prometheus() -> None:
    assert accept_header(
        ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4"]
    ) == (
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
        "application/openmetrics-text;version=0.0.1;q=0.5,"
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
        "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    )
    assert accept_header(["PrometheusText0.0.4"]) == "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"


# -- targets ---------------------------------------------------------------------------------


def cfg(**kw: Any) -> ScrapeConfig:
    return load({"job_name": "job", "scrape_interval": "15s", **kw}).resolve(GlobalScrapeDefaults())


def test_populate_labels_defaults() -> None:
    labels, disc = populate_labels({"__address__": "h:9100", "__meta_x": "y"}, cfg(params={"a": ["1", "2"]}))
    assert labels == {
        "__address__": "h:9100",
        "job": "job",
        "instance": "h:9100",
        "__scheme__": "http",
        "__metrics_path__": "/metrics",
        "__scrape_interval__": "15s",
        "__scrape_timeout__": "10s",
        "__param_a": "1",
    }
    assert disc["__meta_x"] == "y" and disc["job"] == "job"


def test_target_url_and_public_labels() -> None:
    rules = [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"target_label": "__address__", "replacement": "exporter:9115"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
    ]
    c = cfg(params={"module": ["http_2xx"]}, metrics_path="/probe", relabel_configs=rules)
    labels, disc = populate_labels({"__address__": "https://example.org"}, c)
    assert labels is not None
    t = Target(labels, disc, c)
    assert t.url == "http://exporter:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.org"
    assert t.labels.to_dict() == {"instance": "https://example.org", "job": "job"}


def test_relabel_can_change_interval_and_drop() -> None:
    c = cfg(
        relabel_configs=[
            {"target_label": "__scrape_interval__", "replacement": "30s"},
            {"source_labels": ["env"], "regex": "dev", "action": "drop"},
        ]
    )
    labels, _ = populate_labels({"__address__": "a:1"}, c)
    assert labels is not None and Target(labels, {}, c).interval_ms == 30_000
    assert populate_labels({"__address__": "a:1", "env": "dev"}, c)[0] is None


@pytest.mark.parametrize(
    ("discovered", "rules", "message"),
    [
        ({"env": "x"}, [], "no address"),
        (
            {"__address__": "a:1"},
            [{"target_label": "__scrape_interval__", "replacement": "1x"}],
            "error parsing scrape interval",
        ),
        (
            {"__address__": "a:1"},
            [{"target_label": "__scrape_timeout__", "replacement": "1m"}],
            "scrape timeout cannot be greater than scrape interval",
        ),
        ({"__address__": "a/b"}, [], 'invalid "__address__" label'),
    ],
)
def test_target_errors(discovered: dict[str, str], rules: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(TargetError, match=message):
        populate_labels(discovered, cfg(relabel_configs=rules))


def test_group_labels_and_errors() -> None:
    g = TargetGroup(
        "0", [{"__address__": "a:1"}, {"__address__": "b:1", "env": "t"}, {"x": "y"}], {"env": "p"}
    )
    out = targets_from_group(g, cfg())
    assert out[0][0] is not None and out[0][0]["env"] == "p"
    assert out[1][0] is not None and out[1][0]["env"] == "t"
    assert out[2][0] is None and "no address" in out[2][2]


def test_offset_spreads_within_interval() -> None:
    c = cfg()
    offsets = set()
    for i in range(50):
        labels, disc = populate_labels({"__address__": f"h{i}:1"}, c)
        assert labels is not None
        off = Target(labels, disc, c).offset_ms(15_000, 1_700_000_000_000)
        assert 0 <= off <= 15_000
        offsets.add(off)
    assert len(offsets) > 40
    # The offset is pinned to absolute time: scrape slots do not depend on when we start.
    labels, disc = populate_labels({"__address__": "h:1"}, c)
    assert labels is not None
    t = Target(labels, disc, c)
    slot1 = (1_700_000_000_000 + t.offset_ms(15_000, 1_700_000_000_000)) % 15_000
    slot2 = (1_700_000_004_321 + t.offset_ms(15_000, 1_700_000_004_321)) % 15_000
    assert slot1 == slot2
