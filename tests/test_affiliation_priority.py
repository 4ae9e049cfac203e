"""The right papers first: enrichment serves the papers a push features before the rest, and the push
waits for those only; all at arxiv.org's crawl delay, as the fake arXiv's page host measures it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.jobs import BROADCASTER_KEY, POLL_JOB, PUSH_JOB, poll_arxiv
from bot.push.planning import featured_papers, run_push
from tests.clock import SteppingClock
from tests.fakes.arxiv_server import HTML, LISTING, PAGE_HOST, ROBOTS, FakeArxiv, robots_txt
from tests.harness import BotHarness, StartBot
from tests.support import polls_done, wait_until

DAY = date(2026, 11, 24)
INGESTED = datetime(2026, 11, 24, 1, 10, tzinfo=UTC)
CATEGORIES = ("cs.LG", "cs.CV", "cs.CL", "cs.AI", "cs.IR", "cs.RO", "eess.AS", "cs.SD", "stat.ML")
CRAWL_DELAY = 0.05  # arxiv.org states 15 s; scaled down so the test runs in seconds
PAPERS = 1500
WAIT = 900


def institution(number: int) -> str | None:
    """Every tenth paper's page names no affiliation: those entries go out without one."""
    return None if number % 10 == 0 else f"University {number}"


def author_page(number: int) -> str:
    """A LaTeXML author block: two authors, each with their affiliation as the 2026 renderer writes it."""
    place = institution(number)
    notes = (
        '<span class="ltx_author_notes"><span class="ltx_contact ltx_role_affiliation">'
        f'<span class="ltx_contact_name">Affiliation: </span>Department of Physics, {place}, Springfield'
        "</span></span>"
        if place
        else ""
    )
    creators = "".join(
        f'<span class="ltx_creator ltx_role_author"><span class="ltx_personname">{name}</span>{notes}</span>'
        for name in ("Ada Lovelace", f"Author Number{number}")
    )
    return (
        f'<html><body><article class="ltx_document"><h1 class="ltx_title">Paper {number}</h1>'
        f'<div class="ltx_authors">{creators}</div><section class="ltx_section">Body</section>'
        "</article></body></html>"
    )


def seed_big_day(arxiv: FakeArxiv) -> dict[str, int]:
    """1,500 new papers over the default categories, one in five cross-listed in cs.LG (cs.LG's in cs.CV)."""
    numbers = {}
    listed: dict[str, list[tuple[str, str]]] = {name: [] for name in CATEGORIES}
    for number in range(PAPERS):
        arxiv_id = f"2611.{10000 + number}"
        primary = CATEGORIES[number % len(CATEGORIES)]
        cross = ("cs.CV" if primary == "cs.LG" else "cs.LG") if number % 5 == 0 else None
        arxiv.add_paper(
            arxiv_id,
            f"Study number {number}",
            authors=["Ada Lovelace", f"Author Number{number}"],
            categories=[primary, cross] if cross else [primary],
        )
        arxiv.set_html(f"{arxiv_id}v1", author_page(number))
        listed[primary].append((arxiv_id, "new"))
        if cross:
            listed[cross].append((arxiv_id, "cross"))
        numbers[arxiv_id] = number
    for name, entries in listed.items():
        arxiv.set_announcement(name, DAY, entries)
    return numbers


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(INGESTED - timedelta(minutes=10))


@pytest.fixture
async def bot(start_bot: StartBot, clock: SteppingClock, arxiv: FakeArxiv) -> BotHarness:
    arxiv.set_robots(robots_txt(CRAWL_DELAY))
    harness = await start_bot(clock=clock, CATEGORIES=",".join(CATEGORIES), AFFILIATION_WAIT=str(WAIT))
    for name in (POLL_JOB, PUSH_JOB):  # the test drives polls and pushes itself
        for job in harness.application.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    return harness


async def subscribe(bot: BotHarness) -> None:
    """A chat per category, two following several, one showing 5 entries, one showing every entry."""
    for chat_id, name in enumerate(CATEGORIES, start=100):
        await bot.send(chat_id, f"/subscribe {name}", user_id=chat_id)
    await bot.send(200, "/subscribe cs.IR cs.LG", user_id=200)
    await bot.send(201, "/subscribe cs.CV cs.RO cs.AI", user_id=201)
    await bot.send(202, "/subscribe cs.CL", user_id=202)
    await bot.send(202, "/size 5", user_id=202)
    await bot.send(203, "/subscribe stat.ML", user_id=203)
    await bot.send(203, "/size all", user_id=203)
    await polls_done(bot)  # the first follower of each category has it read at once: nothing yet


def entry_blocks(text: str) -> dict[str, str]:
    """The entries of a digest message by arXiv id."""
    return {
        found.group(1): block for block in text.split("\n\n") if (found := re.search(r"arXiv:(\S+)", block))
    }


async def test_a_push_of_1500_papers_features_them_with_affiliations_within_the_wait(
    bot: BotHarness, arxiv: FakeArxiv, clock: SteppingClock
):
    await subscribe(bot)
    numbers = seed_big_day(arxiv)
    clock.set(INGESTED)
    bot.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
    await wait_until(lambda: _stored(bot), "the announcement was not ingested", within=120.0)
    featured = await featured_papers(bot.services, DAY)
    # The top three of every digest: a few dozen of 1,500, the IR+LG digest adding its own (papers in
    # both of its categories rank first there).
    assert 27 < len(featured) <= 45

    broadcaster = bot.application.bot_data[BROADCASTER_KEY]
    outcome = None
    while outcome is None or outcome.planned is None:
        pages_fetched = len(arxiv.requests_to(HTML))  # planning comes first in run_push: about then
        outcome = await run_push(bot.services, broadcaster)  # the clock stands still: inside the wait
        if outcome.planned is None:
            await asyncio.sleep(0.05)

    # The push waited for its featured papers, and only for them.
    assert bot.services.clock() < INGESTED + timedelta(seconds=WAIT)
    assert pages_fetched < 3 * len(featured)
    assert {
        request.path.rsplit("/", 1)[1][:-2] for request in arxiv.requests_to(HTML)[: len(featured)]
    } == set(featured)
    with_affiliations = sum(institution(numbers[arxiv_id]) is not None for arxiv_id in featured)
    assert (outcome.planned.featured, outcome.planned.featured_with_affiliations) == (
        len(featured),
        with_affiliations,
    )

    # Every featured entry that has an affiliation went out with it.
    seen = set()
    for chat_id in [*range(100, 100 + len(CATEGORIES)), 200, 201, 202, 203]:
        digest = next(
            m for m in bot.telegram.sent_messages(chat_id) if m.visible_text.startswith("arXiv digest")
        )
        blocks = entry_blocks(digest.visible_text)
        for arxiv_id in list(blocks)[:3]:
            assert arxiv_id in featured
            seen.add(arxiv_id)
            place = institution(numbers[arxiv_id])
            if place is not None:
                assert f"[{place}]" in blocks[arxiv_id]
            else:
                assert "[" not in blocks[arxiv_id].split("\n")[2]
    assert seen == set(featured)

    # arxiv.org saw its robots.txt read once, listing pages and author pages on one pace, never two
    # requests closer than the crawl delay.
    assert {r.endpoint for r in arxiv.requests_at(PAGE_HOST)} == {ROBOTS, LISTING, HTML}
    assert len(arxiv.requests_to(ROBOTS)) == 1
    assert arxiv.closest_requests(PAGE_HOST) >= CRAWL_DELAY


async def _stored(bot: BotHarness) -> bool:
    latest = await bot.services.papers.latest_announcements(CATEGORIES)
    return len(latest) == len(CATEGORIES) and not await bot.services.papers.ids_missing_metadata(1)
