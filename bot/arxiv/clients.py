"""The process's arXiv connections: one httpx client and one pacer per host behind the three endpoints."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

import httpx

from bot.arxiv.api import DEFAULT_TIMEOUT, ArxivApi
from bot.arxiv.feed import FeedClient
from bot.arxiv.html import HtmlClient
from bot.arxiv.http import ArxivPacer, ArxivRetry, Pacers, user_agent
from bot.arxiv.listing import ListingClient
from bot.arxiv.site import SiteRobots
from bot.config import Settings, tls_context
from bot.core.clock import Monotonic, Sleep


class ArxivClients:
    """The process's arXiv connections, created once (PTB post_init, a CLI command) and shared.

    One httpx client serves every endpoint, with a User-Agent naming the operator's contact
    (`ARXIV_CONTACT`), and one pacer per host: the feed and the export API at `ARXIV_REQUEST_DELAY`,
    arxiv.org's listing and HTML pages at the crawl delay of its robots.txt (`ARXIV_PAGE_DELAY` may
    only slow it), which one `SiteRobots` per host reads for both.
    Use as an async context manager, or call `aclose` (PTB post_shutdown).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        retry: ArxivRetry | None = None,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        http_timeout: float = 30.0,
        api_timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.settings = settings
        retry = retry or ArxivRetry(attempts=settings.arxiv_retries)
        self.pacers = Pacers(monotonic=clock, sleep=sleep)
        feed_pacer = self.pacers.for_url(settings.arxiv_feed_url, settings.arxiv_request_delay)
        api_pacer = self.pacers.for_url(settings.arxiv_api_url, settings.arxiv_request_delay)
        page_pacer = self.pacers.for_url(settings.arxiv_html_url, settings.arxiv_page_delay)
        agent = user_agent(settings.arxiv_contact)
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(http_timeout),
            follow_redirects=True,
            headers={"User-Agent": agent},
            verify=tls_context(),
        )
        self.feed = FeedClient(settings.arxiv_feed_url, self.http, feed_pacer, retry=retry, sleep=sleep)
        self.api = ArxivApi(
            settings.arxiv_api_url,
            api_pacer,
            retry=retry,
            sleep=sleep,
            timeout=api_timeout,
            agent=agent,
        )
        robots: dict[str, SiteRobots] = {}

        def robots_of(url: str, pacer: ArxivPacer) -> SiteRobots:
            return robots.setdefault(pacer.host, SiteRobots(url, self.http, pacer, monotonic=clock))

        self.html = HtmlClient(
            settings.arxiv_html_url,
            self.http,
            page_pacer,
            retry=retry,
            sleep=sleep,
            robots=robots_of(settings.arxiv_html_url, page_pacer),
        )
        listing_pacer = self.pacers.for_url(settings.arxiv_listing_url, settings.arxiv_page_delay)
        self.listing = ListingClient(
            settings.arxiv_listing_url,
            self.http,
            listing_pacer,
            retry=retry,
            sleep=sleep,
            robots=robots_of(settings.arxiv_listing_url, listing_pacer),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
        self.api.close()

    async def __aenter__(self) -> ArxivClients:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
