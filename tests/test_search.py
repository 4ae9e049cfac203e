"""/search as a user meets it: pages newest first, field prefixes, bad queries, arXiv refusing or
down, and nothing stored, through the fake Telegram and arXiv servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.search import search_query
from tests.fakes.arxiv_server import API, FakeArxiv
from tests.fakes.telegram import SentMessage
from tests.harness import BotHarness, StartBot

USER = 7001
OTHER = 7002


@pytest.fixture
def arxiv(arxiv: FakeArxiv) -> FakeArxiv:
    start = datetime(2026, 1, 5, 18, tzinfo=UTC)
    for number in range(12):
        arxiv.add_paper(
            f"2601.{number:05d}",
            f"Diffusion Transformers, part {number}",
            authors=[("Ada Lovelace", ["University of Oxford"]) if number % 2 else "Alan Turing"],
            categories=["cs.CV" if number % 3 else "cs.IR"],
            abstract="A transformer that learns diffusion.",
            published=start + timedelta(days=number),
        )
    arxiv.add_paper("2601.09999", "Something else entirely", categories=["cs.CL"], published=start)
    return arxiv


def button(message: SentMessage, text: str) -> dict:
    return next(b for b in message.buttons if b["text"] == text)


async def test_search_pages_newest_first_and_stores_nothing(bot: BotHarness, arxiv: FakeArxiv):
    first = await bot.send(USER, "/search diffusion transformer")
    heading = "Search “diffusion transformer” · page 1 of 3 · 12 papers, newest first"
    assert first.visible_text.startswith(f"{heading}\n\n1. [CV] Diffusion Transformers, part 11")
    assert "5. [CV] Diffusion Transformers, part 7" in first.visible_text
    assert [b["text"] for b in first.buttons] == ["1 / 3", "Next ▶"]
    request = arxiv.requests_to(API)[-1]
    assert request.param("search_query") == "all:diffusion AND all:transformer"
    assert (request.param("sortBy"), request.param("sortOrder")) == ("submittedDate", "descending")

    await bot.press(USER, first.message_id, button(first, "Next ▶")["callback_data"])
    second = bot.current(first)
    assert second.visible_text.startswith("Search “diffusion transformer” · page 2 of 3")
    assert "6. [IR] Diffusion Transformers, part 6" in second.visible_text
    assert await bot.services.papers.papers(f"2601.{n:05d}" for n in range(12)) == {}


async def test_a_chinese_chat_gets_its_results_numbered_the_chinese_way(bot: BotHarness, arxiv: FakeArxiv):
    await bot.send(USER, "/lang zh")
    first = await bot.send(USER, "/search diffusion transformer")
    assert "\n\n1、[CV] Diffusion Transformers, part 11" in first.visible_text


async def test_fields_narrow_the_search(bot: BotHarness, arxiv: FakeArxiv):
    reply = await bot.send(USER, '/search au:lovelace ti:"diffusion transformers" cat:CV')
    query = arxiv.requests_to(API)[-1].param("search_query")
    assert query == 'au:lovelace AND ti:"diffusion transformers" AND cat:cs.CV'
    assert "4 papers" in reply.visible_text  # odd (Lovelace) and not divisible by 3 (cs.CV): 11, 7, 5, 1
    assert "part 11" in reply.visible_text and "part 9" not in reply.visible_text  # 9 is cs.IR


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("", "Search for what?"),
        ("(graph OR tree)", "Parentheses are not supported"),
        ("graph OR tree", "OR and NOT are not supported"),
        ("xx:foo", "Unknown field “xx:”. Use au:, ti:, abs:, cat: or plain words."),
        ('ti:"open', "A quote is not closed"),
        ("cat:ZZ", "Unknown category “ZZ”."),
        ("word " * 100, "That search is too long"),
        ("a b c d e f g h i j k l m", "That search has 13 terms"),
        ("quantum gravity", "No arXiv paper matches “quantum gravity”."),
    ],
)
async def test_bad_searches_get_a_clear_answer(bot: BotHarness, query: str, answer: str):
    reply = await bot.send(USER, f"/search {query}")
    assert reply.visible_text.startswith(answer)


async def test_arxiv_refusing_or_down_is_said_plainly(start_bot: StartBot, arxiv: FakeArxiv):
    bot = await start_bot(ARXIV_RETRIES="1")
    arxiv.fail(API, 400)
    assert (await bot.send(USER, "/search diffusion")).visible_text.startswith(
        "arXiv could not read that search"
    )
    arxiv.fail(API, 503)
    assert (await bot.send(USER, "/search diffusion")).visible_text.startswith("arXiv could not be reached")


async def test_a_search_button_works_only_in_its_own_chat(bot: BotHarness):
    first = await bot.send(USER, "/search diffusion")
    data = button(first, "Next ▶")["callback_data"]
    answer = await bot.press(OTHER, 1, data)
    assert "out of date" in answer.params["text"]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("graph neural", "all:graph AND all:neural"),
        ("graph AND neural", "all:graph AND all:neural"),
        ('"graph neural" networks', 'all:"graph neural" AND all:networks'),
        ("AU:Hinton abs:capsule", "au:Hinton AND abs:capsule"),
        ("cat:stat.ML cat:LG", "cat:stat.ML AND cat:cs.LG"),
        ("résumé d'images", "all:résumé AND all:d'images"),
    ],
)
def test_queries_for_the_export_api(text, query):
    assert search_query(text, ("cs.LG",)) == query
