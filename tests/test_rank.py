"""The chat's order of a digest, its reasons, learning labels, feedback keyboards and BibTeX: pure."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.bibtex import arxiv_year, bibtex
from bot.core.callbacks import BUTTON_KINDS, MAX_PAGE, Feedback, RemoveFollow, SavedPage
from bot.core.digest import DigestEntry, build_digest
from bot.core.follows import match_follows, paper_text, parse_follows
from bot.core.keyboards import featured_on, feedback_rows, refreshed
from bot.core.rank import PaperFeedback, Signals, model_ready, rank, training_labels
from storage.models import AnnounceType, Author, Listing, Paper

DAY = date(2025, 4, 8)


def paper(arxiv_id: str, *categories: str, title: str = "A title", comment: str | None = None) -> Paper:
    return Paper(
        arxiv_id, 1, title, "An abstract.", (Author("Ada Lovelace"),), categories, categories[0], comment
    )


def digest(*papers: tuple[Paper, str, AnnounceType]):
    rows = [(item, Listing(item.arxiv_id, category, DAY, kind)) for item, category, kind in papers]
    return build_digest(rows, ["cs.CL", "cs.CV"], DAY)


NEW, CROSS = AnnounceType.NEW, AnnounceType.CROSS


def ids(ranked) -> list[str]:
    return [entry.paper.arxiv_id for entry in ranked.entries]


def test_without_signals_the_mechanical_order_stays():
    day = digest(
        (paper("2504.00003", "cs.CL"), "cs.CL", NEW),
        (paper("2504.00001", "cs.LG", "cs.CL"), "cs.CL", CROSS),
        (paper("2504.00002", "cs.CL", comment="Accepted at ACL 2025"), "cs.CL", NEW),
        (paper("2504.00004", "cs.CL", "cs.CV"), "cs.CL", NEW),
        (paper("2504.00004", "cs.CL", "cs.CV"), "cs.CV", CROSS),
    )
    assert ids(rank(day, {})) == ids(day) == ["2504.00004", "2504.00002", "2504.00003", "2504.00001"]


def test_a_followed_paper_comes_first_with_its_reason_and_bold_words():
    followed = paper("2504.00009", "cs.LG", "cs.CL", title="Retrieval-augmented generation at scale")
    day = digest((paper("2504.00001", "cs.CL"), "cs.CL", NEW), (followed, "cs.CL", CROSS))
    matches = match_follows(parse_follows('"retrieval augmented generation"'), paper_text(followed))
    ranked = rank(day, {"2504.00009": Signals(matches=matches)})
    first = ranked.entries[0]
    assert first.paper.arxiv_id == "2504.00009"
    assert str(first.reason) == "★ retrieval augmented generation"
    assert first.highlights == ((0, 30),)
    assert ranked.entries[1].reason is None


def test_papers_beyond_the_chats_categories_are_marked():
    day = digest((paper("2504.00001", "cs.CL"), "cs.CL", NEW))
    beyond = paper("2504.00002", "stat.ML")
    outside = DigestEntry(beyond, ("stat.ML",), (), None)
    matches = match_follows(parse_follows("author:Lovelace"), paper_text(beyond))
    ranked = rank(day, {"2504.00002": Signals(matches=matches)}, outside=[outside])
    assert ids(ranked) == ["2504.00002", "2504.00001"]
    assert (
        ranked.entries[0].outside and str(ranked.entries[0].reason) == "★ A Lovelace · beyond your categories"
    )


def test_model_scores_count_by_how_far_they_stand_out():
    papers = [(paper(f"2504.0000{n}", "cs.CL"), "cs.CL", NEW) for n in range(1, 7)]
    cross = (paper("2504.00009", "cs.LG", "cs.CL"), "cs.CL", CROSS)
    day = digest(*papers, cross)
    scores = {f"2504.0000{n}": 0.1 * n for n in range(1, 7)} | {"2504.00009": 5.0}
    ranked = rank(day, {}, similarity=scores)
    assert ids(ranked)[0] == "2504.00009"
    assert str(ranked.entries[0].reason) == "similar to papers you liked"


def test_likes_dislikes_venue_and_code_nudge_the_order_and_explain_it():
    day = digest(*[(paper(f"2504.0000{n}", "cs.CL"), "cs.CL", NEW) for n in range(1, 5)])
    ranked = rank(
        day,
        {
            "2504.00001": Signals(disliked=True),
            "2504.00003": Signals(liked_by=3),
            "2504.00004": Signals(has_code=True),
        },
    )
    assert ids(ranked) == ["2504.00003", "2504.00004", "2504.00002", "2504.00001"]
    assert [str(entry.reason) for entry in ranked.entries[:2]] == ["liked by 3 readers", "code available"]


def test_labels_learn_from_likes_saves_dislikes_and_untapped_impressions():
    labels = training_labels(
        [
            PaperFeedback("a", 1, 0),
            PaperFeedback("b", 0, 1),
            PaperFeedback("c", -1, 0),
            PaperFeedback("d", 0, 0),
        ],
        ["a", "b", "c", "d", "e"],
    )
    assert labels == {"a": 1, "b": 1, "c": 0, "d": 0, "e": 0}
    assert not model_ready(labels)
    assert model_ready(labels | {"f": 1})
    assert not model_ready({"a": 1, "b": 1, "f": 1})


def test_feedback_keyboards_count_taps_and_update_one_row_in_place():
    rows = feedback_rows([(1, "2504.00001"), (2, "2504.00002")], {"2504.00002": (2, 0, 1)})
    assert [[button["text"] for button in row] for row in rows] == [
        ["1 · 👍", "👎", "🔖"],
        ["2 · 👍 2", "👎", "🔖 1"],
    ]
    more = [{"text": "All CL (5)", "callback_data": "more:cs.CL:2025-04-08"}]
    assert featured_on([*rows, more]) == {"2504.00001": 1, "2504.00002": 2}
    updated = refreshed([*rows, more], "2504.00001", (0, 1, 0))
    assert [button["text"] for button in updated[0]] == ["1 · 👍", "👎 1", "🔖"]
    assert updated[1:] == [*rows[1:], more]


@pytest.mark.parametrize(
    "data",
    ["fb:meh:2504.00001:1", "fb:up:../../etc:1", "fb:up:2504.00001:0", "fb:up", "unf:x", "unf:", "sv:-1"],
)
def test_forged_button_data_is_refused(data):
    assert [kind.parse(data) for kind in (Feedback, RemoveFollow, SavedPage)] == [None, None, None]


def test_every_new_button_fits_telegrams_64_bytes():
    assert len(Feedback("save", "hep-th/9901001", MAX_PAGE).pack().encode()) <= 64
    assert {Feedback, RemoveFollow, SavedPage} <= set(BUTTON_KINDS)
    assert RemoveFollow.parse(RemoveFollow(12).pack()) == RemoveFollow(12)


def test_bibtex_of_saved_papers():
    itemsage = Paper(
        "2205.11728",
        1,
        "ItemSage: Learning {Product} Embeddings}",
        "",
        (Author("Paul Baltescu"), Author("Jure Leskovec")),
        ("cs.IR", "cs.LG"),
        "cs.IR",
        doi="10.1145/3534678.3539170",
    )
    second = Paper("2205.11729", 1, "ItemSage again", "", (Author("Paul Baltescu"),), ("cs.IR",), "cs.IR")
    text = bibtex([itemsage, second])
    assert text.startswith(
        "@misc{baltescu2022itemsage,\n  title = {{ItemSage: Learning {Product} Embeddings}},\n"
    )
    assert "  author = {Paul Baltescu and Jure Leskovec},\n" in text
    assert "  eprint = {2205.11728},\n  archivePrefix = {arXiv},\n  primaryClass = {cs.IR}," in text
    assert "  doi = {10.1145/3534678.3539170}\n}" in text
    assert "@misc{baltescu2022itemsagea," in text
    assert text.count("{") == text.count("}")
    assert (arxiv_year("2205.11728"), arxiv_year("hep-th/9901001"), arxiv_year("nonsense")) == (
        2022,
        1999,
        None,
    )
