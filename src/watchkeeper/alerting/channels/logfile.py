"""Log-file receiver (``file_configs``): every notification appended to a file, or written to standard output.

A watchkeeper addition (Alertmanager has no such receiver): for local set-ups, demos and audits, where
"notified" should mean a line someone can ``tail -f``. ``format: json`` writes the webhook body (the
same JSON a ``webhook_configs`` receiver would POST) plus the send ``time``, one object per line;
``format: text`` writes one readable line per alert. ``path: "-"`` is standard output.

```yaml
receivers:
  - name: log
    file_configs:
      - path: /var/log/watchkeeper/notifications.log
      - path: "-"
        format: text
```
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass

from ..alert import Alert
from ..notifydata import alert_status
from ..timefmt import format_rfc3339_ns
from .base import ChannelConfig
from .sending import ChannelError, SendContext
from .webhook import webhook_message

__all__ = ["FileConfig", "STDOUT", "format_text", "send"]

STDOUT = "-"
FORMATS = ("json", "text")


@dataclass
class FileConfig(ChannelConfig):
    KIND = "file"
    GO_TYPE = "config.FileConfig"

    path: str | None = None
    format: str = "json"

    def check(self) -> None:
        super().check()
        if not self.path:
            raise ValueError("missing path in file_config")
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r} in file_config: expected json or text")


def _alert_line(a: Alert, now: int, when: str, receiver: str) -> str:
    status = alert_status(a, now).upper()
    name = a.labels.get("alertname", "")
    labels = " ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k != "alertname")
    summary = a.annotations.get("summary", "")
    return f"{when} [{status}] {name} {labels} receiver={receiver}" + (f" - {summary}" if summary else "")


def format_text(ctx: SendContext) -> str:
    """One line per alert of the notification: time, status, alert name, labels, receiver, summary."""
    when = format_rfc3339_ns(ctx.now)
    return "".join(_alert_line(a, ctx.now, when, ctx.receiver) + "\n" for a in ctx.alerts)


def _format_json(ctx: SendContext) -> str:
    body = webhook_message(ctx.receiver, ctx.group_key, ctx.group_labels, ctx.alerts, now=ctx.now,
                           external_url=ctx.external_url)
    return json.dumps({"time": format_rfc3339_ns(ctx.now), **body}, separators=(",", ":")) + "\n"


def _write(path: str, text: str) -> None:
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


async def send(cfg: FileConfig, ctx: SendContext) -> None:
    """Append the notification; a failed write (disk full, no permission) is retried."""
    text = format_text(ctx) if cfg.format == "text" else _format_json(ctx)
    assert cfg.path is not None  # check() requires it
    try:
        await asyncio.to_thread(_write, cfg.path, text)
    except OSError as exc:
        raise ChannelError(f"writing {cfg.path}: {exc}", retryable=True) from None
