"""Follows, feedback taps, /saved and the per-chat model through the real bot and the fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest

from bot.arxiv.schedule import ARXIV_TZ
from bot.config import Settings, load_settings
from bot.jobs import BROADCASTER_KEY, POLL_JOB, poll_arxiv
from bot.push.planning import run_push
from tests.announcement import BOTH, DAY, IR_NEW, seed_day
from tests.clock import SteppingClock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram, SentMessage, parse_html
from tests.harness import BotHarness, make_harness
from tests.support import READER, ingested

USER = 21
GROUP = -10021
ADMIN, MEMBER = 31, 32
START = datetime(2026, 11, 24, 0, 1, tzinfo=ARXIV_TZ)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START)


@pytest.fixture
def settings(bot_env: dict[str, str]) -> Settings:
    return load_settings({**bot_env, "CATEGORIES": "IR,LG,CV", "AFFILIATION_WAIT": "0"}, env_file=None)


@pytest.fixture
async def bot(telegram: FakeTelegram, settings: Settings, clock: SteppingClock) -> AsyncIterator[BotHarness]:
    harness = make_harness(telegram, settings, clock=clock)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def ingest(bot: BotHarness, day: date, category: str = "cs.LG") -> None:
    """Run a poll now and wait until it has stored `day`'s announcement of `category`, which a reader
    follows (the bot reads only followed categories)."""
    await bot.send(READER, f"/subscribe {category}")
    for job in bot.application.job_queue.get_jobs_by_name(POLL_JOB):
        job.schedule_removal()
    bot.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
    await ingested(bot, category, day=day)


async def push(bot: BotHarness) -> None:
    await run_push(bot.services, bot.application.bot_data[BROADCASTER_KEY])


def digests(bot: BotHarness, chat_id: int) -> list[SentMessage]:
    return [m for m in bot.telegram.sent_messages(chat_id) if m.visible_text.startswith("arXiv digest")]


def entry_titles(message: SentMessage) -> list[str]:
    """Titles of the numbered entries, in order."""
    return [
        line.split("] ", 1)[1]
        for line in message.visible_text.split("\n")
        if line[:1].isdigit() and ". [" in line.split("] ", 1)[0] + "]"
    ]


def buttons(message: SentMessage) -> dict[str, str]:
    return {button["text"]: button["callback_data"] for button in message.buttons}


# --- follows ------------------------------------------------------------------------------------


async def test_a_followed_authors_paper_comes_first_with_the_reason(bot, arxiv: FakeArxiv, clock):
    seed_day(arxiv)
    await ingest(bot, DAY)
    await bot.send(USER, "/subscribe LG", user_id=USER)
    before = (await bot.send(USER, "/today", user_id=USER)).visible_text
    assert "ItemSage" not in before.split("More papers")[0]  # a cross-list: not featured on its own merits

    reply = await bot.send(USER, '/follow author:"J Leskovec", ItemSage', user_id=USER)
    assert reply.visible_text.startswith("★ Following author:“J Leskovec”, ItemSage.")
    digest = await bot.send(USER, "/today", user_id=USER)
    lines = digest.visible_text.split("\n")
    assert lines[2].startswith("1. [LG] ItemSage: Learning Product Embeddings")
    assert lines[3] == "★ J Leskovec · ★ ItemSage"
    assert "<b>ItemSage</b>: Learning Product Embeddings" in digest.text
    parse_html(digest.text)


async def test_a_followed_author_reaches_beyond_the_chats_categories(bot, arxiv: FakeArxiv):
    seed_day(arxiv)
    await ingest(bot, DAY)
    await ingest(bot, DAY, "cs.IR")
    await bot.send(USER, "/subscribe LG", user_id=USER)
    await bot.send(USER, "/follow author:Turing", user_id=USER)
    digest = await bot.send(USER, "/today", user_id=USER)
    assert "1. [IR] Retrieval study number 0" in digest.visible_text
    assert "★ A Turing · beyond your categories" in digest.visible_text


async def test_follows_are_listed_removed_and_bad_ones_refused(bot):
    await bot.send(USER, '/follow RAG, inst:"Google DeepMind"', user_id=USER)
    again = await bot.send(USER, "/follow rags", user_id=USER)
    assert again.visible_text.startswith("Already following rags.")
    listed = await bot.send(USER, "/follows", user_id=USER)
    assert "★ RAG\n★ inst:“Google DeepMind”" in listed.visible_text
    answer = await bot.press(USER, listed.message_id, buttons(listed)["✖ RAG"], user_id=USER)
    assert answer.params["text"] == "Stopped following RAG"
    assert "RAG\n" not in bot.current(listed).visible_text
    for typed, expected in [
        ("/follow a.*b", "plain words, not patterns"),
        ("/follow " + "x" * 80, "too long to follow"),
        ("/follow author:", "An empty author cannot be followed"),
    ]:
        assert expected in (await bot.send(USER, typed, user_id=USER)).visible_text
    removed = await bot.send(USER, '/unfollow inst:"google deepmind"', user_id=USER)
    assert removed.visible_text == "Stopped following Google DeepMind."
    assert await bot.services.follows.of_chat(USER) == []


async def test_a_topic_that_names_an_author_without_a_colon_gets_the_command_for_the_person(bot):
    reply = await bot.send(USER, "/follow author Yann LeCun, RAG", user_id=USER)
    assert reply.visible_text.splitlines() == [
        "★ Following “author Yann LeCun”, RAG.",
        "Matching papers come first in your digests, marked with ★.",
        "“author Yann LeCun” is followed as words. To follow the author, send /follow author:“Yann LeCun”",
    ]
    person = await bot.send(USER, "/follow author:“Yann LeCun”", user_id=USER)
    assert person.visible_text.startswith("★ Following author:“Yann LeCun”.")


async def test_a_chat_follows_at_most_fifty_things(bot):
    for start in range(0, 50, 10):
        await bot.send(
            USER, "/follow " + ", ".join(f"topic{n}" for n in range(start, start + 10)), user_id=USER
        )
    reply = await bot.send(USER, "/follow one more", user_id=USER)
    assert "Not added: “one more”. A chat follows at most 50" in reply.visible_text
    assert len(await bot.services.follows.of_chat(USER)) == 50


async def test_only_group_admins_change_group_follows(bot):
    bot.telegram.set_admins(GROUP, [ADMIN])
    refused = await bot.send(GROUP, "/follow RAG", user_id=MEMBER, chat_type="supergroup")
    assert "Only this group's administrators" in refused.visible_text
    assert await bot.services.follows.of_chat(GROUP) == []


# --- feedback -----------------------------------------------------------------------------------


async def test_taps_toggle_answer_with_a_toast_and_update_the_keyboard(bot, arxiv: FakeArxiv):
    seed_day(arxiv)
    await ingest(bot, DAY, "cs.IR")
    await bot.send(USER, "/subscribe IR", user_id=USER)
    digest = await bot.send(USER, "/today", user_id=USER)
    assert list(buttons(digest))[:3] == ["1 · 👍", "👎", "🔖"]
    second = buttons(digest)["2 · 👍"]
    answer = await bot.press(USER, digest.message_id, second, user_id=USER)
    assert answer.params["text"] == "👍 More like this"
    assert "2 · 👍 1" in buttons(bot.current(digest))
    assert bot.current(digest).visible_text == digest.visible_text
    answer = await bot.press(USER, digest.message_id, second, user_id=USER)
    assert answer.params["text"] == "👍 removed"
    assert "2 · 👍" in buttons(bot.current(digest))
    await tap(bot, digest, 1, "👎")
    assert list(buttons(bot.current(digest)))[:3] == ["1 · 👍", "👎 1", "🔖"]


async def test_forged_stale_and_other_chats_buttons_are_refused(bot, arxiv: FakeArxiv):
    seed_day(arxiv)
    await ingest(bot, DAY, "cs.IR")
    await bot.send(USER, "/subscribe IR", user_id=USER)
    digest = await bot.send(USER, "/today", user_id=USER)
    other = await bot.send(USER + 1, "/help", user_id=USER + 1)
    shown = buttons(digest)["1 · 👍"]
    for chat, message_id, data in [
        (USER, digest.message_id, f"fb:up:{IR_NEW[-1]}:1"),  # a paper the message does not show
        (USER, digest.message_id, "fb:up:2611.99999:1"),
        (USER, digest.message_id, "fb:up:nonsense:1"),
        (USER + 1, other.message_id, shown),  # this chat's button pressed on another chat's message
        (USER, 999, shown),  # a message the bot no longer has
    ]:
        answer = await bot.press(chat, message_id, data, user_id=chat)
        assert answer.params["text"] == "This button is out of date.", data
    assert await bot.services.feedback.tallies(USER, [IR_NEW[-1], BOTH]) == {}
    assert await bot.services.feedback.tallies(USER + 1, [BOTH]) == {}


async def test_group_members_count_separately(bot, arxiv: FakeArxiv):
    seed_day(arxiv)
    await ingest(bot, DAY, "cs.IR")
    bot.telegram.set_admins(GROUP, [ADMIN])
    await bot.send(GROUP, "/subscribe IR", user_id=ADMIN, chat_type="supergroup")
    digest = await bot.send(GROUP, "/today", user_id=MEMBER, chat_type="supergroup")
    like = buttons(digest)["1 · 👍"]
    await bot.press(GROUP, digest.message_id, like, user_id=ADMIN, chat_type="supergroup")
    await bot.press(GROUP, digest.message_id, like, user_id=MEMBER, chat_type="supergroup")
    assert "1 · 👍 2" in buttons(bot.current(digest))
    await bot.press(GROUP, digest.message_id, like, user_id=ADMIN, chat_type="supergroup")
    assert "1 · 👍 1" in buttons(bot.current(digest))
    again = await bot.send(GROUP, "/today", user_id=MEMBER, chat_type="supergroup")
    assert again.visible_text.split("\n")[2].startswith("<b>Group picks</b>"[3:-4])
    assert "👍 1 · ItemSage" in again.visible_text
    assert "1 · 👍 1" in buttons(again)


async def test_saved_papers_list_export_and_survive_a_restart(telegram, settings, clock, arxiv: FakeArxiv):
    seed_day(arxiv)
    first = make_harness(telegram, settings, clock=clock)
    await first.start()
    try:
        await ingest(first, DAY, "cs.IR")
        await first.send(USER, "/subscribe IR", user_id=USER)
        digest = await first.send(USER, "/today", user_id=USER)
        saves = [button["callback_data"] for button in digest.buttons if button["text"].startswith("🔖")]
        for data in saves[:2]:
            answer = await first.press(USER, digest.message_id, data, user_id=USER)
            assert answer.params["text"].startswith("🔖 Saved")
            clock.advance(seconds=1)
        await first.press(USER, digest.message_id, buttons(digest)["1 · 👍"], user_id=USER)
    finally:
        await first.stop()

    second = make_harness(telegram, settings, clock=clock)
    await second.start()
    try:
        listed = await second.send(USER, "/saved", user_id=USER)
        lines = listed.visible_text.split("\n")
        assert lines[0] == "Saved papers · 2 · page 1 of 1, newest first"
        assert lines[1].startswith("1. Retrieval study number 0")  # saved last
        assert lines[2].startswith("2. ItemSage")
        assert "Nothing saved yet" in (await second.send(USER + 5, "/saved", user_id=USER + 5)).visible_text
        await second.press(USER, listed.message_id, buttons(listed)["BibTeX of all 2"], user_id=USER)
        await second.telegram.wait_for("sendDocument", chat_id=USER)
        (export,) = second.telegram.documents(USER)
        assert export.filename == "saved-papers.bib"
        text = export.content.decode()
        assert text.count("@misc{") == 2 and "eprint = {2611.30000}" in text
        again = await second.send(USER, "/today", user_id=USER)
        assert "1 · 👍 1" in buttons(again)
    finally:
        await second.stop()


def themed_day(arxiv: FakeArxiv, day: date, papers: list[tuple[str, str]]) -> None:
    """An LG announcement of (arXiv id, theme) papers, in id order."""
    abstracts = {
        "graph": "Graph neural networks pass messages between nodes of molecular graphs.",
        "speech": "Speech recognition transcribes spoken audio with acoustic models of phonemes.",
        "robot": "Robot arms learn grasping policies for manipulation from camera images.",
    }
    for arxiv_id, theme in papers:
        arxiv.add_paper(
            arxiv_id, f"A {theme} paper {arxiv_id}", categories=["cs.LG"], abstract=abstracts[theme]
        )
    arxiv.set_announcement("cs.LG", day, [(arxiv_id, "new") for arxiv_id, _ in papers])


async def tap(bot: BotHarness, digest: SentMessage, number: int, emoji: str) -> None:
    rows = digest.reply_markup["inline_keyboard"]
    (row,) = [row for row in rows if row[0]["text"].startswith(f"{number} ·")]
    data = next(button["callback_data"] for button in row if emoji in button["text"])
    await bot.press(USER, digest.message_id, data, user_id=USER)


async def test_taps_change_tomorrows_order(bot, arxiv: FakeArxiv, clock):
    await bot.send(USER, "/subscribe LG", user_id=USER)
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    themed_day(arxiv, days[0], [("2611.00001", "graph"), ("2611.00002", "graph"), ("2611.00003", "speech")])
    clock.advance(minutes=10)
    await ingest(bot, days[0])
    await push(bot)
    (first,) = digests(bot, USER)
    await tap(bot, first, 1, "👍")
    await tap(bot, first, 2, "👍")
    await tap(bot, first, 3, "👎")

    themed_day(arxiv, days[1], [("2611.00011", "graph"), ("2611.00012", "robot"), ("2611.00013", "speech")])
    clock.advance(days=1)
    await ingest(bot, days[1])
    await push(bot)
    second = digests(bot, USER)[-1]
    await tap(bot, second, 1, "🔖")
    await tap(bot, second, 3, "👎")

    third_day = [
        ("2611.00021", "speech"),
        ("2611.00022", "robot"),
        ("2611.00023", "speech"),
        ("2611.00024", "graph"),
    ]
    themed_day(arxiv, days[2], third_day)
    clock.advance(days=1)
    await ingest(bot, days[2])
    await push(bot)
    third = digests(bot, USER)[-1]
    assert entry_titles(third)[0] == "A graph paper 2611.00024"
    assert "similar to papers you liked" in third.visible_text.split("\n")[3]
    model = await bot.send(USER, "/ranking", user_id=USER)
    assert "personal model on: learned from 3 liked or saved and 3 other papers" in model.visible_text

    reset = await bot.send(USER, "/ranking reset", user_id=USER)
    assert reset.visible_text.startswith("Ranking reset")
    today = await bot.send(USER, "/today", user_id=USER)
    assert entry_titles(today)[0] == "A speech paper 2611.00021"
    assert "Saved papers · 1" in (await bot.send(USER, "/saved", user_id=USER)).visible_text
