"""Selection, order, venue detection and paging of a chat's digest."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.digest import (
    FEATURED,
    MAX_PAGE_SIZE,
    CategoryCount,
    build_digest,
    category_page,
    enrichment_priority,
    select_for_push,
    venue_note,
)
from storage.models import AnnounceType, Author, Listing, Paper

DAY = date(2025, 8, 20)
NEW, CROSS = AnnounceType.NEW, AnnounceType.CROSS


def paper(arxiv_id: str, *categories: str, comment: str | None = None, primary: bool = True) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=1,
        title=f"Paper {arxiv_id}",
        abstract="An abstract.",
        authors=(Author("Alice Smith"),),
        categories=categories,
        primary_category=categories[0] if primary else None,
        comment=comment,
    )


def row(item: Paper, category: str, announce_type: AnnounceType = NEW, day: date = DAY):
    return item, Listing(item.arxiv_id, category, day, announce_type)


def ids(digest) -> list[str]:
    return [entry.paper.arxiv_id for entry in digest.entries]


def test_only_news_of_the_chats_categories_on_the_date_appear():
    rows = [
        row(paper("2508.00001", "cs.IR"), "cs.IR"),
        row(paper("2508.00002", "cs.CL", "cs.IR"), "cs.IR", CROSS),
        row(paper("2401.00003", "cs.IR"), "cs.IR", AnnounceType.REPLACE),
        row(paper("2401.00004", "cs.LG", "cs.IR"), "cs.IR", AnnounceType.REPLACE_CROSS),
        row(paper("2508.00005", "cs.IR"), "cs.IR", NEW, date(2025, 8, 19)),
        row(paper("2508.00006", "cs.CV"), "cs.CV"),
    ]
    digest = build_digest(rows, ["cs.IR"], DAY)
    assert digest.announced == DAY
    assert ids(digest) == ["2508.00001", "2508.00002"]
    assert digest.counts == (CategoryCount("cs.IR", new=1, cross=1),)


def test_a_paper_in_two_categories_appears_once_with_both_tags_primary_first():
    item = paper("2508.00001", "cs.LG", "cs.IR")
    rows = [row(item, "cs.IR", CROSS), row(item, "cs.LG"), row(item, "cs.LG")]
    digest = build_digest(rows, ["cs.IR", "cs.LG"], DAY)
    (entry,) = digest.entries
    assert entry.tags == ("cs.LG", "cs.IR")
    assert entry.new_in == ("cs.LG",)
    assert not entry.is_cross
    assert digest.counts == (CategoryCount("cs.IR", 0, 1), CategoryCount("cs.LG", 1, 0))
    assert digest.categories == ("cs.IR", "cs.LG")


def test_tags_follow_the_chats_order_when_the_primary_is_not_among_them():
    item = paper("2508.00001", "cs.CL", "cs.LG", "cs.IR")
    rows = [row(item, "cs.LG", CROSS), row(item, "cs.IR", CROSS)]
    (entry,) = build_digest(rows, ["cs.IR", "cs.LG"], DAY).entries
    assert entry.tags == ("cs.IR", "cs.LG")
    assert entry.is_cross


def test_without_a_known_primary_the_category_of_the_new_listing_comes_first():
    item = paper("2508.00001", "cs.IR", "cs.LG", primary=False)
    rows = [row(item, "cs.IR", CROSS), row(item, "cs.LG")]
    (entry,) = build_digest(rows, ["cs.IR", "cs.LG"], DAY).entries
    assert entry.tags == ("cs.LG", "cs.IR")


def test_order_new_before_cross_then_more_categories_then_venue_then_id():
    cats = ["cs.IR", "cs.LG"]
    rows = [
        row(paper("2508.00001", "cs.CL", "cs.IR"), "cs.IR", CROSS),  # cross-list
        row(paper("2508.00002", "cs.IR"), "cs.IR"),  # new, one category, no venue
        row(paper("2508.00003", "cs.IR", comment="Accepted at SIGIR 2025"), "cs.IR"),  # venue
        row(paper("2508.00004", "cs.LG", "cs.IR"), "cs.LG"),  # new here and
        row(paper("2508.00004", "cs.LG", "cs.IR"), "cs.IR", CROSS),  # listed in both
        row(paper("2508.00005", "cs.CL", "cs.IR", "cs.LG"), "cs.IR", CROSS),  # cross in both
        row(paper("2508.00005", "cs.CL", "cs.IR", "cs.LG"), "cs.LG", CROSS),
        row(paper("2508.10000", "cs.IR"), "cs.IR"),
        row(paper("2508.9999", "cs.IR"), "cs.IR"),  # old four-digit numbering sorts numerically
    ]
    digest = build_digest(rows, cats, DAY)
    assert ids(digest) == [
        "2508.00004",
        "2508.00003",
        "2508.00002",
        "2508.9999",
        "2508.10000",
        "2508.00005",
        "2508.00001",
    ]
    assert build_digest(reversed(rows), cats, DAY) == digest


def test_entries_carry_the_venue_note():
    rows = [row(paper("2508.00001", "cs.IR", comment="8 pages; accepted to RecSys '25"), "cs.IR")]
    (entry,) = build_digest(rows, ["cs.IR"], DAY).entries
    assert entry.venue == "Accepted to RecSys '25"


@pytest.mark.parametrize(
    ("comment", "journal_ref", "note"),
    [
        ("Accepted at KDD 2022", None, "Accepted at KDD 2022"),
        ("10 pages, 5 figures", None, None),
        ("10 pages, 5 figures, accepted at ICLR 2024", None, "Accepted at ICLR 2024"),
        (
            "Accepted to NeurIPS 2025 (Spotlight). Code: https://github.com/a/b",
            None,
            "Accepted to NeurIPS 2025 (Spotlight)",
        ),
        (
            "Camera-ready version for ACL 2023; code at https://x.org",
            None,
            "Camera-ready version for ACL 2023",
        ),
        (
            "12 pages; to appear in the Findings of EMNLP, 2024",
            None,
            "To appear in the Findings of EMNLP, 2024",
        ),
        ("Accepted in Proc. IEEE ICASSP 2025. 5 pages", None, "Accepted in Proc. IEEE ICASSP 2025"),
        ("Oral presentation at CVPR 2024", None, "Oral presentation at CVPR 2024"),
        (
            "Published in Transactions on Machine Learning Research (08/2025)",
            None,
            "Published in Transactions on Machine Learning Research (08/2025)",
        ),
        ("KDD'22", None, "KDD'22"),
        ("This paper has been accepted by ICCV2025", None, "Accepted by ICCV2025"),
        ("The code is published at github.com/a/b", None, None),
        ("SemEval-2025 Task 3 system description", None, "SemEval-2025 Task 3 system description"),
        ("Submitted to NeurIPS 2025", None, None),
        ("ICLR 2026 (under review)", None, None),
        ("Work in progress", None, None),
        ("9 pages", "Phys. Rev. D 102, 2020", "Published in Phys. Rev. D 102, 2020"),
        (None, "In Proceedings of KDD 2022", "Published in Proceedings of KDD 2022"),
        (
            "Accepted at " + "Very Long Venue Name " * 20,
            None,
            "Accepted at " + "Very Long Venue Name " * 4 + "Very Long Venue Name…",
        ),
        (None, None, None),
        ("", "  ", None),
    ],
)
def test_venue_note(comment, journal_ref, note):
    assert venue_note(comment, journal_ref) == note


def test_select_for_push():
    rows = [row(paper(f"2508.0000{n}", "cs.IR"), "cs.IR") for n in range(1, 6)]
    digest = build_digest(rows, ["cs.IR"], DAY)
    shown, remaining = select_for_push(digest, 3)
    assert [entry.paper.arxiv_id for entry in shown] == ["2508.00001", "2508.00002", "2508.00003"]
    assert remaining == 2
    assert select_for_push(digest, 10) == (digest.entries, 0)
    assert select_for_push(digest, None) == (digest.entries, 0)
    assert select_for_push(digest, 0) == (digest.entries, 0)
    with pytest.raises(ValueError, match="positive"):
        select_for_push(digest, -1)


def test_category_pages():
    rows = [row(paper(f"2508.{n:05d}", "cs.IR"), "cs.IR") for n in range(1, 20)]
    rows += [row(paper("2508.99999", "cs.LG"), "cs.LG")]
    digest = build_digest(rows, ["cs.IR", "cs.LG"], DAY)
    page = category_page(digest, "cs.IR", 2, per_page=8)
    assert (page.category, page.announced, page.number, page.count, page.total) == ("cs.IR", DAY, 2, 3, 19)
    assert page.first_position == 9
    assert [entry.paper.arxiv_id for entry in page.entries] == [f"2508.{n:05d}" for n in range(9, 17)]
    last = category_page(digest, "cs.IR", 99, per_page=8)
    assert (last.number, last.first_position, len(last.entries)) == (3, 17, 3)
    assert category_page(digest, "cs.IR", -5).number == 1
    empty = category_page(digest, "cs.CV", 1)
    assert (empty.number, empty.count, empty.total, empty.entries) == (1, 1, 0, ())
    with pytest.raises(ValueError, match="per_page"):
        category_page(digest, "cs.IR", 1, per_page=MAX_PAGE_SIZE + 1)


# --- which papers need their affiliations first ----------------------------------------------------


def day_of(category: str, count: int, start: int) -> list:
    return [row(paper(f"2508.{start + n:05d}", category), category) for n in range(count)]


def test_featured_papers_come_rank_by_rank_across_digests_each_once():
    rows = day_of("cs.IR", 12, 100) + day_of("cs.LG", 12, 200) + day_of("cs.CV", 2, 300)
    ir, lg = build_digest(rows, ["cs.IR"], DAY), build_digest(rows, ["cs.LG"], DAY)
    both, cv = build_digest(rows, ["cs.IR", "cs.LG"], DAY), build_digest(rows, ["cs.CV"], DAY)
    priority = enrichment_priority([(ir, 10), (lg, 10), (both, 5), (cv, 10)])

    assert FEATURED == 3
    assert priority.featured == (
        "2508.00100", "2508.00200", "2508.00300",  # every digest's first entry (both: IR's first again)
        "2508.00101", "2508.00201", "2508.00301",
        "2508.00102", "2508.00202",
    )  # fmt: skip
    rest = set(priority.first_page)
    assert rest == {f"2508.{n:05d}" for n in [*range(103, 110), *range(203, 210)]}
    assert not rest & set(priority.featured)
    assert priority.order == priority.featured + priority.first_page


def test_a_digest_showing_everything_puts_all_its_papers_on_the_first_page():
    rows = day_of("cs.IR", 30, 100)
    priority = enrichment_priority([(build_digest(rows, ["cs.IR"], DAY), None)])
    assert len(priority.featured) == FEATURED and len(priority.order) == 30


def test_no_digest_no_priority():
    assert enrichment_priority([]).order == ()
