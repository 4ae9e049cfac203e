"""Which day a user means, and the buttons that move through papers: pure, no servers."""

from __future__ import annotations

import random
from datetime import date

import pytest

from bot.core.callbacks import CategoryPage, OpenCategory
from bot.core.days import DayError, is_page_number, parse_day
from bot.core.digest import (
    Selection,
    build_digest,
    category_page,
    in_category,
    select_for_push,
    unshown,
)
from bot.core.navigation import more_buttons, page_buttons
from storage.models import AnnounceType, Author, Listing, Paper

DAY = date(2026, 11, 24)  # a Tuesday
TUESDAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-08-20", date(2026, 8, 20)),
        ("today", TUESDAY),
        ("Yesterday", date(2026, 11, 23)),
        ("tue", TUESDAY),  # a weekday is its latest occurrence, today included
        ("mon", date(2026, 11, 23)),
        ("friday", date(2026, 11, 20)),
        ("wed", date(2026, 11, 18)),
    ],
)
def test_days_are_read_from_the_chats_today(text, day):
    assert parse_day(text, TUESDAY) == day


@pytest.mark.parametrize("text", ["", "mo", "2026-13-01", "20.8.2026", "x" * 500])
def test_what_is_no_day_says_so(text):
    with pytest.raises(DayError, match="is not a day"):
        parse_day(text, TUESDAY)


def test_page_numbers_are_short_numbers():
    assert is_page_number("3") and is_page_number("1000")
    assert not is_page_number("20261124") and not is_page_number("-1") and not is_page_number("3a")


def test_page_buttons_grow_jumps_on_long_categories():
    def labels(number: int, count: int) -> list[list[str]]:
        return [[text for text, _ in row] for row in page_buttons(number, count, at)]

    def at(page: int) -> CategoryPage:
        return CategoryPage("cs.IR", DAY, page)

    assert labels(1, 1) == []
    assert labels(1, 2) == [["1 / 2", "Next ▶"]]
    assert labels(3, 5) == [["◀ Previous", "3 / 5", "Next ▶"]]
    assert labels(1, 12) == [["1 / 12", "Next ▶"], ["+5", "12 »"]]
    assert labels(6, 12) == [["◀ Previous", "6 / 12", "Next ▶"], ["« 1", "−5", "+5", "12 »"]]
    (_, jumps) = page_buttons(6, 12, at)
    assert dict(jumps)["−5"] == CategoryPage("cs.IR", DAY, 1) and dict(jumps)["+5"] == CategoryPage(
        "cs.IR", DAY, 11
    )


def paper(number: int, *categories: str, comment: str | None = None) -> Paper:
    return Paper(
        f"2611.{number:05d}", 1, f"Paper {number}", "", (Author("A B"),), categories, categories[0], comment
    )


def test_a_category_keeps_its_own_order_inside_a_digest_of_several():
    """/cat IR lists IR's papers in IR's order however the chat's digest ranked them."""
    both = paper(1, "cs.LG", "cs.IR")  # cross-listed in IR, new in LG: first in an IR+LG digest
    rows = [
        (both, Listing(both.arxiv_id, "cs.LG", DAY, AnnounceType.NEW)),
        (both, Listing(both.arxiv_id, "cs.IR", DAY, AnnounceType.CROSS)),
        *[
            (p, Listing(p.arxiv_id, "cs.IR", DAY, AnnounceType.NEW))
            for p in (paper(2, "cs.IR"), paper(3, "cs.IR"))
        ],
    ]
    chat = build_digest(rows, ["cs.IR", "cs.LG"], DAY)
    alone = build_digest([row for row in rows if row[1].category == "cs.IR"], ["cs.IR"], DAY)
    assert chat.entries[0].paper.arxiv_id == both.arxiv_id
    assert [e.paper.arxiv_id for e in in_category(chat, "cs.IR")] == [e.paper.arxiv_id for e in alone.entries]
    assert category_page(chat, "cs.IR", 1).entries[-1].paper.arxiv_id == both.arxiv_id


def test_the_first_page_not_shown_is_where_the_category_listing_puts_its_first_paper_not_shown():
    """Whatever the chat's order picked (a personal ranking shows papers from anywhere in a category),
    the page is the one `/cat` shows that paper on."""
    rng = random.Random(11)
    categories = ["cs.IR", "cs.LG", "cs.CL"]
    rows = []
    for n in range(90):
        primary = rng.choice(categories)
        kind = rng.choice([AnnounceType.NEW, AnnounceType.CROSS])
        listed = paper(n, primary, comment="Accepted at ICLR 2026" if rng.random() < 0.3 else None)
        rows.append((listed, Listing(listed.arxiv_id, primary, DAY, kind)))
        if rng.random() < 0.3:
            other = rng.choice([name for name in categories if name != primary])
            rows.append((listed, Listing(listed.arxiv_id, other, DAY, AnnounceType.CROSS)))
    digest = build_digest(rows, categories, DAY)
    for _ in range(200):
        shown = tuple(rng.sample(digest.entries, rng.randint(0, 40)))
        selection = Selection(shown, len(digest.entries) - len(shown))
        shown_ids = {entry.paper.arxiv_id for entry in shown}
        for category in categories:
            listed = in_category(digest, category)
            not_shown = [at for at, entry in enumerate(listed) if entry.paper.arxiv_id not in shown_ids]
            expected = not_shown[0] // 5 + 1 if not_shown else 1
            found = unshown(digest, selection, categories, per_page=5)[category]
            assert (found.papers, found.page) == (len(listed), expected)


def test_the_more_buttons_open_each_category_at_its_first_paper_not_shown():
    rows = [(paper(n, "cs.IR"), Listing(f"2611.{n:05d}", "cs.IR", DAY, AnnounceType.NEW)) for n in range(20)]
    rows += [
        (paper(100 + n, "cs.LG"), Listing(f"2611.{100 + n:05d}", "cs.LG", DAY, AnnounceType.NEW))
        for n in range(3)
    ]
    digest = build_digest(rows, ["cs.IR", "cs.LG"], DAY)
    selection = select_for_push(digest, 10)  # IR's first ten by id: the 11th is on page 2
    assert unshown(digest, selection, ["cs.IR"])["cs.IR"].page == 2
    assert more_buttons(digest, selection) == [
        ("All IR (20)", OpenCategory("cs.IR", DAY, 2)),
        ("All LG (3)", OpenCategory("cs.LG", DAY, 1)),
    ]
    assert more_buttons(digest, select_for_push(digest, None)) == []
