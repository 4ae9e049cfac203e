"""The poll job inside the running bot: ingest at start, then follow arXiv's rhythm."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from bot.arxiv.schedule import ARXIV_TZ, POLL_EVERY
from bot.jobs import POLL_JOB, poll_arxiv
from tests.announcement import DAY, seed_day
from tests.fakes.arxiv_server import FEED, FakeArxiv
from tests.harness import BotHarness, StartBot
from tests.support import planned_poll

TUESDAY_MORNING = datetime(2026, 11, 24, 0, 20, tzinfo=ARXIV_TZ)


@pytest.fixture
def bot_at(start_bot: StartBot) -> Callable[..., Awaitable[BotHarness]]:
    """Start the bot with its clock fixed at a given moment (the job queue itself keeps real time)."""

    def start(now: datetime, **env: str) -> Awaitable[BotHarness]:
        return start_bot(clock=lambda: now, **env)

    return start


def polled(arxiv: FakeArxiv, since: int = 0) -> set[str]:
    return {request.path.rsplit("/", 1)[1] for request in arxiv.requests_to(FEED)[since:]}


async def test_ingests_at_start_then_rests_until_the_next_turnover(bot_at, arxiv):
    seed_day(arxiv)
    bot = await bot_at(TUESDAY_MORNING)
    assert await planned_poll(bot) == datetime(2026, 11, 25, 0, 5, tzinfo=ARXIV_TZ)
    assert await bot.services.papers.latest_announcement("cs.IR") == DAY


async def test_keeps_polling_while_the_announcement_is_due(bot_at):
    bot = await bot_at(TUESDAY_MORNING)
    assert await planned_poll(bot) == TUESDAY_MORNING + POLL_EVERY


async def test_polls_offered_categories_that_are_followed_plus_the_start_up_set(bot_at, arxiv):
    bot = await bot_at(TUESDAY_MORNING, CATEGORIES="IR,LG,cs.DB,cs.NI")
    await planned_poll(bot)
    assert polled(arxiv) == {"cs.IR", "cs.LG"}
    await bot.send(1, "/subscribe cs.DB")
    bot.application.job_queue.get_jobs_by_name(POLL_JOB)[0].schedule_removal()
    before = len(arxiv.requests_to(FEED))
    bot.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
    await planned_poll(bot)
    assert polled(arxiv, since=before) == {"cs.IR", "cs.LG", "cs.DB"}
