"""Politeness shared by every arXiv endpoint: one request pacer per process and one retry policy.

arXiv asks for at most one request every three seconds across its services, so the feed, the
export API and the HTML pages all wait on the same `ArxivPacer` before each request. Failures that
are worth repeating (5xx, 429, dropped connections, timeouts) become `ArxivUnavailableError`, which
`with_retries` repeats with bounded exponential backoff, honouring Retry-After up to a cap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from bot.core.clock import Monotonic, Sleep

logger = logging.getLogger(__name__)

USER_AGENT = "paper-digest-bot/0.1 (daily arXiv digests on Telegram)"

T = TypeVar("T")


class ArxivError(Exception):
    """arXiv did not give us what we asked for; the message says what and where."""


class ArxivUnavailableError(ArxivError):
    """A failure worth retrying later: 5xx, 429, a dropped connection or a timeout."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ArxivPacer:
    """Spaces the starts of all arXiv requests by at least `delay` seconds.

    Share one instance per process. Waiters queue on a lock, so concurrent requests from the feed,
    the API thread and the HTML fetcher take turns in arrival order.
    """

    def __init__(
        self, delay: float, *, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.delay = delay
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_start: float | None = None

    async def wait(self) -> float:
        """Wait for the next request's turn; returns the clock reading at which it may start."""
        async with self._lock:
            if self._last_start is not None:
                remaining = self._last_start + self.delay - self._monotonic()
                if remaining > 0:
                    await self._sleep(remaining)
            self._last_start = self._monotonic()
            return self._last_start

    def wait_from_thread(self, loop: asyncio.AbstractEventLoop) -> float:
        """`wait` for code running in a worker thread (the `arxiv` package), on the pacer's loop."""
        return asyncio.run_coroutine_threadsafe(self.wait(), loop).result()


@dataclass(frozen=True, slots=True)
class ArxivRetry:
    """How often and how patiently a failing request is repeated."""

    attempts: int = 4
    first_backoff: float = 5.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0

    def backoff(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.first_backoff * 2**retry, self.max_backoff)


def is_transient_status(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header given as seconds or as an HTTP date; None when absent or invalid."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or datetime.now(UTC))).total_seconds(), 0.0)


def raise_for_transient_status(status: int, retry_after: str | None, url: str) -> None:
    """Turn a retryable HTTP status into `ArxivUnavailableError`; other statuses are the caller's."""
    if is_transient_status(status):
        raise ArxivUnavailableError(f"{url}: HTTP {status}", retry_after_seconds(retry_after))


async def with_retries(
    attempt: Callable[[], Awaitable[T]], policy: ArxivRetry, *, sleep: Sleep = asyncio.sleep, what: str
) -> T:
    """Run `attempt`, repeating it after `ArxivUnavailableError` until the policy's attempts run out."""
    retry = 0
    while True:
        try:
            return await attempt()
        except ArxivUnavailableError as error:
            if retry + 1 >= policy.attempts:
                raise
            pause = policy.backoff(retry, error.retry_after)
            logger.warning("%s failed (%s); retry %d in %.1f s", what, error, retry + 1, pause)
            await sleep(pause)
            retry += 1


async def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The body's first `limit` bytes (or all of a shorter one), without reading the rest."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class PacedEndpoint:
    """An arXiv endpoint reached through the process's shared httpx client and pacer, with retries."""

    default_retry = ArxivRetry()

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        pacer: ArxivPacer,
        *,
        retry: ArxivRetry | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._base_url = base_url
        self._http = http
        self._pacer = pacer
        self._retry = retry or self.default_retry
        self._sleep = sleep
