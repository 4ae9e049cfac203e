"""Politeness shared by every arXiv endpoint: one request pacer per host and one retry policy.

arXiv's hosts ask for different paces: the export API and the feeds one request every three seconds
(`ARXIV_REQUEST_DELAY`), arxiv.org's pages the crawl delay its robots.txt states (15 s today). Each
host has one `ArxivPacer`, shared by every endpoint on it, that spaces requests by its delay. Failures
worth repeating (5xx, dropped connections, timeouts) become `ArxivUnavailableError`, which
`with_retries` repeats with bounded exponential backoff. A refusal (403, 429) is never repeated: the
host's pacer stops every request to it for a long pause (`REFUSAL_PAUSE`, or a longer Retry-After) and
says so loudly in the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from bot.core.clock import Monotonic, Sleep

logger = logging.getLogger(__name__)

PRODUCT = "paper-digest-bot"
VERSION = "0.1"
REFUSAL_PAUSE = 3600.0  # seconds without a request to a host that refused us: slow down, not retry
MAX_REFUSAL_PAUSE = 86_400.0
REFUSAL_STATUSES = frozenset({403, 429})

T = TypeVar("T")


def user_agent(contact: str | None) -> str:
    """A descriptive User-Agent, with the operator's contact address (`ARXIV_CONTACT`) when set."""
    reach = f"; contact: {contact}" if contact else ""
    return f"{PRODUCT}/{VERSION} (daily arXiv digests on Telegram, polite to arXiv{reach})"


class ArxivError(Exception):
    """arXiv did not give us what we asked for; the message says what and where."""


class ArxivUnavailableError(ArxivError):
    """A failure worth retrying later: 5xx, a dropped connection or a timeout."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ArxivRefusedError(ArxivError):
    """arXiv refused our requests (403, 429): its host is left alone until the pause is over."""


def host_of(url: str) -> str:
    """The host (and port) a URL talks to: what one pacer stands for."""
    return urlsplit(url).netloc.lower()


class ArxivPacer:
    """Spaces the requests to one host by at least `delay` seconds, and pauses them after a refusal.

    Share one instance per host (`Pacers`). `wait` spaces the starts of requests; `turn` holds the host
    for a whole request and counts the delay from its end, so a slow answer never shortens the gap
    the host sees. Waiters queue on a lock, in arrival order.
    """

    def __init__(
        self,
        delay: float,
        *,
        host: str = "arXiv",
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.host = host
        self.floor = delay
        self.crawl_delay: float | None = None  # what the host's robots.txt asks for, once read
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last: float | None = None  # when the last request started (`wait`) or ended (`turn`)
        self._refused_until: float | None = None

    @property
    def delay(self) -> float:
        """The pause between requests: the host's own crawl delay, or the configured one when slower."""
        return max(self.floor, self.crawl_delay or 0.0)

    async def wait(self) -> float:
        """Wait for the next request's turn; returns the clock reading at which it may start."""
        async with self._lock:
            self._last = await self._take_turn()
            return self._last

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[float]:
        """Hold the host for one request; the next may start `delay` seconds after this one ends."""
        async with self._lock:
            start = await self._take_turn()
            try:
                yield start
            finally:
                self._last = self._monotonic()

    def wait_from_thread(self, loop: asyncio.AbstractEventLoop) -> float:
        """`wait` for code running in a worker thread (the `arxiv` package), on the pacer's loop."""
        return asyncio.run_coroutine_threadsafe(self.wait(), loop).result()

    def refused(self, status: int, retry_after: float | None, url: str) -> ArxivRefusedError:
        """Record a refusal: no request to this host for a long pause. Returns the error to raise."""
        pause = min(max(REFUSAL_PAUSE, retry_after or 0.0), MAX_REFUSAL_PAUSE)
        self._refused_until = self._monotonic() + pause
        logger.error(
            "arXiv REFUSED us: HTTP %d from %s. No request to %s for %.0f minutes. Check ARXIV_CONTACT"
            " and the request delays; if this repeats, arXiv may be blocking this address.",
            status,
            url,
            self.host,
            pause / 60,
        )
        return ArxivRefusedError(f"{url}: HTTP {status}, {self.host} left alone for {pause / 60:.0f} min")

    def refusal_remaining(self) -> float:
        """Seconds left of a refusal's pause (0 when requests may go out)."""
        if self._refused_until is None:
            return 0.0
        return max(self._refused_until - self._monotonic(), 0.0)

    async def _take_turn(self) -> float:
        remaining = self.refusal_remaining()
        if remaining > 0:
            raise ArxivRefusedError(
                f"requests to {self.host} paused for {remaining / 60:.0f} more min after arXiv refused us"
            )
        if self._last is not None:
            wait = self._last + self.delay - self._monotonic()
            if wait > 0:
                await self._sleep(wait)
        return self._monotonic()


class Pacers:
    """One pacer per host: endpoints on the same host share it, at the slowest delay any of them asks."""

    def __init__(self, *, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._by_host: dict[str, ArxivPacer] = {}

    def for_url(self, url: str, delay: float) -> ArxivPacer:
        host = host_of(url)
        pacer = self._by_host.get(host)
        if pacer is None:
            pacer = self._by_host[host] = ArxivPacer(
                delay, host=host, monotonic=self._monotonic, sleep=self._sleep
            )
        pacer.floor = max(pacer.floor, delay)
        return pacer


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
    return 500 <= status <= 599


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


def raise_for_refusal_or_outage(status: int, retry_after: str | None, url: str, pacer: ArxivPacer) -> None:
    """A refusal (403, 429) pauses the host and raises `ArxivRefusedError`; a 5xx raises
    `ArxivUnavailableError`; other statuses are the caller's."""
    if status in REFUSAL_STATUSES:
        raise pacer.refused(status, retry_after_seconds(retry_after), url)
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
    """An arXiv endpoint: the process's shared httpx client, its host's pacer, and retries."""

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

    async def _document(
        self, url: str, max_bytes: int, refused: type[ArxivError], *, hold_host: bool = False
    ) -> bytes:
        """One paced GET of a whole document of at most `max_bytes` (a larger one is not read).

        `hold_host` keeps the host's turn for the whole request (arxiv.org's pages, whose crawl delay
        counts from the end of the previous request); otherwise only the starts are spaced. Raises
        `refused` for a status other than 200 or a document too large, `ArxivRefusedError` after a
        403 or 429, `ArxivUnavailableError` for an outage (worth retrying).
        """
        async with self._pacer.turn() if hold_host else _spaced(self._pacer):
            try:
                async with self._http.stream("GET", url) as response:
                    raise_for_refusal_or_outage(
                        response.status_code, response.headers.get("Retry-After"), url, self._pacer
                    )
                    if response.status_code != httpx.codes.OK:
                        raise refused(f"{url}: HTTP {response.status_code}")
                    content = await read_at_most(response, max_bytes + 1)
            except httpx.TransportError as error:
                raise ArxivUnavailableError(f"{url}: {type(error).__name__} {error}".rstrip()) from error
        if len(content) > max_bytes:
            raise refused(f"{url}: larger than {max_bytes // 2**20} MiB, not read")
        return content


@asynccontextmanager
async def _spaced(pacer: ArxivPacer) -> AsyncIterator[None]:
    await pacer.wait()
    yield
