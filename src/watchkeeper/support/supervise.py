"""Supervised asyncio tasks: a crashing component is logged, counted and restarted with backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .backoff import Backoff

__all__ = ["Supervisor"]

log = logging.getLogger(__name__)

# A component that ran this long before crashing is considered healthy again:
# the next restart starts from the shortest delay.
_HEALTHY_RUN_S = 60.0


@dataclass
class _Child:
    name: str
    factory: Callable[[], Awaitable[None]]
    task: asyncio.Task[None] | None = None
    backoff: Backoff = field(default_factory=Backoff)


class Supervisor:
    """Runs named coroutine factories as tasks and restarts them when they fail.

    A component returning normally is finished and not restarted; raising any
    exception (other than cancellation) restarts it after a backoff delay while
    every other component keeps running. ``restarts`` maps component name to the
    number of restarts, exported as ``watchkeeper_component_restarts_total``.
    """

    def __init__(self, *, backoff: Callable[[], Backoff] = Backoff) -> None:
        self._children: dict[str, _Child] = {}
        self._new_backoff = backoff
        self.restarts: dict[str, int] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Start component ``name``; ``factory()`` is called again for every restart."""
        if name in self._children:
            raise ValueError(f"component {name!r} already running")
        child = _Child(name, factory, backoff=self._new_backoff())
        self._children[name] = child
        self.restarts.setdefault(name, 0)
        child.task = asyncio.get_running_loop().create_task(self._run(child), name=f"component:{name}")

    async def _run(self, child: _Child) -> None:
        while True:
            started = time.monotonic()
            try:
                await child.factory()
                log.info("component %s finished", child.name)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if time.monotonic() - started > _HEALTHY_RUN_S:
                    child.backoff.reset()
                delay = child.backoff.next_delay()
                self.restarts[child.name] = self.restarts.get(child.name, 0) + 1
                log.exception("component %s crashed; restarting in %.1fs", child.name, delay)
                await asyncio.sleep(delay)

    def running(self) -> list[str]:
        return [n for n, c in self._children.items() if c.task is not None and not c.task.done()]

    async def stop(self, name: str) -> None:
        """Cancel one component and wait for it to end."""
        child = self._children.pop(name, None)
        if child is None or child.task is None:
            return
        child.task.cancel()
        try:
            await child.task
        except asyncio.CancelledError:
            pass

    async def stop_all(self) -> None:
        for name in list(self._children):
            await self.stop(name)
