"""The announcement feed: strict parsing of arXiv's Atom, and the real httpx client against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from bot.arxiv.feed import (
    MAX_FEED_BYTES,
    ArxivFeedError,
    FeedClient,
    parse_feed,
    split_authors,
    split_versioned_id,
)
from bot.arxiv.http import ArxivPacer, ArxivRetry, ArxivUnavailableError
from bot.core.names import readable_name
from storage.models import AnnounceType, Author
from tests.clock import VirtualClock
from tests.fakes.arxiv_server import FEED, SAMPLE_FEED, FakeArxiv


def feed_document(*entries: str, updated: str = "2025-08-20T04:00:19.866337+00:00") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns="http://www.w3.org/2005/Atom">'
        "<id>http://rss.arxiv.org/atom/cs.IR</id><title>cs.IR updates on arXiv.org</title>"
        f"<updated>{updated}</updated>" + "".join(entries) + "</feed>"
    ).encode()


def entry(
    oai_id: str = "oai:arXiv.org:2508.00001v1",
    announce_type: str = "new",
    published: str | None = "2025-08-20T00:00:00-04:00",
    creator: str = "Ada Lovelace",
    title: str = "A title",
) -> str:
    published_element = f"<published>{published}</published>" if published else ""
    return (
        f"<entry><id>{oai_id}</id><title>{title}</title>"
        f"<summary>arXiv:{oai_id.rpartition(':')[2]} Announce Type: {announce_type} \n"
        "Abstract: Text.</summary>"
        f'<category term="cs.IR"/>{published_element}'
        f"<arxiv:announce_type>{announce_type}</arxiv:announce_type><dc:creator>{creator}</dc:creator></entry>"
    )


def test_real_sample_feed_parses_completely():
    announcement = parse_feed(SAMPLE_FEED.read_bytes(), "cs.AI")

    assert announcement.announced == date(2025, 8, 20)
    assert len(announcement.entries) == 7
    assert announcement.count(AnnounceType.NEW) == 2
    assert announcement.count(AnnounceType.CROSS) == 5
    first = announcement.entries[0]
    assert (first.arxiv_id, first.version, first.announce_type) == ("2508.13426", 1, AnnounceType.CROSS)
    assert first.categories == ("cs.CL", "cs.AI")
    assert first.authors == ("Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang")
    assert first.title.startswith("ALIGN: Word Association Learning")
    assert first.abstract.startswith("As large language models (LLMs) increasingly mediate")
    for parsed in announcement.entries:
        assert "Announce Type" not in parsed.abstract and not parsed.abstract.startswith("arXiv:")
    assert announcement.entries[4].abstract == "Spectral graph embedding methods are widely used."
    assert announcement.entries[2].authors == ("Paulo André Lima de Castro",)
    assert [e.arxiv_id for e in announcement.entries if e.announce_type is AnnounceType.NEW] == [
        "2508.14001",
        "2508.14002",
    ]


def test_feed_entry_becomes_a_paper_without_api_fields():
    parsed = parse_feed(SAMPLE_FEED.read_bytes(), "cs.AI").entries[5]
    paper = parsed.paper()
    assert paper.versioned_id == "2508.14001v1"
    assert paper.authors == (Author("Alice Smith"), Author("Bob Jones"))
    assert paper.categories == ("cs.AI", "cs.LG")
    assert (paper.primary_category, paper.comment, paper.doi) == (None, None, None)


def test_old_style_ids_and_replacements():
    announcement = parse_feed(
        feed_document(
            entry("oai:arXiv.org:cs/0501001v2", "replace"),
            entry("oai:arXiv.org:math.GT/0309136v3", "replace-cross"),
            entry("oai:arXiv.org:2401.12345v4", "cross"),
        ),
        "cs.IR",
    )
    assert [(e.arxiv_id, e.version, e.announce_type) for e in announcement.entries] == [
        ("cs/0501001", 2, AnnounceType.REPLACE),
        ("math.GT/0309136", 3, AnnounceType.REPLACE_CROSS),
        ("2401.12345", 4, AnnounceType.CROSS),
    ]


def test_empty_feed_means_no_announcement():
    announcement = parse_feed(feed_document(), "cs.IR")
    assert announcement.is_empty
    assert announcement.announced is None


def test_announcement_date_falls_back_to_feed_updated():
    announcement = parse_feed(
        feed_document(entry(published=None), updated="2025-08-21T04:00:19+00:00"), "cs.IR"
    )
    assert announcement.announced == date(2025, 8, 21)


def test_title_whitespace_is_collapsed():
    announcement = parse_feed(feed_document(entry(title="  Deep\n   Learning\tfor  IR ")), "cs.IR")
    assert announcement.entries[0].title == "Deep Learning for IR"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (SAMPLE_FEED.read_bytes()[:3000], "malformed XML"),
        (b"", "malformed XML"),
        (b"<html><body>Service Unavailable</body></html>", "not an Atom feed"),
        (feed_document(entry(), entry("oai:arXiv.org:nonsense")), "entry 2: unexpected id"),
        (feed_document(entry(announce_type="withdrawn")), "unknown announce type 'withdrawn'"),
        (feed_document(entry(title="")), "missing <title>"),
        (
            feed_document(
                entry(), entry("oai:arXiv.org:2508.00002v1", published="2025-08-21T00:00:00-04:00")
            ),
            "disagree on the announcement date",
        ),
        (feed_document(entry(published="yesterday")), "not a timestamp"),
    ],
)
def test_a_bad_document_or_entry_rejects_the_whole_feed(document, problem):
    with pytest.raises(ArxivFeedError, match=problem):
        parse_feed(document, "cs.IR")


@pytest.mark.parametrize(
    ("creators", "names"),
    [
        (
            "Chunhua Liu, Kabir Manandhar Shrestha, Sukai Huang",
            ("Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang"),
        ),
        ("Alice Smith and Bob Jones", ("Alice Smith", "Bob Jones")),
        ("A. Smith, B. Jones, and C. Brown", ("A. Smith", "B. Jones", "C. Brown")),
        ("Anand Kumar, Ferdinand Sandoval", ("Anand Kumar", "Ferdinand Sandoval")),
        ("John Smith, Jr., Ann Lee", ("John Smith, Jr.", "Ann Lee")),
        ("  Solo\n  Author ", ("Solo Author",)),
        ("", ()),
    ],
)
def test_split_authors(creators, names):
    assert split_authors(creators) == names


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"Paulo Andr\'e Lima de Castro", "Paulo André Lima de Castro"),
        (r"J{\"o}rg M\"uller", "Jörg Müller"),
        (r"Fran\c{c}ois \v{S}ediv\'y", "François Šedivý"),
        (r"S{\o}ren {\AA}berg", "Søren Åberg"),
        (r"Mar\'{\i}a", "María"),
        ("Plain Name", "Plain Name"),
    ],
)
def test_tex_accents_in_names_become_unicode(tex, text):
    assert readable_name(tex) == text


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2508.13426v1", ("2508.13426", 1)),
        ("0704.0001v12", ("0704.0001", 12)),
        ("cs/0501001v2", ("cs/0501001", 2)),
        ("hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("2508.13426", None),
        ("http://arxiv.org/api/errors#incorrect_id_format_for_1234", None),
    ],
)
def test_split_versioned_id(text, parsed):
    assert split_versioned_id(text) == parsed


@pytest.fixture
async def feed(arxiv: FakeArxiv, virtual_clock: VirtualClock) -> AsyncIterator[FeedClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.25)) as http:
        pacer = ArxivPacer(0, monotonic=virtual_clock, sleep=virtual_clock.sleep)
        yield FeedClient(arxiv.feed_url, http, pacer, retry=ArxivRetry(attempts=3), sleep=virtual_clock.sleep)


async def test_fetch_reads_the_fakes_feed_in_arxivs_shape(arxiv, feed):
    arxiv.add_paper(
        "2508.00001", "Dense Retrieval", authors=["Ann Lee", "Bo Chen"], categories=["cs.IR", "cs.CL"]
    )
    arxiv.add_paper("2508.00002", categories=["cs.LG", "cs.IR"])
    arxiv.add_paper("2301.00003", categories=["cs.IR"], version=2)
    arxiv.set_announcement(
        "cs.IR",
        date(2025, 12, 3),
        [("2508.00001", "new"), ("2508.00002", "cross"), ("2301.00003", "replace")],
    )

    announcement = await feed.fetch("cs.IR")

    assert announcement.announced == date(2025, 12, 3)
    assert [(e.arxiv_id, e.version, e.announce_type) for e in announcement.entries] == [
        ("2508.00001", 1, AnnounceType.NEW),
        ("2508.00002", 1, AnnounceType.CROSS),
        ("2301.00003", 2, AnnounceType.REPLACE),
    ]
    assert announcement.entries[0].authors == ("Ann Lee", "Bo Chen")
    assert announcement.entries[1].categories == ("cs.LG", "cs.IR")
    assert [request.path for request in arxiv.requests] == ["/atom/cs.IR"]


async def test_fetch_of_an_empty_feed(arxiv, feed):
    arxiv.set_empty_feed("cs.IR")
    assert (await feed.fetch("cs.IR")).is_empty


async def test_server_errors_are_retried_with_exponential_backoff(arxiv, feed, virtual_clock):
    arxiv.load_sample_feed("cs.AI")
    arxiv.fail(FEED, 503, times=2)

    announcement = await feed.fetch("cs.AI")

    assert len(announcement.entries) == 7
    assert len(arxiv.requests_to(FEED)) == 3
    assert virtual_clock.sleeps == [5.0, 10.0]


async def test_429_waits_as_told_up_to_the_cap(arxiv, feed, virtual_clock):
    arxiv.load_sample_feed("cs.AI")
    arxiv.fail(FEED, 429, retry_after="42")
    arxiv.fail(FEED, 429, retry_after="86400")

    await feed.fetch("cs.AI")

    assert virtual_clock.sleeps == [42.0, ArxivRetry().max_retry_after]


async def test_giving_up_after_the_last_attempt(arxiv, feed):
    arxiv.fail(FEED, 502, times=None)
    with pytest.raises(ArxivUnavailableError, match="HTTP 502"):
        await feed.fetch("cs.AI")
    assert len(arxiv.requests_to(FEED)) == 3


async def test_timeouts_and_truncated_bodies_are_retried(arxiv, feed):
    arxiv.load_sample_feed("cs.AI")
    arxiv.hang(FEED)
    arxiv.truncate(FEED)

    assert len((await feed.fetch("cs.AI")).entries) == 7
    assert len(arxiv.requests_to(FEED)) == 3


async def test_client_errors_and_malformed_feeds_are_not_retried(arxiv, feed):
    arxiv.fail(FEED, 404)
    with pytest.raises(ArxivFeedError, match="HTTP 404"):
        await feed.fetch("cs.XX")
    arxiv.load_sample_feed("cs.AI")
    arxiv.malformed(FEED)
    with pytest.raises(ArxivFeedError, match="malformed XML"):
        await feed.fetch("cs.AI")
    assert len(arxiv.requests_to(FEED)) == 2


async def test_a_feed_larger_than_any_announcement_is_refused_unread(arxiv, feed):
    arxiv.set_raw_feed("cs.IR", b"<feed>" + b" " * MAX_FEED_BYTES + b"</feed>")
    with pytest.raises(ArxivFeedError, match="larger than 16 MiB, not read"):
        await feed.fetch("cs.IR")
    assert len(arxiv.requests_to(FEED)) == 1, "a refused body is not asked for again"
