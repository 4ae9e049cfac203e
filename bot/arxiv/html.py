"""arXiv's HTML full text (`ARXIV_HTML_URL + <id>v<N>`), fetched only for its author block."""

from __future__ import annotations

import httpx

from bot.arxiv.http import (
    ArxivError,
    ArxivRetry,
    ArxivUnavailableError,
    PacedEndpoint,
    raise_for_transient_status,
    read_at_most,
    with_retries,
)

# The author block sits at the top of the page; the rest (often megabytes) is never read.
MAX_BYTES = 512 * 1024


class HtmlClient(PacedEndpoint):
    # A page is one of many and can wait for the next pass: fewer attempts than a feed gets.
    default_retry = ArxivRetry(attempts=2)

    async def fetch(self, versioned_id: str) -> bytes | None:
        """The page's first MAX_BYTES, or None when arXiv has no HTML for the paper (404: normal).

        Raises `ArxivUnavailableError` when arXiv keeps failing, `ArxivError` for other statuses.
        """
        url = self._base_url + versioned_id

        async def attempt() -> bytes | None:
            await self._pacer.wait()
            try:
                async with self._http.stream("GET", url) as response:
                    if response.status_code == httpx.codes.NOT_FOUND:
                        return None
                    raise_for_transient_status(response.status_code, response.headers.get("Retry-After"), url)
                    if response.status_code != httpx.codes.OK:
                        raise ArxivError(f"{url}: HTTP {response.status_code}")
                    return await read_at_most(response, MAX_BYTES)
            except httpx.TransportError as error:
                raise ArxivUnavailableError(f"{url}: {type(error).__name__} {error}".rstrip()) from error

        return await with_retries(attempt, self._retry, sleep=self._sleep, what=f"HTML {versioned_id}")
