"""Command line of ``watchkeeper demo`` (its arguments and the run), kept here so the CLI module only
registers it."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["add_arguments", "run"]

_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def _speed(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.1 <= v <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 0.1 and 1000: {text!r}")
    return v


def _duration_s(text: str) -> float:
    from ..gocompat.durations import DurationError, parse_duration

    try:
        return parse_duration(text) / 1000
    except DurationError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "--config.file", dest="config", metavar="FILE",
                   help="a prometheus.yml whose scrape configs and rule files run next to the demo's "
                        "(none: only the demo's)")
    p.add_argument("--data-dir", "--storage.tsdb.path", dest="data_dir", default="demo-data", metavar="DIR",
                   help="where samples, the demo's config files and notifications.log are kept")
    p.add_argument("--listen", "--web.listen-address", dest="listen", default="127.0.0.1:9090",
                   metavar="HOST:PORT", help="address of the web UI and HTTP API")
    p.add_argument("--demo.speed", dest="speed", default=1.0, type=_speed, metavar="FACTOR",
                   help="run the failure schedule, the scrape and evaluation intervals and the alert timers "
                        "FACTOR times faster (tests use 20: the first alert fires within seconds)")
    p.add_argument("--demo.history", dest="history", default="6h", type=_duration_s, metavar="DURATION",
                   help="history backfilled before the start, so dashboards are full at once")
    p.add_argument("--log.level", dest="log_level", default="info", choices=sorted(_LOG_LEVELS),
                   help="only log messages of this severity or above")


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..server.entry import run_until_stopped
    from ..server.options import ServerOptions, parse_listen
    from .files import DemoConfigError
    from .run import DemoOptions, run_demo

    logging.basicConfig(level=_LOG_LEVELS[args.log_level],
                        format="%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")
    logging.getLogger("httpx").setLevel(max(logging.WARNING, _LOG_LEVELS[args.log_level]))
    try:
        parse_listen(args.listen)
    except ValueError as e:
        print(f"watchkeeper demo: {e}", file=sys.stderr)
        return 2
    flags = {"config.file": args.config or "", "storage.tsdb.path": args.data_dir,
             "web.listen-address": args.listen, "log.level": args.log_level,
             "demo.speed": f"{args.speed:g}", "demo.history": f"{args.history:g}s"}
    opts = ServerOptions(config_file=args.config, data_dir=args.data_dir, listen=args.listen, flags=flags)
    return run_until_stopped("demo", run_demo(opts, DemoOptions(speed=args.speed, history_s=args.history)),
                             (DemoConfigError, yaml.YAMLError))
