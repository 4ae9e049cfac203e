"""One ingest pass: announcement feeds -> storage -> export API metadata -> storage.

Each category's feed is stored as soon as it is read, so a digest can go out even when the export
API is down; the API then completes every paper still marked incomplete, including ones left over
from earlier runs, in shared batches. Every step is idempotent: a second run for the same
announcement stores nothing new and asks the API nothing. A bad feed costs only its own category.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from bot.arxiv.api import ArxivApi
from bot.arxiv.clients import ArxivClients
from bot.arxiv.feed import FeedClient
from bot.arxiv.http import ArxivError
from storage.models import AnnounceType
from storage.papers import PaperRepository

logger = logging.getLogger(__name__)

METADATA_LIMIT = 3000  # papers completed per pass: 30 API requests, 90 s at arXiv's pace
METADATA_MISSES_ALLOWED = 5  # passes whose API answer lacked a paper before we stop asking for it


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """For a progress bar: `done` of `total` feeds or papers; `category` names the feed just read."""

    stage: Literal["feeds", "metadata"]
    done: int
    total: int
    category: str | None = None


OnIngestProgress = Callable[[IngestProgress], None]


@dataclass(slots=True)
class CategoryReport:
    category: str
    announced: date | None = None  # None: empty feed (no announcement) or the feed failed
    new: int = 0
    cross: int = 0
    replaced_skipped: int = 0
    stored: int = 0  # listings this run added; 0 when the announcement was stored before
    metadata_completed: int = 0
    errors: list[str] = field(default_factory=list)  # the feed's failure, "metadata: ..." if left incomplete


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
) -> IngestReport:
    """Ingest the latest announcement of each category, then complete metadata for what needs it."""
    progress = on_progress or _ignore
    reports: list[CategoryReport] = []
    news_ids: dict[str, set[str]] = {}
    for done, category in enumerate(categories, start=1):
        report, ids = await _ingest_feed(category, clients.feed, repo)
        reports.append(report)
        news_ids[category] = ids
        progress(IngestProgress("feeds", done, len(categories), category))
    result = IngestReport(reports)
    requested, completed = await _complete_metadata(result, clients.api, repo, metadata_limit, progress)
    for report in reports:
        ids = news_ids[report.category]
        report.metadata_completed = len(ids & completed)
        if result.metadata_error and (ids & requested) - completed:
            report.errors.append(f"metadata: {result.metadata_error}")
    return result


async def _ingest_feed(
    category: str, feed: FeedClient, repo: PaperRepository
) -> tuple[CategoryReport, set[str]]:
    """Read and store one feed; returns the report and the ids of its news (new and cross)."""
    report = CategoryReport(category)
    try:
        announcement = await feed.fetch(category)
    except ArxivError as error:
        logger.error("%s: feed not ingested, nothing stored: %s", category, error)
        report.errors.append(str(error))
        return report, set()
    if announcement.announced is None:
        logger.info("%s: empty feed, no announcement", category)
        return report, set()
    report.announced = announcement.announced
    report.new = announcement.count(AnnounceType.NEW)
    report.cross = announcement.count(AnnounceType.CROSS)
    report.replaced_skipped = len(announcement.entries) - report.new - report.cross
    stored = await repo.store_announcement(
        category,
        announcement.announced,
        [(entry.paper(), entry.announce_type) for entry in announcement.entries],
    )
    report.stored = stored.listings_added
    logger.info(
        "%s %s: %d new, %d cross, %d replacements skipped, %d listings stored",
        category,
        announcement.announced,
        report.new,
        report.cross,
        report.replaced_skipped,
        report.stored,
    )
    return report, {entry.arxiv_id for entry in announcement.entries if entry.announce_type.is_news}


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
