"""Clocks the tests control, injected wherever the bot asks for the time or sleeps.

- `SteppingClock`: a wall clock (aware datetimes) that moves only when the test moves it.
- `TickingClock`: a wall clock that moves on by a fixed step at every reading.
- `VirtualClock`: monotonic seconds that pass only when slept; records every sleep. Callable, so
  it is injected as `monotonic=clock, sleep=clock.sleep` (arXiv pacer and retries).
- `VirtualTime`: the same idea with a `monotonic()` method and a sleep that never yields to the
  event loop, for the push's limiters.
- `QueuedTime`: monotonic seconds for tasks that sleep at the same time: each sleeper waits until
  the test moves time past its end, and sleepers wake in order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta


class SteppingClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


class TickingClock:
    """Every reading is `step` later than the one before; the first is `start + step`."""

    def __init__(self, start: datetime, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


class VirtualClock:
    """Time that passes only when slept: inject as the pacer's clock and the retry sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class VirtualTime:
    """monotonic and sleep for the push's limiters: sleeping moves time on, instantly."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class QueuedTime:
    """monotonic and sleep shared by concurrent tasks: `advance` wakes each sleeper at its own moment,
    earliest first (ties in the order they fell asleep), and lets it, and the tasks it wakes in turn,
    run until they wait again before time moves on."""

    TURNS = 3  # turns of the event loop a wake-up is given: the sleeper, what it wakes, what that wakes

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), woken))
        await woken

    async def advance(self, seconds: float) -> None:
        await self._turns()  # tasks made runnable meanwhile go to sleep first
        end = self.now + seconds
        while self._sleepers and self._sleepers[0][0] <= end:
            moment, _, woken = heapq.heappop(self._sleepers)
            self.now = moment
            if not woken.done():
                woken.set_result(None)
                await self._turns()
        self.now = end

    async def _turns(self) -> None:
        for _ in range(self.TURNS):
            await asyncio.sleep(0)
