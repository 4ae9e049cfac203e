"""Telegram's sending limits, kept by the push: the bot-wide rate, each chat's own pace, flood waits.

Telegram allows about 30 messages a second for the whole bot (up to 1000 with paid broadcasts), one
a second per chat and 20 a minute per group; a 429 asks every send to wait. Also the one policy for
a chat that is gone, shared by the push and `/broadcast`.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from telegram.constants import FloodLimit
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.core.clock import Monotonic, Sleep

FREE_RATE = float(FloodLimit.MESSAGES_PER_SECOND)
RATE_MARGIN = 0.95
"""Sends are spaced for 95% of the allowed rate: network jitter can bunch their arrival at Telegram."""
PAID_RATE = float(FloodLimit.PAID_MESSAGES_PER_SECOND)


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """Telegram's limits for one chat."""

    interval: float = (
        1.0 / FloodLimit.MESSAGES_PER_SECOND_PER_CHAT
    )  # seconds between two messages to one chat
    group_messages: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP  # to one group (chat id < 0) ...
    group_window: float = 60.0  # ... within this many seconds


@dataclass(frozen=True, slots=True)
class SendRetry:
    """How hard one push tries a part that hit flood control or a network error."""

    sends: int = 4  # tries per part in one push, then it waits for a later push
    backoff: float = 1.0  # seconds before retrying after a network error, doubling each time
    later: timedelta = timedelta(minutes=10)  # how long a part given up on waits


@dataclass(slots=True, eq=False)
class _Slot:
    """A moment a queued send sleeps until."""

    at: float
    over: bool = False  # its sender no longer waits for it (woke, or was cancelled)
    taken: bool = False  # an urgent send took it over: its sender queues again


HOLD_FOR_REPLIES = 0.1
"""Seconds queued sends wait for replies being made at most; they then go on for as long as they
waited before they wait again, so the push keeps at least half its pace however busy the chats are.
Only above Telegram's free rate: slower, the push leaves the event loop most of its time."""


class SendRate:
    """Spaces sends at least 1/rate seconds apart: no second ever holds more than `rate` sends.

    Slots are handed out in order without a lock, each sender sleeping until its own; a pause
    (Telegram's 429) pushes every slot not used yet past its end. Replies go first, twice over. An
    urgent send (a reply to a user) takes over the earliest slot a queued send sleeps until, and that
    sender queues again at the end: a reply waits for one slot, not for every push message queued
    before it. And while a reply is being made (`replying`), queued sends give up their slots and
    wait (see HOLD_FOR_REPLIES): a push at a paid broadcast's pace can take the whole event loop,
    which the reply needs a turn of for each of its database queries.
    """

    def __init__(self, rate: float, monotonic: Monotonic, sleep: Sleep) -> None:
        self._interval = 1.0 / rate
        self._holds_for_replies = rate > FREE_RATE
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = -math.inf
        self._resume = -math.inf
        self._queued: deque[_Slot] = deque()  # earliest first
        self._used = -math.inf  # the latest slot a send went at, or an urgent send will
        self._replies = 0
        self._quiet = asyncio.Event()  # cleared while queued sends wait for replies
        self._quiet.set()
        self._held_since = -math.inf
        self._hold_again = -math.inf
        self._hold_ends: asyncio.Task[None] | None = None

    async def acquire(self, *, urgent: bool = False) -> None:
        while True:
            if not urgent:
                await self._quiet.wait()
            now = self._monotonic()
            slot = None
            moment = self._take_over() if urgent else None
            if moment is None:
                moment = max(now, self._next, self._resume)
                self._next = moment + self._interval
                if not urgent and moment > now:
                    slot = _Slot(moment)
                    self._queued.append(slot)
            if urgent:
                self._used = max(self._used, moment)
            if moment > now:
                try:
                    await self._sleep(moment - now)
                finally:
                    if slot is not None:
                        slot.over = True
            if moment >= self._resume and (slot is None or not slot.taken):
                self._used = max(self._used, moment)
                return

    def pause(self, seconds: float) -> None:
        self._resume = max(self._resume, self._monotonic() + seconds)

    @contextmanager
    def replying(self) -> Iterator[None]:
        """Around the making of a reply: queued sends wait for it (see the class)."""
        self._replies += 1
        if self._holds_for_replies and self._quiet.is_set() and self._monotonic() >= self._hold_again:
            self._hold()
        try:
            yield
        finally:
            self._replies -= 1
            if not self._replies:
                self._end_hold()

    def _hold(self) -> None:
        """Take every queued slot back, and keep queued sends waiting until the replies are made."""
        self._quiet.clear()
        self._held_since = self._monotonic()
        for slot in self._queued:
            slot.taken = True
        self._queued.clear()
        self._next = self._used + self._interval
        self._hold_ends = asyncio.ensure_future(self._end_hold_after(HOLD_FOR_REPLIES))

    async def _end_hold_after(self, seconds: float) -> None:
        await self._sleep(seconds)
        self._hold_ends = None
        self._end_hold()

    def _end_hold(self) -> None:
        if self._quiet.is_set():
            return
        if self._hold_ends is not None:
            self._hold_ends.cancel()
            self._hold_ends = None
        now = self._monotonic()
        self._hold_again = now + (now - self._held_since)
        self._quiet.set()

    def _take_over(self) -> float | None:
        """The earliest queued slot still slept for and not paused away, now the caller's."""
        while self._queued and (self._queued[0].over or self._queued[0].taken):
            self._queued.popleft()
        for slot in self._queued:
            if not (slot.over or slot.taken) and slot.at >= self._resume:
                slot.taken = True
                return slot.at
        return None


class ChatPacer:
    """One chat's own limits: an interval between messages, and a sliding window in groups."""

    def __init__(self, chat_id: int, limits: ChatLimits) -> None:
        self._interval = limits.interval
        self._window = limits.group_window
        self._last = -math.inf
        self._recent: deque[float] | None = deque(maxlen=limits.group_messages) if chat_id < 0 else None

    def ready_at(self) -> float:
        ready = self._last + self._interval
        if self._recent is not None and len(self._recent) == self._recent.maxlen:
            ready = max(ready, self._recent[0] + self._window)
        return ready

    def record(self, moment: float) -> None:
        self._last = moment
        if self._recent is not None:
            self._recent.append(moment)


def chat_is_gone(error: TelegramError) -> bool:
    """The bot was blocked or removed, or the chat no longer exists: stop sending there for good."""
    return isinstance(error, Forbidden) or (
        isinstance(error, BadRequest) and "chat not found" in error.message.casefold()
    )


def flood_wait(flood: RetryAfter) -> float:
    """The wait Telegram asked for, whether PTB gives it as seconds or (opted in) as a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after = flood.retry_after
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
