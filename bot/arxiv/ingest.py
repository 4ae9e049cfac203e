"""One ingest pass: listing pages (or feeds) -> storage -> export API metadata -> storage.

Each category's listing page is read once per pass and stored as soon as it is read, so a digest
can go out at announcement time even when the export API is down; the API then completes every
paper still marked incomplete, including ones left over from earlier runs, in shared batches. A
listing page that cannot be read or understood falls back to the category's feed (loudly, when the
layout is not recognised). After the feeds' turnover a pass reads them too: they cross-check the
listing pages and add whatever a page missed. Every step is idempotent: a second run for the same
announcement stores nothing new and asks the API nothing. A bad page costs only its own category.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.arxiv.api import ArxivApi
from bot.arxiv.clients import ArxivClients
from bot.arxiv.http import ArxivError
from bot.arxiv.listing import ListingLayoutError
from storage.models import AnnounceType, Paper
from storage.papers import PaperRepository

logger = logging.getLogger(__name__)

METADATA_LIMIT = 3000  # papers completed per pass: 30 API requests, 90 s at arXiv's pace
METADATA_MISSES_ALLOWED = 5  # passes whose API answer lacked a paper before we stop asking for it


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """For a progress bar: `done` of `total` feeds or papers; `category` names the feed just read."""

    stage: Literal["pages", "metadata"]
    done: int
    total: int
    category: str | None = None


OnIngestProgress = Callable[[IngestProgress], None]


@dataclass(slots=True)
class CategoryReport:
    category: str
    announced: date | None = None  # None: nothing announced (empty page or feed), or both failed
    source: str | None = None  # "listing" or "feed": where the announcement was read
    new: int = 0
    cross: int = 0
    replaced_skipped: int = 0
    stored: int = 0  # listings this run added; 0 when the announcement was stored before
    feed_added: int = 0  # listings the feed's cross-check added that the listing page had not shown
    metadata_completed: int = 0
    errors: list[str] = field(default_factory=list)  # what failed, "metadata: ..." if left incomplete


@dataclass(slots=True)
class IngestReport:
    categories: list[CategoryReport]
    metadata_requested: int = 0
    metadata_completed: int = 0
    metadata_missing: list[str] = field(default_factory=list)  # the API returned no entry for these
    metadata_error: str | None = None

    @property
    def errors(self) -> list[str]:
        """Every problem once as "category: problem"; an API failure no category saw as "metadata: ..."."""
        found = [f"{report.category}: {error}" for report in self.categories for error in report.errors]
        metadata = f"metadata: {self.metadata_error}"
        if self.metadata_error and not any(metadata in report.errors for report in self.categories):
            found.append(metadata)
        return found


async def ingest(
    categories: Sequence[str],
    clients: ArxivClients,
    repo: PaperRepository,
    *,
    on_progress: OnIngestProgress | None = None,
    metadata_limit: int = METADATA_LIMIT,
    feeds: bool = False,
) -> IngestReport:
    """Ingest the latest announcement of each category, then complete metadata for what needs it.

    `feeds`: also read each feed to cross-check the listing page (once the feeds have turned over).
    """
    progress = on_progress or _ignore
    reports: list[CategoryReport] = []
    news_ids: dict[str, set[str]] = {}
    for done, category in enumerate(categories, start=1):
        report, ids = await _ingest_category(category, clients, repo, feeds=feeds)
        reports.append(report)
        news_ids[category] = ids
        progress(IngestProgress("pages", done, len(categories), category))
    result = IngestReport(reports)
    requested, completed = await _complete_metadata(result, clients.api, repo, metadata_limit, progress)
    for report in reports:
        ids = news_ids[report.category]
        report.metadata_completed = len(ids & completed)
        if result.metadata_error and (ids & requested) - completed:
            report.errors.append(f"metadata: {result.metadata_error}")
    return result


async def _ingest_category(
    category: str, clients: ArxivClients, repo: PaperRepository, *, feeds: bool
) -> tuple[CategoryReport, set[str]]:
    """Read and store one category's announcement; returns the report and the ids of its news."""
    report = CategoryReport(category)
    ids: set[str] = set()
    listing_failed = False
    try:
        page = await clients.listing.fetch(category)
    except ListingLayoutError as error:
        logger.error(
            "%s: LISTING PAGE NOT UNDERSTOOD, nothing of it stored; reading the feed instead. "
            "Has arXiv changed its layout? %s",
            category,
            error,
        )
        listing_failed = True
    except ArxivError as error:
        logger.warning("%s: listing page not read (%s); reading the feed instead", category, error)
        listing_failed = True
    else:
        report.source = "listing"
        ids = await _store(report, page.announced, [(e.paper(), e.announce_type) for e in page.entries], repo)
    if listing_failed or feeds:
        ids |= await _ingest_feed(report, clients, repo, fallback=listing_failed)
    return report, ids


async def _ingest_feed(
    report: CategoryReport, clients: ArxivClients, repo: PaperRepository, *, fallback: bool
) -> set[str]:
    """The feed, as the fallback for a listing page that failed or as its cross-check."""
    category = report.category
    try:
        feed = await clients.feed.fetch(category)
    except ArxivError as error:
        logger.error("%s: feed not ingested, nothing stored from it: %s", category, error)
        if fallback:
            report.errors.append(str(error))
        return set()
    entries = [(entry.paper(), entry.announce_type) for entry in feed.entries]
    if fallback:
        report.source = "feed"
        return await _store(report, feed.announced, entries, repo)
    if feed.announced is None:
        return set()
    stored = await repo.store_announcement(category, feed.announced, entries) if entries else None
    report.feed_added = stored.listings_added if stored else 0
    if report.feed_added and feed.announced == report.announced:
        logger.warning(
            "%s %s: the feed lists %d papers the listing page did not; stored them",
            category,
            feed.announced,
            report.feed_added,
        )
    return {paper.arxiv_id for paper, kind in entries if kind.is_news}


async def _store(
    report: CategoryReport,
    announced: date | None,
    entries: list[tuple[Paper, AnnounceType]],
    repo: PaperRepository,
) -> set[str]:
    """Store one announcement as read; returns the ids of its news (new and cross)."""
    category = report.category
    if announced is None or not entries:
        logger.info("%s: nothing announced (%s)", category, report.source)
        return set()
    report.announced = announced
    report.new = sum(kind is AnnounceType.NEW for _, kind in entries)
    report.cross = sum(kind is AnnounceType.CROSS for _, kind in entries)
    report.replaced_skipped = len(entries) - report.new - report.cross
    stored = await repo.store_announcement(category, announced, entries)
    report.stored = stored.listings_added
    logger.info(
        "%s %s from the %s: %d new, %d cross, %d replacements skipped, %d listings stored",
        category,
        announced,
        report.source,
        report.new,
        report.cross,
        report.replaced_skipped,
        report.stored,
    )
    return {paper.arxiv_id for paper, kind in entries if kind.is_news}


async def _complete_metadata(
    report: IngestReport, api: ArxivApi, repo: PaperRepository, limit: int, progress: OnIngestProgress
) -> tuple[set[str], set[str]]:
    """Complete papers known only from a feed, returning the ids asked for and the ids completed.

    Stops at the first batch that finally fails: the rest stay queued for a later run.
    """
    ids = await repo.ids_missing_metadata(limit, max_misses=METADATA_MISSES_ALLOWED)
    report.metadata_requested = len(ids)
    completed: set[str] = set()
    if not ids:
        return set(), completed
    done = 0
    progress(IngestProgress("metadata", done, len(ids)))
    try:
        async for batch in api.batches(ids):
            await repo.store_metadata(batch.papers)
            await repo.record_metadata_misses(batch.missing)
            completed.update(paper.arxiv_id for paper in batch.papers)
            report.metadata_missing.extend(batch.missing)
            done += len(batch.requested)
            progress(IngestProgress("metadata", done, len(ids)))
    except ArxivError as error:
        logger.warning(
            "metadata: export API failed, %d papers keep the feed's data until a later run: %s",
            len(ids) - len(completed),
            error,
        )
        report.metadata_error = str(error)
    report.metadata_completed = len(completed)
    return set(ids), completed


def _ignore(progress: IngestProgress) -> None:
    """The progress callback when nobody watches."""
