"""arXiv's HTML full text (`ARXIV_HTML_URL + <id>v<N>`), fetched only for its author block.

arxiv.org asks crawlers for a crawl delay in its robots.txt (15 s today). The client reads that file
once a day through the host's pacer, sets the pacer's delay from it (`ARXIV_PAGE_DELAY` may only make
it slower; 15 s when the file states none or cannot be read), and leaves alone the paths it keeps
crawlers out of. Each page holds the host for its whole request, so the gap arxiv.org sees between two
pages is never shorter than the delay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit, urlunsplit

import httpx

from bot.arxiv.http import (
    PRODUCT,
    ArxivError,
    ArxivPacer,
    ArxivRetry,
    ArxivUnavailableError,
    PacedEndpoint,
    raise_for_refusal_or_outage,
    read_at_most,
    with_retries,
)
from bot.arxiv.robots import DEFAULT_CRAWL_DELAY, RobotsRules, parse_robots
from bot.core.clock import Monotonic, Sleep

logger = logging.getLogger(__name__)

# The author block sits at the top of the page; the rest (often megabytes) is never read.
MAX_BYTES = 512 * 1024
MAX_ROBOTS_BYTES = 64 * 1024
ROBOTS_MAX_AGE = 86_400.0  # robots.txt is read once a day
ROBOTS_RETRY = 3600.0  # an unreadable robots.txt is tried again after an hour, at the default delay


class HtmlClient(PacedEndpoint):
    # A page is one of many and can wait for the next pass: fewer attempts than a feed gets.
    default_retry = ArxivRetry(attempts=2)

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        pacer: ArxivPacer,
        *,
        retry: ArxivRetry | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        super().__init__(base_url, http, pacer, retry=retry, sleep=sleep)
        self._monotonic = monotonic
        self._robots = RobotsRules()
        self._robots_due: float | None = None  # monotonic reading at which robots.txt is read again

    @property
    def pacer(self) -> ArxivPacer:
        return self._pacer

    async def fetch(self, versioned_id: str) -> bytes | None:
        """The page's first MAX_BYTES, or None when arXiv has no HTML for the paper (404: normal) or
        robots.txt keeps crawlers out of it.

        Raises `ArxivUnavailableError` when arXiv keeps failing, `ArxivRefusedError` after a 403 or 429
        (and while the pause it starts lasts), `ArxivError` for other statuses.
        """
        await self.read_robots()
        url = self._base_url + versioned_id
        if not self._robots.allows(urlsplit(url).path):
            logger.warning("robots.txt of %s keeps crawlers out of %s: not fetched", self._pacer.host, url)
            return None

        async def attempt() -> bytes | None:
            async with self._pacer.turn():
                try:
                    async with self._http.stream("GET", url) as response:
                        if response.status_code == httpx.codes.NOT_FOUND:
                            return None
                        raise_for_refusal_or_outage(
                            response.status_code, response.headers.get("Retry-After"), url, self._pacer
                        )
                        if response.status_code != httpx.codes.OK:
                            raise ArxivError(f"{url}: HTTP {response.status_code}")
                        return await read_at_most(response, MAX_BYTES)
                except httpx.TransportError as error:
                    raise ArxivUnavailableError(f"{url}: {type(error).__name__} {error}".rstrip()) from error

        return await with_retries(attempt, self._retry, sleep=self._sleep, what=f"HTML {versioned_id}")

    async def read_robots(self) -> None:
        """Read the host's robots.txt when it is due (once a day), and pace the host by what it asks."""
        now = self._monotonic()
        if self._robots_due is not None and now < self._robots_due:
            return
        parts = urlsplit(self._base_url)
        url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
        try:
            async with self._pacer.turn(), self._http.stream("GET", url) as response:
                raise_for_refusal_or_outage(
                    response.status_code, response.headers.get("Retry-After"), url, self._pacer
                )
                ok = response.status_code == httpx.codes.OK
                body = await read_at_most(response, MAX_ROBOTS_BYTES) if ok else b""
        except (httpx.HTTPError, ArxivUnavailableError) as error:
            logger.warning(
                "robots.txt %s unreadable (%s): %g s between pages", url, error, DEFAULT_CRAWL_DELAY
            )
            self._robots = RobotsRules()
            self._set_crawl_delay(None, ROBOTS_RETRY)
            return
        self._robots = parse_robots(body.decode("utf-8", "replace"), PRODUCT)
        self._set_crawl_delay(self._robots.crawl_delay, ROBOTS_MAX_AGE)
        logger.info(
            "robots.txt of %s read: crawl delay %s, %g s between pages",
            self._pacer.host,
            "not stated" if self._robots.crawl_delay is None else f"{self._robots.crawl_delay:g} s",
            self._pacer.delay,
        )

    def _set_crawl_delay(self, stated: float | None, valid_for: float) -> None:
        self._pacer.crawl_delay = DEFAULT_CRAWL_DELAY if stated is None else stated
        self._robots_due = self._monotonic() + valid_for
