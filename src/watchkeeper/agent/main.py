"""``watchkeeper agent``: flags, config resolution and the process lifecycle.

Imports of the agent's machinery happen inside the functions, so that building the
``watchkeeper`` command line (which calls ``add_arguments``) stays cheap for every command.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import AgentConfig

__all__ = ["add_arguments", "resolve_config", "run", "split_listen"]

log = logging.getLogger("watchkeeper.agent")

DEFAULT_LISTEN = ":9100"  # node_exporter's port, so existing scrape configs keep working


def _duration(text: str) -> int:
    from ..gocompat.durations import DurationError, parse_duration

    try:
        ms = parse_duration(text)
    except DurationError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if ms <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return ms


def _bytes(text: str) -> int:
    from ..scrape.config import parse_byte_size

    try:
        return parse_byte_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _label(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The agent's flags; every one overrides the matching key of ``--config``."""
    parser.add_argument("--config", metavar="FILE", help="agent YAML config (optional)")
    parser.add_argument("--data-dir", dest="data_dir", metavar="DIR",
                        help="where the push queue lives (default: ./data-agent)")
    parser.add_argument("--listen", metavar="HOST:PORT",
                        help=f"serve /metrics for pull (default {DEFAULT_LISTEN} when not pushing)")
    parser.add_argument("--server", metavar="URL",
                        help="push to this watchkeeper server (remote write to URL/api/v1/write)")
    parser.add_argument("--remote-write-url", dest="remote_write_url", metavar="URL",
                        help="push to any remote-write endpoint (Prometheus, VictoriaMetrics, ...)")
    parser.add_argument("--interval", type=_duration, metavar="DURATION",
                        help="collection interval in push mode (default 15s)")
    parser.add_argument("--label", action="append", type=_label, default=[], metavar="NAME=VALUE",
                        help="extra label on every pushed series (repeatable; default job=node, "
                             "instance=<hostname>)")
    parser.add_argument("--queue.max-bytes", dest="queue_max_bytes", type=_bytes, metavar="SIZE",
                        help="bound of the on-disk queue, e.g. 256MiB; oldest data is dropped beyond it")
    parser.add_argument("--collector.textfile.directory", dest="textfile_directory", metavar="DIR",
                        help="directory of *.prom files to expose (node_exporter's flag)")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warn", "error"], help="minimum log severity")


def resolve_config(args: argparse.Namespace) -> AgentConfig:
    """The config file (or defaults) with the command-line flags applied on top."""
    from .config import AgentConfig, load_agent_config

    cfg = load_agent_config(args.config) if args.config else AgentConfig()
    update: dict[str, object] = {}
    for key in ("data_dir", "listen", "server", "interval", "textfile_directory"):
        value = getattr(args, key, None)
        if value is not None:
            update[key] = value
    if args.label:
        update["labels"] = {**cfg.labels, **dict(args.label)}
    if args.remote_write_url:
        update["remote_write"] = cfg.remote_write.model_copy(update={"url": args.remote_write_url})
    if args.queue_max_bytes is not None:
        update["queue"] = cfg.queue.model_copy(update={"max_bytes": args.queue_max_bytes})
    return cfg.model_copy(update=update)


def split_listen(addr: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` (all interfaces) or ``[v6]:PORT``."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be HOST:PORT, got {addr!r}")
    host = host.strip("[]")
    return host or "0.0.0.0", int(port)


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    from .agent import Agent, serve_metrics
    from .config import AgentConfigError

    levels = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
    logging.basicConfig(
        level=levels[args.log_level], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = resolve_config(args)
    except AgentConfigError as e:
        for msg in e.messages:
            print(msg, file=sys.stderr)
        return 1
    push = bool(cfg.server or cfg.remote_write.url)
    listen = cfg.listen or ("" if push else DEFAULT_LISTEN)
    try:
        agent = Agent(cfg, push=push)
        bind = split_listen(listen) if listen else None
    except (ValueError, OSError) as e:
        print(f"watchkeeper agent: {e}", file=sys.stderr)
        return 1

    def _stop(signum: int, _frame: object) -> None:
        # Only set the event here: the handler interrupts the main thread, which may hold queue locks.
        log.info("received signal %d, stopping", signum)
        agent.stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    http = None
    if bind is not None:
        try:
            http = serve_metrics(agent, *bind)
        except OSError as e:
            print(f"watchkeeper agent: cannot listen on {listen}: {e}", file=sys.stderr)
            return 1
        log.info("serving /metrics on %s:%d", *http.server_address[:2])
    sender = None
    if push:
        assert agent.sender is not None
        log.info("pushing every %gs to %s via queue %s", cfg.interval / 1000, agent.sender.client.url,
                 agent.queue.dir if agent.queue else "")
        sender = agent.start_sender()
        agent.run_push_loop()
    else:
        while not agent.stop.wait(1.0):
            pass
    agent.close()
    if http is not None:
        http.shutdown()
    if sender is not None:
        sender.join(timeout=35)
    if agent.queue is not None:
        agent.queue.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m watchkeeper.agent.main`` (the CLI wires the same two functions)."""
    parser = argparse.ArgumentParser(prog="watchkeeper agent", description="host metrics agent")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
