"""The process's arXiv connections: one httpx client and one pacer behind the three endpoints."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType

import httpx

from bot.arxiv.api import DEFAULT_TIMEOUT, ArxivApi
from bot.arxiv.feed import FeedClient
from bot.arxiv.html import HtmlClient
from bot.arxiv.http import USER_AGENT, ArxivPacer, ArxivRetry
from bot.arxiv.listing import ListingClient
from bot.config import Settings
from bot.core.clock import Monotonic, Sleep


class ArxivClients:
    """The process's arXiv connections, created once (PTB post_init, a CLI command) and shared.

    One httpx client and one pacer serve every endpoint, so arXiv sees a single polite client; the
    listing pages also keep arxiv.org's crawl delay (`ARXIV_LISTING_DELAY`) with a pacer of their own.
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
        self.pacer = ArxivPacer(settings.arxiv_request_delay, monotonic=clock, sleep=sleep)
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(http_timeout), follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )
        self.feed = FeedClient(settings.arxiv_feed_url, self.http, self.pacer, retry=retry, sleep=sleep)
        self.api = ArxivApi(settings.arxiv_api_url, self.pacer, retry=retry, sleep=sleep, timeout=api_timeout)
        self.html = HtmlClient(settings.arxiv_html_url, self.http, self.pacer, retry=retry, sleep=sleep)
        self.listing_pacer = ArxivPacer(settings.arxiv_listing_delay, monotonic=clock, sleep=sleep)
        self.listing = ListingClient(
            settings.arxiv_listing_url, self.http, self.listing_pacer, retry=retry, sleep=sleep
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
