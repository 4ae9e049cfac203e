"""Scheduled work on PTB's JobQueue (APScheduler): poll arXiv on its rhythm, push due digests.

Each poll ingests the polled categories and enriches the new papers with affiliations, then
schedules the next poll with `bot.arxiv.schedule`, so the bot polls every few minutes while an
announcement is due and rests in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from telegram.error import InvalidToken
from telegram.ext import Application

from bot.arxiv.enrich import OnEnrichProgress, enrich_affiliations
from bot.arxiv.ingest import IngestReport, OnIngestProgress, ingest
from bot.arxiv.schedule import next_poll
from bot.core.categories import ALWAYS_POLLED
from bot.gateway.polling import REJECTED_TOKEN
from bot.push.planning import run_push
from bot.services import BotContext, Services

logger = logging.getLogger(__name__)

POLL_JOB = "poll-arxiv"
PUSH_JOB = "push-due"
PUSH_EVERY = 60
PUSH_FIRST = 2  # seconds after start: a restarted bot resumes an interrupted push at once
BROADCASTER_KEY = "broadcaster"
RUNNING_KEY = "running-work"
# Each poll schedules the next: a poll that APScheduler dropped as too late (its default grace is one
# second, and a busy event loop can be later than that) would end polling for good.
LATE_IS_FINE = {"misfire_grace_time": None}


async def polled_categories(services: Services) -> list[str]:
    """Offered categories that someone follows, plus the start-up set."""
    subscribed = set(await services.subscriptions.active_categories())
    return [name for name in services.settings.categories if name in subscribed or name in ALWAYS_POLLED]


async def run_ingest(
    services: Services,
    categories: list[str],
    on_progress: OnIngestProgress | None = None,
    on_enrich: OnEnrichProgress | None = None,
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


@contextmanager
def cancelled_on_stop(context: BotContext) -> Iterator[None]:
    """Mark the running job as work that a stopping bot cancels rather than waits for.

    PTB waits for running jobs when it stops; a push or an enrichment pass can take an hour, and
    both are safe to cut short (sent parts are recorded, claims released, transactions rolled back).
    """
    running: set[asyncio.Task] = context.bot_data.setdefault(RUNNING_KEY, set())
    task = asyncio.current_task()
    running.add(task)
    try:
        yield
    except asyncio.CancelledError:
        # Our own stop asked for it: the job ends quietly instead of as an error in the scheduler.
        task.uncancel()
        logger.info("%s: cut short because the bot is stopping", context.job.name if context.job else "job")
    finally:
        running.discard(task)


def cancel_running_work(application: Application) -> None:
    for task in application.bot_data.get(RUNNING_KEY, ()):
        task.cancel()


async def poll_arxiv(context: BotContext) -> None:
    services = context.services
    categories: list[str] = []
    report: IngestReport | None = None
    try:
        with cancelled_on_stop(context):
            categories = await polled_categories(services)
            report = await run_ingest(services, categories)
    finally:
        incomplete = report is None or bool(report.errors)
        latest = await services.papers.latest_announcements(categories)
        now = services.clock()
        when = next_poll(now, max(latest.values(), default=None), incomplete=incomplete)
        # A delay, not a moment: the job queue keeps real time, the schedule the services' clock.
        context.job_queue.run_once(
            poll_arxiv, when=when - now, name=POLL_JOB, data=when, job_kwargs=LATE_IS_FINE
        )
        logger.info("next arXiv poll at %s", when.isoformat(timespec="minutes"))


async def push_due(context: BotContext) -> None:
    with cancelled_on_stop(context):
        try:
            await run_push(context.services, context.bot_data[BROADCASTER_KEY])
        except InvalidToken:
            context.stop_for_good(REJECTED_TOKEN)


def schedule_jobs(application: Application) -> None:
    application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB, job_kwargs=LATE_IS_FINE)
    # Missed runs (a restart, a long push) collapse into one, so the bot catches up instead of skipping.
    application.job_queue.run_repeating(
        push_due,
        interval=PUSH_EVERY,
        first=PUSH_FIRST,
        name=PUSH_JOB,
        job_kwargs={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
    )
