"""Scheduled work on PTB's JobQueue (APScheduler): poll arXiv on its rhythm, push due digests, prune.

Each poll ingests the followed categories, schedules the next poll with `bot.arxiv.schedule` (so the
bot polls every few minutes from the announcement, 20:00 US Eastern, until it has it, and rests in
between), then enriches the new papers with affiliations in priority order: the papers the next push
features first, then the rest of its first messages, then the remainder. At arxiv.org's crawl delay a
day's remainder takes hours, which holds up neither the next poll nor the push job. A category
followed for the first time is read at once (`catch_up`), not with the next announcement. In webhook
mode the bot also asks Telegram every few minutes how the webhook fares (`WebhookCheck`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, time, timedelta

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.arxiv.enrich import EnrichReport, OnEnrichProgress, enrich_affiliations
from bot.arxiv.ingest import IngestReport, OnIngestProgress, ingest
from bot.arxiv.schedule import due_announcement, next_poll, reads_feeds
from bot.config import Settings
from bot.context import RUNNING_KEY, STOPPING_KEY
from bot.core.i18n import Language
from bot.gateway.polling import REJECTED_TOKEN
from bot.llm.writer import write_for
from bot.push.planning import BROADCASTER_KEY, run_push
from bot.reading import latest_priority
from bot.services import PUSH_SERVICES_KEY, BotContext, Services
from storage.db import database_size
from storage.deliveries import Pruned

logger = logging.getLogger(__name__)

POLL_JOB = "poll-arxiv"
ENRICH_CHUNK = 20  # pages between two looks at what matters most: 5 minutes at arxiv.org's pace
CATCH_UP_JOB = "catch-up"
ENRICH_JOB = "enrich-affiliations"  # a lease only: the enrichment runs after each poll
PUSH_JOB = "push-due"
PUSH_EVERY = 60
PUSH_FIRST = 2  # seconds after start: a restarted bot resumes an interrupted push at once
PUSH_NOW_JOB = "push-now"
PRUNE_JOB = "prune-ledger"
PRUNE_AT = time(12, 0, tzinfo=UTC)  # 08:00 in New York: long after the last push of an announcement
STORAGE_RETRY = timedelta(minutes=1)  # the next poll after the database refused its writes
WEBHOOK_CHECK_JOB = "webhook-check"
# Each poll schedules the next: a poll that APScheduler dropped as too late (its default grace is one
# second, and a busy event loop can be later than that) would end polling for good.
LATE_IS_FINE = {"misfire_grace_time": None}


async def polled_categories(services: Services) -> list[str]:
    """The categories someone follows: the only ones worth reading."""
    return await services.subscriptions.active_categories()


async def run_ingest(
    services: Services,
    categories: list[str],
    on_progress: OnIngestProgress | None = None,
    on_enrich: OnEnrichProgress | None = None,
    *,
    enrich: bool = True,
) -> IngestReport:
    """Ingest, have the model (if any) write what the digests show first, then (unless the caller
    enriches elsewhere) look for the new papers' affiliations, in priority order; one ingest at a
    time per process, which the push waits for (bounded)."""
    async with services.ingest_lock:
        report = await ingest(
            categories,
            services.arxiv,
            services.papers,
            on_progress=on_progress,
            feeds=reads_feeds(services.clock()),
        )
        for item in report.categories:  # the push waits (bounded) for a category it could not read
            if item.announced is None and item.errors:
                services.unread_categories.add(item.category)
            else:
                services.unread_categories.discard(item.category)
        await write_generated(services)
    if enrich:
        async with services.enrich_lock:
            await enrich_in_priority_order(services, on_progress=on_enrich)
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


async def write_generated(services: Services) -> None:
    """Summaries (English) for the featured papers of every digest of the latest announcement, and
    Chinese titles and summaries for every shown paper when Chinese-speaking chats follow it."""
    if services.llm is None:
        return
    # The same papers the affiliations are fetched for first: what each digest shows first.
    priority = await latest_priority(services.papers, services.subscriptions)
    if priority is None:
        return
    wanted = [(Language.EN, priority.featured)]
    if any(code.casefold().startswith("zh") for code in await services.subscriptions.chat_languages()):
        wanted.append((Language.ZH, priority.order))
    for language, ids in wanted:
        found = await services.papers.papers(ids)
        await write_for(
            [found[arxiv_id] for arxiv_id in ids if arxiv_id in found],
            language,
            services.llm,
            services.texts,
            budget=services.settings.llm_daily_budget,
            clock=services.clock,
        )


async def enrich_in_priority_order(
    services: Services,
    *,
    limit: int | None = None,
    skip: frozenset[str] = frozenset(),
    on_progress: OnEnrichProgress | None = None,
) -> EnrichReport:
    """One enrichment pass of at most `limit` pages: the papers the latest announcement's push will
    feature first, then the rest of its first messages, then the others newest first."""
    priority = await latest_priority(services.papers, services.subscriptions)
    order = priority.order if priority is not None else ()
    options = {"limit": limit} if limit is not None else {}
    return await enrich_affiliations(
        services.arxiv.html, services.papers, first=order, skip=skip, on_progress=on_progress, **options
    )


async def enrich_until_done(services: Services) -> None:
    """Enrich a chunk at a time, so a newer announcement or new subscribers reorder what comes next,
    until every paper was tried once in this run (failures wait for the next poll's run). A run
    already at it makes this one a no-op."""
    if services.enrich_lock.locked():
        return
    async with services.enrich_lock, services.exclusive(ENRICH_JOB) as ours:
        if not ours:  # another instance is at it
            return
        tried: set[str] = set()
        while True:
            report = await enrich_in_priority_order(services, limit=ENRICH_CHUNK, skip=frozenset(tried))
            tried.update(report.tried)
            if len(report.tried) < ENRICH_CHUNK or report.refused:
                return


@contextmanager
def cancelled_on_stop(context: BotContext) -> Iterator[None]:
    """Mark the running job as work that a stopping bot cancels rather than waits for.

    PTB waits for running jobs when it stops; a push or an enrichment pass can take an hour, and
    both are safe to cut short (sent parts are recorded, claims released, transactions rolled back).
    A job the scheduler handed over just before the stop, but that starts after it, is cut short at
    its first wait.
    """
    running: dict[asyncio.Task, str] = context.bot_data.setdefault(RUNNING_KEY, {})
    task = asyncio.current_task()
    running[task] = context.job.name if context.job else "job"
    if context.bot_data.get(STOPPING_KEY):
        task.cancel()
    try:
        yield
    except asyncio.CancelledError:
        # Our own stop asked for it: the job ends quietly instead of as an error in the scheduler.
        task.uncancel()
        logger.info("%s: cut short because the bot is stopping", context.job.name if context.job else "job")
    finally:
        running.pop(task, None)


async def poll_arxiv(context: BotContext) -> None:
    """Ingest, plan the next poll, then enrich: the enrichment holds up neither that poll nor a push."""
    with cancelled_on_stop(context):
        if await _ingest_and_plan_next_poll(context) is not None:
            await enrich_until_done(context.services)


async def _ingest_and_plan_next_poll(context: BotContext) -> IngestReport | None:
    services = context.services
    categories: list[str] = []
    report: IngestReport | None = None
    refused = False  # the database refused the poll's work: try again soon
    polled_elsewhere = False
    try:
        categories = await polled_categories(services)
        async with services.exclusive(POLL_JOB) as ours:
            if ours:
                report = await run_ingest(services, categories, enrich=False)
            polled_elsewhere = not ours
    except Exception as error:
        if not services.storage_trouble("arXiv poll", error):
            raise
        refused = True
    finally:
        incomplete = not polled_elsewhere and (report is None or bool(report.errors))
        now = services.clock()
        if refused:
            when = now + STORAGE_RETRY
        else:
            latest = await services.papers.latest_announcements(categories)
            # Nobody follows anything: nothing to wait for (a first follower's category is read at once).
            seen = max(latest.values(), default=None) if categories else due_announcement(now)
            when = next_poll(now, seen, incomplete=incomplete)
        # A delay, not a moment: the job queue keeps real time, the schedule the services' clock.
        context.job_queue.run_once(
            poll_arxiv, when=when - now, name=POLL_JOB, data=when, job_kwargs=LATE_IS_FINE
        )
        logger.info("next arXiv poll at %s", when.isoformat(timespec="minutes"))
    return report


async def push_due(context: BotContext) -> None:
    with cancelled_on_stop(context):
        try:
            await run_push(context.bot_data[PUSH_SERVICES_KEY], context.bot_data[BROADCASTER_KEY])
        except InvalidToken:
            context.stop_for_good(REJECTED_TOKEN)
        except Exception as error:
            if not context.services.storage_trouble("push", error):
                raise


async def prune_ledger(services: Services) -> Pruned:
    """Forget the messages of announcements more than LEDGER_RETENTION_DAYS old: the ledger stays the
    size of that many days of pushes instead of growing by a push a day for good."""
    before = services.clock().date() - timedelta(days=services.settings.ledger_retention_days)
    pruned = await services.ledger.prune(before)
    size = await database_size(services.db)
    logger.info(
        "ledger pruned: %d message(s) of announcements before %s, %d text(s);"
        " database %.1f MB (%.1f MB free)",
        pruned.parts,
        before,
        pruned.contents,
        size.total / 1e6,
        size.free / 1e6,
    )
    return pruned


async def prune_daily(context: BotContext) -> None:
    with cancelled_on_stop(context):
        try:
            await prune_ledger(context.services)
        except Exception as error:
            if not context.services.storage_trouble("ledger pruning", error):
                raise


def request_push(application: Application) -> None:
    """A push now (a broadcast, a digest moved to now), unless one is already asked for."""
    if not application.job_queue.get_jobs_by_name(PUSH_NOW_JOB):
        application.job_queue.run_once(push_due, when=0, name=PUSH_NOW_JOB)


async def catch_up_now(services: Services, categories: Sequence[str]) -> list[str]:
    """Read those of `categories` whose stored announcement is missing or older than due; returns
    the ones read."""
    latest = await services.papers.latest_announcements(categories)
    due = due_announcement(services.clock())
    behind = [name for name in categories if latest.get(name) is None or latest[name] < due]
    if behind:
        await run_ingest(services, behind, enrich=False)
        await enrich_until_done(services)  # a chunk at a time, like a poll's, and never two at once
    return behind


async def catch_up_categories(context: BotContext) -> None:
    with cancelled_on_stop(context):
        await catch_up_now(context.services, context.job.data)


def catch_up(application: Application, categories: Sequence[str]) -> None:
    """Services.catch_up for the running bot: a one-off ingest of `categories`, in the background."""
    application.job_queue.run_once(
        catch_up_categories, when=0, data=list(categories), name=CATCH_UP_JOB, job_kwargs=LATE_IS_FINE
    )


class WebhookCheck:
    """Webhook mode's getWebhookInfo every WEBHOOK_CHECK_INTERVAL seconds. Polling asks Telegram all
    the time, so a revoked token stops it at once; a webhook bot asks nothing while no update comes and
    would notice only at its next send. A 401 here stops the bot as one at a send does, and the error
    Telegram last met delivering to the webhook is logged once each time it changes."""

    def __init__(self) -> None:
        self._reported: str | None = None

    async def __call__(self, context: BotContext) -> None:
        try:
            info = await context.bot.get_webhook_info()
        except InvalidToken:
            context.stop_for_good(REJECTED_TOKEN)
            return
        except TelegramError as error:  # Telegram out of reach for now: the next check asks again
            logger.warning("webhook check: getWebhookInfo failed (%s)", error)
            return
        message = info.last_error_message
        if message and message != self._reported and info.last_error_date is not None:
            self._reported = message
            logger.warning(
                "Telegram's last delivery to the webhook failed (%s UTC): %s",
                f"{info.last_error_date.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
                message,
            )


def schedule_jobs(application: Application, settings: Settings) -> None:
    application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB, job_kwargs=LATE_IS_FINE)
    # Missed runs (a restart, a long push) collapse into one, so the bot catches up instead of skipping.
    application.job_queue.run_repeating(
        push_due,
        interval=PUSH_EVERY,
        first=PUSH_FIRST,
        name=PUSH_JOB,
        job_kwargs={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
    )
    application.job_queue.run_daily(prune_daily, time=PRUNE_AT, name=PRUNE_JOB, job_kwargs=LATE_IS_FINE)
    if settings.run_mode == "webhook":
        application.job_queue.run_repeating(
            WebhookCheck(),
            interval=settings.webhook_check_interval,
            name=WEBHOOK_CHECK_JOB,
            job_kwargs={"coalesce": True, "max_instances": 1},
        )
