"""Affiliations from the HTML pages served by the fake arXiv, through ingest and enrichment."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.arxiv.clients import ArxivClients
from bot.arxiv.enrich import GIVE_UP_AFTER, enrich_affiliations
from bot.arxiv.http import ArxivRetry, user_agent
from bot.arxiv.ingest import ingest
from bot.arxiv.robots import DEFAULT_CRAWL_DELAY
from bot.arxiv.site import ROBOTS_MAX_AGE
from bot.config import load_settings
from bot.core.digest import build_digest
from bot.core.render import Format, render_digest
from storage.papers import PaperRepository
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import (
    API,
    HTML,
    LISTING,
    PAGE_HOST,
    ROBOTS,
    TEST_CRAWL_DELAY,
    FakeArxiv,
    robots_txt,
)
from tests.support import FIXTURES

DAY = date(2026, 11, 24)
CORPUS = FIXTURES / "affiliations"
WITH_API = "2611.00001"
HTML_ONLY = "2611.00002"
NO_HTML = "2611.00003"
FLAKY = "2611.00004"
GARBAGE = "2611.00005"


@pytest.fixture
def arxiv(arxiv: FakeArxiv) -> FakeArxiv:
    arxiv.add_paper(
        WITH_API,
        "API affiliations win",
        authors=[
            ("Ada Lovelace", ["Department of Mathematics, University of London, UK"]),
            "Alan Turing",
        ],
    )
    arxiv.add_paper(
        HTML_ONLY,
        "Only the HTML knows",
        authors=["Ana María López-García", "Javier Núñez", "Rahul Verma"],
    )
    arxiv.add_paper(NO_HTML, "No HTML rendering", authors=["Grace Hopper"])
    arxiv.add_paper(FLAKY, "A page that keeps failing", authors=["Edsger Dijkstra"])
    arxiv.add_paper(GARBAGE, "A page of garbage", authors=["Barbara Liskov"])
    arxiv.set_announcement("cs.IR", DAY, [(i, "new") for i in (WITH_API, HTML_ONLY, NO_HTML, FLAKY, GARBAGE)])
    arxiv.set_html(
        f"{WITH_API}v1",
        '<div class="ltx_authors"><span class="ltx_creator ltx_role_author">'
        '<span class="ltx_personname">Ada Lovelace</span><span class="ltx_author_notes">'
        '<span class="ltx_contact ltx_role_affiliation">Somewhere Else University</span>'
        "</span></span></div>",
    )
    arxiv.set_html(f"{HTML_ONLY}v1", (CORPUS / "ieee_authorblock.html").read_text(encoding="utf-8"))
    arxiv.set_html(f"{GARBAGE}v1", "\x00<<<not html at all>>>")
    return arxiv


@pytest.fixture
async def clients(arxiv: FakeArxiv, virtual_clock: VirtualClock) -> AsyncIterator[ArxivClients]:
    settings = load_settings({"ARXIV_REQUEST_DELAY": "3", **arxiv.env()}, env_file=None)
    async with ArxivClients(
        settings,
        retry=ArxivRetry(attempts=1),
        clock=virtual_clock,
        sleep=virtual_clock.sleep,
        http_timeout=0.5,
    ) as arxiv_clients:
        yield arxiv_clients


async def test_affiliations_come_from_the_api_first_then_the_html(arxiv, clients, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    await enrich_affiliations(clients.html, repo)

    with_api = await repo.paper(WITH_API)
    assert with_api.authors[0].affiliations == ("University of London",)
    html_only = await repo.paper(HTML_ONLY)
    expected = json.loads((CORPUS / "expected.json").read_text())["ieee_authorblock.html"]
    assert [list(author.affiliations) for author in html_only.authors] == [
        a["affiliations"] for a in expected
    ]
    assert (await repo.paper(NO_HTML)).authors[0].affiliations == ()
    assert (await repo.paper(GARBAGE)).authors[0].affiliations == ()

    digest = build_digest(await repo.listings(["cs.IR"], DAY), ["cs.IR"], DAY)
    text = "\n".join(render_digest(digest, fmt=Format.TEXT))
    institutions = list(dict.fromkeys(name for author in expected for name in author["affiliations"]))
    assert f"[{' & '.join(institutions)}]" in text
    assert "[University of London]" in text


async def test_no_page_is_fetched_twice_and_failures_are_retried_then_given_up(arxiv, clients, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    arxiv.fail(HTML, 503, times=None)
    first = await enrich_affiliations(clients.html, repo)
    assert first.failed == 5
    arxiv.clear_faults()
    arxiv.fail(HTML, 503, times=None)
    for _ in range(GIVE_UP_AFTER - 1):
        await enrich_affiliations(clients.html, repo)
    arxiv.clear_faults()
    fetched_before = len(arxiv.requests_to(HTML))
    assert (await enrich_affiliations(clients.html, repo)).looked_at == 0
    assert len(arxiv.requests_to(HTML)) == fetched_before
    assert await repo.ids_missing_affiliations(10) == []


async def test_pages_found_are_cached_and_never_refetched(arxiv, clients, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    report = await enrich_affiliations(clients.html, repo)
    assert (report.looked_at, report.with_affiliations, report.without_html) == (5, 2, 2)
    fetched = len(arxiv.requests_to(HTML))
    assert fetched == 5
    await ingest(["cs.IR"], clients, repo)
    assert (await enrich_affiliations(clients.html, repo)).looked_at == 0
    assert len(arxiv.requests_to(HTML)) == fetched


async def test_each_host_has_its_pace_and_pages_wait_the_crawl_delay_of_robots_txt(
    arxiv, clients, virtual_clock, db
):
    arxiv.set_robots(robots_txt(15))
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    assert virtual_clock.sleeps == [
        15.0
    ]  # the listing page after robots.txt; the API request is first at its host
    await enrich_affiliations(clients.html, repo)
    assert [request.endpoint for request in arxiv.requests_at(PAGE_HOST)] == [ROBOTS, LISTING] + [HTML] * 5
    assert virtual_clock.sleeps == [15.0] * 6  # robots.txt first, then a page every 15 s
    await enrich_affiliations(clients.html, repo)
    assert len(arxiv.requests_to(ROBOTS)) == 1  # read once a day


@pytest.mark.parametrize(
    ("robots", "page_delay", "expected"),
    [
        pytest.param(robots_txt(15), "20", 20.0, id="a setting may make it slower"),
        pytest.param(robots_txt(15), "5", 15.0, id="but never faster"),
        pytest.param(None, "0", DEFAULT_CRAWL_DELAY, id="no robots.txt: 15 s"),
        pytest.param("User-agent: *\nDisallow: /auth\n", "0", DEFAULT_CRAWL_DELAY, id="no crawl delay: 15 s"),
        pytest.param(robots_txt(30), "0", 30.0, id="a longer crawl delay is followed"),
    ],
)
async def test_the_page_delay_follows_robots_txt_and_a_setting_only_slows_it(
    arxiv, virtual_clock, db, robots, page_delay, expected
):
    arxiv.set_robots(robots)
    settings = load_settings({"ARXIV_PAGE_DELAY": page_delay, **arxiv.env()}, env_file=None)
    async with ArxivClients(
        settings, retry=ArxivRetry(attempts=1), clock=virtual_clock, sleep=virtual_clock.sleep
    ) as clients:
        repo = PaperRepository(db)
        await ingest(["cs.IR"], clients, repo)
        await enrich_affiliations(clients.html, repo)
    assert virtual_clock.sleeps == [expected] * 6  # the listing page and 5 author pages


async def test_robots_txt_is_read_again_after_a_day(arxiv, clients, virtual_clock, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    await clients.html.robots.read()
    arxiv.set_robots(robots_txt(40))
    virtual_clock.now += ROBOTS_MAX_AGE - 1
    await clients.html.robots.read()
    assert clients.html.pacer.delay == TEST_CRAWL_DELAY
    virtual_clock.now += 1
    await clients.html.robots.read()
    assert clients.html.pacer.delay == 40.0
    assert len(arxiv.requests_to(ROBOTS)) == 2


async def test_pages_robots_txt_keeps_crawlers_out_of_are_not_fetched(arxiv, clients, db):
    arxiv.set_robots("User-agent: *\nDisallow: /html/\nCrawl-delay: 1\n")
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    report = await enrich_affiliations(clients.html, repo)
    assert arxiv.requests_to(HTML) == []
    assert report.without_html == 5


async def test_every_request_names_the_bot_and_its_operators_contact(arxiv, virtual_clock, db):
    settings = load_settings({"ARXIV_CONTACT": "ops@example.org", **arxiv.env()}, env_file=None)
    async with ArxivClients(settings, clock=virtual_clock, sleep=virtual_clock.sleep) as clients:
        repo = PaperRepository(db)
        await ingest(["cs.IR"], clients, repo)
        await enrich_affiliations(clients.html, repo)
    agents = {request.user_agent for request in arxiv.requests}
    assert {request.endpoint for request in arxiv.requests} == {LISTING, API, ROBOTS, HTML}
    assert agents == {user_agent("ops@example.org")}
    assert "paper-digest-bot" in agents.pop()


@pytest.mark.parametrize("status", [403, 429])
async def test_a_refused_page_stops_the_pass_without_giving_up_on_any_paper(
    arxiv, clients, db, status, caplog
):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    arxiv.fail(HTML, status, times=None)
    report = await enrich_affiliations(clients.html, repo)
    assert len(arxiv.requests_to(HTML)) == 1  # never retried, never asked again during the pause
    assert report.refused
    assert len(await repo.ids_missing_affiliations(10)) == 5  # nobody is counted as failed
    assert sum("REFUSED" in record.message for record in caplog.records) == 1
    arxiv.clear_faults()
    assert (await enrich_affiliations(clients.html, repo)).looked_at == 0
    assert len(arxiv.requests_to(HTML)) == 1


async def test_a_slow_page_times_out_and_counts_as_a_failure(arxiv, clients, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    arxiv.slow(HTML, 2.0, times=1)
    report = await enrich_affiliations(clients.html, repo)
    assert report.failed == 1
    assert len(await repo.ids_missing_affiliations(10)) == 1


def family(number: int) -> str:
    return f"Family{chr(65 + number // 26 % 26)}{chr(97 + number % 26)}"


HOSTILE = {
    "2611.00101": "\x00\x01<<<garbage>>>" * 50_000,
    "2611.00102": '<article class="ltx_document"><div class="ltx_authors">'
    + '<span class="ltx_creator ltx_role_author"><span class="ltx_personname">Ada Lovelace</span>'
    + '<span class="ltx_contact ltx_role_affiliation">University of London</span></span></div>'
    + "<section>"
    + "<p>Several megabytes of body.</p>" * 200_000
    + "</section></article>",
    "2611.00103": '<article class="ltx_document"><div class="ltx_authors">'
    + "".join(
        f'<span class="ltx_creator ltx_role_author"><span class="ltx_personname">Grace {family(i)}</span>'
        f'<span class="ltx_contact ltx_role_affiliation">Institute {i}, University {i % 7}</span></span>'
        for i in range(900)
    )
    + "</div></article>",
    "2611.00104": '<article class="ltx_document"><div class="ltx_authors"><span class="ltx_personname">'
    + "<span>" * 100_000
    + "Ada Lovelace"
    + "</span>" * 100_000
    + "</span></div></article>",
}


async def test_hostile_pages_are_read_within_bounds_or_skipped_and_the_pass_goes_on(arxiv, clients, db):
    """Garbage, megabytes, hundreds of authors, deep nesting, latin-1: every paper is looked at once."""
    for arxiv_id, page in HOSTILE.items():
        arxiv.add_paper(arxiv_id, authors=["Ada Lovelace", f"Grace {family(3)}"])
        arxiv.set_html(f"{arxiv_id}v1", page)
    arxiv.add_paper("2611.00105", authors=["Jürgen Müller"])
    latin1 = '<meta charset="iso-8859-1"><article class="ltx_document"><div class="ltx_authors">'
    latin1 += '<span class="ltx_creator ltx_role_author"><span class="ltx_personname">Jürgen Müller'
    latin1 += '</span><span class="ltx_contact ltx_role_affiliation">Universität Zürich</span></span></div>'
    arxiv.set_html_bytes("2611.00105v1", latin1.encode("iso-8859-1"))
    arxiv.set_announcement("cs.IR", DAY, [(arxiv_id, "new") for arxiv_id in [*HOSTILE, "2611.00105"]])
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)

    report = await enrich_affiliations(clients.html, repo)

    assert report.looked_at == 5 and report.failed == 0
    assert await repo.ids_missing_affiliations(10) == []
    assert (await repo.paper("2611.00102")).authors[0].affiliations == ("University of London",)
    assert (await repo.paper("2611.00103")).authors[1].affiliations == ("University 3",)
    assert (await repo.paper("2611.00105")).authors[0].affiliations == ("Universität Zürich",)


async def test_a_parser_failure_on_one_page_is_logged_and_skipped(arxiv, clients, db, monkeypatch, caplog):
    def broken(page: bytes) -> list:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("bot.arxiv.enrich.parse_author_affiliations", broken)
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    report = await enrich_affiliations(clients.html, repo)
    assert report.unreadable == 3 and report.looked_at == 5  # the three papers with a page
    assert sum("not readable (RecursionError)" in record.message for record in caplog.records) == 3
