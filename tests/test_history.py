"""Reading earlier announcements: /today <day>, /cat IR <day> <page>, the nearest stored days when a
day has none, and the jump keyboard of long categories, through the fake Telegram server."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.arxiv.schedule import ARXIV_TZ
from storage.models import AnnounceType, Author, Paper
from tests.clock import SteppingClock
from tests.fakes.telegram import SentMessage
from tests.harness import BotHarness, StartBot

USER = 6001
FRIDAY, MONDAY, TUESDAY = date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)


def papers(day: date, count: int, category: str = "cs.IR") -> list[tuple[Paper, AnnounceType]]:
    return [
        (
            Paper(
                arxiv_id=f"2611.{day.day:02d}{number:03d}",
                version=1,
                title=f"{day:%A}'s paper {number}",
                abstract="We study it.",
                authors=(Author("Ada Lovelace"),),
                categories=(category,),
                primary_category=category,
            ),
            AnnounceType.NEW,
        )
        for number in range(count)
    ]


@pytest.fixture
async def bot(start_bot: StartBot) -> BotHarness:
    clock = SteppingClock(datetime(2026, 11, 24, 10, 0, tzinfo=ARXIV_TZ))  # Tuesday morning
    harness = await start_bot(clock=clock)
    stored = harness.services.papers
    await stored.store_announcement("cs.IR", FRIDAY, papers(FRIDAY, 3))
    await stored.store_announcement("cs.IR", MONDAY, papers(MONDAY, 2))
    await stored.store_announcement("cs.IR", TUESDAY, papers(TUESDAY, 60))
    await harness.send(USER, "/subscribe IR")
    return harness


def button(message: SentMessage, text: str) -> dict:
    return next(b for b in message.buttons if b["text"] == text)


@pytest.mark.parametrize("day", ["2026-11-23", "yesterday", "mon", "Monday"])
async def test_today_reads_an_earlier_announcement(bot: BotHarness, day: str):
    reply = await bot.send(USER, f"/today {day}")
    assert reply.visible_text.startswith("arXiv digest · Mon 23 Nov 2026 · IR 2")
    assert "Monday's paper 0" in reply.visible_text


async def test_today_alone_reads_the_latest(bot: BotHarness):
    reply = await bot.send(USER, "/today")
    assert reply.visible_text.startswith("arXiv digest · Tue 24 Nov 2026 · IR 60")


async def test_a_day_without_announcement_names_the_nearest_and_they_open_when_tapped(bot: BotHarness):
    reply = await bot.send(USER, "/today 2026-11-22")
    assert reply.visible_text == (
        "No announcement of your categories is stored for Sun 22 Nov 2026 (arXiv announces Monday to "
        "Friday). Nearest: Fri 20 Nov 2026, Mon 23 Nov 2026."
    )
    before = len(bot.telegram.sent_messages(USER))
    await bot.press(USER, reply.message_id, button(reply, "Fri 20 Nov 2026")["callback_data"])
    (friday,) = bot.telegram.sent_messages(USER)[before:]
    assert friday.visible_text.startswith("arXiv digest · Fri 20 Nov 2026 · IR 3")


@pytest.mark.parametrize(
    ("day", "answer"),
    [
        ("2026-12-25", "Fri 25 Dec 2026 is still to come. Nearest: Tue 24 Nov 2026."),
        (
            "2020-01-01",
            "No announcement is stored for Wed 1 Jan 2020: this bot's history of your categories starts "
            "later. Nearest: Fri 20 Nov 2026.",
        ),
        ("someday", "“someday” is not a day. Try a date like 2026-08-20, or yesterday, or mon … fri."),
        ("2026-02-30", "“2026-02-30” is not a day."),
    ],
)
async def test_dates_out_of_reach_get_a_clear_answer(bot: BotHarness, day: str, answer: str):
    reply = await bot.send(USER, f"/today {day}")
    assert reply.visible_text.startswith(answer)


async def test_cat_reads_a_day_a_page_or_both(bot: BotHarness):
    monday = await bot.send(USER, "/cat IR 2026-11-23")
    assert monday.visible_text.startswith("cs.IR · Mon 23 Nov 2026 · page 1 of 1 · 2 papers")
    second = await bot.send(USER, "/cat IR 2")
    assert second.visible_text.startswith("cs.IR · Tue 24 Nov 2026 · page 2 of 8 · 60 papers")
    both = await bot.send(USER, "/cat cs.IR yesterday 1")
    assert both.visible_text.startswith("cs.IR · Mon 23 Nov 2026 · page 1 of 1")
    missing = await bot.send(USER, "/cat IR 2026-11-21")
    assert missing.visible_text.endswith("Nearest: Fri 20 Nov 2026, Mon 23 Nov 2026.")
    await bot.press(USER, missing.message_id, button(missing, "Mon 23 Nov 2026")["callback_data"])
    assert bot.current(missing).visible_text.startswith("cs.IR · Mon 23 Nov 2026 · page 1 of 1")


async def test_long_categories_jump_to_the_ends_and_by_five(bot: BotHarness):
    page = await bot.send(USER, "/cat IR 4")
    assert [b["text"] for b in page.buttons] == ["◀ Previous", "4 / 8", "Next ▶", "« 1", "8 »"]
    await bot.press(USER, page.message_id, button(page, "8 »")["callback_data"])
    last = bot.current(page)
    assert "page 8 of 8" in last.visible_text
    assert [b["text"] for b in last.buttons] == ["◀ Previous", "8 / 8", "« 1", "−5"]
    await bot.press(USER, page.message_id, button(last, "−5")["callback_data"])
    assert "page 3 of 8" in bot.current(page).visible_text


async def test_a_chinese_chat_is_told_the_nearest_days_in_chinese(bot: BotHarness):
    await bot.send(USER, "/lang zh")
    reply = await bot.send(USER, "/today 2026-11-22")
    assert reply.visible_text == (
        "2026年11月22日 周日 没有存储你的分类的公布（arXiv 周一至周五公布）。"
        "最近的：2026年11月20日 周五、2026年11月23日 周一。"
    )
