"""The daily push: which chats get an announcement's digest, what it says, and when it is due.

Planning happens once per announcement, after its papers had their chance at affiliations (at most
`AFFILIATION_WAIT` seconds after the announcement was ingested): every active chat subscribed by
the time of the ingest gets its digest written into the delivery ledger, due at once or at the
chat's preferred local time. Chats following the same categories with the same size share one
rendering. The `Broadcaster` then sends what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telegram import Bot

from bot.core.digest import Digest, build_digest, select_for_push
from bot.core.navigation import more_buttons, rows
from bot.core.preferences import chat_zone, digest_limit
from bot.core.render import render_digest
from bot.push.broadcaster import Broadcaster, OnPushProgress, PushReport
from bot.push.limits import SendRate
from bot.reading import latest_announcement
from bot.services import Services
from storage.deliveries import Plan, PlannedPart
from storage.models import Listing, Paper
from storage.subscriptions import Subscriber

logger = logging.getLogger(__name__)

PAGE = 1000  # subscribers read and planned per batch: bounds memory at any number of chats


@dataclass(frozen=True, slots=True)
class PushPlanReport:
    announced: date
    chats: int
    messages: int
    without_news: int  # subscribed chats whose categories had nothing in this announcement


def delivery_moment(ingested: datetime, preferred: time | None, zone: ZoneInfo) -> datetime:
    """At once, or the first time the chat's clock shows its preferred time after the ingest."""
    if preferred is None:
        return ingested
    local = ingested.astimezone(zone)
    day = local.date()
    while (moment := datetime.combine(day, preferred, zone)) < local:
        day += timedelta(days=1)
    return moment


def broadcaster_for(services: Services, bot: Bot, send_rate: SendRate | None = None) -> Broadcaster:
    """The Broadcaster the settings ask for, on a Bot made by `push_bot`; `send_rate` is the process's
    shared budget when the application also sends."""
    settings = services.settings
    return Broadcaster(
        bot,
        services.ledger,
        services.chats,
        rate=settings.broadcast_rate,
        paid=settings.paid_broadcast,
        lease=timedelta(seconds=settings.push_lease),
        clock=services.clock,
        send_rate=send_rate,
    )


@dataclass(frozen=True, slots=True)
class PushOutcome:
    planned: PushPlanReport | None  # None: nothing new to plan (planned before, or still waiting)
    delivered: PushReport


async def run_push(
    services: Services,
    broadcaster: Broadcaster,
    *,
    wait_for_affiliations: bool = True,
    dry_run: bool = False,
    progress: OnPushProgress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> PushOutcome:
    """Plan the latest announcement's push if it is due, then send every part due now.

    One push at a time per process; other processes (`python -m bot push`) are kept apart by the
    ledger's claims, so running both is safe.
    """
    async with services.push_lock:
        announced = await due_announcement(services, wait_for_affiliations=wait_for_affiliations)
        planned = (
            await plan_push(services, announced, dry_run=dry_run, on_plan=on_plan) if announced else None
        )
        delivered = await broadcaster.run(dry_run=dry_run, progress=progress)
    if not dry_run and (delivered.chats_due or planned):
        logger.info(
            "push: %d chats due, %d sent, %d skipped, %d deactivated, %d failed, %d left for later, %.1f s",
            delivered.chats_due,
            delivered.sent,
            delivered.skipped,
            delivered.deactivated,
            delivered.failed,
            delivered.released,
            delivered.elapsed,
        )
    return PushOutcome(planned, delivered)


def push_parts(digest: Digest, size: int | None) -> list[PlannedPart]:
    """The digest's messages, the last with the buttons `/today` shows too, into the categories it
    cut short."""
    limit = digest_limit(size)
    messages = render_digest(digest, limit=limit)
    buttons = [
        {"text": text, "callback_data": button.pack()}
        for text, button in more_buttons(digest, select_for_push(digest, limit))
    ]
    markup = {"inline_keyboard": rows(buttons)} if buttons else None
    return [PlannedPart(text) for text in messages[:-1]] + [PlannedPart(messages[-1], markup)]


class _Renderings:
    """Digests by (categories, size): chats with the same choices share one rendering."""

    def __init__(self, rows: dict[str, list[tuple[Paper, Listing]]], announced: date) -> None:
        self._rows = rows
        self._announced = announced
        self._parts: dict[tuple[tuple[str, ...], int | None], list[PlannedPart] | None] = {}

    def parts(self, categories: Sequence[str], size: int | None) -> list[PlannedPart] | None:
        key = (tuple(categories), size)
        if key not in self._parts:
            rows = [row for name in categories for row in self._rows.get(name, ())]
            digest = build_digest(rows, categories, self._announced)
            self._parts[key] = push_parts(digest, size) if digest.entries else None
        return self._parts[key]


async def due_announcement(services: Services, *, wait_for_affiliations: bool = True) -> date | None:
    """The latest announcement, if its push is not planned yet and its affiliations had their time."""
    followed = await services.subscriptions.active_categories()
    announced = await latest_announcement(services.papers, followed)
    if announced is None or await services.push_runs.get(announced) is not None:
        return None
    ingested = await services.papers.first_ingested(announced)
    waited_enough = services.clock() >= ingested + timedelta(seconds=services.settings.affiliation_wait)
    if (
        wait_for_affiliations
        and not waited_enough
        and await services.papers.missing_affiliations_among(followed, announced)
    ):
        return None
    return announced


async def plan_push(
    services: Services,
    announced: date,
    *,
    dry_run: bool = False,
    on_plan: Callable[[Plan], None] | None = None,
) -> PushPlanReport:
    """Write every subscribed chat's digest of `announced` into the ledger (idempotent).

    A dry run renders and counts the same plans without writing anything; `on_plan` sees each plan
    (what `push --dry-run --show` prints).
    """
    ingested = await services.papers.first_ingested(announced)
    if ingested is None:
        raise ValueError(f"no announcement of {announced} is stored")
    categories = await services.subscriptions.active_categories()
    rows: dict[str, list[tuple[Paper, Listing]]] = {}
    for row in await services.papers.listings(categories, announced):
        rows.setdefault(row[1].category, []).append(row)
    renderings = _Renderings(rows, announced)
    chats = messages = without_news = 0
    after: int | None = None
    while page := await services.subscriptions.subscribers(ingested, after, PAGE):
        after = page[-1].chat_id
        plans = []
        for subscriber in page:
            plan = _plan(services, subscriber, renderings, announced, ingested)
            if plan is None:
                without_news += 1
                continue
            plans.append(plan)
            messages += len(plan.parts)
            if on_plan is not None:
                on_plan(plan)
        chats += len(plans) if dry_run else await services.ledger.plan_many(plans, services.clock())
    if dry_run:
        return PushPlanReport(announced, chats, messages, without_news)
    await services.ledger.supersede(announced)
    await services.push_runs.record(announced, services.clock(), chats, messages)
    logger.info(
        "push planned: announcement %s, %d chats, %d messages, %d chats without news",
        announced,
        chats,
        messages,
        without_news,
    )
    return PushPlanReport(announced, chats, messages, without_news)


def _plan(
    services: Services, subscriber: Subscriber, renderings: _Renderings, announced: date, ingested: datetime
) -> Plan | None:
    parts = renderings.parts(subscriber.categories, subscriber.digest_size)
    if parts is None:
        return None
    zone = chat_zone(subscriber.timezone, services.settings.timezone)
    due = delivery_moment(ingested, subscriber.delivery_time, zone)
    return Plan(subscriber.chat_id, announced, parts, due=due)
