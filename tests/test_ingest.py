"""A whole ingest pass through the real clients (httpx, `arxiv`/requests) against the fake arXiv:
listing pages first, the feed as fallback and cross-check, then the export API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.arxiv.clients import ArxivClients
from bot.arxiv.http import ArxivRetry
from bot.arxiv.ingest import CategoryReport, IngestProgress, ingest
from bot.cli.chat_console import OFFLINE_PAGE
from bot.config import load_settings
from storage.models import AffiliationSource, AnnounceType, Author
from storage.papers import PaperRepository
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import (
    API,
    API_HOST,
    FEED,
    LISTING,
    PAGE_HOST,
    ROBOTS,
    TEST_CRAWL_DELAY,
    FakeArxiv,
    robots_txt,
)
from tests.support import FIXTURES

DAY = date(2025, 8, 20)


@pytest.fixture
async def clients(arxiv: FakeArxiv, virtual_clock: VirtualClock) -> AsyncIterator[ArxivClients]:
    settings = load_settings({"ARXIV_REQUEST_DELAY": "0", **arxiv.env()}, env_file=None)
    async with ArxivClients(
        settings,
        retry=ArxivRetry(attempts=2),
        clock=virtual_clock,
        sleep=virtual_clock.sleep,
        http_timeout=0.5,
        api_timeout=(0.5, 0.2),
    ) as arxiv_clients:
        yield arxiv_clients


@pytest.fixture
def repo(db) -> PaperRepository:
    return PaperRepository(db)


def announce_ir_and_lg(arxiv: FakeArxiv) -> None:
    """cs.IR: one new paper, one cross-list, one replacement; cs.LG lists the cross-list as new."""
    arxiv.add_paper(
        "2508.00001",
        "Retrieval at Scale",
        authors=[("Petra Baltescu", ["Pinterest"]), "Hao Chen"],
        categories=["cs.IR"],
        comment="Accepted at KDD",
    )
    arxiv.add_paper("2508.00002", "Ranking Transformers", authors=["Li Wei"], categories=["cs.LG", "cs.IR"])
    arxiv.add_paper("2401.00003", "Old Paper, New Version", categories=["cs.IR"], version=2)
    arxiv.set_announcement(
        "cs.IR", DAY, [("2508.00001", "new"), ("2508.00002", "cross"), ("2401.00003", "replace")]
    )
    arxiv.set_announcement("cs.LG", DAY, [("2508.00002", "new")])


async def test_news_are_stored_once_and_completed(arxiv, clients, repo):
    announce_ir_and_lg(arxiv)

    report = await ingest(["cs.IR", "cs.LG"], clients, repo)

    assert report.categories == [
        CategoryReport(
            "cs.IR", DAY, "listing", new=1, cross=1, replaced_skipped=1, stored=2, metadata_completed=2
        ),
        CategoryReport(
            "cs.LG", DAY, "listing", new=1, cross=0, replaced_skipped=0, stored=1, metadata_completed=1
        ),
    ]
    assert (report.metadata_requested, report.metadata_completed, report.errors) == (2, 2, [])
    listed = await repo.listings(["cs.IR", "cs.LG"], DAY)
    assert [(paper.arxiv_id, listing.category, listing.announce_type) for paper, listing in listed] == [
        ("2508.00001", "cs.IR", AnnounceType.NEW),
        ("2508.00002", "cs.IR", AnnounceType.CROSS),
        ("2508.00002", "cs.LG", AnnounceType.NEW),
    ]
    first = listed[0][0]
    assert first.authors == (
        Author("Petra Baltescu", ("Pinterest",), (AffiliationSource.API,)),  # provenance is stored too
        Author("Hao Chen"),
    )
    assert (first.primary_category, first.comment) == ("cs.IR", "Accepted at KDD")
    assert await repo.paper("2401.00003") is None
    (api_request,) = arxiv.requests_to(API)
    assert sorted(api_request.ids) == ["2508.00001", "2508.00002"]


async def test_a_second_run_stores_nothing_and_asks_the_api_nothing(arxiv, clients, repo, db):
    announce_ir_and_lg(arxiv)
    await ingest(["cs.IR", "cs.LG"], clients, repo)
    tables = ("papers", "authors", "listings", "announcements")
    before = {name: await dump(db, name) for name in tables}
    requests_before = len(arxiv.requests)

    again = await ingest(["cs.IR", "cs.LG"], clients, repo)

    assert [report.stored for report in again.categories] == [0, 0]
    assert again.metadata_requested == 0
    assert {name: await dump(db, name) for name in tables} == before
    assert [request.endpoint for request in arxiv.requests[requests_before:]] == [LISTING, LISTING]


async def test_a_day_without_updates_records_no_announcement(arxiv, clients, repo):
    announce_ir_and_lg(arxiv)
    await ingest(["cs.IR"], clients, repo)
    arxiv.set_announcement("cs.IR", date(2025, 8, 21), [], feed=False)
    arxiv.set_empty_feed("cs.RO")  # no listing page at all for cs.RO: its (empty) feed stands in

    report = await ingest(["cs.IR", "cs.RO"], clients, repo)

    assert [(r.announced, r.stored, r.errors) for r in report.categories] == [(None, 0, []), (None, 0, [])]
    assert await repo.latest_announcements(["cs.IR", "cs.RO"]) == {"cs.IR": DAY}


async def test_api_down_keeps_the_feed_data_and_completes_it_later(arxiv, clients, repo):
    announce_ir_and_lg(arxiv)
    arxiv.fail(API, 503, times=None)

    report = await ingest(["cs.IR", "cs.LG"], clients, repo)

    assert report.metadata_completed == 0
    assert "HTTP 503" in report.metadata_error
    assert report.errors == [
        f"cs.IR: metadata: {report.metadata_error}",
        f"cs.LG: metadata: {report.metadata_error}",
    ]
    listed = await repo.listings(["cs.IR"], DAY)
    assert [(paper.title, paper.primary_category, paper.comment) for paper, _ in listed] == [
        ("Retrieval at Scale", "cs.IR", "Accepted at KDD"),
        ("Ranking Transformers", "cs.LG", None),
    ]
    assert sorted(await repo.ids_missing_metadata(10)) == ["2508.00001", "2508.00002"]

    arxiv.clear_faults(API)
    later = await ingest(["cs.IR", "cs.LG"], clients, repo)

    assert [report.stored for report in later.categories] == [0, 0]
    assert (later.metadata_completed, later.errors) == (2, [])
    assert await repo.ids_missing_metadata(10) == []
    assert (await repo.paper("2508.00001")).authors[0].affiliations == ("Pinterest",)


async def test_a_slow_api_times_out_and_leaves_the_page_data(arxiv, clients, repo):
    announce_ir_and_lg(arxiv)
    arxiv.slow(API, 30, times=None)

    report = await ingest(["cs.IR"], clients, repo)

    assert "ReadTimeout" in report.metadata_error
    assert len(arxiv.requests_to(API)) == 2
    assert len(await repo.listings(["cs.IR"], DAY)) == 2
    assert len(await repo.ids_missing_metadata(10)) == 2


async def test_an_unreadable_page_and_feed_store_nothing_for_their_category_only(
    arxiv, clients, repo, db, caplog
):
    announce_ir_and_lg(arxiv)
    arxiv.set_raw_listing("cs.IR", b"<html><body><h2>Something else entirely</h2></body></html>")
    arxiv.set_raw_feed(
        "cs.IR", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><id>oai:'
    )

    with caplog.at_level(logging.ERROR, logger="bot.arxiv.ingest"):
        report = await ingest(["cs.IR", "cs.LG"], clients, repo)

    ir, lg = report.categories
    assert ir.announced is None and "malformed XML" in ir.errors[0]
    assert (lg.announced, lg.stored) == (DAY, 1)
    assert await repo.latest_announcements(["cs.IR", "cs.LG"]) == {"cs.LG": DAY}
    assert [row[0] for row in await dump(db, "listings")] == ["cs.LG"]
    assert any("cs.IR: LISTING PAGE NOT UNDERSTOOD" in message for message in caplog.messages)
    assert any("cs.IR: feed not ingested, nothing stored" in message for message in caplog.messages)


async def test_a_page_in_an_unknown_layout_falls_back_to_the_feed_loudly(arxiv, clients, repo, caplog):
    announce_ir_and_lg(arxiv)
    arxiv.set_raw_listing(
        "cs.IR",
        (FIXTURES / "listings" / "handmade-current-layout.html")
        .read_bytes()
        .replace(b"New submissions (showing", b"Fresh papers (showing"),
    )

    with caplog.at_level(logging.ERROR, logger="bot.arxiv.ingest"):
        report = await ingest(["cs.IR"], clients, repo)

    assert (report.categories[0].source, report.categories[0].stored) == ("feed", 2)
    assert [request.endpoint for request in arxiv.requests[:3]] == [ROBOTS, LISTING, FEED]
    (loud,) = [record for record in caplog.records if "NOT UNDERSTOOD" in record.message]
    assert loud.levelno == logging.ERROR and "before any section heading" in loud.message


async def test_a_page_cut_short_is_never_stored_in_part(arxiv, clients, repo):
    """The real 2018 page holds 47 of the 188 entries it announces: the whole feed is stored instead."""
    arxiv.add_paper("1807.07067", "Principal Typings of Planar Flow Networks", categories=["cs.DS"])
    arxiv.set_announcement("cs.DS", date(2018, 7, 20), [("1807.07067", "new")], listing=False)
    arxiv.set_raw_listing("cs.DS", (FIXTURES / "listings" / "cs-2018-07-20.html").read_bytes())

    report = await ingest(["cs.DS"], clients, repo)

    assert (report.categories[0].source, report.categories[0].stored) == ("feed", 1)
    assert [p.arxiv_id for p, _ in await repo.listings(["cs.DS"], date(2018, 7, 20))] == ["1807.07067"]


async def test_the_real_listing_page_is_ingested_from_arxiv_s_own_markup(arxiv, clients, repo):
    arxiv.set_raw_listing("math-ph", OFFLINE_PAGE.read_bytes())

    report = await ingest(["math-ph"], clients, repo)

    assert report.categories[0] == CategoryReport(
        "math-ph", date(2024, 8, 9), "listing", new=6, cross=10, replaced_skipped=7, stored=16
    )
    (paper,) = (await repo.papers(["2408.03991"])).values()
    assert (paper.primary_category, paper.comment) == ("cond-mat.mes-hall", "32 pages, 6 figures")


async def test_after_the_turnover_the_feed_cross_checks_the_listing_page(arxiv, clients, repo, caplog):
    announce_ir_and_lg(arxiv)
    arxiv.add_paper("2508.00004", "Late to the listing", categories=["cs.IR"])
    arxiv.set_announcement("cs.IR", DAY, [("2508.00001", "new")], feed=False)
    arxiv.set_announcement("cs.IR", DAY, [("2508.00001", "new"), ("2508.00004", "new")], listing=False)

    first = await ingest(["cs.IR"], clients, repo)
    with caplog.at_level(logging.WARNING, logger="bot.arxiv.ingest"):
        checked = await ingest(["cs.IR"], clients, repo, feeds=True)

    assert [request.endpoint for request in arxiv.requests if request.endpoint not in (API, ROBOTS)] == [
        LISTING,
        LISTING,
        FEED,
    ]
    assert (first.categories[0].stored, checked.categories[0].feed_added) == (1, 1)
    assert [p.arxiv_id for p, _ in await repo.listings(["cs.IR"], DAY)] == ["2508.00001", "2508.00004"]
    assert any("the feed lists 1 papers the listing page did not" in m for m in caplog.messages)


async def test_250_papers_are_completed_in_three_api_requests(arxiv, clients, repo):
    ids = [f"2508.{number:05d}" for number in range(250)]
    for arxiv_id in ids:
        arxiv.add_paper(arxiv_id, categories=["cs.CL"])
    arxiv.set_announcement("cs.CL", DAY, [(arxiv_id, "new") for arxiv_id in ids])
    events: list[IngestProgress] = []

    report = await ingest(["cs.CL"], clients, repo, on_progress=events.append)

    assert [len(request.ids) for request in arxiv.requests_to(API)] == [100, 100, 50]
    assert report.categories[0].metadata_completed == 250
    assert events == [
        IngestProgress("pages", 1, 1, "cs.CL"),
        IngestProgress("metadata", 0, 250),
        IngestProgress("metadata", 100, 250),
        IngestProgress("metadata", 200, 250),
        IngestProgress("metadata", 250, 250),
    ]


async def test_every_request_waits_its_turn_at_its_host(arxiv, repo, virtual_clock):
    """One pacer per host: listing pages keep arxiv.org's crawl delay (15 s), the export API its 3 s."""
    arxiv.set_robots(robots_txt(15))
    announce_ir_and_lg(arxiv)
    for number in range(150):
        arxiv.add_paper(f"2508.1{number:04d}", categories=["cs.CL"])
    arxiv.set_announcement("cs.CL", DAY, [(f"2508.1{number:04d}", "new") for number in range(150)])
    settings = load_settings({"ARXIV_REQUEST_DELAY": "3", **arxiv.env()}, env_file=None)

    async with ArxivClients(settings, clock=virtual_clock, sleep=virtual_clock.sleep) as clients:
        await ingest(["cs.IR", "cs.LG", "cs.CL"], clients, repo)

    assert [request.endpoint for request in arxiv.requests] == [ROBOTS] + [LISTING] * 3 + [API] * 2
    assert [request.host for request in arxiv.requests] == [PAGE_HOST] * 4 + [API_HOST] * 2
    assert virtual_clock.sleeps == [15.0] * 3 + [3.0]  # robots.txt, then a page every 15 s


async def test_listing_retries_wait_the_backoff_which_covers_the_pace(arxiv, repo, virtual_clock):
    announce_ir_and_lg(arxiv)
    arxiv.fail(LISTING, 503)
    settings = load_settings({"ARXIV_REQUEST_DELAY": "3", **arxiv.env()}, env_file=None)

    async with ArxivClients(settings, clock=virtual_clock, sleep=virtual_clock.sleep) as clients:
        report = await ingest(["cs.IR"], clients, repo)

    assert report.categories[0].stored == 2
    assert [request.endpoint for request in arxiv.requests] == [ROBOTS, LISTING, LISTING, API]
    assert virtual_clock.sleeps == [TEST_CRAWL_DELAY, 5.0]


async def test_the_real_sample_feed_is_ingested_with_missing_metadata_reported(arxiv, clients, repo):
    arxiv.load_sample_feed("cs.AI")

    report = await ingest(["cs.AI"], clients, repo)

    assert report.categories[0] == CategoryReport("cs.AI", DAY, "feed", new=2, cross=5, stored=7)
    assert len(report.metadata_missing) == 7
    listed = await repo.listings(["cs.AI"], DAY)
    assert [listing.arxiv_id for _, listing in listed][:2] == ["2508.14001", "2508.14002"]
    assert listed[2][0].abstract.startswith("As large language models")


async def dump(db, name: str) -> list[tuple]:
    async with db.execute(f"SELECT * FROM {name} ORDER BY 1, 2, 3") as cursor:
        return [tuple(row) for row in await cursor.fetchall()]
