"""PaperRepository: papers stored once, listings per announcement, the metadata and affiliation queues."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest

from storage import db as database
from storage.models import AffiliationSource, AnnounceType, Author, Listing, Paper
from storage.papers import PaperRepository
from tests.clock import TickingClock
from tests.support import open_database

NEW, CROSS, REPLACE = AnnounceType.NEW, AnnounceType.CROSS, AnnounceType.REPLACE
DAY = date(2025, 8, 20)


def feed_paper(arxiv_id: str, version: int = 1, *categories: str, title: str | None = None) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title or f"Feed title {arxiv_id}",
        abstract="Feed abstract.",
        authors=(Author("Ann Lee"), Author("Bo Chen")),
        categories=categories or ("cs.IR",),
    )


def api_paper(arxiv_id: str, version: int = 1) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=f"API title {arxiv_id}",
        abstract="API abstract.",
        authors=(Author("Ann Lee", ("Pinterest",)), Author("Bo Chen", ("MSR", "Aalto University"))),
        categories=("cs.IR", "cs.LG"),
        primary_category="cs.IR",
        comment="Accepted at SIGIR",
        journal_ref="Proc. SIGIR",
        doi="10.1/2",
    )


@pytest.fixture
def repo(db) -> PaperRepository:
    return PaperRepository(db, clock=TickingClock(datetime(2025, 8, 20, 1, 0, tzinfo=UTC)))


async def table(db, name: str) -> list[tuple]:
    async with db.execute(f"SELECT * FROM {name} ORDER BY 1, 2, 3") as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_news_are_stored_and_replacements_only_counted(repo):
    result = await repo.store_announcement(
        "cs.IR",
        DAY,
        [(feed_paper("2508.00002"), CROSS), (feed_paper("2508.00001"), NEW), (feed_paper("2401.1"), REPLACE)],
    )

    assert (result.papers_added, result.listings_added, result.replacements_skipped) == (2, 2, 1)
    assert result.announcement_added and result.changed
    assert await repo.paper("2401.1") is None
    listed = await repo.listings(["cs.IR"], DAY)
    assert [listing for _, listing in listed] == [
        Listing("2508.00001", "cs.IR", DAY, NEW),
        Listing("2508.00002", "cs.IR", DAY, CROSS),
    ]
    assert listed[0][0] == feed_paper("2508.00001")


async def test_a_paper_in_two_categories_is_stored_once_with_two_listings(db, repo):
    paper = feed_paper("2508.00001", 1, "cs.LG", "cs.IR")
    await repo.store_announcement("cs.LG", DAY, [(paper, NEW)])
    second = await repo.store_announcement("cs.IR", DAY, [(paper, CROSS)])

    assert (second.papers_added, second.listings_added) == (0, 1)
    assert len(await table(db, "papers")) == 1
    assert len(await table(db, "authors")) == 2
    listed = await repo.listings(["cs.IR", "cs.LG"], DAY)
    assert [(listing.category, listing.announce_type) for _, listing in listed] == [
        ("cs.IR", CROSS),
        ("cs.LG", NEW),
    ]
    assert listed[0][0] is listed[1][0]


async def test_storing_an_announcement_again_changes_nothing(db, repo):
    entries = [
        (feed_paper("2508.00001"), NEW),
        (feed_paper("2508.00002"), CROSS),
        (feed_paper("2401.1"), REPLACE),
    ]
    await repo.store_announcement("cs.IR", DAY, entries)
    before = {name: await table(db, name) for name in ("papers", "authors", "listings", "announcements")}

    again = await repo.store_announcement("cs.IR", DAY, entries)

    assert not again.changed
    assert (again.papers_added, again.papers_updated, again.listings_added) == (0, 0, 0)
    assert {name: await table(db, name) for name in before} == before


async def test_an_empty_feed_is_no_announcement(db, repo):
    with pytest.raises(ValueError, match="no announcement"):
        await repo.store_announcement("cs.IR", DAY, [])
    assert await table(db, "announcements") == []
    assert await repo.latest_announcement("cs.IR") is None


async def test_a_failing_store_leaves_nothing_behind(db, repo):
    broken = Paper("2508.00002", 1, None, "abstract", (), ("cs.IR",))  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"NOT NULL|not-null"):  # SQLite | PostgreSQL
        await repo.store_announcement("cs.IR", DAY, [(feed_paper("2508.00001"), NEW), (broken, NEW)])
    for name in ("papers", "authors", "listings", "announcements"):
        assert await table(db, name) == []


async def test_latest_announcements(repo):
    for category, day in [("cs.IR", date(2025, 8, 19)), ("cs.IR", DAY), ("cs.LG", date(2025, 8, 18))]:
        await repo.store_announcement(category, day, [(feed_paper(f"{category}-{day}"), NEW)])

    assert await repo.latest_announcement("cs.IR") == DAY
    assert await repo.latest_announcement("cs.RO") is None
    assert await repo.latest_announcements(["cs.IR", "cs.LG", "cs.RO"]) == {
        "cs.IR": DAY,
        "cs.LG": date(2025, 8, 18),
    }
    assert await repo.listings(["cs.IR"], date(2025, 8, 19)) != await repo.listings(["cs.IR"], DAY)


async def test_metadata_completes_papers_and_survives_later_feeds(repo):
    await repo.store_announcement(
        "cs.IR", DAY, [(feed_paper("2508.00001"), NEW), (feed_paper("2508.00002"), NEW)]
    )
    assert await repo.ids_missing_metadata(10) == ["2508.00001", "2508.00002"]

    await repo.store_metadata([api_paper("2508.00001")])

    assert await repo.ids_missing_metadata(10) == ["2508.00002"]
    assert await repo.paper("2508.00001") == api_paper("2508.00001")
    later = await repo.store_announcement("cs.LG", date(2025, 8, 21), [(feed_paper("2508.00001"), CROSS)])
    assert (later.papers_added, later.papers_updated, later.listings_added) == (0, 0, 1)
    assert await repo.paper("2508.00001") == api_paper("2508.00001")


async def test_a_newer_version_in_the_feed_queues_the_paper_again(repo):
    await repo.store_announcement("cs.IR", DAY, [(feed_paper("2508.00001"), NEW)])
    await repo.store_metadata([api_paper("2508.00001")])

    result = await repo.store_announcement(
        "cs.LG", date(2025, 9, 2), [(feed_paper("2508.00001", 2, "cs.IR", title="Second version"), CROSS)]
    )

    assert result.papers_updated == 1
    stored = await repo.paper("2508.00001")
    assert (stored.version, stored.title, stored.authors) == (
        2,
        "Second version",
        (Author("Ann Lee"), Author("Bo Chen")),
    )
    assert await repo.ids_missing_metadata(10) == ["2508.00001"]


async def test_papers_the_api_keeps_missing_stop_being_asked_for(repo):
    await repo.store_announcement(
        "cs.IR", DAY, [(feed_paper("2508.00001"), NEW), (feed_paper("2508.00002"), NEW)]
    )
    await repo.record_metadata_misses(["2508.00001"])
    await repo.record_metadata_misses(["2508.00001"])

    assert await repo.ids_missing_metadata(10, max_misses=2) == ["2508.00002"]
    assert await repo.ids_missing_metadata(10) == ["2508.00001", "2508.00002"]
    assert await repo.ids_missing_metadata(1) == ["2508.00001"]


async def test_affiliations_are_looked_for_once_metadata_is_complete(repo):
    await repo.store_announcement("cs.IR", DAY, [(feed_paper("2508.00001"), NEW)])
    assert await repo.ids_missing_affiliations(10) == []
    await repo.store_metadata([api_paper("2508.00001")])
    assert await repo.ids_missing_affiliations(10) == ["2508.00001"]

    authors = (Author("Ann Lee", ("Pinterest", "Stanford University")), Author("Bo Chen", ()))
    assert await repo.set_author_affiliations("2508.00001", authors) is True

    assert (await repo.paper("2508.00001")).authors == authors
    assert await repo.ids_missing_affiliations(10) == []
    assert await repo.set_author_affiliations("2508.99999", authors) is False


async def test_papers_returns_known_ids_only(repo):
    await repo.store_announcement("cs.IR", DAY, [(feed_paper("2508.00001"), NEW)])
    assert list(await repo.papers(["2508.00001", "2508.99999", "2508.00001"])) == ["2508.00001"]
    assert await repo.listings([], DAY) == []
    assert await repo.latest_announcements([]) == {}


@pytest.mark.sqlite_only
async def test_daily_questions_use_indexes_not_table_scans(db, repo):
    """With a year of data (~200k papers) a table scan would be the slow path; only the small
    partial indexes of the work queues may be walked whole."""
    await repo.store_announcement("cs.IR", DAY, [(feed_paper("2508.00001"), NEW)])
    await repo.store_metadata([api_paper("2508.00001")])
    statements: list[str] = []
    await db.set_trace_callback(statements.append)
    await repo.listings(["cs.IR", "cs.LG"], DAY)
    await repo.outlines(["cs.IR", "cs.LG"], DAY)
    await repo.latest_announcement("cs.IR")
    await repo.latest_announcements(["cs.IR", "cs.LG"])
    await repo.ids_missing_metadata(10, max_misses=5)
    await repo.ids_missing_affiliations(10)
    await db.set_trace_callback(None)

    queries = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 8
    for query in queries:
        async with db.execute(f"EXPLAIN QUERY PLAN {query}") as cursor:
            plan = [row[3] for row in await cursor.fetchall()]
        table_scans = [step for step in plan if step.startswith("SCAN") and "USING" not in step]
        assert not table_scans, (query, plan)


async def test_outlines_list_what_listings_list_with_the_ranking_fields_only(repo):
    await repo.store_announcement(
        "cs.IR", DAY, [(feed_paper("2508.00001"), NEW), (feed_paper("2508.00002"), CROSS)]
    )
    await repo.store_announcement("cs.LG", DAY, [(feed_paper("2508.00001"), CROSS)])
    await repo.store_metadata([api_paper("2508.00001")])
    full = await repo.listings(["cs.IR", "cs.LG"], DAY)
    outlines = await repo.outlines(["cs.IR", "cs.LG"], DAY)
    assert {listing for _, listing in outlines} == {listing for _, listing in full}
    assert len(outlines) == len(full) == 3
    outline = next(paper for paper, _ in outlines if paper.arxiv_id == "2508.00001")
    assert (outline.primary_category, outline.comment, outline.journal_ref) == (
        "cs.IR",
        "Accepted at SIGIR",
        "Proc. SIGIR",
    )
    assert (outline.title, outline.abstract, outline.authors) == ("", "", ())


async def test_each_affiliation_keeps_its_source_and_papers_are_counted_by_source(repo):
    await repo.store_announcement(
        "cs.IR", DAY, [(feed_paper("2508.00001"), NEW), (feed_paper("2508.00002"), NEW)]
    )
    await repo.store_metadata([api_paper("2508.00001"), api_paper("2508.00002")])
    api, block, note = AffiliationSource.API, AffiliationSource.HTML_AUTHORS, AffiliationSource.HTML_NOTE
    first = (
        Author("Ann Lee", ("Pinterest", "Stanford University"), (api, block)),
        Author("Bo Chen", ("MIT",), (note,)),
    )
    await repo.set_author_affiliations("2508.00001", first)
    await repo.set_author_affiliations(
        "2508.00002", (Author("Ann Lee", ("Pinterest",), (block,)), Author("Bo Chen"))
    )

    assert (await repo.paper("2508.00001")).authors == first
    assert await repo.papers_with_affiliations_by_source() == {"api": 1, "html-authors": 2, "html-note": 1}
    assert await repo.with_affiliations(["2508.00001", "2508.00002", "2508.99999"]) == 2


async def test_the_papers_waiting_for_affiliations_keep_the_order_asked(repo):
    papers = [feed_paper(f"2508.0000{n}") for n in range(1, 5)]
    await repo.store_announcement("cs.IR", DAY, [(paper, NEW) for paper in papers])
    await repo.store_metadata([api_paper("2508.00003"), api_paper("2508.00001"), api_paper("2508.00004")])
    await repo.set_author_affiliations("2508.00004", ())
    asked = ["2508.00004", "2508.00003", "2508.00002", "2508.99999", "2508.00001"]
    assert await repo.awaiting_affiliations(asked) == ["2508.00003", "2508.00002", "2508.00001"]
    assert await repo.awaiting_affiliations(asked, complete=True) == ["2508.00003", "2508.00001"]


@pytest.mark.sqlite_only
async def test_an_older_database_keeps_its_affiliations_with_their_source_unrecorded(tmp_path):
    """Migration 0008 on a database written before it: nothing is lost, nothing is made up."""
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path)
    for version, sql in database.migrations():
        if version < 8:
            connection.executescript(sql)
    connection.execute(
        "INSERT INTO papers (arxiv_id, version, title, abstract, categories, metadata_complete, first_seen)"
        " VALUES ('2508.00001', 1, 'T', 'A', '[\"cs.IR\"]', 1, '2025-08-20T00:00:00+00:00')"
    )
    connection.execute(
        "INSERT INTO authors (arxiv_id, position, name, affiliations)"
        " VALUES ('2508.00001', 0, 'Ann Lee', '[\"MIT\"]')"
    )
    connection.execute("PRAGMA user_version = 7")
    connection.commit()
    connection.close()
    async with open_database(path) as db:
        repo = PaperRepository(db)
        assert (await repo.paper("2508.00001")).authors == (Author("Ann Lee", ("MIT",)),)
        assert await repo.papers_with_affiliations_by_source() == {"": 1}
