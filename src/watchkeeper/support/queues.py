"""Bounded queues that drop the oldest item on overflow and count what they dropped."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Generic, TypeVar

__all__ = ["DropOldestQueue"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class DropOldestQueue(Generic[T]):
    """An asyncio queue of at most ``maxsize`` items; ``put`` never blocks.

    A producer that outruns its consumer must not grow memory without bound nor
    stall (a scrape loop or HTTP handler cannot wait), so the oldest item is
    discarded, logged and counted in ``dropped``.
    """

    def __init__(self, maxsize: int, *, name: str = "queue") -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._name = name
        self._not_empty = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped += 1
            log.warning("queue %s full (%d items): dropped the oldest item", self._name, self._maxsize)
        self._items.append(item)
        self._not_empty.set()

    async def get(self) -> T:
        while not self._items:
            self._not_empty.clear()
            await self._not_empty.wait()
        return self._items.popleft()
