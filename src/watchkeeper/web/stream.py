"""``/api/v1/stream``: one WebSocket with subscribable channels (see docs/ui.md for the protocol).

Channels: ``status`` (server health once a second), ``query`` (a PromQL query's history once, then
its new points every ``step`` seconds), ``alerts`` (the Alertmanager's alerts and routing groups,
then their changes) and ``events`` (new entries of the alert/notification event log). Queries run in
the API's query pool, never on the loop; alerts and events are read on the loop, where the
Alertmanager changes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..api.context import ApiContext
from ..api.jsonfmt import format_value, matrix_json, scalar_json, vector_json
from ..model.batch import SeriesSet
from ..promql.engine import QueryResult
from ..promql.errors import ParseError, PromQLError
from ..promql.parser import parse
from ..storage.api import StorageError
from .feeds import (
    MAX_EVENT_HISTORY,
    MAX_EVENTS_PER_PUSH,
    AlertCursor,
    AlertFeed,
    EventCursor,
    event_json,
    parse_filters,
)
from .status import StatusSampler

__all__ = ["StreamHub", "MAX_SUBSCRIPTIONS", "MIN_STEP_S", "MAX_HISTORY_POINTS", "ALERTS_INTERVAL_S",
           "EVENTS_INTERVAL_S"]

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 32  # per connection: bounds the work one browser tab can ask for
MIN_STEP_S = 1.0  # the UI promises to be at most 2 s behind; faster adds load without benefit
MAX_HISTORY_POINTS = 11_000  # the range query limit of /api/v1/query_range
STATUS_INTERVAL_S = 1.0
ALERTS_INTERVAL_S = 1.0  # alert changes and new events reach a subscriber at most this late (+ send time)
EVENTS_INTERVAL_S = 1.0


Send = Callable[[str], Awaitable[None]]


class SubscribeError(ValueError):
    """A subscribe message the server refuses; the text goes back to the client."""


def _result_json(result: QueryResult) -> str:
    kind = result.result_type
    if kind == "matrix":
        data = matrix_json(result.series or SeriesSet.empty())
    elif kind == "vector":
        data = vector_json(result.series or SeriesSet.empty())
    elif kind == "scalar":
        assert result.scalar is not None
        data = scalar_json(result.scalar[0], format_value(result.scalar[1]))
    else:
        assert result.string is not None
        data = scalar_json(result.string[0], result.string[1])
    return '{"resultType":"' + kind + '","result":' + data + "}"


def _message(kind: str, sub_id: str, data_json: str) -> str:
    return '{"type":"' + kind + '","id":' + orjson.dumps(sub_id).decode() + ',"data":' + data_json + "}"


def _number(msg: dict[str, Any], name: str, default: float) -> float:
    value = msg.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SubscribeError(f"{name} must be a number of seconds")
    return float(value)


def _text(msg: dict[str, Any], name: str) -> str | None:
    value = msg.get(name)
    if value is not None and not isinstance(value, str):
        raise SubscribeError(f"{name} must be a string")
    return value or None


def _events_message(sub_id: str, events: list[dict[str, Any]], initial: bool) -> str:
    """At most ``MAX_EVENTS_PER_PUSH`` of the newest entries; ``dropped`` counts the older ones left out."""
    dropped = max(0, len(events) - MAX_EVENTS_PER_PUSH)
    data = {"initial": initial, "events": [event_json(e) for e in events[dropped:]], "dropped": dropped}
    return _message("events", sub_id, orjson.dumps(data).decode())


class StreamHub:
    """Shared state of all stream connections: one status sampler, so N tabs cost one sample a second."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._sampler = StatusSampler(ctx)
        self._status: tuple[float, str] | None = None
        self._status_lock = asyncio.Lock()
        self._alert_feed: AlertFeed | None = None

    async def status_json(self) -> str:
        """The latest status snapshot as JSON, sampled at most about once per interval."""
        async with self._status_lock:
            now = time.monotonic()
            if self._status is None or now - self._status[0] >= STATUS_INTERVAL_S * 0.9:
                snap = await asyncio.to_thread(self._sampler.sample)
                self._status = (now, orjson.dumps(snap).decode())
            return self._status[1]

    async def _evaluate(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> str:
        storage, engine = self.ctx.storage, self.ctx.engine

        def work() -> str:
            if start_ms == end_ms:
                return _result_json(engine.instant_query(storage, query, end_ms))
            return _result_json(engine.range_query(storage, query, start_ms, end_ms, step_ms))

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.ctx.executor, work)

    async def serve(self, ws: WebSocket) -> None:
        """Run one connection until the client leaves."""
        await ws.accept()
        send_lock = asyncio.Lock()
        tasks: dict[str, asyncio.Task[None]] = {}

        async def send(text: str) -> None:
            async with send_lock:
                await ws.send_text(text)

        async def send_error(sub_id: str, text: str) -> None:
            await send(orjson.dumps({"type": "error", "id": sub_id, "error": text}).decode())

        def forget(sub_id: str, task: asyncio.Task[None]) -> None:
            # A channel that ended (its query failed) no longer counts against the limit.
            if tasks.get(sub_id) is task:
                del tasks[sub_id]

        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                try:
                    msg = orjson.loads(raw if raw is not None else message.get("bytes") or b"")
                    if not isinstance(msg, dict):
                        raise SubscribeError("messages are JSON objects")
                except (orjson.JSONDecodeError, SubscribeError) as e:
                    await send_error("", f"bad message: {e}")
                    continue
                sub_id = str(msg.get("id", ""))
                kind = msg.get("type")
                if kind == "unsubscribe":
                    task = tasks.pop(sub_id, None)
                    if task is not None:
                        task.cancel()
                    continue
                if kind != "subscribe":
                    await send_error(sub_id, f"unknown message type {kind!r}")
                    continue
                if sub_id in tasks:
                    tasks.pop(sub_id).cancel()
                if len(tasks) >= MAX_SUBSCRIPTIONS:
                    await send_error(sub_id, f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection")
                    continue
                try:
                    channel = self._channel(msg, sub_id, send)
                except SubscribeError as e:
                    await send_error(sub_id, str(e))
                    continue
                task = asyncio.create_task(self._guard(channel, sub_id, send_error))
                task.add_done_callback(functools.partial(forget, sub_id))
                tasks[sub_id] = task
        except WebSocketDisconnect:
            pass
        finally:
            pending = list(tasks.values())
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _channel(self, msg: dict[str, Any], sub_id: str, send: Send) -> Coroutine[Any, Any, None]:
        """Validate a subscribe message and return the coroutine that serves it."""
        channel = msg.get("channel")
        if channel == "status":
            return self._status_loop(sub_id, send)
        if channel == "query":
            query = msg.get("query")
            if not isinstance(query, str) or not query.strip():
                raise SubscribeError("query channel needs a non-empty 'query'")
            try:
                parse(query)  # refuse a broken query now, not one step later
            except ParseError as e:
                raise SubscribeError(str(e)) from None
            step = max(MIN_STEP_S, _number(msg, "step", 5.0))
            history = max(0.0, _number(msg, "range", 0.0))
            if history / step > MAX_HISTORY_POINTS:
                raise SubscribeError(f"range/step exceeds {MAX_HISTORY_POINTS} points; raise the step")
            return self._query_loop(sub_id, send, query, history, step)
        if channel in ("alerts", "events"):
            service = self.ctx.alertmanager()
            if service is None:
                raise SubscribeError(f"{channel} channel: this server runs no Alertmanager "
                                     "(configure one: an alertmanager: section or --alertmanager.config)")
            try:
                matchers = parse_filters(msg.get("filter"))
            except ValueError as e:
                raise SubscribeError(str(e)) from None
            if channel == "alerts":
                return self._alerts_loop(sub_id, send, service, AlertCursor(matchers))
            kinds = msg.get("kind") or []
            kinds = [kinds] if isinstance(kinds, str) else kinds
            history = msg.get("history", 0)
            if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
                raise SubscribeError("kind must be a string or a list of them")
            if type(history) is not int or not 0 <= history <= MAX_EVENT_HISTORY:  # bool is not a count
                raise SubscribeError(f"history must be a whole number from 0 to {MAX_EVENT_HISTORY}")
            cursor = EventCursor(matchers, set(kinds), _text(msg, "receiver"), _text(msg, "outcome"))
            return self._events_loop(sub_id, send, service, cursor, history)
        raise SubscribeError(f"unknown channel {channel!r}")

    async def _guard(self, channel: Coroutine[Any, Any, None], sub_id: str,
                     send_error: Callable[[str, str], Awaitable[None]]) -> None:
        """Report a channel's failure to its subscriber instead of dropping it silently."""
        try:
            await channel
        except (PromQLError, StorageError) as e:
            text = str(e)
        except (WebSocketDisconnect, OSError):  # the client left while we sent (uvicorn: ClientDisconnected)
            return
        except Exception as e:
            log.exception("stream channel %s failed", sub_id)
            text = f"internal error: {e}"
        else:
            return
        with contextlib.suppress(Exception):  # the client may be gone by now
            await send_error(sub_id, text)

    async def _status_loop(self, sub_id: str, send: Send) -> None:
        while True:
            await send(_message("status", sub_id, await self.status_json()))
            await asyncio.sleep(STATUS_INTERVAL_S)

    def _alerts(self, service: Any) -> AlertFeed:
        """The shared snapshot builder, renewed when the server's Alertmanager is replaced."""
        if self._alert_feed is None or self._alert_feed.service is not service:
            self._alert_feed = AlertFeed(service, ALERTS_INTERVAL_S)
        return self._alert_feed

    async def _alerts_loop(self, sub_id: str, send: Send, service: Any, cursor: AlertCursor) -> None:
        while True:
            data = cursor.update(self._alerts(service).snapshot())
            if data is not None:
                await send(_message("alerts", sub_id, data))
            await asyncio.sleep(ALERTS_INTERVAL_S)

    async def _events_loop(self, sub_id: str, send: Send, service: Any, cursor: EventCursor,
                           history: int) -> None:
        await send(_events_message(sub_id, cursor.start(service, history), initial=True))
        while True:
            await asyncio.sleep(EVENTS_INTERVAL_S)
            fresh = cursor.poll(service)
            if fresh:
                await send(_events_message(sub_id, fresh, initial=False))

    async def _query_loop(self, sub_id: str, send: Send, query: str, history_s: float, step_s: float) -> None:
        step_ms = int(step_s * 1000)
        end = int(time.time() * 1000)
        if history_s > 0:
            start = end - int(history_s * 1000)
            await send(_message("range", sub_id, await self._evaluate(query, start, end, step_ms)))
        else:  # without history the subscriber still sees the current value at once
            await send(_message("points", sub_id, await self._evaluate(query, end, end, step_ms)))
        while True:
            await asyncio.sleep(step_s)
            t = int(time.time() * 1000)
            await send(_message("points", sub_id, await self._evaluate(query, t, t, step_ms)))
