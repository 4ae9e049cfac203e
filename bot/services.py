"""Shared resources of one process: settings, the database, its repositories and arXiv clients.

The PTB application opens them in `post_init` and closes them in `post_shutdown`; CLI commands
open the same set with `async with Services.open(settings)`. Handlers and jobs reach them as
`context.services` through `BotContext`, the application's context type.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiosqlite
from telegram.ext import Application, CallbackContext, ExtBot

from bot.arxiv.clients import ArxivClients
from bot.config import Settings
from bot.core.clock import Clock, utc_now
from bot.curation import Curation
from storage import db as database
from storage.chats import ChatRepository
from storage.deliveries import DeliveryLedger
from storage.feedback import FeedbackRepository
from storage.follows import FollowRepository
from storage.papers import PaperRepository
from storage.push_runs import PushRunRepository
from storage.subscriptions import SubscriptionRepository


@dataclass
class Services:
    settings: Settings
    db: aiosqlite.Connection
    chats: ChatRepository
    subscriptions: SubscriptionRepository
    papers: PaperRepository
    ledger: DeliveryLedger
    push_runs: PushRunRepository
    arxiv: ArxivClients
    clock: Clock
    follows: FollowRepository
    feedback: FeedbackRepository
    curation: Curation
    ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    push_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

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
        db = await database.connect(settings.database_path)
        papers = PaperRepository(db, clock=clock)
        follows = FollowRepository(db)
        feedback = FeedbackRepository(db)
        return cls(
            settings=settings,
            db=db,
            chats=ChatRepository(db),
            subscriptions=SubscriptionRepository(db),
            papers=papers,
            ledger=DeliveryLedger(db),
            push_runs=PushRunRepository(db),
            arxiv=ArxivClients(settings),
            clock=clock,
            follows=follows,
            feedback=feedback,
            curation=Curation(papers, follows, feedback, settings.categories, clock),
        )

    async def close(self) -> None:
        await self.curation.close()
        await self.arxiv.aclose()
        await self.db.close()


SERVICES_KEY = "services"
FATAL_KEY = "fatal"


def stop_for_good(application: Application, reason: str) -> None:
    """A failure no retry mends (the token was revoked): stop, and let `run` exit non-zero with `reason`."""
    if FATAL_KEY not in application.bot_data:
        application.bot_data[FATAL_KEY] = reason
        application.stop_running()


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The context handlers and jobs receive: PTB's own, plus this process's services."""

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES_KEY]

    def stop_for_good(self, reason: str) -> None:
        stop_for_good(self.application, reason)
