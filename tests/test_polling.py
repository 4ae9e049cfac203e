"""The poll job inside the running bot: only followed categories, at arXiv's rhythm, and a category
followed for the first time read at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest

from bot.arxiv.schedule import ARXIV_TZ, POLL_SOON
from bot.jobs import POLL_JOB, poll_arxiv
from tests.announcement import DAY, seed_day
from tests.fakes.arxiv_server import FEED, LISTING, FakeArxiv
from tests.harness import BotHarness, StartBot
from tests.support import ingested, planned_poll, subscribe_chats, wait_until

TUESDAY_MORNING = datetime(2026, 11, 24, 0, 20, tzinfo=ARXIV_TZ)
MONDAY_EVENING = datetime(2026, 11, 23, 20, 0, tzinfo=ARXIV_TZ)
USER = 1


@pytest.fixture
def bot_at(start_bot: StartBot) -> Callable[..., Awaitable[BotHarness]]:
    """Start the bot with its clock fixed at a given moment (the job queue itself keeps real time)."""

    def start(now: datetime, **env: str) -> Awaitable[BotHarness]:
        return start_bot(clock=lambda: now, **env)

    return start


def polled(arxiv: FakeArxiv, endpoint: str = LISTING, since: int = 0) -> list[str]:
    return [request.path.split("/")[2] for request in arxiv.requests_to(endpoint)[since:]]


async def test_follows_nobody_reads_nothing_and_a_first_follower_gets_the_category_at_once(bot_at, arxiv):
    seed_day(arxiv)
    bot = await bot_at(TUESDAY_MORNING)
    assert await planned_poll(bot) == datetime(2026, 11, 24, 20, 0, tzinfo=ARXIV_TZ)
    assert arxiv.requests == []

    await bot.send(USER, "/subscribe IR")
    await ingested(bot, "cs.IR")
    assert polled(arxiv) == ["cs.IR"]
    assert polled(arxiv, FEED) == ["cs.IR"]  # past the feeds' turnover: read too, as a cross-check

    await bot.send(USER, "/subscribe IR LG")  # IR is known: only LG is new to the bot
    await ingested(bot, "cs.LG")
    assert polled(arxiv) == ["cs.IR", "cs.LG"]


async def test_ingests_followed_categories_at_start_then_rests_until_the_next_announcement(
    bot_at, arxiv, bot_env
):
    seed_day(arxiv)
    await subscribe_chats(Path(bot_env["DATABASE_PATH"]), [USER], ["cs.IR", "stat.ML"], TUESDAY_MORNING)
    bot = await bot_at(TUESDAY_MORNING)
    assert await planned_poll(bot) == datetime(2026, 11, 24, 20, 0, tzinfo=ARXIV_TZ)
    assert await bot.services.papers.latest_announcement("cs.IR") == DAY
    assert sorted(polled(arxiv)) == ["cs.IR", "stat.ML"]


async def test_keeps_polling_every_two_minutes_from_20_00_until_the_announcement(bot_at, arxiv, bot_env):
    await subscribe_chats(Path(bot_env["DATABASE_PATH"]), [USER], ["cs.IR"], MONDAY_EVENING)
    bot = await bot_at(MONDAY_EVENING)
    assert await planned_poll(bot) == MONDAY_EVENING + POLL_SOON
    assert polled(arxiv) == ["cs.IR"] and polled(arxiv, FEED) == ["cs.IR"]  # no page yet: the feed tried


async def test_an_unfollowed_category_is_no_longer_read(bot_at, arxiv, bot_env):
    seed_day(arxiv)
    await subscribe_chats(Path(bot_env["DATABASE_PATH"]), [USER], ["cs.IR", "cs.LG"], TUESDAY_MORNING)
    bot = await bot_at(TUESDAY_MORNING)
    await planned_poll(bot)
    await bot.send(USER, "/unsubscribe LG")
    bot.application.job_queue.get_jobs_by_name(POLL_JOB)[0].schedule_removal()
    before = len(arxiv.requests_to(LISTING))
    bot.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)

    async def polled_again() -> bool:
        return len(arxiv.requests_to(LISTING)) > before

    await wait_until(polled_again, "the poll did not run")
    await planned_poll(bot)
    assert polled(arxiv, since=before) == ["cs.IR"]
