"""A whole ingest pass through the real clients (httpx, `arxiv`/requests) against the fake arXiv."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.arxiv.clients import ArxivClients
from bot.arxiv.http import ArxivRetry
from bot.arxiv.ingest import CategoryReport, IngestProgress, ingest
from bot.config import load_settings
from storage.models import AnnounceType, Author
from storage.papers import PaperRepository
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import API, FEED, FakeArxiv

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
        CategoryReport("cs.IR", DAY, new=1, cross=1, replaced_skipped=1, stored=2, metadata_completed=2),
        CategoryReport("cs.LG", DAY, new=1, cross=0, replaced_skipped=0, stored=1, metadata_completed=1),
    ]
    assert (report.metadata_requested, report.metadata_completed, report.errors) == (2, 2, [])
    listed = await repo.listings(["cs.IR", "cs.LG"], DAY)
    assert [(paper.arxiv_id, listing.category, listing.announce_type) for paper, listing in listed] == [
        ("2508.00001", "cs.IR", AnnounceType.NEW),
        ("2508.00002", "cs.IR", AnnounceType.CROSS),
        ("2508.00002", "cs.LG", AnnounceType.NEW),
    ]
    first = listed[0][0]
    assert first.authors == (Author("Petra Baltescu", ("Pinterest",)), Author("Hao Chen"))
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
    assert [request.endpoint for request in arxiv.requests[requests_before:]] == [FEED, FEED]


async def test_an_empty_feed_records_no_announcement(arxiv, clients, repo):
    announce_ir_and_lg(arxiv)
    await ingest(["cs.IR"], clients, repo)
    arxiv.set_empty_feed("cs.IR")

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
    assert [(paper.title, paper.primary_category) for paper, _ in listed] == [
        ("Retrieval at Scale", None),
        ("Ranking Transformers", None),
    ]
    assert sorted(await repo.ids_missing_metadata(10)) == ["2508.00001", "2508.00002"]

    arxiv.clear_faults(API)
    later = await ingest(["cs.IR", "cs.LG"], clients, repo)

    assert [report.stored for report in later.categories] == [0, 0]
    assert (later.metadata_completed, later.errors) == (2, [])
    assert await repo.ids_missing_metadata(10) == []
    assert (await repo.paper("2508.00001")).authors[0].affiliations == ("Pinterest",)


async def test_a_slow_api_times_out_and_falls_back_to_the_feed(arxiv, clients, repo):
    announce_ir_and_lg(arxiv)
    arxiv.slow(API, 30, times=None)

    report = await ingest(["cs.IR"], clients, repo)

    assert "ReadTimeout" in report.metadata_error
    assert len(arxiv.requests_to(API)) == 2
    assert len(await repo.listings(["cs.IR"], DAY)) == 2
    assert len(await repo.ids_missing_metadata(10)) == 2


async def test_a_malformed_feed_stores_nothing_for_its_category_only(arxiv, clients, repo, db, caplog):
    announce_ir_and_lg(arxiv)
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
    assert any("cs.IR: feed not ingested, nothing stored" in message for message in caplog.messages)


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
        IngestProgress("feeds", 1, 1, "cs.CL"),
        IngestProgress("metadata", 0, 250),
        IngestProgress("metadata", 100, 250),
        IngestProgress("metadata", 200, 250),
        IngestProgress("metadata", 250, 250),
    ]


async def test_every_request_waits_its_turn(arxiv, repo, virtual_clock):
    """Feed and API requests share one pacer: each start comes a full delay after the previous one."""
    announce_ir_and_lg(arxiv)
    for number in range(150):
        arxiv.add_paper(f"2508.1{number:04d}", categories=["cs.CL"])
    arxiv.set_announcement("cs.CL", DAY, [(f"2508.1{number:04d}", "new") for number in range(150)])
    settings = load_settings({"ARXIV_REQUEST_DELAY": "3", **arxiv.env()}, env_file=None)

    async with ArxivClients(settings, clock=virtual_clock, sleep=virtual_clock.sleep) as clients:
        await ingest(["cs.IR", "cs.LG", "cs.CL"], clients, repo)

    assert [request.endpoint for request in arxiv.requests] == [FEED, FEED, FEED, API, API]
    assert virtual_clock.sleeps == [3.0] * 4


async def test_feed_retries_share_the_pacer_and_the_backoff(arxiv, repo, virtual_clock):
    announce_ir_and_lg(arxiv)
    arxiv.fail(FEED, 503)
    settings = load_settings({"ARXIV_REQUEST_DELAY": "3", **arxiv.env()}, env_file=None)

    async with ArxivClients(settings, clock=virtual_clock, sleep=virtual_clock.sleep) as clients:
        report = await ingest(["cs.IR"], clients, repo)

    assert report.categories[0].stored == 2
    assert [request.endpoint for request in arxiv.requests] == [FEED, FEED, API]
    assert virtual_clock.sleeps == [5.0, 3.0]


async def test_the_real_sample_feed_is_ingested_with_missing_metadata_reported(arxiv, clients, repo):
    arxiv.load_sample_feed("cs.AI")

    report = await ingest(["cs.AI"], clients, repo)

    assert report.categories[0] == CategoryReport("cs.AI", DAY, new=2, cross=5, stored=7)
    assert len(report.metadata_missing) == 7
    listed = await repo.listings(["cs.AI"], DAY)
    assert [listing.arxiv_id for _, listing in listed][:2] == ["2508.14001", "2508.14002"]
    assert listed[2][0].abstract.startswith("As large language models")


async def dump(db, name: str) -> list[tuple]:
    async with db.execute(f"SELECT * FROM {name} ORDER BY 1, 2, 3") as cursor:
        return [tuple(row) for row in await cursor.fetchall()]
