"""The daily push: which chats get an announcement's digest, what it says, and when it is due.

Planning happens once per announcement, after its papers had their chance at affiliations (at most
`AFFILIATION_WAIT` seconds after the announcement was ingested): every active chat subscribed by
the time of the ingest gets its digest written into the delivery ledger, due at once or at the
chat's preferred local time. Chats following the same categories with the same size and no personal
signals (follows, taps, group picks) share one rendering, ranked with the bot's community signals;
the others are ranked for themselves, one page of chats at a time, so memory stays bounded. The
`Broadcaster` then sends what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Bot

from bot.core.callbacks import OpenCategory
from bot.core.digest import Digest, build_digest, cut_categories, select_for_push
from bot.core.follows import Follow
from bot.core.keyboards import feedback_rows
from bot.core.preferences import digest_limit
from bot.core.render import digest_messages, tag_label
from bot.curation import follows_from
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
) -> PushOutcome:
    """Plan the latest announcement's push if it is due, then send every part due now.

    One push at a time per process; other processes (`python -m bot push`) are kept apart by the
    ledger's claims, so running both is safe.
    """
    async with services.push_lock:
        announced = await due_announcement(services, wait_for_affiliations=wait_for_affiliations)
        planned = await plan_push(services, announced, dry_run=dry_run) if announced else None
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
    """The digest's messages: featured entries carry feedback buttons (👍 👎 🔖), and the last message
    buttons into /cat for the categories it cut short."""
    limit = digest_limit(size)
    messages = digest_messages(digest, limit=limit)
    selection = select_for_push(digest, limit)
    more = []
    if selection.remaining:
        buttons = [
            {
                "text": f"All {tag_label(name)} ({digest.entries_in(name)})",
                "callback_data": OpenCategory(name, digest.announced).pack(),
            }
            for name in cut_categories(digest, selection)
        ]
        more = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    parts = []
    for index, message in enumerate(messages):
        rows = feedback_rows(message.featured, {}) + (more if index == len(messages) - 1 else [])
        parts.append(PlannedPart(message.text, {"inline_keyboard": rows} if rows else None))
    return parts


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else default
    except (ZoneInfoNotFoundError, ValueError):
        return default


class _Renderings:
    """Digests by (categories, size): chats with the same choices and no personal signals share one."""

    def __init__(
        self, services: Services, rows: dict[str, list[tuple[Paper, Listing]]], announced: date
    ) -> None:
        self._services = services
        self._rows = rows
        self._announced = announced
        self._parts: dict[tuple[tuple[str, ...], int | None], list[PlannedPart] | None] = {}

    def digest(self, categories: Sequence[str]) -> Digest:
        rows = [row for name in categories for row in self._rows.get(name, ())]
        return build_digest(rows, categories, self._announced)

    async def parts(self, categories: Sequence[str], size: int | None) -> list[PlannedPart] | None:
        key = (tuple(categories), size)
        if key not in self._parts:
            digest = self.digest(categories)
            if digest.entries:
                digest = await self._services.curation.personalize(None, digest)
            self._parts[key] = push_parts(digest, size) if digest.entries else None
        return self._parts[key]

    async def personal_parts(
        self, subscriber: Subscriber, categories: Sequence[str], follows: Sequence[Follow]
    ) -> list[PlannedPart] | None:
        """A chat's own ranking: its follows, its model (waited for), its group's picks."""
        digest = self.digest(categories)
        group = subscriber.chat_type in ("group", "supergroup")
        digest = await self._services.curation.personalize(
            subscriber.chat_id, digest, group=group, follows=follows, wait=True
        )
        if not digest.entries and not digest.picks:
            return None
        return push_parts(digest, subscriber.digest_size)


async def due_announcement(services: Services, *, wait_for_affiliations: bool = True) -> date | None:
    """The latest announcement, if its push is not planned yet and its affiliations had their time."""
    announced = await latest_announcement(services.papers, services.settings.categories)
    if announced is None or await services.push_runs.get(announced) is not None:
        return None
    ingested = await services.papers.first_ingested(announced)
    waited_enough = services.clock() >= ingested + timedelta(seconds=services.settings.affiliation_wait)
    if (
        wait_for_affiliations
        and not waited_enough
        and await services.papers.missing_affiliations_among(services.settings.categories, announced)
    ):
        return None
    return announced


async def plan_push(services: Services, announced: date, *, dry_run: bool = False) -> PushPlanReport:
    """Write every subscribed chat's digest of `announced` into the ledger (idempotent).

    A dry run renders and counts the same plans without writing anything.
    """
    ingested = await services.papers.first_ingested(announced)
    if ingested is None:
        raise ValueError(f"no announcement of {announced} is stored")
    categories = services.settings.categories
    rows: dict[str, list[tuple[Paper, Listing]]] = {}
    for row in await services.papers.listings(categories, announced):
        rows.setdefault(row[1].category, []).append(row)
    renderings = _Renderings(services, rows, announced)
    chats = messages = without_news = 0
    after: int | None = None
    while page := await services.subscriptions.subscribers(ingested, after, PAGE):
        after = page[-1].chat_id
        chat_ids = [subscriber.chat_id for subscriber in page]
        follows = await services.follows.of_chats(chat_ids)
        tapped = await services.feedback.versions(chat_ids)
        plans = []
        for subscriber in page:
            personal = follows_from(follows.get(subscriber.chat_id, ()))
            plan = await _plan(
                services, subscriber, renderings, announced, ingested, personal, subscriber.chat_id in tapped
            )
            if plan is None:
                without_news += 1
                continue
            plans.append(plan)
            messages += len(plan.parts)
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


async def _plan(
    services: Services,
    subscriber: Subscriber,
    renderings: _Renderings,
    announced: date,
    ingested: datetime,
    follows: Sequence[Follow],
    tapped: bool,
) -> Plan | None:
    wanted = [name for name in subscriber.categories if name in services.settings.categories]
    if follows or tapped:
        parts = await renderings.personal_parts(subscriber, wanted, follows)
    else:
        parts = await renderings.parts(wanted, subscriber.digest_size)
    if parts is None:
        return None
    zone = _zone(subscriber.timezone, services.settings.timezone)
    due = delivery_moment(ingested, subscriber.delivery_time, zone)
    return Plan(subscriber.chat_id, announced, parts, due=due)
