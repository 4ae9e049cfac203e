"""The daily push: which chats get an announcement's digest, what it says, and when it is due.

Planning happens once per announcement, after the papers it features had their chance at affiliations
(at most `AFFILIATION_WAIT` seconds after the announcement was ingested): every active chat subscribed by
the time of the ingest gets its digest written into the delivery ledger, due at once or at the
chat's preferred local time. Chats following the same categories with the same size and no personal
signals (follows, taps, group picks) share one rendering, ranked with the bot's community signals;
the others are ranked for themselves, one page of chats at a time, so memory stays bounded. The
`Broadcaster` then sends what is due.

What a chat changes afterwards applies until its digest leaves: `replan_chat` renders a digest
nothing was sent of again (other categories, size, time, time zone), and drops what the chat no
longer wants (it follows none of the digest's categories, or blocked the bot).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic as monotonic_seconds
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core.clock import Monotonic
from bot.core.digest import FEATURED, Digest, EntryMemo, build_digest, with_generated
from bot.core.follows import Follow
from bot.core.i18n import Language, language_of
from bot.core.preferences import chat_zone, digest_limit
from bot.core.render import digest_blocks, pack_blocks
from bot.core.replies import DigestReply, digest_reply
from bot.curation import follows_from
from bot.locales import translation
from bot.push.broadcaster import Broadcaster
from bot.push.limits import SendRate
from bot.push.report import OnPushProgress, PushReport
from bot.reading import (
    enrichment_priority_of,
    generated_reach,
    latest_announcement,
    with_full_papers,
    with_generated_texts,
)
from bot.services import Services
from storage.coordination import SendBudget
from storage.deliveries import Plan, PlannedPart
from storage.models import Generated, Listing, Paper
from storage.subscriptions import Subscriber

PLAN_JOB = "plan-push"
REPORT_JOB = "report-broadcasts"
logger = logging.getLogger(__name__)

SLICE = 0.002
"""Seconds of planning, about, between two turns of the event loop: digests are rendered an entry at a
time and built in a worker thread, so a reply waits for a slice or two, not for a page of chats."""
# Subscribers read and planned per batch, each in one write transaction: bounds memory at any number of
# chats, and how long a reply's own write (a tap, a setting) waits for the transaction to end. A
# reply's reads do not wait for it: the running bot's push has a connection of its own.
PAGE = 100
NEVER_AUTOMATICALLY = 2**31 - 1
"""A full collection's threshold (younger collections between two) that is never reached."""
THREAD_TURN = 0.0005
"""Seconds a Python thread runs, while a push does, before another waiting for the lock gets it."""
BROADCASTER_KEY = "broadcaster"
"""Where the running bot keeps its Broadcaster (application.bot_data)."""


@dataclass(frozen=True, slots=True)
class PushPlanReport:
    announced: date
    chats: int
    messages: int
    without_news: int  # subscribed chats whose categories had nothing in this announcement
    featured: int = 0  # papers featured at the top of a digest
    featured_with_affiliations: int = 0


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
        budget=SendBudget(services.db),
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
        with _full_collections_deferred(), _threads_take_turns_often():
            planned = None
            async with _planning(services, dry_run) as ours:
                if ours:
                    announced = await due_announcement(services, wait_for_affiliations=wait_for_affiliations)
                    if announced:
                        planned = await plan_push(services, announced, dry_run=dry_run, on_plan=on_plan)
                    if not dry_run:
                        await deliver_late_categories(services)
            delivered = await broadcaster.run(dry_run=dry_run, progress=progress)
            if not dry_run:
                async with services.exclusive(REPORT_JOB) as ours:
                    if ours:
                        await report_broadcasts(services, broadcaster)
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


def _planning(services: Services, dry_run: bool) -> AbstractAsyncContextManager[bool]:
    """Whether this process plans now: one process plans each push however many run (the others
    only help send); a dry run writes nothing and always plans for itself."""
    return nullcontext(True) if dry_run else services.exclusive(PLAN_JOB)


@contextmanager
def _full_collections_deferred() -> Iterator[None]:
    """Python's full garbage collections wait until the push is over. Each holds the event loop as long
    as visiting every object in memory takes, a push's renderings and claims included, and frees next
    to nothing: the push's objects go when their last reference does, few of them in cycles."""
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER_AUTOMATICALLY)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, full)


@contextmanager
def _threads_take_turns_often() -> Iterator[None]:
    """Python's threads hand its lock on every THREAD_TURN while a push runs, not every 5 ms. Planning
    builds digests in a worker thread, and the database's threads convert rows; the event loop waits
    for the lock each time it wakes (a reply's every read is a wake-up), a turn at most each time."""
    usual = sys.getswitchinterval()
    sys.setswitchinterval(THREAD_TURN)
    try:
        yield
    finally:
        sys.setswitchinterval(usual)


class _Slices:
    """Cuts planning into slices of SLICE seconds, with a turn of the event loop between two."""

    def __init__(self, monotonic: Monotonic) -> None:
        self._monotonic = monotonic
        self._started = monotonic()

    async def next(self) -> None:
        """Let every waiting task run once this slice is used up."""
        if self._monotonic() - self._started >= SLICE:
            await asyncio.sleep(0)
            self._started = self._monotonic()


def push_parts(digest: Digest, size: int | None, language: Language = Language.EN) -> list[PlannedPart]:
    """The digest's messages in the chat's language: featured entries carry feedback buttons (👍 👎 🔖),
    and the last one the buttons `/today` shows too, into the categories it cut short."""
    return _planned(digest_reply(digest, digest_limit(size), translation(language).digest_words()))


async def _sliced_push_parts(
    digest: Digest, size: int | None, language: Language, slices: _Slices
) -> list[PlannedPart]:
    """`push_parts`, an entry at a time within the planning's slices: a digest of every paper is long
    to render."""
    limit = digest_limit(size)
    words = translation(language).digest_words()
    blocks = []
    for block in digest_blocks(digest, limit=limit, words=words):
        blocks.append(block)
        await slices.next()
    messages = pack_blocks(blocks)
    await slices.next()
    return _planned(digest_reply(digest, limit, words, messages))


def _planned(reply: DigestReply) -> list[PlannedPart]:
    return [
        PlannedPart(message.text, {"inline_keyboard": keyboard} if keyboard else None)
        for message, keyboard in zip(reply.messages, reply.keyboards({}), strict=True)
    ]


def subscriber_language(subscriber: Subscriber) -> Language:
    """The language the chat is answered in: its /lang choice, else the Telegram language last seen."""
    return language_of(subscriber.language, None)


def _with_texts(
    digest: Digest, texts: Mapping[str, Generated], language: Language, size: int | None
) -> Digest:
    return with_generated(digest, texts, generated_reach(language, digest_limit(size)))


class _Renderings:
    """Digests by (categories, size, language): chats with the same choices and no personal signals
    share one."""

    def __init__(
        self,
        services: Services,
        rows: dict[str, list[tuple[Paper, Listing]]],
        announced: date,
        texts: Mapping[Language, Mapping[str, Generated]],
        slices: _Slices,
    ) -> None:
        self._services = services
        self._slices = slices
        self._rows = rows
        self._announced = announced
        self._texts = texts
        self._entries: EntryMemo = {}
        self._papers: dict[str, Paper] = {}
        """The papers some digest shows, in full: digests are built and ranked on outlines."""
        self._shared: dict[tuple[str, ...], Digest] = {}
        self._parts: dict[tuple[tuple[str, ...], int | None, Language], list[PlannedPart] | None] = {}
        self.featured: set[str] = set()
        """The papers some digest of this push features: what it reports with affiliations."""

    async def digest(self, categories: Sequence[str]) -> Digest:
        """Built in a worker thread: a long category list's digest is long to build, and has no
        natural point to stop at."""
        rows = [row for name in categories for row in self._rows.get(name, ())]
        return await asyncio.to_thread(build_digest, rows, categories, self._announced, self._entries)

    async def parts(
        self, categories: Sequence[str], size: int | None, language: Language
    ) -> list[PlannedPart] | None:
        key = (tuple(categories), size, language)
        if key not in self._parts:
            digest = await self._shown_in_full(await self._shared_digest(key[0]), size)
            digest = _with_texts(digest, self._texts[language], language, size)
            self._parts[key] = (
                await _sliced_push_parts(digest, size, language, self._slices) if digest.entries else None
            )
        return self._parts[key]

    async def _shared_digest(self, categories: tuple[str, ...]) -> Digest:
        """The ranking chats without personal signals share, built once per category list (every
        size cuts the same one)."""
        if categories not in self._shared:
            digest = await self.digest(categories)
            if digest.entries:
                digest = await self._services.curation.personalize(None, digest)
            self._shared[categories] = self._featuring(digest)
        return self._shared[categories]

    def _featuring(self, digest: Digest) -> Digest:
        self.featured.update(entry.paper.arxiv_id for entry in digest.entries[:FEATURED])
        return digest

    async def personal_parts(
        self, subscriber: Subscriber, categories: Sequence[str], follows: Sequence[Follow]
    ) -> list[PlannedPart] | None:
        """A chat's own ranking: its follows, its model (waited for), its group's picks."""
        digest = await self.digest(categories)
        group = subscriber.chat_type in ("group", "supergroup")
        digest = await self._services.curation.personalize(
            subscriber.chat_id, digest, group=group, follows=follows, wait=True
        )
        if not digest.entries and not digest.picks:
            return None
        language = subscriber_language(subscriber)
        digest = await self._shown_in_full(self._featuring(digest), subscriber.digest_size)
        digest = _with_texts(digest, self._texts[language], language, subscriber.digest_size)
        return await _sliced_push_parts(digest, subscriber.digest_size, language, self._slices)

    async def _shown_in_full(self, digest: Digest, size: int | None) -> Digest:
        """The entries a chat of `size` is shown, with their full papers (each read once per push)."""
        return await with_full_papers(self._services.papers, digest, digest_limit(size), self._papers)


async def featured_papers(services: Services, announced: date) -> tuple[str, ...]:
    """The papers the push of `announced` features: the top of every digest it will send."""
    followed = await services.subscriptions.active_categories()
    return (
        await enrichment_priority_of(services.papers, services.subscriptions, followed, announced)
    ).featured


async def due_announcement(services: Services, *, wait_for_affiliations: bool = True) -> date | None:
    """The latest announcement, if its push is not planned yet and the papers it features had their
    time for affiliations (and generated lines): at most AFFILIATION_WAIT after it was ingested."""
    followed = await services.subscriptions.active_categories()
    announced = await latest_announcement(services.papers, followed)
    if announced is None or await services.push_runs.get(announced) is not None:
        return None
    ingested = await services.papers.first_ingested(announced)
    waited_enough = services.clock() >= ingested + timedelta(seconds=services.settings.affiliation_wait)
    if wait_for_affiliations and not waited_enough:
        if services.ingest_lock.locked():
            return None  # the ingest, and the model's lines for what is shown, are still being written
        if await _unread(services, followed, announced):
            return None  # a followed category's page and feed failed: its poll comes back in 2 minutes
        if await services.papers.awaiting_affiliations(await featured_papers(services, announced)):
            return None
    return announced


async def _unread(services: Services, followed: Sequence[str], announced: date) -> list[str]:
    """Followed categories the latest poll could not read and that lack `announced`."""
    failed = [name for name in followed if name in services.unread_categories]
    latest = await services.papers.latest_announcements(failed) if failed else {}
    return [name for name in failed if (latest.get(name) or date.min) < announced]


async def plan_push(
    services: Services,
    announced: date,
    *,
    dry_run: bool = False,
    on_plan: Callable[[Plan], None] | None = None,
    monotonic: Monotonic = monotonic_seconds,
) -> PushPlanReport:
    """Write every subscribed chat's digest of `announced` into the ledger (idempotent).

    A dry run renders and counts the same plans without writing anything; `on_plan` sees each plan
    (what `push --dry-run --show` prints). `monotonic` times the slices planning is cut into.
    """
    started = services.clock()  # a category stored from now on is not in this plan: it comes late
    ingested = await services.papers.first_ingested(announced)
    if ingested is None:
        raise ValueError(f"no announcement of {announced} is stored")
    categories = await services.subscriptions.active_categories()
    rows: dict[str, list[tuple[Paper, Listing]]] = {}
    for row in await services.papers.outlines(categories, announced):
        rows.setdefault(row[1].category, []).append(row)
    paper_ids = [paper.arxiv_id for listed in rows.values() for paper, _ in listed]
    present = await services.papers.announced_categories(announced)
    texts = {language: await services.texts.accepted(paper_ids, language.value) for language in Language}
    slices = _Slices(monotonic)
    renderings = _Renderings(services, rows, announced, texts, slices)
    messages = without_news = 0

    async def pages() -> AsyncIterator[list[Plan]]:
        nonlocal messages, without_news
        after: int | None = None
        while page := await services.subscriptions.subscribers(ingested, after, PAGE):
            after = page[-1].chat_id
            chat_ids = [subscriber.chat_id for subscriber in page]
            follows = await services.follows.of_chats(chat_ids)
            tapped = await services.feedback.versions(chat_ids)
            planned = []
            for subscriber in page:
                await slices.next()
                personal = follows_from(follows.get(subscriber.chat_id, ()))
                plan = await _plan(
                    services,
                    subscriber,
                    renderings,
                    announced,
                    ingested,
                    personal,
                    subscriber.chat_id in tapped,
                    present,
                )
                if plan is None:
                    without_news += 1
                    continue
                planned.append(plan)
                messages += len(plan.parts)
                if on_plan is not None:
                    on_plan(plan)
            yield planned

    if dry_run:
        chats = sum([len(page) async for page in pages()])
    else:
        chats = await services.ledger.plan_pages(pages(), services.clock())
    featured = sorted(renderings.featured)
    with_affiliations = await services.papers.with_affiliations(featured)
    report = PushPlanReport(announced, chats, messages, without_news, len(featured), with_affiliations)
    if dry_run:
        return report
    await services.ledger.supersede(announced)
    await services.push_runs.record(
        announced, started, chats, messages, featured=(len(featured), with_affiliations)
    )
    logger.info(
        "push planned: announcement %s, %d chats, %d messages, %d chats without news,"
        " featured papers with affiliations %d/%d",
        announced,
        chats,
        messages,
        without_news,
        with_affiliations,
        len(featured),
    )
    return report


async def _plan(
    services: Services,
    subscriber: Subscriber,
    renderings: _Renderings,
    announced: date,
    ingested: datetime,
    follows: Sequence[Follow],
    tapped: bool,
    present: set[str],
) -> Plan | None:
    # A category without this announcement (a quiet day, or unread so far: it may come late) is left
    # out rather than shown as "LG 0".
    wanted = [name for name in subscriber.categories if name in present]
    if not wanted:
        return None
    if follows or tapped:
        parts = await renderings.personal_parts(subscriber, wanted, follows)
    else:
        parts = await renderings.parts(wanted, subscriber.digest_size, subscriber_language(subscriber))
    if parts is None:
        return None
    return Plan(subscriber.chat_id, announced, parts, due=due_moment(services, subscriber, ingested))


def due_moment(services: Services, subscriber: Subscriber, ingested: datetime) -> datetime:
    zone = chat_zone(subscriber.timezone, services.settings.timezone)
    return delivery_moment(ingested, subscriber.delivery_time, zone)


async def chat_digest(
    services: Services, subscriber: Subscriber, categories: Sequence[str], announced: date
) -> Digest:
    """One chat's digest of `categories`, in its own order (follows, taps, group picks), with the
    model's lines on what it features. Categories without this announcement are left out."""
    present = await services.papers.announced_categories(announced)
    categories = [name for name in categories if name in present]
    digest = build_digest(await services.papers.listings(categories, announced), categories, announced)
    if digest.entries:
        group = subscriber.chat_type in ("group", "supergroup")
        digest = await services.curation.personalize(subscriber.chat_id, digest, group=group, wait=True)
    language = subscriber_language(subscriber)
    return await with_generated_texts(services.texts, digest, language, digest_limit(subscriber.digest_size))


async def replan_chat(services: Services, chat_id: int) -> None:
    """Bring the chat's digests not sent yet in line with what it follows and wants now.

    A digest nothing was sent of is rendered again (categories, size) and moved (time, time zone);
    one the chat no longer wants (it follows none of its categories, or is inactive) is dropped,
    also when it was started. Called after every change a chat makes; a digest now due is pushed soon.
    """
    due_now = False
    for unsent in await services.ledger.unsent_digests(chat_id):
        announced = unsent.announced
        ingested = await services.papers.first_ingested(announced)
        subscriber = await services.subscriptions.subscriber(chat_id, ingested) if ingested else None
        if subscriber is None or ingested is None:
            await services.ledger.drop(chat_id, announced, "dropped: the chat is inactive or follows nothing")
            continue
        digest = await chat_digest(services, subscriber, subscriber.categories, announced)
        if not digest.entries:
            await services.ledger.drop(chat_id, announced, "dropped: the chat follows none of its categories")
        elif not unsent.started:  # a digest started is finished as planned, not redone halfway
            due = due_moment(services, subscriber, ingested)
            parts = push_parts(digest, subscriber.digest_size, subscriber_language(subscriber))
            await services.ledger.replan(Plan(chat_id, announced, parts, due=due), services.clock())
            due_now = due_now or due <= services.clock()
    if due_now:
        services.push_soon()


# Categories that came late: an announcement's category stored only after its push was planned. A
# listing page and its feed can both fail during the poll before the push; the push waits for them
# (at most AFFILIATION_WAIT), then goes out without them. When the category is read later, each chat
# that follows it gets what it missed: a digest nothing was sent of is rendered again whole, a digest
# already on its way gets the late categories as extra parts after its own, and a chat that had no
# news at all gets its digest now. Each late category is delivered once (`delivered_late`).


async def deliver_late_categories(services: Services) -> int:
    """Plan what the late categories of the latest planned announcement owe each chat; returns how
    many chats get something."""
    followed = await services.subscriptions.active_categories()
    announced = await latest_announcement(services.papers, followed)
    run = await services.push_runs.get(announced) if announced else None
    if announced is None or run is None:
        return 0
    late = await services.papers.late_categories(announced, run.planned_at)
    ingested = await services.papers.first_ingested(announced)
    if not late or ingested is None:
        return 0
    reached = 0
    after: int | None = None
    while page := await services.subscriptions.subscribers(ingested, after, PAGE):
        after = page[-1].chat_id
        for subscriber in page:
            missed = [name for name in subscriber.categories if name in late]
            if not missed:
                continue
            chat_id = subscriber.chat_id
            unsent = await services.ledger.unsent_digests(chat_id)
            if any(digest.announced == announced and not digest.started for digest in unsent):
                await replan_chat(services, chat_id)
                reached += 1
                continue
            whole = not await services.ledger.has_digest(chat_id, announced)
            digest = await chat_digest(
                services, subscriber, subscriber.categories if whole else missed, announced
            )
            if not digest.entries:
                continue
            due = due_moment(services, subscriber, ingested) if whole else None  # extra parts: at once
            parts = push_parts(digest, subscriber.digest_size, subscriber_language(subscriber))
            plan = Plan(chat_id, announced, parts, due=due)
            if whole:
                reached += await services.ledger.plan_many([plan], services.clock())
            else:
                reached += await services.ledger.append(plan, services.clock())
    await services.papers.mark_delivered_late(announced, late)
    logger.warning(
        "push of %s: %s came after it was planned; %d chats get what they missed",
        announced,
        ", ".join(late),
        reached,
    )
    return reached


async def report_broadcasts(services: Services, broadcaster: Broadcaster) -> None:
    """Tell each operator how their broadcast went, once every chat's message went or was given up."""
    for outcome in await services.ledger.finished_broadcasts():
        text = (
            f"Broadcast done: {outcome.sent} sent, {outcome.failed} failed, "
            f"{outcome.deactivated} deactivated (bot blocked or removed)."
        )
        try:
            await broadcaster.bot.send_message(outcome.report_to, text)
        except (Forbidden, BadRequest) as refused:
            logger.warning(
                "broadcast %d: chat %s refused the report: %s", outcome.id, outcome.report_to, refused
            )
        except TelegramError as error:
            logger.warning(
                "broadcast %d: report not sent (%s); trying after the next push", outcome.id, error
            )
            continue
        logger.info("%s (broadcast %d)", text, outcome.id)
        await services.ledger.mark_reported(outcome.id, services.clock())
