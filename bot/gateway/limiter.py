"""One send budget for the whole process: replies and the push draw on the same `SendRate`.

Telegram counts every message of a bot against about 30 a second. PTB's own limiter and the
push's each kept that rate alone, so together they sent up to twice as much. This limiter is the
application's (`ApplicationBuilder.rate_limiter`) and shares its `SendRate` with the Broadcaster.
Its sends are urgent: a reply takes the next slot rather than queueing behind the push's messages.
Groups also keep their 20 messages a minute. A 429 pauses every send of the process for as long
as Telegram asks (also the sends that come after a request gave up, such as an apology), and the
request is tried again up to `retries` times.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.core.clock import Monotonic, Sleep
from bot.push.limits import ChatLimits, ChatPacer, SendRate, flood_wait

logger = logging.getLogger(__name__)

GROUPS_REMEMBERED = 1024
RETRIES = 3


class SharedSendLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        send_rate: SendRate,
        monotonic: Monotonic,
        sleep: Sleep = asyncio.sleep,
        *,
        retries: int = RETRIES,
    ) -> None:
        self.send_rate = send_rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._retries = retries
        # Replies may follow each other in a chat; only a group's window of 20 a minute is kept.
        self._group_limits = ChatLimits(interval=0.0)
        self._groups: OrderedDict[int, ChatPacer] = OrderedDict()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        counted = chat_id is not None
        attempt = 0
        while True:
            if counted:
                await self._take_turn(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as flood:
                seconds = flood_wait(flood)
                self.send_rate.pause(seconds)
                if attempt == self._retries:
                    raise
                attempt += 1
                logger.info("%s: Telegram asks to wait %.0f s; every send waits", endpoint, seconds)
                if not counted:
                    await self._sleep(seconds)

    async def _take_turn(self, chat_id: object) -> None:
        group = _group_id(chat_id)
        if group is not None:
            pacer = self._pacer(group)
            wait = pacer.ready_at() - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
            pacer.record(self._monotonic())
        await self.send_rate.acquire(urgent=True)

    def _pacer(self, group: int) -> ChatPacer:
        pacer = self._groups.pop(group, None) or ChatPacer(group, self._group_limits)
        self._groups[group] = pacer
        if len(self._groups) > GROUPS_REMEMBERED:
            self._groups.popitem(last=False)
        return pacer


def _group_id(chat_id: object) -> int | None:
    """Groups and channels have negative ids (a channel may also be given as "@name")."""
    try:
        number = int(chat_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number < 0 else None
