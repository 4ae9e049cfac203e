"""Updates handled concurrently, each chat's in order, and one chat's flood kept to that chat.

PTB handles updates one at a time by default, so a group that floods the bot (every reply waits on
Telegram's 20 messages a minute per group) delays everyone. Here each chat has its own queue: its
updates run in order, different chats run side by side (up to `max_concurrent_updates`), and a
chat sending more than its budget has the excess dropped, logged once a minute, instead of queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.core.clock import Monotonic
from bot.push.limits import SendRate

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatBudget:
    """A token bucket per chat: `burst` updates at once, then `per_minute`."""

    burst: int = 20
    per_minute: float = 30.0


class _Bucket:
    __slots__ = ("tokens", "updated", "warned_at")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now
        self.warned_at = -float("inf")


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = 64,
        budget: ChatBudget = ChatBudget(),
        monotonic: Monotonic = time.monotonic,
        send_rate: SendRate | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._send_rate = send_rate  # the push's sends wait while an update is handled (`replying`)
        self._budget = budget
        self._monotonic = monotonic
        self._queues: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._buckets: dict[int, _Bucket] = {}

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat_id = _chat_id(update)
        if chat_id is None:
            await super().process_update(update, coroutine)
            return
        if not self._admit(chat_id):
            coroutine.close()  # type: ignore[attr-defined]
            return
        lock = self._queues.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            # The chat's turn first, then a slot: a flooding chat waits on its own lock, not on
            # slots other chats need.
            async with lock:
                await super().process_update(update, coroutine)
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:
                del self._waiting[chat_id], self._queues[chat_id]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._send_rate is None:
            await coroutine
            return
        with self._send_rate.replying():
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _admit(self, chat_id: int) -> bool:
        now = self._monotonic()
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._forget_full_buckets(now)
            bucket = self._buckets[chat_id] = _Bucket(self._budget.burst, now)
        bucket.tokens = min(
            self._budget.burst, bucket.tokens + (now - bucket.updated) * self._budget.per_minute / 60
        )
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        if now - bucket.warned_at >= 60:
            bucket.warned_at = now
            logger.warning(
                "chat %s sends more than %g updates a minute; the excess is dropped",
                chat_id,
                self._budget.per_minute,
            )
        return False

    def _forget_full_buckets(self, now: float) -> None:
        refill = self._budget.burst * 60 / self._budget.per_minute
        for chat_id in [key for key, bucket in self._buckets.items() if now - bucket.updated >= refill]:
            del self._buckets[chat_id]


def _chat_id(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    return chat.id if chat is not None else None
