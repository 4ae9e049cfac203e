"""Affiliations from the HTML pages served by the fake arXiv, through ingest and enrichment."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.arxiv.clients import ArxivClients
from bot.arxiv.enrich import GIVE_UP_AFTER, enrich_affiliations
from bot.arxiv.http import ArxivRetry
from bot.arxiv.ingest import ingest
from bot.config import load_settings
from bot.core.digest import build_digest
from bot.core.render import Format, render_digest
from storage.papers import PaperRepository
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import HTML, FakeArxiv
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


async def test_html_requests_share_the_pacer_with_every_arxiv_request(arxiv, clients, virtual_clock, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    await enrich_affiliations(clients.html, repo)
    assert len(arxiv.requests_to(HTML)) == 5
    assert virtual_clock.sleeps == [3.0] * 6  # the API request after the feed, then each of the 5 pages


async def test_a_slow_page_times_out_and_counts_as_a_failure(arxiv, clients, db):
    repo = PaperRepository(db)
    await ingest(["cs.IR"], clients, repo)
    arxiv.slow(HTML, 2.0, times=1)
    report = await enrich_affiliations(clients.html, repo)
    assert report.failed == 1
    assert len(await repo.ids_missing_affiliations(10)) == 1
