"""arxiv.org's robots.txt, read once a day and obeyed by every client of its pages.

The HTML full texts and the listing pages live on the same host, so they share one pacer and one
`SiteRobots`: whichever asks first reads the file, through the pacer, and sets the host's crawl delay
from it (`ARXIV_PAGE_DELAY` may only make it slower; 15 s when the file states none or cannot be
read). Paths the file keeps crawlers out of are not fetched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit, urlunsplit

import httpx

from bot.arxiv.http import (
    PRODUCT,
    ArxivPacer,
    ArxivRetry,
    ArxivUnavailableError,
    PacedEndpoint,
    raise_for_refusal_or_outage,
    read_at_most,
)
from bot.arxiv.robots import DEFAULT_CRAWL_DELAY, RobotsRules, parse_robots
from bot.core.clock import Monotonic, Sleep

logger = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 64 * 1024
ROBOTS_MAX_AGE = 86_400.0  # robots.txt is read once a day
ROBOTS_RETRY = 3600.0  # an unreadable robots.txt is tried again after an hour, at the default delay


class SiteRobots:
    """The robots.txt rules of the host `base_url` is on, kept fresh; one per host."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        pacer: ArxivPacer,
        *,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
        self._http = http
        self._pacer = pacer
        self._monotonic = monotonic
        self._rules = RobotsRules()
        self._due: float | None = None  # monotonic reading at which robots.txt is read again

    async def allows(self, url: str) -> bool:
        """Whether `url` may be fetched, reading robots.txt first when it is due."""
        await self.read()
        if self._rules.allows(urlsplit(url).path):
            return True
        logger.warning("robots.txt of %s keeps crawlers out of %s: not fetched", self._pacer.host, url)
        return False

    async def read(self) -> None:
        """Read robots.txt when it is due (once a day), and pace the host by what it asks."""
        if self._due is not None and self._monotonic() < self._due:
            return
        try:
            async with self._pacer.turn(), self._http.stream("GET", self.url) as response:
                raise_for_refusal_or_outage(
                    response.status_code, response.headers.get("Retry-After"), self.url, self._pacer
                )
                ok = response.status_code == httpx.codes.OK
                body = await read_at_most(response, MAX_ROBOTS_BYTES) if ok else b""
        except (httpx.HTTPError, ArxivUnavailableError) as error:
            logger.warning(
                "robots.txt %s unreadable (%s): %g s between pages", self.url, error, DEFAULT_CRAWL_DELAY
            )
            self._rules = RobotsRules()
            self._set_crawl_delay(None, ROBOTS_RETRY)
            return
        self._rules = parse_robots(body.decode("utf-8", "replace"), PRODUCT)
        self._set_crawl_delay(self._rules.crawl_delay, ROBOTS_MAX_AGE)
        logger.info(
            "robots.txt of %s read: crawl delay %s, %g s between pages",
            self._pacer.host,
            "not stated" if self._rules.crawl_delay is None else f"{self._rules.crawl_delay:g} s",
            self._pacer.delay,
        )

    def _set_crawl_delay(self, stated: float | None, valid_for: float) -> None:
        self._pacer.crawl_delay = DEFAULT_CRAWL_DELAY if stated is None else stated
        self._due = self._monotonic() + valid_for


class SitePageEndpoint(PacedEndpoint):
    """An endpoint for arxiv.org's pages (listings, HTML): its host's pacer, and its robots.txt."""

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        pacer: ArxivPacer,
        *,
        retry: ArxivRetry | None = None,
        sleep: Sleep = asyncio.sleep,
        robots: SiteRobots,
    ) -> None:
        super().__init__(base_url, http, pacer, retry=retry, sleep=sleep)
        self.robots = robots
