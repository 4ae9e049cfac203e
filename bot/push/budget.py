"""This process's share of Telegram's bot-wide rate when several processes send for one bot.

Each push draws sends from the database a grant at a time (`storage.coordination.SendBudget`), so
the pushers of several instances (or a `push` beside `run`) together stay within the rate; the local
`SendRate` still spaces this process's own sends.

The next grant is asked for a LEAD before the sends at hand run out, so at full pace a send does not
wait for the database between its slot and its request: the sends that waited would then go at
once, a burst that shoulders replies aside. A grant's span starts when it is given, and its first
sends go a LEAD later, so a grant holds what the rate sends in the rest of its span: none of it is
left to expire. At a pace of one send a grant, nothing is asked for ahead: it would expire before
the send's slot came.
Real time throughout, whatever clock the push is given: the grants are shared with other processes,
on other hosts (whose clocks NTP keeps together).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.clock import Sleep
from storage.coordination import SendBudget

SPAN = 0.1
"""Seconds within which a grant's sends start. The budget counts grants over 1 + SPAN seconds (see
`SendBudget`), so together the pushers send at most rate / (1 + SPAN): small, at a grant a tenth of
a second (one short statement) for each pusher."""
LEAD = SPAN / 4
"""Seconds before the sends at hand run out that the next grant is asked for: the database's answer
comes well within it on a quiet host."""


@dataclass(slots=True)
class _Held:
    until: float  # the wall time by which these sends must have started
    sends: int


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
        self._chunk = max(1, math.ceil(rate * (SPAN - LEAD)))
        self._lead_sends = rate * LEAD
        self._wall = wall
        self._sleep = sleep
        self._held: deque[_Held] = deque()  # earliest first
        self._refused_until = -math.inf  # the database refused: no point in asking before
        self._asking = asyncio.Lock()

    def take(self) -> bool:
        """One send's place in the bot-wide rate, now; False when none is at hand (see `wait`)."""
        self._forget_expired()
        if not self._held:
            return False
        held = self._held[0]
        held.sends -= 1
        if not held.sends:
            self._held.popleft()
        return True

    def running_low(self) -> bool:
        """Whether the sends at hand last less than a LEAD at the rate (see `top_up`). Not whether they
        expire soon: a push slower than the rate would then hold grants it does not use, which the
        other pushers could."""
        if self._chunk == 1:
            return False
        self._forget_expired()
        at_hand = sum(held.sends for held in self._held)
        return at_hand <= self._lead_sends and not self._asking.locked()

    async def top_up(self) -> None:
        """Ask for the next grant ahead of need, once at a time; a refusal is not waited out here."""
        if self._asking.locked() or self._wall() < self._refused_until:
            return
        async with self._asking:
            await self._ask()

    async def wait(self) -> None:
        """Until a send is at hand, waiting out the other processes' use of the rate."""
        while True:
            self._forget_expired()
            if self._held:
                return
            async with self._asking:
                if self._held:
                    continue
                pause = self._refused_until - self._wall()
                if pause <= 0:
                    await self._ask()
                    continue
            await self._sleep(pause)

    async def _ask(self) -> None:
        now = self._wall()
        grant = await self._budget.grant(self._chunk, self._limit, SPAN, now)
        if grant.sends:
            self._held.append(_Held(now + SPAN, grant.sends))
        else:
            self._refused_until = now + grant.retry_in

    def _forget_expired(self) -> None:
        now = self._wall()
        while self._held and self._held[0].until <= now:
            self._held.popleft()
