"""arXiv's HTML full text (`ARXIV_HTML_URL + <id>v<N>`), fetched only for its author block.

arxiv.org asks crawlers for a crawl delay in its robots.txt (15 s today): the client obeys it through
the host's `SiteRobots`, shared with the listing pages. Each page holds the host for its whole request,
so the gap arxiv.org sees between two pages is never shorter than the delay.
"""

from __future__ import annotations

import logging

import httpx

from bot.arxiv.http import (
    ArxivError,
    ArxivPacer,
    ArxivRetry,
    ArxivUnavailableError,
    raise_for_refusal_or_outage,
    read_at_most,
    with_retries,
)
from bot.arxiv.site import SitePageEndpoint

logger = logging.getLogger(__name__)

# The author block sits at the top of the page; the rest (often megabytes) is never read.
MAX_BYTES = 512 * 1024


class HtmlClient(SitePageEndpoint):
    # A page is one of many and can wait for the next pass: fewer attempts than a feed gets.
    default_retry = ArxivRetry(attempts=2)

    @property
    def pacer(self) -> ArxivPacer:
        return self._pacer

    async def fetch(self, versioned_id: str) -> bytes | None:
        """The page's first MAX_BYTES, or None when arXiv has no HTML for the paper (404: normal) or
        robots.txt keeps crawlers out of it.

        Raises `ArxivUnavailableError` when arXiv keeps failing, `ArxivRefusedError` after a 403 or 429
        (and while the pause it starts lasts), `ArxivError` for other statuses.
        """
        url = self._base_url + versioned_id
        if not await self.robots.allows(url):
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
