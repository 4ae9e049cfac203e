"""Paper lookup as a user meets it: /paper, pasted ids and links, bad input, and the export API's
one request every few seconds shared by everyone, through the fake Telegram and arXiv servers."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from storage.models import Generated
from tests.announcement import BOTH, seed_day
from tests.fakes.arxiv_server import API, FakeArxiv
from tests.harness import BotHarness, StartBot
from tests.support import followed, wait_until

USER = 4001
GROUP = -100777
ITEMSAGE = "2205.11728"


@pytest.fixture
def arxiv(arxiv: FakeArxiv) -> FakeArxiv:
    arxiv.add_paper(
        ITEMSAGE,
        "ItemSage: Learning Product Embeddings for Shopping Recommendations at Pinterest",
        authors=[("Paul Baltescu", ["Pinterest"]), ("Haoyu Chen", ["Pinterest"]), "Jure Leskovec"],
        categories=["cs.IR", "cs.LG"],
        comment="Accepted at KDD 2022",
        abstract="Learned embeddings for products are an important building block. " * 12,
        version=2,
    )
    arxiv.add_paper("hep-th/9901001", "An old-style paper", categories=["hep-th"])
    arxiv.add_paper(
        "2301.00042",
        "A withdrawn result",
        comment="This paper has been withdrawn by the author due to an error in Lemma 2",
    )
    return arxiv


async def test_a_pasted_link_returns_its_paper_in_full(bot: BotHarness, arxiv: FakeArxiv):
    reply = await bot.send(USER, f"have you seen https://arxiv.org/abs/{ITEMSAGE}v1 ?")
    text = reply.visible_text
    assert text.startswith("You asked for v1; this is v2, the latest.\nItemSage: Learning Product Embeddings")
    assert (
        "P Baltescu, H Chen, J Leskovec\n[Pinterest]\nAffiliations from the export API (as submitted)\n"
        "Accepted at KDD 2022"
    ) in text
    assert "cs.IR · cs.LG" in text
    quote = next(entity for entity in reply.entities if entity["type"] == "expandable_blockquote")
    assert quote["length"] > 700  # the whole abstract, collapsed
    links = [entity["url"] for entity in reply.entities if entity["type"] == "text_link"]
    assert links[-3:] == [
        f"https://arxiv.org/abs/{ITEMSAGE}",
        f"https://arxiv.org/pdf/{ITEMSAGE}v2",
        f"https://arxiv.org/html/{ITEMSAGE}v2",
    ]
    assert [request.ids for request in arxiv.requests_to(API)] == [[ITEMSAGE]]

    again = await bot.send(USER, f"/paper {ITEMSAGE}")  # stored now: no second request
    assert again.visible_text.startswith("ItemSage") and len(arxiv.requests_to(API)) == 1


async def test_a_stored_paper_is_answered_without_arxiv(bot: BotHarness, arxiv: FakeArxiv):
    seed_day(arxiv)
    await followed(bot, "cs.IR")
    before = len(arxiv.requests_to(API))
    reply = await bot.send(USER, f"arXiv:{BOTH}")
    assert reply.visible_text.startswith("ItemSage")
    assert len(arxiv.requests_to(API)) == before


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("/paper 2612.99999", "arXiv has no paper 2612.99999."),
        ("/paper 2613.00001", "“2613.00001” is not an arXiv id."),
        ("/paper hello", "“hello” is not an arXiv id."),
        ("/paper", "Which paper?"),
        ("/paper https://example.com/paper.pdf", "That link is not on arxiv.org."),
        (f"https://www.alphaxiv.org/abs/{ITEMSAGE}", "That link is not on arxiv.org."),
        ("https://arxiv.org/list/cs.IR/new", "That arXiv link names no paper."),
        ("hep-th/9901001", "An old-style paper"),
        ("/paper 2301.00042", "A withdrawn result\n⚠️ Withdrawn by its authors."),
        ("good morning " * 300, "Send /today for the latest papers"),
    ],
)
async def test_every_kind_of_input_gets_a_clear_answer(bot: BotHarness, text: str, answer: str):
    reply = await bot.send(USER, text)
    assert reply.visible_text.startswith(answer) or answer in reply.visible_text


async def test_arxiv_down_is_said_plainly(start_bot: StartBot, arxiv: FakeArxiv):
    bot = await start_bot(ARXIV_RETRIES="1")
    arxiv.fail(API, 503, times=None)
    reply = await bot.send(USER, f"/paper {ITEMSAGE}")
    assert reply.visible_text.startswith(f"arXiv could not be reached just now, so {ITEMSAGE}")


async def test_in_groups_only_messages_that_mention_the_bot_are_read(bot: BotHarness):
    assert await bot.quiet(GROUP, f"look: {ITEMSAGE}", chat_type="supergroup") == []
    reply = await bot.send(GROUP, f"@{bot.telegram.bot_username} {ITEMSAGE}", chat_type="supergroup")
    assert reply.visible_text.startswith("ItemSage")


async def test_lookups_from_many_chats_take_turns_and_a_waiting_chat_is_told(
    start_bot: StartBot, arxiv: FakeArxiv
):
    bot = await start_bot(ARXIV_REQUEST_DELAY="1")
    api = bot.services.arxiv.api
    arxiv.slow(API, 1.5, times=1)
    for chat, paper in ((1, ITEMSAGE), (2, "hep-th/9901001")):
        bot.telegram.push_update(bot.telegram.message_update(chat, paper))

    async def two_in_line() -> bool:
        return api.expected_wait() >= 2

    await wait_until(two_in_line, "the first two lookups did not queue")
    (notice, *_) = await bot.exchange(3, "2301.00042")
    assert notice.visible_text.startswith("Looking up 2301.00042 on arXiv, which answers one request every 1")
    assert "about 2 seconds" in notice.visible_text

    async def answered() -> bool:
        return bot.current(notice).visible_text.startswith("A withdrawn result")

    await wait_until(answered, "the waiting chat's notice was not replaced by its paper")
    starts = [request.at for request in arxiv.requests_to(API)]
    assert len(starts) == 3 and all(later - earlier >= 0.9 for earlier, later in pairwise(starts))


async def test_a_chinese_chat_reads_a_paper_in_full_with_chinese_labels(bot: BotHarness):
    await bot.send(USER, "/lang zh")
    reply = await bot.send(USER, "/paper 2301.00042")
    assert reply.visible_text.startswith("A withdrawn result\n⚠️ 作者已撤回此论文。")


async def test_a_paper_shows_the_models_text_in_the_chats_language_once_one_was_accepted(bot: BotHarness):
    await bot.send(USER, "/lang zh")
    first = await bot.send(USER, f"/paper {ITEMSAGE}")  # looked up on arXiv and stored
    assert "AI ·" not in first.visible_text
    written = Generated("为购物推荐学习商品嵌入。", "ItemSage：Pinterest 的商品嵌入")
    await bot.services.texts.record(ITEMSAGE, "zh", "a-model", datetime.now(UTC), generated=written)
    again = await bot.send(USER, f"/paper {ITEMSAGE}")
    lines = again.visible_text.splitlines()
    assert "AI · ItemSage：Pinterest 的商品嵌入：为购物推荐学习商品嵌入。" in lines
    assert lines.index("AI · ItemSage：Pinterest 的商品嵌入：为购物推荐学习商品嵌入。") < lines.index(
        "备注：Accepted at KDD 2022"
    )
    english = await bot.send(USER + 1, f"/paper {ITEMSAGE}")
    assert "AI ·" not in english.visible_text  # no English text was accepted for it
