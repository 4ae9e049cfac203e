"""Chats without personal signals share one rendered digest, which is never served stale: a found
affiliation, an accepted summary or a new announcement shows at once, and a chat's own ranking is
never kept for the others."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.core.i18n import Language
from bot.core.keyboards import feedback_rows
from bot.core.render import RenderedMessage
from bot.core.replies import DigestReply, digest_reply
from bot.curation import Curation
from bot.locales import translation
from bot.reading import SharedReplies, with_full_papers, with_generated_texts
from storage.chats import ChatRepository
from storage.feedback import LIKE, FeedbackRepository
from storage.follows import FollowRepository
from storage.generated import GeneratedTextRepository
from storage.models import AnnounceType, Author, Generated, Paper
from storage.papers import PaperRepository
from tests.support import open_database

DAY = date(2025, 4, 8)
NEXT_DAY = date(2025, 4, 9)
NOW = datetime(2025, 4, 8, 1, 0, tzinfo=UTC)
CATEGORIES = ("cs.CL", "cs.CV")
LIMIT = 10
ENGLISH = translation(Language.EN)
CHINESE = translation(Language.ZH)
GROUP = -100


def paper(arxiv_id: str, category: str, title: str) -> Paper:
    return Paper(arxiv_id, 1, title, "An abstract.", (Author("Ada Lovelace"),), (category,), category)


@pytest.fixture
def papers(db) -> PaperRepository:
    return PaperRepository(db)


@pytest.fixture
def texts(db) -> GeneratedTextRepository:
    return GeneratedTextRepository(db)


@pytest.fixture
def feedback(db) -> FeedbackRepository:
    return FeedbackRepository(db)


@pytest.fixture
async def curation(db, papers, feedback):
    await papers.store_announcement(
        "cs.CL",
        DAY,
        [(paper(f"2504.0000{n}", "cs.CL", f"Parsing {n}"), AnnounceType.NEW) for n in range(1, 5)],
    )
    chats = ChatRepository(db)
    for chat_id in (1, 2, 3, GROUP):
        await chats.register(chat_id, "supergroup" if chat_id < 0 else "private", None, None, NOW)

    async def ingested() -> list[str]:
        return list(CATEGORIES)

    store = Curation(papers, FollowRepository(db), feedback, ingested, lambda: NOW)
    yield store
    await store.close()


async def shared_reply(curation: Curation, replies: SharedReplies, chat_id: int, announced: date = DAY):
    ranked = await curation.personalize(chat_id, await curation.digest(CATEGORIES, announced))
    return await replies.reply(ranked, LIMIT, ENGLISH, shared=curation.is_shared(ranked))


async def fresh_texts(curation, papers, texts, chat_id: int, tr=ENGLISH) -> list[str]:
    """The messages as /today made them before renderings were shared: loaded and rendered anew."""
    ranked = await curation.personalize(chat_id, await curation.digest(CATEGORIES, DAY))
    digest = await with_full_papers(papers, ranked, LIMIT)
    digest = await with_generated_texts(texts, digest, tr.language, LIMIT)
    return [message.text for message in digest_reply(digest, LIMIT, tr.digest_words()).messages]


def texts_of(reply) -> list[str]:
    return [message.text for message in reply.messages]


async def test_chats_without_signals_share_one_reply_with_the_text_of_a_fresh_rendering(
    curation, papers, texts
):
    replies = SharedReplies(papers, texts)
    first = await shared_reply(curation, replies, 1)
    assert await shared_reply(curation, replies, 2) is first
    assert texts_of(first) == await fresh_texts(curation, papers, texts, 2)
    chinese_ranked = await curation.personalize(2, await curation.digest(CATEGORIES, DAY))
    chinese = await replies.reply(chinese_ranked, LIMIT, CHINESE, shared=True)
    assert texts_of(chinese) == await fresh_texts(curation, papers, texts, 2, CHINESE)
    assert texts_of(chinese) != texts_of(first)


async def test_an_affiliation_found_shows_at_once(curation, papers, texts):
    replies = SharedReplies(papers, texts)
    before = await shared_reply(curation, replies, 1)
    assert "Sorbonne" not in before.messages[0].text
    await papers.set_author_affiliations("2504.00001", [Author("Ada Lovelace", ("Sorbonne",))])
    after = await shared_reply(curation, replies, 2)
    assert "Sorbonne" in after.messages[0].text
    assert texts_of(after) == await fresh_texts(curation, papers, texts, 2)


async def test_an_accepted_summary_shows_at_once(curation, papers, texts):
    replies = SharedReplies(papers, texts)
    await shared_reply(curation, replies, 1)
    summary = Generated("A short summary of the parsing paper.", None)
    await texts.record("2504.00001", Language.EN.value, "model", NOW, generated=summary)
    after = await shared_reply(curation, replies, 2)
    assert summary.summary in after.messages[0].text


async def test_a_summary_another_instance_accepted_shows_at_once(curation, papers, texts, tmp_path: Path):
    replies = SharedReplies(papers, texts)
    before = await shared_reply(curation, replies, 1)
    summary = Generated("A short summary another instance's model wrote.", None)
    async with open_database(tmp_path / "test.sqlite3") as other:
        await GeneratedTextRepository(other).record("2504.00001", "en", "model", NOW, generated=summary)
    after = await shared_reply(curation, replies, 2)
    assert after is not before
    assert summary.summary in after.messages[0].text
    assert texts_of(after) == await fresh_texts(curation, papers, texts, 2)


async def test_a_new_announcement_and_new_papers_in_it_show_at_once(curation, papers, texts):
    replies = SharedReplies(papers, texts)
    await shared_reply(curation, replies, 1)
    await papers.store_announcement(
        "cs.CV", DAY, [(paper("2504.00009", "cs.CV", "Segmentation"), AnnounceType.NEW)]
    )
    await curation.settled()
    assert "Segmentation" in (await shared_reply(curation, replies, 2)).messages[0].text
    await papers.store_announcement(
        "cs.CL", NEXT_DAY, [(paper("2504.00010", "cs.CL", "Tomorrow's parsing"), AnnounceType.NEW)]
    )
    later = await shared_reply(curation, replies, 2, NEXT_DAY)
    assert "Tomorrow's parsing" in later.messages[0].text
    assert "Segmentation" not in later.messages[0].text


async def test_a_like_elsewhere_reranks_and_renders_again(curation, papers, texts, feedback):
    replies = SharedReplies(papers, texts)
    before = await shared_reply(curation, replies, 1)
    await feedback.tap(3, 3, "2504.00004", LIKE, [], NOW)
    after = await shared_reply(curation, replies, 2)
    assert after is not before
    assert texts_of(after) == await fresh_texts(curation, papers, texts, 2)


async def test_a_chats_own_ranking_is_never_kept_for_the_others(db, curation, papers, texts):
    replies = SharedReplies(papers, texts)
    await FollowRepository(db).add(3, [("topic", "Parsing 3", "parsing 3")], NOW, limit=50)
    own = await shared_reply(curation, replies, 3)
    assert "★ Parsing 3" in own.messages[0].text
    plain = await shared_reply(curation, replies, 1)
    assert "★" not in plain.messages[0].text
    assert await shared_reply(curation, replies, 3) is not own


async def test_a_group_shares_the_ranking_until_its_members_pick_papers(curation, feedback):
    digest = await curation.digest(CATEGORIES, DAY)
    plain = await curation.personalize(1, digest)
    assert await curation.personalize(GROUP, digest, group=True) is plain
    assert curation.is_shared(plain)
    await feedback.tap(GROUP, 7, "2504.00002", LIKE, [], NOW)
    picked = await curation.personalize(GROUP, digest, group=True)
    assert picked.picks and not curation.is_shared(picked)


def test_keyboards_carry_the_chats_counts_and_the_more_buttons_under_the_last_message():
    first, second = ((1, "2504.00001"),), ((2, "2504.00002"),)
    more = {"text": "All CL (4)", "callback_data": "open"}
    reply = DigestReply((RenderedMessage("one", first), RenderedMessage("two", second)), ((more,),))
    tallies = {"2504.00002": (2, 0, 1)}
    assert reply.keyboards(tallies) == [feedback_rows(first, {}), [*feedback_rows(second, tallies), [more]]]
    assert reply.keyboards(tallies)[1][0][0]["text"] == "2 · 👍 2"
    assert DigestReply((RenderedMessage("alone", ()),), ()).keyboards({}) == [[]]
