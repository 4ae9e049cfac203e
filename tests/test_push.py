"""The daily push inside the running bot, through the fake Telegram and arXiv servers."""

from __future__ import annotations

import asyncio
import gc
import itertools
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.arxiv.schedule import ARXIV_TZ
from bot.core.preferences import DEFAULT_DIGEST_SIZE
from bot.jobs import BROADCASTER_KEY, POLL_JOB, PUSH_JOB, poll_arxiv
from bot.push.planning import SLICE, THREAD_TURN, PushOutcome, plan_push, run_push
from tests.announcement import BOTH, DAY, IR_NEW, LG_NEW, TRICKY, seed_day
from tests.clock import SteppingClock
from tests.fakes.arxiv_server import HTML, FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, StartBot
from tests.support import ingested, polls_done

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
    await polls_done(bot)  # each first follower had its categories read at once: nothing there yet


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


async def test_planning_reads_in_full_only_the_papers_the_digests_show_each_once(
    bot, arxiv, clock, monkeypatch
):
    """Digests are built and ranked on outlines; titles, abstracts and authors are read for what a
    message shows, once however many digests show it."""
    await bot.send(USER, "/subscribe IR LG", user_id=USER)
    await bot.send(OTHER, "/subscribe IR", user_id=OTHER)
    await bot.send(OTHER + 1, "/subscribe IR", user_id=OTHER + 1)
    await bot.send(OTHER + 1, "/size 3", user_id=OTHER + 1)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    read: list[str] = []
    papers = bot.services.papers.papers

    async def reading(arxiv_ids):
        arxiv_ids = list(arxiv_ids)
        read.extend(arxiv_ids)
        return await papers(arxiv_ids)

    monkeypatch.setattr(bot.services.papers, "papers", reading)
    outcome = await push(bot)
    assert outcome.delivered.sent == 3
    assert len(read) == len(set(read)) <= 2 * DEFAULT_DIGEST_SIZE  # of 42 papers listed
    for chat_id in (USER, OTHER, OTHER + 1):
        (digest,) = digests(bot.telegram, chat_id)
        shown = {arxiv_id for arxiv_id in (*IR_NEW, *LG_NEW, BOTH, TRICKY) if arxiv_id in digest.visible_text}
        assert shown and shown <= set(read)


async def test_planning_lets_replies_run_between_two_chats_once_its_slice_is_used_up(bot, arxiv, clock):
    readers = (USER, OTHER, OTHER + 1)
    for chat_id in readers:  # one rendering for all three: nothing else makes planning wait between them
        await bot.send(chat_id, "/subscribe IR", user_id=chat_id)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    turns = 0

    async def reply() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    turns_when_planned: list[int] = []
    replying = asyncio.create_task(reply())
    a_slice_per_reading = itertools.count(step=SLICE).__next__
    await plan_push(
        bot.services,
        DAY,
        dry_run=True,
        on_plan=lambda plan: turns_when_planned.append(turns),
        monotonic=a_slice_per_reading,
    )
    replying.cancel()
    assert len(turns_when_planned) == len(readers)
    assert turns_when_planned == sorted(set(turns_when_planned))


async def test_a_push_makes_no_full_garbage_collection_and_passes_the_thread_lock_often(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    thresholds = gc.get_threshold()
    full_collections = 0
    kept: list[list[int]] = []

    def count(phase: str, info: dict) -> None:
        nonlocal full_collections
        full_collections += phase == "start" and info["generation"] == 2

    def keep_plenty(plan) -> None:  # what would make Python collect everything, many times over
        kept.extend([number] for number in range(500_000))
        switches.append(sys.getswitchinterval())

    switches: list[float] = []
    usual_switch = sys.getswitchinterval()

    gc.callbacks.append(count)
    try:
        outcome = await run_push(bot.services, bot.application.bot_data[BROADCASTER_KEY], on_plan=keep_plenty)
    finally:
        gc.callbacks.remove(count)
    assert outcome.delivered.sent == 1 and kept
    assert full_collections == 0
    assert gc.get_threshold() == thresholds
    assert switches == [THREAD_TURN] and usual_switch > THREAD_TURN, "threads take turns more often"
    assert sys.getswitchinterval() == usual_switch


async def test_the_more_button_opens_the_category_at_its_first_paper_not_shown(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    await push(bot)
    (digest,) = digests(bot.telegram, USER)
    before = len(bot.telegram.sent_messages(USER))
    await bot.press(USER, digest.message_id, digest.buttons[-1]["callback_data"])
    opened = bot.telegram.sent_messages(USER)[before:]
    # The digest showed IR's ten most relevant of 16: the 11th is on page 2 (papers 9 to 16).
    assert len(opened) == 1 and opened[0].visible_text.startswith("cs.IR · Tue 24 Nov 2026 · page 2 of 2")
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


# --- what a chat changes after planning applies until its digest leaves ------------------------

AT_TEN_FIFTY_EIGHT = datetime(2026, 11, 24, 10, 58, tzinfo=UTC)


async def planned_for_later(bot: BotHarness, arxiv: FakeArxiv, clock: SteppingClock) -> None:
    """Ingest the day and plan its push while every subscribed chat's digest is due later."""
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    outcome = await push(bot)
    assert outcome.planned is not None and outcome.delivered.sent == 0


async def unsent(bot: BotHarness, chat_id: int) -> list[tuple[str, str | None]]:
    rows = await bot.services.db.execute_fetchall(
        "SELECT status, last_error FROM deliveries WHERE chat_id = ? ORDER BY id", (chat_id,)
    )
    return [tuple(row) for row in rows]


async def test_an_unsubscribe_before_delivery_time_stops_the_digest_and_others_still_get_theirs(
    bot, arxiv, clock
):
    for chat_id in (USER, OTHER):
        await bot.send(chat_id, "/subscribe IR", user_id=chat_id)
        await bot.send(chat_id, "/time 10:58", user_id=chat_id)
    await planned_for_later(bot, arxiv, clock)
    clock.set(AT_TEN_FIFTY_EIGHT - timedelta(minutes=3))
    await bot.send(USER, "/unsubscribe all", user_id=USER)
    assert await unsent(bot, USER) == [("failed", "dropped: the chat is inactive or follows nothing")]

    clock.set(AT_TEN_FIFTY_EIGHT)
    assert (await push(bot)).delivered.sent == 1
    assert digests(bot.telegram, USER) == []
    assert len(digests(bot.telegram, OTHER)) == 1


async def test_unsubscribing_some_categories_renders_the_unsent_digest_again(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR LG", user_id=USER)
    await bot.send(OTHER, "/subscribe IR CV", user_id=OTHER)  # nothing in CV today
    for chat_id in (USER, OTHER):
        await bot.send(chat_id, "/time 10:58", user_id=chat_id)
    await planned_for_later(bot, arxiv, clock)
    await bot.send(USER, "/unsubscribe LG", user_id=USER)
    await bot.send(OTHER, "/unsubscribe IR", user_id=OTHER)

    clock.set(AT_TEN_FIFTY_EIGHT)
    await push(bot)
    [digest] = digests(bot.telegram, USER)
    assert digest.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · IR 16\n")
    assert [button["text"] for button in digest.buttons][-1:] == ["All IR (16)"]
    assert digests(bot.telegram, OTHER) == []
    assert await unsent(bot, OTHER) == [("failed", "dropped: the chat follows none of its categories")]


async def test_a_changed_size_renders_the_unsent_digest_again(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    await bot.send(USER, "/size 3", user_id=USER)
    await bot.send(USER, "/time 10:58", user_id=USER)
    await planned_for_later(bot, arxiv, clock)
    await bot.send(USER, "/size 10", user_id=USER)

    clock.set(AT_TEN_FIFTY_EIGHT)
    await push(bot)
    [digest] = digests(bot.telegram, USER)
    assert "\n10. [IR]" in digest.visible_text and "\n11. " not in digest.visible_text
    assert "+6 more" in digest.visible_text


async def test_time_now_sends_a_digest_waiting_for_the_evening_at_once(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    await bot.send(USER, "/time 23:00", user_id=USER)
    await planned_for_later(bot, arxiv, clock)
    mark = bot.telegram.mark()
    await bot.send(USER, "/time now", user_id=USER)
    # No push is called here: the change asks the running bot for one.
    await bot.telegram.wait_for(
        "sendMessage",
        chat_id=USER,
        after=mark,
        predicate=lambda call: "arXiv digest" in call.params["text"],
        timeout=10,
    )
    assert len(digests(bot.telegram, USER)) == 1


async def test_a_changed_time_zone_moves_the_unsent_digest(bot, arxiv, clock):
    await bot.send(USER, "/subscribe IR", user_id=USER)
    await bot.send(USER, "/time 18:00", user_id=USER)  # UTC: 18:00 UTC
    await planned_for_later(bot, arxiv, clock)
    await bot.send(USER, "/timezone Asia/Shanghai", user_id=USER)  # 18:00 in Shanghai: 10:00 UTC

    clock.set(datetime(2026, 11, 24, 9, 59, tzinfo=UTC))
    assert (await push(bot)).delivered.sent == 0
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert (await push(bot)).delivered.sent == 1
    assert len(digests(bot.telegram, USER)) == 1


async def test_a_chat_that_blocks_the_bot_before_delivery_gets_nothing_sent(bot, arxiv, clock):
    for chat_id in (USER, OTHER):
        await bot.send(chat_id, "/subscribe IR", user_id=chat_id)
        await bot.send(chat_id, "/time 10:58", user_id=chat_id)
    await planned_for_later(bot, arxiv, clock)
    bot.telegram.block_chat(USER)
    blocked = bot.telegram.push_update(bot.telegram.my_chat_member_update(USER, "member", "kicked"))
    await bot.handled(blocked["update_id"])
    assert await unsent(bot, USER) == [("failed", "dropped: the chat is inactive or follows nothing")]

    clock.set(AT_TEN_FIFTY_EIGHT)
    mark = bot.telegram.mark()
    assert (await push(bot)).delivered.sent == 1
    assert [call.chat_id for call in bot.telegram.calls[mark:] if call.method == "sendMessage"] == [OTHER]


async def test_a_category_unread_when_planned_holds_the_push_then_reaches_its_followers_late(
    bot, arxiv, clock
):
    await subscribe_all(bot)  # USER: IR and LG; GROUP: IR; CHANNEL: LG
    seed_day(arxiv)
    arxiv.set_raw_listing("cs.LG", b"<html><body>Service unavailable</body></html>")
    arxiv.set_raw_feed("cs.LG", b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>")
    clock.advance(minutes=10)
    await ingest_now(bot)
    assert bot.services.unread_categories == {"cs.LG"}

    assert (await push(bot)).planned is None  # LG may still come: the push waits, within AFFILIATION_WAIT
    clock.advance(seconds=600)
    outcome = await push(bot)
    assert outcome.planned is not None and outcome.delivered.sent == 2
    [first] = digests(bot.telegram, USER)
    assert first.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · IR 16\n")
    assert digests(bot.telegram, CHANNEL) == []

    arxiv.set_announcement("cs.LG", DAY, [(arxiv_id, "new") for arxiv_id in LG_NEW] + [(BOTH, "cross")])
    clock.advance(minutes=2)  # the poll that comes back for LG
    await ingest_now(bot)
    await ingested(bot, "cs.LG")
    assert bot.services.unread_categories == set()
    await push(bot)
    first_again, late = digests(bot.telegram, USER)
    assert first_again.message_id == first.message_id
    assert late.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · LG 25 (+1 cross)")
    [whole] = digests(bot.telegram, CHANNEL)  # no news at planning time: its digest goes out now
    assert whole.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · LG 25 (+1 cross)")
    assert len(digests(bot.telegram, GROUP)) == 1  # follows IR only: nothing late for it

    assert (await push(bot)).delivered.sent == 0  # a late category goes out once
    assert len(digests(bot.telegram, USER)) == 2
