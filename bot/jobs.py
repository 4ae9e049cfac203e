"""Scheduled work on PTB's JobQueue (APScheduler): poll arXiv on its rhythm.

Each poll ingests the polled categories and enriches the new papers with affiliations, then
schedules the next poll with `bot.schedule`, so the bot polls every few minutes while an
announcement is due and rests in between.
"""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.categories import ALWAYS_POLLED
from bot.enrich import EnrichProgress, enrich_affiliations
from bot.ingest import IngestReport, ProgressCallback, ingest
from bot.schedule import next_poll
from bot.services import Services, services_of

logger = logging.getLogger(__name__)

POLL_JOB = "poll-arxiv"


async def polled_categories(services: Services) -> list[str]:
    """Offered categories that someone follows, plus the start-up set."""
    subscribed = set(await services.subscriptions.active_categories())
    return [name for name in services.settings.categories if name in subscribed or name in ALWAYS_POLLED]


async def run_ingest(
    services: Services,
    categories: list[str],
    on_progress: ProgressCallback | None = None,
    on_enrich: EnrichProgress | None = None,
) -> IngestReport:
    """Ingest, then look for the new papers' affiliations; one such pass at a time per process."""
    async with services.ingest_lock:
        report = await ingest(categories, services.arxiv, services.papers, on_progress=on_progress)
        await enrich_affiliations(services.arxiv.html, services.papers, on_progress=on_enrich)
    announced = sorted({str(item.announced) for item in report.categories if item.announced})
    logger.info(
        "ingest: %d categories, announcements %s, %d listings stored, metadata %d/%d, %d errors",
        len(report.categories),
        ",".join(announced) or "none",
        sum(item.stored for item in report.categories),
        report.metadata_completed,
        report.metadata_requested,
        len(report.errors),
    )
    return report


async def poll_arxiv(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    categories: list[str] = []
    try:
        categories = await polled_categories(services)
        await run_ingest(services, categories)
    finally:
        latest = await services.papers.latest_announcements(categories)
        now = services.clock()
        when = next_poll(now, max(latest.values(), default=None))
        # A delay, not a moment: the job queue keeps real time, the schedule the services' clock.
        context.job_queue.run_once(poll_arxiv, when=when - now, name=POLL_JOB, data=when)
        logger.info("next arXiv poll at %s", when.isoformat(timespec="minutes"))


def schedule_jobs(application: Application) -> None:
    application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
