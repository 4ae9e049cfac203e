"""The daily push inside the running bot, through the fake Telegram and arXiv servers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.arxiv.schedule import ARXIV_TZ
from bot.jobs import BROADCASTER_KEY, POLL_JOB, PUSH_JOB, poll_arxiv
from bot.push.planning import PushOutcome, run_push
from tests.announcement import DAY, seed_day
from tests.clock import SteppingClock
from tests.fakes.arxiv_server import HTML, FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, StartBot
from tests.support import ingested

BEFORE_ANNOUNCEMENT = datetime(2026, 11, 24, 0, 1, tzinfo=ARXIV_TZ)
USER = 11
OTHER = 12
GROUP = -10044
CHANNEL = -10055
ADMIN = 99


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(BEFORE_ANNOUNCEMENT)


@pytest.fixture
async def bot(start_bot: StartBot, clock: SteppingClock) -> BotHarness:
    return await start_bot(clock=clock, CATEGORIES="IR,LG,CV", AFFILIATION_WAIT="600", ARXIV_RETRIES="1")


async def ingest_now(bot: BotHarness) -> None:
    """Run a poll now (as the scheduler would) and wait until it has stored the announcement."""
    for job in bot.application.job_queue.get_jobs_by_name(POLL_JOB):
        job.schedule_removal()
    bot.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
    await ingested(bot, "cs.IR")


async def push(bot: BotHarness) -> PushOutcome:
    return await run_push(bot.services, bot.application.bot_data[BROADCASTER_KEY])


async def subscribe_all(bot: BotHarness) -> None:
    await bot.send(USER, "/subscribe IR LG", user_id=USER)
    await bot.send(OTHER, "/subscribe CV", user_id=OTHER)
    bot.telegram.set_admins(GROUP, [ADMIN])
    await bot.send(GROUP, "/subscribe IR", user_id=ADMIN, chat_type="supergroup", title="IR reading group")
    bot.telegram.push_update(bot.telegram.channel_post_update(CHANNEL, "/subscribe LG", title="LG papers"))
    await bot.telegram.wait_for("sendMessage", chat_id=CHANNEL)


def digests(telegram: FakeTelegram, chat_id: int) -> list:
    return [m for m in telegram.sent_messages(chat_id) if m.visible_text.startswith("arXiv digest")]


async def test_a_normal_day_reaches_every_chat_once(bot, arxiv, clock):
    await subscribe_all(bot)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)

    outcome = await push(bot)
    assert outcome.planned is not None and outcome.planned.announced == DAY
    assert outcome.planned.chats == 3 and outcome.planned.without_news == 1  # nothing in CV today
    assert outcome.delivered.sent == 3

    private = digests(bot.telegram, USER)
    assert len(private) == 1
    assert private[0].visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · IR 16 · LG 25 (+1 cross)")
    assert "+31 more" in private[0].visible_text
    assert [button["text"] for button in private[0].buttons][-2:] == ["All IR (16)", "All LG (26)"]
    assert [button["text"] for button in private[0].buttons][:3] == ["1 · 👍", "👎", "🔖"]
    assert private[0].link_preview_options == {"is_disabled": True}
    group = digests(bot.telegram, GROUP)
    assert (
        len(group) == 1
        and "IR 16" in group[0].visible_text
        and "LG" not in group[0].visible_text.split("\n")[0]
    )
    assert len(digests(bot.telegram, CHANNEL)) == 1
    assert digests(bot.telegram, OTHER) == []

    again = await push(bot)
    assert again.planned is None and again.delivered.sent == 0
    assert len(digests(bot.telegram, USER)) == 1


async def test_the_more_button_opens_the_category_below_the_digest(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    await push(bot)
    (digest,) = digests(bot.telegram, USER)
    before = len(bot.telegram.sent_messages(USER))
    await bot.press(USER, digest.message_id, digest.buttons[-1]["callback_data"])
    opened = bot.telegram.sent_messages(USER)[before:]
    assert len(opened) == 1 and opened[0].visible_text.startswith("cs.IR · Tue 24 Nov 2026 · page 1 of 2")
    assert bot.current(digest).edit_count == 0


async def test_a_chat_that_subscribes_after_the_announcement_starts_with_the_next(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    clock.advance(minutes=1)
    reply = await bot.send(OTHER, "/subscribe IR", user_id=OTHER)
    assert "starts with the next arXiv announcement; /today shows the latest one now" in reply.visible_text
    await push(bot)
    assert len(digests(bot.telegram, USER)) == 1
    assert digests(bot.telegram, OTHER) == []
    today = await bot.send(OTHER, "/today", user_id=OTHER)
    assert today.visible_text.startswith("arXiv digest · Tue 24 Nov 2026")


async def test_a_preferred_time_in_another_zone_waits_past_midnight(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    await bot.send(OTHER, "/subscribe IR", user_id=OTHER)
    await bot.send(OTHER, "/timezone Asia/Shanghai", user_id=OTHER)
    saved = await bot.send(OTHER, "/time 08:30", user_id=OTHER)
    assert "08:30 (Asia/Shanghai)" in saved.visible_text
    seed_day(arxiv)
    clock.set(datetime(2026, 11, 24, 5, 30, tzinfo=UTC))  # 13:30 in Shanghai: today's 08:30 has passed
    await ingest_now(bot)

    await push(bot)
    assert len(digests(bot.telegram, USER)) == 1
    assert digests(bot.telegram, OTHER) == []

    clock.set(datetime(2026, 11, 25, 0, 29, tzinfo=UTC))  # 08:29 on Wednesday in Shanghai
    assert (await push(bot)).delivered.sent == 0
    clock.set(datetime(2026, 11, 25, 0, 31, tzinfo=UTC))
    assert (await push(bot)).delivered.sent == 1
    assert len(digests(bot.telegram, OTHER)) == 1


async def test_the_push_waits_a_bounded_time_for_affiliations(bot, arxiv: FakeArxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    arxiv.fail(HTML, 503, times=None)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    clock.advance(minutes=9)
    waiting = await push(bot)
    assert waiting.planned is None and digests(bot.telegram, USER) == []
    clock.advance(minutes=2)  # past AFFILIATION_WAIT (600 s) after the ingest
    assert (await push(bot)).delivered.sent == 1
    assert "[University of Oxford & Google DeepMind]" in digests(bot.telegram, USER)[0].visible_text


async def test_the_push_job_catches_up_after_downtime_instead_of_skipping(bot):
    (job,) = bot.application.job_queue.get_jobs_by_name(PUSH_JOB)
    assert job.job.coalesce is True
    assert job.job.misfire_grace_time >= 3600
    assert job.job.max_instances == 1
