"""arXiv ids and links in what users type (bot.core.references), and one paper in full (render)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.references import MAX_SCANNED, PaperRef, find_papers, parse_paper
from bot.core.render import Format, render_paper, utf16_length
from bot.locales import CHINESE
from storage.models import AffiliationSource, Author, Paper
from tests.fakes.telegram import parse_html


@pytest.mark.parametrize(
    ("text", "papers"),
    [
        ("2205.11728", [PaperRef("2205.11728")]),
        ("see arXiv:2205.11728v2, and 2301.00001!", [PaperRef("2205.11728", 2), PaperRef("2301.00001")]),
        ("https://arxiv.org/abs/2205.11728v3", [PaperRef("2205.11728", 3)]),
        ("http://export.arxiv.org/abs/2205.11728", [PaperRef("2205.11728")]),
        ("https://arxiv.org/pdf/2205.11728.pdf", [PaperRef("2205.11728")]),
        ("arxiv.org/html/2205.11728v1#S2", [PaperRef("2205.11728", 1)]),
        ("(https://arxiv.org/abs/2205.11728)", [PaperRef("2205.11728")]),
        ("hep-th/9901001", [PaperRef("hep-th/9901001")]),
        ("math.gt/0309136v2", [PaperRef("math.GT/0309136", 2)]),
        ("https://arxiv.org/abs/hep-th/9901001", [PaperRef("hep-th/9901001")]),
        ("2205.11728 and again 2205.11728v1", [PaperRef("2205.11728")]),
        ("0704.0001", [PaperRef("0704.0001")]),
    ],
)
def test_ids_and_links_name_their_papers(text, papers):
    assert list(find_papers(text).papers) == papers


@pytest.mark.parametrize(
    "text",
    ["price 1234.5678", "2213.00001", "2205.117281", "v1.2205.11728", "doi 10.1145/2205.11728", "9901001"],
)
def test_numbers_that_are_no_ids_name_nothing(text):
    assert find_papers(text).papers == ()


def test_links_elsewhere_are_told_apart():
    found = find_papers("https://www.alphaxiv.org/abs/2205.11728 and github.com/a/b")
    assert found.papers == () and found.other_links == (
        "https://www.alphaxiv.org/abs/2205.11728",
        "github.com/a/b",
    )
    assert find_papers("https://arxiv.org/list/cs.IR/new").arxiv_links_unread == (
        "https://arxiv.org/list/cs.IR/new",
    )


def test_parse_paper_wants_exactly_one():
    assert parse_paper(" 2205.11728 ") == PaperRef("2205.11728")
    assert parse_paper("2205.11728 2301.00001") is None
    assert parse_paper("nothing") is None


@given(st.text(max_size=MAX_SCANNED + 100))
def test_any_text_is_scanned_without_error(text):
    found = find_papers(text)
    assert all(ref.arxiv_id for ref in found.papers)


def test_a_huge_paper_still_fits_one_message_with_valid_html():
    paper = Paper(
        arxiv_id="2205.11728",
        version=1,
        title="A & B <c> " * 40,
        abstract="Tokens & <tags> " * 400,
        authors=tuple(Author(f"Author Number{n}", (f"Institute & Lab {n}",)) for n in range(500)),
        categories=("cs.IR", "cs.LG"),
        comment="& " * 500,
        journal_ref="J. & " * 200,
    )
    text = render_paper(paper)
    assert utf16_length(text) <= 4096
    parse_html(text)


def test_a_paper_says_where_its_affiliations_were_read_best_source_first():
    authors = (
        Author("Ada Lovelace", ("University of Oxford",), (AffiliationSource.HTML_NOTE,)),
        Author("Alan Turing", ("Google DeepMind",), (AffiliationSource.HTML_AUTHORS,)),
        Author("Grace Hopper"),
    )
    paper = Paper(
        arxiv_id="2205.11728", version=1, title="T", abstract="A", authors=authors, categories=("cs.IR",)
    )
    assert (
        "Affiliations from the author block of arXiv's HTML page and a note on arXiv's HTML page"
        in render_paper(paper, fmt=Format.TEXT)
    )
    unrecorded = Paper(
        arxiv_id="2205.11728",
        version=1,
        title="T",
        abstract="A",
        authors=(Author("A B", ("MIT",)),),
        categories=("cs.IR",),
    )
    assert "Affiliations from" not in render_paper(unrecorded)


def test_a_paper_in_full_reads_in_the_readers_language():
    paper = Paper(
        arxiv_id="2205.11728",
        version=1,
        title="T",
        abstract="A",
        authors=(Author("Ada Lovelace", ("University of Oxford",), (AffiliationSource.API,)),),
        categories=("cs.IR",),
        comment="This paper has been withdrawn",
        journal_ref="SIGIR 2022",
    )
    lines = render_paper(paper, fmt=Format.TEXT, words=CHINESE.digest_words()).splitlines()
    assert lines[1] == "⚠️ 作者已撤回此论文。"
    assert "作者单位来自导出 API（投稿时填写）" in lines
    assert "备注：This paper has been withdrawn" in lines and "期刊：SIGIR 2022" in lines
    english = render_paper(paper, fmt=Format.TEXT).splitlines()
    assert english[1] == "⚠️ Withdrawn by its authors."
    assert "Comments: This paper has been withdrawn" in english and "Journal: SIGIR 2022" in english
