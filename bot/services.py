"""Shared resources of one process: settings, the database, its repositories and arXiv clients.

The PTB application opens them in `post_init` and closes them in `post_shutdown`; CLI commands
open the same set with `async with Services.open(settings)`. Handlers and jobs reach them as
`context.services` through `BotContext`, the application's context type.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.core.clock import Clock, utc_now
from bot.curation import Curation
from bot.llm.client import LlmClient
from bot.log import Throttle
from bot.push.claims import default_owner, owner_is_gone
from bot.reading import SharedReplies
from storage import db as database
from storage.chats import ChatRepository
from storage.coordination import LeaseRepository
from storage.db import storage_fault
from storage.deliveries import DeliveryLedger
from storage.feedback import FeedbackRepository
from storage.follows import FollowRepository
from storage.generated import GeneratedTextRepository
from storage.papers import PaperRepository
from storage.push_runs import PushRunRepository
from storage.searches import SearchRepository
from storage.subscriptions import SubscriptionRepository

if TYPE_CHECKING:
    from bot.arxiv.clients import ArxivClients

logger = logging.getLogger(__name__)

JOB_LEASE = timedelta(minutes=2)
"""How long a job's holder may go silent before another process takes the job over."""


@dataclass
class Services:
    settings: Settings
    db: database.Connection
    chats: ChatRepository
    subscriptions: SubscriptionRepository
    papers: PaperRepository
    ledger: DeliveryLedger
    push_runs: PushRunRepository
    texts: GeneratedTextRepository
    searches: SearchRepository
    llm: LlmClient | None  # None: no model configured
    clock: Clock
    follows: FollowRepository
    feedback: FeedbackRepository
    curation: Curation
    replies: SharedReplies
    ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    enrich_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one enrichment pass at a time
    push_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    push_soon: Callable[[], None] = lambda: None
    """Ask for a push now rather than at the next minute's (the running bot sets it; elsewhere no-op)."""
    # Called with categories a chat just followed, so one nobody followed before is read at once
    # instead of with the next announcement; the application sets it (see bot.jobs.catch_up).
    catch_up: Callable[[Sequence[str]], None] = field(default=lambda categories: None)
    storage_alarm: Throttle = field(default_factory=Throttle)
    unread_categories: set[str] = field(default_factory=set)
    """Followed categories whose listing page and feed both failed in the latest poll: the push waits
    for them (at most AFFILIATION_WAIT), and what they bring later is delivered late."""
    instance: str = field(default_factory=default_owner)
    """This process among those sharing the database: the holder of its job leases."""
    _arxiv: ArxivClients | None = field(default=None, repr=False)
    _sharing: bool = field(default=False, repr=False)  # made by `on_own_connection`: owns only `db`

    @property
    def arxiv(self) -> ArxivClients:
        """The arXiv clients, made on first use: a push never loads the arXiv stack."""
        if self._arxiv is None:
            from bot.arxiv.clients import ArxivClients

            self._arxiv = ArxivClients(self.settings)
        return self._arxiv

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Services]:
        services = await cls.create(settings, clock)
        try:
            yield services
        finally:
            await services.close()

    @classmethod
    async def create(cls, settings: Settings, clock: Clock = utc_now) -> Services:
        db = await database.connect(settings.database, settings.database_busy_timeout, verify=True)
        papers = PaperRepository(db, clock=clock)
        follows = FollowRepository(db)
        feedback = FeedbackRepository(db)
        subscriptions = SubscriptionRepository(db)
        texts = GeneratedTextRepository(db)
        return cls(
            settings=settings,
            db=db,
            chats=ChatRepository(db),
            subscriptions=subscriptions,
            papers=papers,
            ledger=DeliveryLedger(db),
            push_runs=PushRunRepository(db),
            texts=texts,
            searches=SearchRepository(db),
            llm=_llm_client(settings),
            clock=clock,
            follows=follows,
            feedback=feedback,
            curation=Curation(papers, follows, feedback, subscriptions.active_categories, clock),
            replies=SharedReplies(papers, texts),
        )

    @asynccontextmanager
    async def exclusive(self, job: str, lease: timedelta = JOB_LEASE) -> AsyncIterator[bool]:
        """Whether this process does `job` now: True while it holds the job's lease (renewed as it
        works), False when another process sharing the database holds it (then it does not).

        So polling arXiv, planning a push and looking for affiliations run once however many
        instances run.
        """
        leases = LeaseRepository(self.db)
        if not await leases.acquire(job, self.instance, self.clock(), lease):
            holder = await leases.holder(job, self.clock())
            # A process of this host that died holding the lease (killed, crashed) is not waited for.
            if (
                holder is None
                or not owner_is_gone(holder)
                or not await leases.take_over(job, holder, self.instance, self.clock(), lease)
            ):
                logger.debug("%s: %s does it", job, holder)
                yield False
                return

        async def renew() -> None:
            while True:
                await asyncio.sleep(lease.total_seconds() / 3)
                if not await leases.acquire(job, self.instance, self.clock(), lease):
                    logger.warning("%s: the lease went to another process while this one worked", job)

        renewing = asyncio.create_task(renew())
        try:
            yield True
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            try:
                await leases.release(job, self.instance)
            except Exception as error:  # the lease runs out by itself
                if storage_fault(error) is None:
                    raise

    async def on_own_connection(self) -> Services:
        """The same services on a connection of their own, for the push: its statements (planning's
        pages, the ledger's records) then no longer queue in front of replies' on this one. Settings,
        caches, locks and hooks are shared; on SQLite, writes take turns with this connection's
        (`storage.db.connect`'s `beside`). Closing them closes only that connection.
        """
        settings = self.settings
        db = await database.connect(settings.database, settings.database_busy_timeout, beside=self.db)
        return dataclasses.replace(
            self,
            db=db,
            chats=ChatRepository(db),
            subscriptions=SubscriptionRepository(db),
            papers=PaperRepository(db, clock=self.clock),
            ledger=DeliveryLedger(db),
            push_runs=PushRunRepository(db),
            texts=GeneratedTextRepository(db),
            searches=SearchRepository(db),
            follows=FollowRepository(db),
            feedback=FeedbackRepository(db),
            _sharing=True,
        )

    def storage_trouble(self, work: str, error: BaseException) -> bool:
        """Log a database fault that `work` ran into, in one line and at most once a minute.

        False when `error` is no database fault: the caller lets it propagate as the bug it is.
        """
        fault = storage_fault(error)
        if fault is None:
            return False
        if self.storage_alarm.ready():
            held_back, self.storage_alarm.held_back = self.storage_alarm.held_back, 0
            more = f" ({held_back} more since the last such line)" if held_back else ""
            logger.error("%s: the database is %s (%s); will retry%s", work, fault, error, more)
        return True

    async def close(self) -> None:
        if not self._sharing:
            await self.curation.close()
            if self.llm is not None:
                await self.llm.aclose()
            if self._arxiv is not None:
                await self._arxiv.aclose()
        await self.db.close()


def _llm_client(settings: Settings) -> LlmClient | None:
    if not settings.llm_configured:
        return None
    assert settings.llm_base_url is not None and settings.llm_model is not None
    return LlmClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)


SERVICES_KEY = "services"
PUSH_SERVICES_KEY = "push_services"
"""The services the running bot's push works with: on a connection of their own."""
FATAL_KEY = "fatal"


def __getattr__(name: str) -> object:
    """`BotContext` and `stop_for_good`, from `bot.context` on first use: they need PTB's application
    layer (and its scheduler), which a `push` process never loads."""
    if name in ("BotContext", "stop_for_good"):
        from bot import context

        return getattr(context, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
