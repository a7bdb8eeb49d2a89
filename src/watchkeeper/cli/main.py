"""``watchkeeper`` command line: ``server``, ``agent``, ``check``, ``test``, ``rules``, ``promqltest``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from .argtypes import byte_size, duration_ms, positive_int
from .rules import add_check_rules, add_lint_flags, add_rule_commands, config_rule_files, run_rule_command

__all__ = ["main", "build_parser"]

_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="watchkeeper",
        description="Monitoring and alerting in one process: scrape and accept pushed metrics, store them, "
                    "answer PromQL over Prometheus' HTTP API.",
    )
    p.add_argument("--version", action="version", version=f"watchkeeper {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser(
        "server", help="run the monitoring server",
        description="Run the server: scrape targets, store samples, serve the Prometheus HTTP API. Without "
                    "--config it scrapes itself (job 'watchkeeper') and this host (job 'node') every 15s.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("--config", "--config.file", dest="config", metavar="FILE",
                   help="prometheus.yml to load (default: the built-in self and host scraping config)")
    s.add_argument("--data-dir", "--storage.tsdb.path", dest="data_dir", default="data", metavar="DIR",
                   help="where samples are stored (WAL and blocks)")
    s.add_argument("--listen", "--web.listen-address", dest="listen", default="127.0.0.1:9090",
                   metavar="HOST:PORT", help="address of the HTTP API")
    s.add_argument("--query.lookback-delta", dest="lookback", default="5m", type=duration_ms,
                   metavar="DURATION", help="how far back an instant vector selector looks for a sample")
    s.add_argument("--query.timeout", dest="query_timeout", default="2m", type=duration_ms,
                   metavar="DURATION", help="maximum time a query may take before it is aborted")
    s.add_argument("--query.max-samples", dest="max_samples", default=50_000_000, type=positive_int,
                   metavar="N", help="maximum samples a single query may load into memory")
    s.add_argument("--query.max-concurrency", dest="max_concurrency", default=20, type=positive_int,
                   metavar="N", help="maximum queries executed at the same time")
    s.add_argument("--storage.tsdb.retention.time", dest="retention_time", default="15d", type=duration_ms,
                   metavar="DURATION", help="how long to keep samples (0 disables time-based retention)")
    s.add_argument("--storage.tsdb.retention.size", dest="retention_size", default="0", type=byte_size,
                   metavar="SIZE", help="maximum bytes of blocks to keep, e.g. 512MB (0 disables)")
    s.add_argument("--web.enable-admin-api", dest="admin_api", action="store_true",
                   help="enable /api/v1/admin endpoints (delete_series)")
    s.add_argument("--web.external-url", dest="external_url", default="", metavar="URL",
                   help="URL under which users reach the server (alerts' generatorURL); "
                        "empty: http://HOST:PORT of --listen")
    s.add_argument("--rules.alert.resend-delay", dest="resend_delay", default="1m", type=duration_ms,
                   metavar="DURATION", help="minimum time between re-sends of a firing alert to Alertmanager")
    s.add_argument("--alertmanager.notification-queue-capacity", dest="notification_queue", default=10_000,
                   type=positive_int, metavar="N", help="alerts queued for Alertmanagers before the oldest "
                                                         "are dropped")
    s.add_argument("--alertmanager.config", dest="alertmanager_config", default=None, metavar="FILE",
                   help="run the notification engine from this alertmanager.yml and serve Alertmanager's "
                        "API v2 (/api/v2/...) on the same port; state persists in DATA_DIR/alertmanager. "
                        "Instead of a file, the server config may hold the same document under a top-level "
                        "`alertmanager:` key (not both)")
    s.add_argument("--alertmanager.events-retention", dest="events_retention", default="7d", type=duration_ms,
                   metavar="DURATION", help="how long the notification engine's event log (alert state "
                                            "changes, silence changes, notification attempts) is kept")
    s.add_argument("--dashboards.dir", dest="dashboards_dir", default=None, metavar="DIR",
                   help="directory of dashboard files (YAML/JSON), watched and written by the UI "
                        "(default: DATA_DIR/dashboards)")
    s.add_argument("--log.level", dest="log_level", default="info", choices=sorted(_LOG_LEVELS),
                   help="only log messages of this severity or above")

    c = sub.add_parser("check", help="check configuration files",
                       description="Validate files as promtool check does; exit code 1 if any is invalid.")
    csub = c.add_subparsers(dest="check_what", metavar="WHAT")
    cc = csub.add_parser("config", help="validate prometheus.yml files",
                         description="Validate prometheus.yml files; problems print as FILE:LINE: message.")
    cc.add_argument("files", nargs="+", metavar="FILE")
    add_lint_flags(cc)
    ca = csub.add_parser("alertmanager", help="validate alertmanager.yml files",
                         description="Validate alertmanager.yml files (and the templates they name) like "
                                     "amtool check-config; exit code 1 if any is invalid.")
    ca.add_argument("files", nargs="+", metavar="FILE")
    ca.add_argument("--compat", choices=("head", "0.25"), default="head",
                    help="judge by current Alertmanager's rules, or by Alertmanager 0.25's")
    add_check_rules(csub)
    add_rule_commands(sub)

    sub.add_parser("promqltest", help="run PromQL .test scripts against the engine", add_help=False)

    from ..agent.main import add_arguments as add_agent_arguments  # cheap: the agent imports lazily

    ag = sub.add_parser("agent", help="run the host agent (node metrics: /metrics pull or remote-write push)",
                        description="Collect this host's metrics with node_exporter's names; serve them on "
                                    "--listen and/or push them to --server / --remote-write-url through an "
                                    "on-disk queue. See docs/agent.md.")
    add_agent_arguments(ag)

    from .alertmanager import add_arguments as add_alertmanager_arguments  # cheap: imports lazily

    am = sub.add_parser("alertmanager", help="run the notification engine alone (Alertmanager API v2)",
                        description="Serve Alertmanager's API v2 from an unchanged alertmanager.yml; "
                                    "silences, the notification log and active alerts persist in --data-dir.")
    add_alertmanager_arguments(am)

    from ..demo.main import add_arguments as add_demo_arguments  # cheap: imports lazily

    de = sub.add_parser("demo", help="run a server with 20 simulated hosts and scripted incidents",
                        description="Run a server fed by 20 simulated hosts (daily CPU, memory, disk, "
                                    "network and HTTP patterns, 6 h of history) whose scripted failures fire "
                                    "alerts within minutes; notifications go to a log file and stdout. "
                                    "See docs/demo.md.",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_demo_arguments(de)

    sc = sub.add_parser("screenshots", help="photograph every UI page into PNG files (headless Chromium)",
                        description="Start `watchkeeper demo` on a free port (or use --url), open every page "
                                    "of the web UI in headless Chromium and write one PNG per page.",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    # Declared here: importing watchkeeper.web would load the whole API for every command.
    sc.add_argument("--out", default="docs/screenshots", metavar="DIR", help="directory for the PNGs")
    sc.add_argument("--url", help="photograph this running server instead of starting a demo")
    sc.add_argument("--chromium", default="/usr/bin/chromium", metavar="PATH", help="Chromium executable")
    return p


def _server(args: argparse.Namespace, raw: Sequence[str]) -> int:
    from ..server.entry import run_until_stopped
    from ..server.options import ServerOptions, parse_listen
    from ..server.server import Server

    logging.basicConfig(level=_LOG_LEVELS[args.log_level],
                        format="%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    # The scrape client logs every request at INFO; that is noise in a server log.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, _LOG_LEVELS[args.log_level]))
    try:
        parse_listen(args.listen)
    except ValueError as e:
        print(f"watchkeeper server: {e}", file=sys.stderr)
        return 2
    flags = {
        "config.file": args.config or "", "storage.tsdb.path": args.data_dir,
        "web.listen-address": args.listen,
        "query.lookback-delta": _flag_text(raw, "--query.lookback-delta", "5m"),
        "query.timeout": _flag_text(raw, "--query.timeout", "2m"),
        "query.max-samples": str(args.max_samples), "query.max-concurrency": str(args.max_concurrency),
        "storage.tsdb.retention.time": _flag_text(raw, "--storage.tsdb.retention.time", "15d"),
        "storage.tsdb.retention.size": _flag_text(raw, "--storage.tsdb.retention.size", "0B"),
        "web.enable-admin-api": str(args.admin_api).lower(), "log.level": args.log_level,
        "web.external-url": args.external_url,
        "rules.alert.resend-delay": _flag_text(raw, "--rules.alert.resend-delay", "1m"),
        "alertmanager.notification-queue-capacity": str(args.notification_queue),
        "alertmanager.config": args.alertmanager_config or "",
        "alertmanager.events-retention": _flag_text(raw, "--alertmanager.events-retention", "7d"),
        "dashboards.dir": args.dashboards_dir or "",
    }
    opts = ServerOptions(
        config_file=args.config, data_dir=args.data_dir, listen=args.listen, lookback_delta_ms=args.lookback,
        query_timeout_s=args.query_timeout / 1000, query_max_samples=args.max_samples,
        query_max_concurrency=args.max_concurrency, retention_ms=args.retention_time,
        retention_bytes=args.retention_size, enable_admin_api=args.admin_api, flags=flags,
        external_url=args.external_url, resend_delay_ms=args.resend_delay,
        notification_queue_capacity=args.notification_queue,
        alertmanager_config=args.alertmanager_config, dashboards_dir=args.dashboards_dir,
        events_retention_ms=args.events_retention)
    return run_until_stopped("server", Server(opts).run())


def _flag_text(raw: Sequence[str], name: str, default: str) -> str:
    """The flag's text as the user wrote it (``--x=v`` or ``--x v``), for /api/v1/status/flags."""
    for i, arg in enumerate(raw):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(raw):
            return raw[i + 1]
    return default


def _check_config(files: Sequence[str], lint: str, lint_fatal: bool) -> int:
    from ..config import ConfigError, load_config_file
    from ..rules.check import check_rules_split

    failed = False
    worst = 0
    for path in files:
        print(f"Checking {path}")
        try:
            loaded = load_config_file(path)
        except ConfigError as e:
            failed = True
            for msg in e.messages:
                print(f"  FAILED: {msg}")
            print()
            continue
        rule_files, missing = config_rule_files(path, loaded.config.rule_files)
        if missing:
            print(f"  FAILED: {missing}", file=sys.stderr)
            print()
            failed = True
            continue
        if rule_files:
            print(f"  SUCCESS: {len(rule_files)} rule files found")
        print(f" SUCCESS: {path} is valid prometheus config file syntax")
        if loaded.alertmanager is not None:
            from ..alerting.notify import unsupported_integrations

            for line in unsupported_integrations(loaded.alertmanager):
                print(f"  WARNING: alertmanager: {line}")
        print()
        # promtool goes on to check the rule files, with their errors indented.
        code, out, err = check_rules_split(rule_files, lint=lint, lint_fatal=lint_fatal, error_prefix="     ")
        sys.stdout.write(out)
        sys.stderr.write(err)
        worst = max(worst, code, key=lambda c: {0: 0, 3: 1, 1: 2}[c])
    return 1 if failed else worst


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw and raw[0] == "promqltest":
        from ..promql.promqltest import run_cli

        return run_cli(raw[1:])
    parser = build_parser()
    args = parser.parse_args(raw)
    if args.command == "server":
        return _server(args, raw)
    if args.command == "agent":
        from ..agent.main import run as run_agent

        return run_agent(args)
    if args.command == "alertmanager":
        from .alertmanager import run as run_alertmanager

        return run_alertmanager(args)
    if args.command == "demo":
        from ..demo.main import run as run_demo

        return run_demo(args)
    if args.command == "screenshots":
        from ..web.screenshots import run as run_screenshots

        return run_screenshots(args)
    code = run_rule_command(args, parser)
    if code is not None:
        return code
    if args.command == "check" and args.check_what == "config":
        return _check_config(args.files, args.lint, args.lint_fatal)
    if args.command == "check" and args.check_what == "alertmanager":
        from ..alerting.check import check_alertmanager

        code, output = check_alertmanager(args.files, compat=args.compat)
        print(output, end="" if output.endswith("\n") else "\n")
        return code
    if args.command == "check":
        parser.parse_args(["check", "--help"])
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
