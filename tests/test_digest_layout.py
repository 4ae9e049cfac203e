"""The pushed digest in each chat's language: a Chinese chat gets the reference's bilingual layout
(legend, overview, the model's Chinese titles and summaries over the English abstracts), an English
chat the digest it always had plus the model's summaries; without a model both go out in the same
layout minus the generated lines.

The model's answers come from the loopback OpenAI-compatible fake through the real writing pass;
the golden file is compared exactly (`UPDATE_GOLDEN=1` rewrites it, see tests/test_render.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.announcement import seed_day
from tests.clock import SteppingClock
from tests.fakes.openai_server import FakeOpenAI, well_behaved
from tests.harness import BotHarness, StartBot
from tests.test_push import BEFORE_ANNOUNCEMENT, OTHER, USER, ingest_now, push
from tests.test_render import GOLDEN, MESSAGE_BREAK, assert_golden

CHINESE_CHAT = OTHER
ENGLISH_CHAT = USER

# The reference post's Chinese title and the opening of its summary for this paper (a Chinese
# "daily arXiv digest" post, reposted from 爱可可爱生活, of the cs announcement of 24 May 2022).
ITEMSAGE_ZH = {
    "title": "Pinterest购物推荐产品嵌入学习",
    "summary": "产品嵌入学习是网络学习电子商务推荐系统的一个重要构件。Pinterest建立了一套名为ItemSage的"
    "产品嵌入，以在所有购物使用案例中提供相关推荐，包括基于用户、图片和搜索的推荐。",
}


def answer_per_paper(messages: list[dict[str, str]]) -> str:
    """Chinese titles of their own for each paper (the reference's for ItemSage); English as usual."""
    if not any("\u4e00" <= char <= "\u9fff" for char in messages[0]["content"]):
        return well_behaved(messages)
    title = json.loads(messages[-1]["content"])["title"]
    if title.startswith("ItemSage"):
        return json.dumps(ITEMSAGE_ZH, ensure_ascii=False)
    number = re.search(r"\d+", title)
    name = f"检索研究之{number.group()}" if number else "粗体与公式相遇"
    summary = f"本文是关于{name}的工作，提出了一种新的检索方法。实验表明该方法有效。"
    return json.dumps({"title": name, "summary": summary}, ensure_ascii=False)


@pytest.fixture
def model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer=answer_per_paper) as fake:
        yield fake


async def pushed(start_bot: StartBot, arxiv, **settings: str) -> tuple[BotHarness, dict[str, str]]:
    """An English and a Chinese chat following IR, the seeded day ingested and pushed: each chat's
    digest as sent (HTML), messages joined by MESSAGE_BREAK."""
    clock = SteppingClock(BEFORE_ANNOUNCEMENT)
    bot = await start_bot(clock=clock, CATEGORIES="IR", AFFILIATION_WAIT="600", **settings)
    await bot.send(ENGLISH_CHAT, "/subscribe IR", user_id=ENGLISH_CHAT, language_code="en")
    await bot.send(CHINESE_CHAT, "/subscribe IR", user_id=CHINESE_CHAT, language_code="zh-hans")
    seed_day(arxiv)
    clock.advance(minutes=10)
    await ingest_now(bot)
    await push(bot)
    sent = {}
    for language, chat in (("en", ENGLISH_CHAT), ("zh", CHINESE_CHAT)):
        messages = [m.text for m in bot.telegram.sent_messages(chat) if m.visible_text.startswith("arXiv ")]
        sent[language] = MESSAGE_BREAK.join(messages)
    return bot, sent


def without_generated_lines(digest: str) -> str:
    """The digest minus what the model wrote: its marked lines and the overview of its titles."""
    kept = [
        line
        for line in digest.split("\n")
        if not line.startswith(("<i>AI</i>", "<blockquote><i>AI</i>", "摘要："))
    ]
    return "\n".join(kept)


async def test_a_chinese_chat_gets_the_reference_layout_written_by_the_model(
    start_bot: StartBot, arxiv, model: FakeOpenAI
):
    bot, sent = await pushed(start_bot, arxiv, **model.env())
    assert_golden("digest-zh-with-model.html", sent["zh"])
    assert_golden("digest-en-with-model.html", sent["en"])
    zh = sent["zh"]
    assert zh.startswith("<b>arXiv 每日速递 · 2026年11月24日 周二</b> · IR 16\nIR - 信息检索\n摘要：")
    assert "<b>Pinterest购物推荐产品嵌入学习</b>：产品嵌入学习" in zh
    assert "<b>另外几篇值得关注的论文：</b>" in zh
    assert sent["en"].count("<blockquote><i>AI</i> · The paper studies ") == 3
    assert "IR - " not in sent["en"], "English chats keep the digest they had"
    messages = sent["zh"].count(MESSAGE_BREAK) + 1
    today = await bot.exchange(CHINESE_CHAT, "/today", count=messages, language_code="zh-hans")
    assert MESSAGE_BREAK.join(message.text for message in today) == zh, "/today reads as the push"


async def test_without_a_model_each_chat_gets_the_same_layout_minus_the_generated_lines(
    start_bot: StartBot, arxiv
):
    _bot, plain = await pushed(start_bot, arxiv)
    for language in ("zh", "en"):
        written = (GOLDEN / f"digest-{language}-with-model.html").read_text(encoding="utf-8")
        assert plain[language] == without_generated_lines(written)
    assert "<i>AI</i>" not in plain["zh"] and "摘要" not in plain["zh"]
    assert "IR - 信息检索" in plain["zh"] and "\n1、[IR] " in plain["zh"]
    assert plain["en"].startswith("<b>arXiv digest · Tue 24 Nov 2026</b> · IR 16\n\n1. [IR] ")
    assert "<blockquote>" not in plain["zh"], "no abstract passed off as a summary"
    assert plain["zh"].count("<blockquote expandable>") == 3, "the featured abstracts, whole"
