"""Parsing arXiv's listing pages (/list/<category>/new) in every layout, from real saved pages.

The fixtures and where they come from are listed in tests/fixtures/listings/SOURCES.md (the mid-2024
page lives in bot/cli/offline/, since `console --offline` ships it); the
current layout has no saved page anywhere public, so its fixture is hand-made after arXiv's own
templates, from the entries of the real mid-2024 page.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.arxiv.listing import ListingLayoutError, parse_listing
from bot.cli.chat_console import OFFLINE_PAGE
from storage.models import AnnounceType
from tests.support import FIXTURES

LISTINGS = FIXTURES / "listings"
MID_2024 = OFFLINE_PAGE.read_bytes()  # shipped with the project for `console --offline`
CURRENT = (LISTINGS / "handmade-current-layout.html").read_bytes()
OLD = (LISTINGS / "cs-2018-07-20.html").read_bytes()
# The old page as its repository saved it lacks items 7-107 and the tail of the replacements; the
# same page with its own count set to what it holds is what a whole page of that layout looks like.
OLD_WHOLE = OLD.replace(b"total of 188 entries:  <b>1-188</b>", b"total of 47 entries:  <b>1-47</b>")


def test_the_mid_2024_page_is_read_whole():
    page = parse_listing(MID_2024, "math-ph")
    assert (page.announced, page.layout) == (date(2024, 8, 9), "2024")
    assert [page.count(kind) for kind in AnnounceType] == [6, 10, 2, 5]
    first = page.entries[0]
    assert (first.arxiv_id, first.version, first.announce_type) == ("2408.03981", 1, AnnounceType.NEW)
    assert first.title == "A Higher Spin Statistics Theorem for Invertible Quantum Field Theories"
    assert first.authors == ("Cameron Krulewski", "Lukas Müller", "Luuk Stehouwer")
    assert first.comment == "6 pages, no figures"
    assert first.categories == ("math-ph", "hep-th", "math.AT")
    assert first.abstract.startswith("We prove that every unitary invertible quantum field theory")
    assert "`higher spin' action" in first.abstract
    cross = page.entries[6]
    assert (cross.arxiv_id, cross.announce_type) == ("2408.03991", AnnounceType.CROSS)
    assert cross.paper().primary_category == "cond-mat.mes-hall"


def test_the_current_layout_reads_the_same_entries_as_the_real_page_they_come_from():
    page = parse_listing(CURRENT, "math-ph")
    assert (page.announced, page.layout) == (date(2024, 8, 9), "current")
    real = {entry.arxiv_id: entry for entry in parse_listing(MID_2024, "math-ph").entries}
    assert [entry.arxiv_id for entry in page.entries] == [
        "2408.03981",
        "2408.04201",
        "2408.03991",
        "2402.05646",
    ]
    assert list(page.entries) == [real[entry.arxiv_id] for entry in page.entries]


def test_the_old_layout_is_read_when_whole():
    page = parse_listing(OLD_WHOLE, "cs")
    assert (page.announced, page.layout) == (date(2018, 7, 20), "old")
    assert (page.count(AnnounceType.NEW), page.count(AnnounceType.CROSS)) == (6, 16)
    assert len(page.entries) == 47
    second = page.entries[1]
    assert second.authors == ("Étienne André", "Didier Lime", "Nicolas Markey")
    assert second.title == "Language Preservation Problems in Parametric Timed Automata"
    assert second.categories == ("cs.LO",)
    replaced = next(entry for entry in page.entries if entry.arxiv_id == "1309.6610")
    assert replaced.journal_ref.startswith(
        "Adversarial multiple access channels with individual injection rates."
    )
    assert replaced.comment is None


def test_a_page_that_holds_fewer_entries_than_it_announces_is_refused():
    with pytest.raises(ListingLayoutError, match="47 entries read of the 188"):
        parse_listing(OLD, "cs")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ((b"(showing 2 of 2 entries)", b"(showing 2 of 3 entries)"), "not every entry is on the page"),
        ((b"(showing 2 of 2 entries)", b"(continued, showing 2 of 2 entries)"), "starts inside the section"),
        ((b"(showing 1 of 1 entries)</h3>", b"(showing 2 of 2 entries)</h3>"), "entries read"),
        ((b"Total of 4 entries", b"Total of 5 entries"), "4 entries read of the 5"),
        ((b"New submissions (showing", b"New submissions for Thursday, 8 August 2024 (showing"), "dates"),
        ((b"Showing new listings for", b"Listings for"), "no announcement date"),
        ((b"New submissions (showing", b"Fresh papers (showing"), "before any section heading"),
    ],
)
def test_a_changed_or_partial_layout_is_refused_rather_than_read_in_part(change, problem):
    old, new = change
    assert old in CURRENT
    with pytest.raises(ListingLayoutError, match=problem):
        parse_listing(CURRENT.replace(old, new, 1), "math-ph")


@pytest.mark.parametrize(
    "body",
    [b"", b"<html><body><p>Service unavailable</p></body></html>", b"\x00\xff garbage", b"{}"],
)
def test_what_is_not_a_listing_page_is_refused(body):
    with pytest.raises(ListingLayoutError):
        parse_listing(body, "cs.IR")


def test_a_day_without_updates_is_an_empty_announcement():
    body = (
        b"<html><body><div id='dlpage'><h1>Robotics</h1>"
        b"<h3>Showing new listings for Monday, 23 November 2026</h3>"
        b"<p>No updates today.</p></div></body></html>"
    )
    page = parse_listing(body, "cs.RO")
    assert (page.announced, page.entries) == (date(2026, 11, 23), ())
