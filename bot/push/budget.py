"""This process's share of Telegram's bot-wide rate when several processes send for one bot.

Each push draws sends from the database a few at a time (`storage.coordination.SendBudget`), so the
pushers of several instances (or a `push` beside `run`) together stay within the rate; the local
`SendRate` still spaces this process's own sends. Real time throughout, whatever clock the push is
given: the grants are shared with other processes, on other hosts (whose clocks NTP keeps together).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from bot.core.clock import Sleep
from storage.coordination import SendBudget

SPAN = 0.25
"""Seconds within which a grant's sends start: small, so a grant left unused blocks little."""


class SharedSendBudget:
    def __init__(
        self,
        budget: SendBudget,
        rate: float,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._budget = budget
        self._limit = max(1, math.floor(rate))
        self._chunk = max(1, math.ceil(rate * SPAN))
        self._wall = wall
        self._sleep = sleep
        self._tokens = 0
        self._until = -math.inf
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """One send's place in the bot-wide rate, waiting for it when the other processes used it."""
        async with self._lock:
            while self._tokens == 0 or self._wall() >= self._until:
                now = self._wall()
                grant = await self._budget.grant(self._chunk, self._limit, SPAN, now)
                if grant.sends:
                    self._tokens, self._until = grant.sends, now + SPAN
                else:
                    await self._sleep(grant.retry_in)
            self._tokens -= 1
