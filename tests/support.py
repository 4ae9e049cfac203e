"""Helpers shared by the test modules: paths, the test token, waiting on observations, running the
CLI as a process, and chats subscribed straight in the database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import aiosqlite

from bot.context import RUNNING_KEY
from bot.jobs import CATCH_UP_JOB, POLL_JOB
from storage import db as database
from storage.chats import ChatRepository
from storage.subscriptions import SubscriptionRepository
from tests.announcement import DAY
from tests.postgres_server import database_target

if TYPE_CHECKING:
    from tests.harness import BotHarness

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"

TEST_TOKEN = "123456789:TEST-token-abcdefghijklmnopqrstuv"
CLOSED_PORT = "http://127.0.0.1:9"
"""A loopback port nothing listens on: URLs no fake replaced fail at once instead of going out."""

# --- waiting -------------------------------------------------------------------------------------


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, within: float = 10.0, every: float = 0.02
) -> None:
    """Wait for an observation (a request seen by a fake, a job rescheduled), failing with `what`."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(every)


def wait_until_sync(
    condition: Callable[[], bool], what: str, within: float = 10.0, every: float = 0.01
) -> None:
    """wait_until for synchronous tests: blocks the calling thread."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(every)


async def ingested(bot: BotHarness, *categories: str, day: date = DAY) -> None:
    """Wait until the running bot stored `day`'s announcement of each category (cs.IR if none named)
    and its poll is over: the ingest, then the enrichment it starts once the next poll is planned."""
    papers = bot.services.papers
    for category in categories or ("cs.IR",):

        async def stored(category: str = category) -> bool:
            return await papers.latest_announcement(category) == day

        await wait_until(stored, f"the ingest did not store {category}'s announcement of {day}")
    await polls_done(bot)


async def polls_done(bot: BotHarness) -> None:
    """Wait until no poll or catch-up read (ingest, then enrichment) runs or is about to."""

    async def done() -> bool:
        running = set(bot.application.bot_data.get(RUNNING_KEY, {}).values())
        queue = bot.application.job_queue
        due = [job for job in queue.get_jobs_by_name(POLL_JOB) if job.data is None]
        busy = bot.services.ingest_lock.locked() or bot.services.enrich_lock.locked()
        return not (busy or running & {POLL_JOB, CATCH_UP_JOB} or due or queue.get_jobs_by_name(CATCH_UP_JOB))

    await wait_until(done, "a poll did not finish")


READER = 999_001
"""A chat that follows what a test needs read, so the bot (which reads only followed categories) does."""


async def followed(bot: BotHarness, *categories: str, day: date = DAY) -> None:
    """A chat follows `categories` (cs.IR if none named): the bot reads them at once; wait for it."""
    await bot.send(READER, "/subscribe " + " ".join(categories or ("cs.IR",)))
    await ingested(bot, *categories, day=day)


async def planned_poll(bot: BotHarness) -> datetime:
    """Wait until the poll that just ran rescheduled itself; return when it plans the next one."""

    async def rescheduled() -> bool:
        jobs = bot.application.job_queue.get_jobs_by_name(POLL_JOB)
        return bool(jobs) and jobs[0].data is not None

    await wait_until(rescheduled, "the poll job did not reschedule itself")
    return bot.application.job_queue.get_jobs_by_name(POLL_JOB)[0].data


# --- the CLI as a process ------------------------------------------------------------------------


def bot_command(*args: str) -> list[str]:
    """`python -m bot ARGS` with this interpreter."""
    return [sys.executable, "-m", "bot", *args]


def cli_env(env: dict[str, str], *, inherit: bool = True) -> dict[str, str]:
    """The process environment for the CLI: this repository importable, then `env` on top of
    os.environ (or of nothing, with inherit=False)."""
    return {**(os.environ if inherit else {}), "PYTHONPATH": str(REPO), **env}


def run_cli(
    env: dict[str, str], *args: str, cwd: Path, timeout: float = 60, inherit: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` to the end; its output is captured as text."""
    return subprocess.run(
        bot_command(*args),
        cwd=cwd,
        env=cli_env(env, inherit=inherit),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(env: dict[str, str], *args: str, cwd: Path, log: IO) -> subprocess.Popen[bytes]:
    """Start `python -m bot ARGS` in the background, stdout and stderr both going to `log`."""
    return subprocess.Popen(
        bot_command(*args), cwd=cwd, env=cli_env(env), stdout=log, stderr=subprocess.STDOUT
    )


# --- the database --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_database(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """The bot's database at `path` (migrated, on the backend under test), closed on the way out."""
    connection = await database.connect(database_target(path))
    try:
        yield connection
    finally:
        await connection.close()


async def subscribe_chat(
    db: aiosqlite.Connection,
    chat_id: int,
    categories: Iterable[str],
    at: datetime,
    *,
    chat_type: str = "private",
    language: str | None = None,
) -> None:
    """Register a chat and subscribe it to `categories`, both at `at`."""
    await ChatRepository(db).register(chat_id, chat_type, None, language, at)
    await SubscriptionRepository(db).add(chat_id, list(categories), at)


async def subscribe_chats(
    path: Path, chat_ids: Iterable[int], categories: Iterable[str], at: datetime, **options: str | None
) -> None:
    """subscribe_chat for each chat, in the database at `path`."""
    categories = list(categories)
    async with open_database(path) as db:
        for chat_id in chat_ids:
            await subscribe_chat(db, chat_id, categories, at, **options)
