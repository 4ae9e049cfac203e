"""The digest at announcement time: arXiv's listing page shows the announcement at 20:00 US Eastern
(its feed only after midnight), and subscribers have it within ten minutes, through the real bot
against the fakes, on a virtual clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.arxiv.schedule import ARXIV_TZ
from bot.jobs import BROADCASTER_KEY, POLL_JOB, poll_arxiv
from bot.push.planning import run_push
from tests.announcement import DAY, IR_NEW, seed_day
from tests.clock import SteppingClock
from tests.fakes.arxiv_server import FEED, LISTING, FakeArxiv
from tests.harness import BotHarness, StartBot
from tests.support import planned_poll, wait_until

ANNOUNCEMENT = datetime(2026, 11, 23, 20, 0, tzinfo=ARXIV_TZ)  # Monday evening: Tuesday's papers
USER = 31


async def run_planned_poll(bot: BotHarness, clock: SteppingClock) -> datetime:
    """Move the clock to the planned poll and run it there, as the scheduler would; returns when
    the poll after it is planned."""
    (job,) = bot.application.job_queue.get_jobs_by_name(POLL_JOB)
    clock.set(job.data)
    job.schedule_removal()
    bot.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
    return await planned_poll(bot)


def tuesday_digests(bot: BotHarness) -> list:
    return [
        message
        for message in bot.telegram.sent_messages(USER)
        if message.visible_text.startswith("arXiv digest · Tue 24 Nov 2026")
    ]


async def test_an_announcement_at_20_00_eastern_reaches_subscribers_within_ten_minutes(
    start_bot: StartBot, arxiv: FakeArxiv
):
    clock = SteppingClock(ANNOUNCEMENT - timedelta(minutes=30))
    bot = await start_bot(clock=clock)
    assert await planned_poll(bot) == ANNOUNCEMENT  # nobody follows anything yet: rest until 20:00
    await bot.send(USER, "/subscribe IR")  # read at once: arXiv has nothing for cs.IR yet

    async def caught_up() -> bool:
        return bool(arxiv.requests_to(FEED))

    await wait_until(caught_up, "the newly followed category was not read")
    async with bot.services.ingest_lock:
        pass

    seed_day(arxiv)  # the fake arXiv now knows the papers...
    arxiv.set_announcement("cs.IR", DAY, [(arxiv_id, "new") for arxiv_id in IR_NEW], feed=False)
    arxiv.set_empty_feed("cs.IR")  # ...and shows them on the listing page only, as arXiv does at 20:00

    before = len(arxiv.requests)
    after = await run_planned_poll(bot, clock)
    assert clock() == ANNOUNCEMENT
    assert await bot.services.papers.latest_announcement("cs.IR") == DAY
    assert after == datetime(2026, 11, 24, 0, 5, tzinfo=ARXIV_TZ)  # next: the feeds' turnover
    pages = [request.endpoint for request in arxiv.requests[before:] if request.endpoint in (LISTING, FEED)]
    assert pages == [LISTING]  # one page per category per poll, and no feed needed

    broadcaster = bot.application.bot_data[BROADCASTER_KEY]
    while not tuesday_digests(bot):
        clock.advance(minutes=1)
        assert clock() - ANNOUNCEMENT <= timedelta(minutes=10), "no digest within ten minutes"
        await run_push(bot.services, broadcaster)
    (digest,) = tuesday_digests(bot)
    assert digest.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · IR 14")


async def test_the_turnover_poll_cross_checks_with_the_feed(start_bot: StartBot, arxiv: FakeArxiv):
    clock = SteppingClock(ANNOUNCEMENT)
    seed_day(arxiv)
    arxiv.set_announcement("cs.IR", DAY, [(arxiv_id, "new") for arxiv_id in IR_NEW[:-1]], feed=False)
    arxiv.set_announcement("cs.IR", DAY, [(arxiv_id, "new") for arxiv_id in IR_NEW], listing=False)
    bot = await start_bot(clock=clock)
    await bot.send(USER, "/subscribe IR")

    async def stored() -> bool:
        return await bot.services.papers.latest_announcement("cs.IR") == DAY

    await wait_until(stored, "the listing page was not read")
    await planned_poll(bot)
    assert not [request for request in arxiv.requests_to(FEED)]

    await run_planned_poll(bot, clock)  # 00:05: the feeds have turned over
    listed = await bot.services.papers.listings(["cs.IR"], DAY)
    assert sorted(listing.arxiv_id for _, listing in listed) == sorted(IR_NEW)
    assert len(arxiv.requests_to(FEED)) == 1
