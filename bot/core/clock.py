"""The kinds of time the bot reads, as callables that tests replace with their own clocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Wall-clock time, timezone-aware: when things happen (announcements, delivery times, leases)."""
Monotonic = Callable[[], float]
"""Seconds that never go back: for spacing requests and measuring waits."""
Sleep = Callable[[float], Awaitable[None]]
"""Waiting a number of seconds (`asyncio.sleep`, or a virtual clock's)."""


def utc_now() -> datetime:
    return datetime.now(UTC)
