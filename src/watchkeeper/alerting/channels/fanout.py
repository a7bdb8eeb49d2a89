"""Sending one notification to several targets (SMS numbers, Apprise URLs) without repeating any.

The retry stage calls a channel's ``send`` again after a retryable failure. When the failure hit only
some of the targets, sending to all of them again would page the others twice (and an SMS costs money),
so the integration remembers which targets already have the notification being retried and sends only
to the rest. One integration's notifications are delivered one after another by its own worker, so
remembering the current notification is enough.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from .sending import ChannelError, SendContext

__all__ = ["FanOut"]


class FanOut:
    """Per-integration memory of the targets that already got the notification being delivered."""

    def __init__(self) -> None:
        self._key: tuple[str, int] | None = None
        self._done: set[int] = set()

    async def send(
        self,
        ctx: SendContext,
        targets: Sequence[str],
        send_one: Callable[[str], Awaitable[None]],
        *,
        what: str,
    ) -> None:
        """Call ``send_one`` for every target not yet done for this notification (group key and time).

        Every pending target is tried even when one fails; then one ``ChannelError`` reports the failures,
        retryable if any failure is (the retry sends only to the targets still missing).
        """
        key = (ctx.group_key, ctx.now)
        if key != self._key:
            self._key, self._done = key, set()
        errors: list[ChannelError] = []
        for i, target in enumerate(targets):
            if i in self._done:
                continue
            try:
                await send_one(target)
            except ChannelError as exc:
                errors.append(exc)
                continue
            self._done.add(i)
        if errors:
            detail = "; ".join(str(e) for e in errors)
            raise ChannelError(
                f"{len(errors)} of {len(targets)} {what} failed: {detail}",
                retryable=any(e.retryable for e in errors),
            )
