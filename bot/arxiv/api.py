"""Paper metadata from the export API through the `arxiv` package: authors, affiliations, comments.

The package is synchronous (requests), so each batch runs in a worker thread. Its own pacing and
retries are switched off: our session waits for the API host's `ArxivPacer` before every request
the package makes (including any extra page) and applies a timeout the package does not set, and
retries happen here with the shared `ArxivRetry`. A response that is not well-formed XML is an
error rather than the partial result the package's forgiving parser would return.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import arxiv
import requests
from lxml import etree

from bot.arxiv.affiliations import normalise_institution
from bot.arxiv.feed import collapse_whitespace, split_versioned_id
from bot.arxiv.http import (
    ArxivError,
    ArxivPacer,
    ArxivRetry,
    ArxivUnavailableError,
    raise_for_refusal_or_outage,
    user_agent,
    with_retries,
)
from bot.core.clock import Sleep
from storage.models import AffiliationSource, Author, Paper

logger = logging.getLogger(__name__)

T = TypeVar("T")

BATCH_SIZE = 100
DEFAULT_TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds between bytes received


class ArxivApiError(ArxivError):
    """The export API answered with something unusable: a client error status or malformed XML."""


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of a search, newest first; `total` is how many the API says match in all."""

    papers: tuple[Paper, ...]
    total: int


@dataclass(frozen=True, slots=True)
class MetadataBatch:
    """One API request's outcome; `missing` ids were asked for but not returned (not an error)."""

    requested: tuple[str, ...]
    papers: tuple[Paper, ...]
    missing: tuple[str, ...]


class _ApiSession(requests.Session):
    """The session handed to `arxiv.Client`: paced, timed out and strict about every response."""

    def __init__(
        self,
        timeout: tuple[float, float],
        before_request: Callable[[], object],
        pacer: ArxivPacer,
        agent: str,
    ) -> None:
        super().__init__()
        self._timeout = timeout
        self._before_request = before_request
        self._pacer = pacer
        self._agent = agent

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        # The package names itself in every request; arXiv should see us and our contact instead.
        headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "user-agent"}
        kwargs["headers"] = {**headers, "User-Agent": self._agent}
        self._before_request()
        try:
            response = super().request(method, url, *args, **kwargs)
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as error:
            raise ArxivUnavailableError(f"{url!s}: {type(error).__name__}") from error
        raise_for_refusal_or_outage(
            response.status_code, response.headers.get("Retry-After"), str(url), self._pacer
        )
        if response.ok:
            _require_well_formed(response.content, str(url))
        return response


def _require_well_formed(content: bytes, url: str) -> None:
    try:
        etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise ArxivApiError(f"{url}: malformed XML ({error})") from None


def paper_from_result(result: arxiv.Result) -> Paper | None:
    """Our `Paper` for one API result; None for entries that are not papers (arXiv's error entries)."""
    parsed = split_versioned_id(result.get_short_id())
    if parsed is None:
        return None
    arxiv_id, version = parsed
    primary = result.primary_category or None
    categories = tuple(dict.fromkeys([primary, *result.categories] if primary else result.categories))
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=collapse_whitespace(result.title),
        abstract=collapse_whitespace(result.summary),
        authors=tuple(
            _author(collapse_whitespace(author.name), author.affiliation) for author in result.authors
        ),
        categories=categories,
        primary_category=primary,
        comment=_optional(result.comment),
        journal_ref=_optional(result.journal_ref),
        doi=_optional(result.doi),
    )


def _author(name: str, affiliations: Sequence[str]) -> Author:
    """An author with the institutions their `arxiv:affiliation` names, recorded as from the API."""
    institutions = tuple(
        dict.fromkeys(found for place in affiliations if (found := normalise_institution(place)))
    )
    return Author(name, institutions, (AffiliationSource.API,) * len(institutions))


def _optional(text: str | None) -> str | None:
    """arXiv leaves absent fields empty or whitespace; both mean None."""
    collapsed = collapse_whitespace(text or "")
    return collapsed or None


class ArxivApi:
    """Completes papers by id, `BATCH_SIZE` ids per request, one request at a time.

    Lookups and searches for many users queue here too, one request per `ARXIV_REQUEST_DELAY`;
    `expected_wait` says how long a request asked now would wait, so a chat can be told.
    """

    def __init__(
        self,
        base_url: str,
        pacer: ArxivPacer,
        *,
        retry: ArxivRetry | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        batch_size: int = BATCH_SIZE,
        agent: str | None = None,
    ) -> None:
        self._pacer = pacer
        self._retry = retry or ArxivRetry()
        self._sleep = sleep
        self._batch_size = batch_size
        self._lock = asyncio.Lock()
        self._queued = 0  # requests waiting for their turn or running
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = arxiv.Client(page_size=batch_size, delay_seconds=0, num_retries=0)
        separator = "&" if "?" in base_url else "?"
        self._client.query_url_format = base_url.replace("{", "{{").replace("}", "}}") + separator + "{}"
        self._client._session = _ApiSession(timeout, self._wait_for_turn, pacer, agent or user_agent(None))

    def close(self) -> None:
        self._client._session.close()

    def expected_wait(self) -> float:
        """Seconds a request asked now would wait for the ones ahead of it (about one delay each)."""
        return self._queued * self._pacer.delay

    async def _in_turn(self, query: Callable[[], T]) -> T:
        """Run `query` (blocking, in a worker thread) when the requests ahead of it are done."""
        self._queued += 1
        try:
            async with self._lock:
                self._loop = asyncio.get_running_loop()
                return await asyncio.to_thread(query)
        finally:
            self._queued -= 1

    async def batches(self, ids: Sequence[str]) -> AsyncIterator[MetadataBatch]:
        """Yield one `MetadataBatch` per request; raises `ArxivError` when a batch finally fails."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), self._batch_size):
            yield await self.fetch(unique[start : start + self._batch_size])

    async def fetch(self, ids: Sequence[str]) -> MetadataBatch:
        """Metadata for up to `batch_size` unversioned ids, retried per the policy."""
        if len(ids) > self._batch_size:
            raise ValueError(f"at most {self._batch_size} ids per request, got {len(ids)}")
        requested = tuple(ids)
        if not requested:
            return MetadataBatch((), (), ())

        async def attempt() -> list[arxiv.Result]:
            return await self._in_turn(lambda: self._query(requested))

        results = await with_retries(attempt, self._retry, sleep=self._sleep, what=f"API ({len(ids)} ids)")
        wanted = set(requested)
        found: dict[str, Paper] = {}
        for result in results:
            paper = paper_from_result(result)
            if paper is not None and paper.arxiv_id in wanted:
                found.setdefault(paper.arxiv_id, paper)
        missing = tuple(arxiv_id for arxiv_id in requested if arxiv_id not in found)
        if missing:
            logger.info("API returned no entry for %d of %d ids: %s", len(missing), len(ids), missing[:5])
        return MetadataBatch(requested, tuple(found.values()), missing)

    async def search(self, query: str, start: int, count: int) -> SearchResults:
        """Papers matching an export API `search_query`, newest submission first, from `start`.

        Raises `ArxivApiError` when the API refuses the query, `ArxivError` when it fails.
        """
        search = arxiv.Search(
            query=query,
            max_results=count,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Descending,
        )

        async def attempt() -> tuple[list[arxiv.Result], int]:
            return await self._in_turn(lambda: self._page(search, start, count))

        results, total = await with_retries(attempt, self._retry, sleep=self._sleep, what="API search")
        papers = tuple(paper for result in results if (paper := paper_from_result(result)) is not None)
        return SearchResults(papers, total)

    def _page(self, search: arxiv.Search, start: int, count: int) -> tuple[list[arxiv.Result], int]:
        """Runs in a worker thread: one request, one page."""
        url = self._client._format_url(search, start, count)
        try:
            feed = self._client._parse_feed(url, first_page=True)
        except arxiv.HTTPError as error:
            raise ArxivApiError(f"{error.url}: HTTP {error.status}") from error
        return list(feed.results), feed.header.total_results

    def _query(self, ids: tuple[str, ...]) -> list[arxiv.Result]:
        """Runs in a worker thread."""
        search = arxiv.Search(id_list=list(ids), max_results=len(ids))
        try:
            return list(self._client.results(search))
        except arxiv.UnexpectedEmptyPageError as error:
            raise ArxivUnavailableError(str(error)) from error
        except arxiv.HTTPError as error:
            raise ArxivApiError(f"{error.url}: HTTP {error.status}") from error

    def _wait_for_turn(self) -> float:
        assert self._loop is not None, "requests are only made in turn (_in_turn)"
        return self._pacer.wait_from_thread(self._loop)
