"""Supervision: crashing components restart with backoff and are counted; queues drop the oldest."""

from __future__ import annotations

import asyncio

import pytest

from watchkeeper.support.backoff import Backoff
from watchkeeper.support.queues import DropOldestQueue
from watchkeeper.support.supervise import Supervisor


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    b = Backoff(initial=1.0, maximum=5.0, jitter=0.0)
    assert [b.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    b.reset()
    assert b.next_delay() == 1.0
    jittery = Backoff(initial=1.0, maximum=5.0, jitter=0.2)
    assert 0.8 <= jittery.next_delay() <= 1.2
    assert 1.6 <= jittery.next_delay() <= 2.4


def test_crashing_component_is_restarted_and_counted() -> None:
    async def scenario() -> tuple[int, dict[str, int], list[str]]:
        sup = Supervisor(backoff=lambda: Backoff(initial=0.001, maximum=0.002, jitter=0.0))
        runs = 0
        done = asyncio.Event()

        async def flaky() -> None:
            nonlocal runs
            runs += 1
            if runs < 4:
                raise RuntimeError("boom")
            done.set()
            await asyncio.Event().wait()

        async def steady() -> None:
            await asyncio.Event().wait()

        sup.start("flaky", flaky)
        sup.start("steady", steady)
        await asyncio.wait_for(done.wait(), 5)
        running = sorted(sup.running())
        await sup.stop_all()
        return runs, dict(sup.restarts), running

    runs, restarts, running = asyncio.run(scenario())
    assert runs == 4
    assert restarts == {"flaky": 3, "steady": 0}
    assert running == ["flaky", "steady"]


def test_finished_component_is_not_restarted_and_names_are_unique() -> None:
    async def scenario() -> tuple[int, list[str]]:
        sup = Supervisor()
        calls = 0

        async def once() -> None:
            nonlocal calls
            calls += 1

        sup.start("once", once)
        with pytest.raises(ValueError, match="already running"):
            sup.start("once", once)
        await asyncio.sleep(0.05)
        return calls, sup.running()

    assert asyncio.run(scenario()) == (1, [])


def test_queue_drops_oldest_when_full() -> None:
    async def scenario() -> tuple[list[int], int]:
        q: DropOldestQueue[int] = DropOldestQueue(3, name="test")
        for i in range(5):
            q.put(i)
        got = [await q.get() for _ in range(3)]
        waiter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        q.put(9)
        got.append(await asyncio.wait_for(waiter, 1))
        return got, q.dropped

    assert asyncio.run(scenario()) == ([2, 3, 4, 9], 2)
    with pytest.raises(ValueError):
        DropOldestQueue(0)
