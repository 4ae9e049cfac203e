"""Rendering of digests, entries and /cat pages.

Golden files in tests/golden/ are compared exactly. After an intended change of the output, run
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_render.py` to rewrite them, then read the diff.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bot.core.digest import MAX_PAGE_SIZE, Digest, DigestEntry, build_digest, category_page, with_generated
from bot.core.names import compact_author
from bot.core.render import (
    MESSAGE_LIMIT,
    Format,
    affiliation_line,
    author_line,
    format_date,
    render_digest,
    render_entry,
    render_page,
    tag_labels,
    utf16_length,
)
from bot.core.tex import readable_tex
from bot.locales import CHINESE
from storage.models import AnnounceType, Author, Generated, Listing, Paper
from tests.support import FIXTURES, TESTS

GOLDEN = TESTS / "golden"
FEED_DAY = date(2025, 8, 20)
MESSAGE_BREAK = "\n\n----- next message -----\n\n"
SUFFIX = {Format.HTML: "html", Format.TEXT: "txt"}
ATOM = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"


def feed_rows(path: Path) -> list[tuple[Paper, Listing]]:
    """The fixture feed as (Paper, Listing) rows; a minimal reading, the real parser lives elsewhere."""
    feed = etree.parse(str(path)).getroot()
    category_name = feed.findtext("atom:id", namespaces=ATOM).rsplit("/", 1)[1]
    rows = []
    for entry in feed.iterfind("atom:entry", ATOM):
        versioned = entry.findtext("atom:id", namespaces=ATOM).rsplit(":", 1)[1]
        arxiv_id, version = versioned.rsplit("v", 1)
        summary = entry.findtext("atom:summary", namespaces=ATOM)
        creators = entry.findtext(DC_CREATOR)
        paper = Paper(
            arxiv_id=arxiv_id,
            version=int(version),
            title=entry.findtext("atom:title", namespaces=ATOM),
            abstract=summary.split("Abstract:", 1)[1].strip(),
            authors=tuple(Author(name.strip()) for name in creators.split(",")),
            categories=tuple(node.get("term") for node in entry.iterfind("atom:category", ATOM)),
        )
        announce_type = AnnounceType(entry.findtext("arxiv:announce_type", namespaces=ATOM))
        announced = date.fromisoformat(entry.findtext("atom:published", namespaces=ATOM)[:10])
        rows.append((paper, Listing(arxiv_id, category_name, announced, announce_type)))
    return rows


def paper(arxiv_id: str, title: str, *categories: str, **fields) -> Paper:
    fields.setdefault("abstract", "We study a problem. It matters.")
    fields.setdefault("authors", (Author("Alice Smith"),))
    return Paper(arxiv_id, 1, title, categories=categories, primary_category=categories[0], **fields)


def listing(arxiv_id: str, category_name: str, announce_type: AnnounceType = AnnounceType.NEW) -> Listing:
    return Listing(arxiv_id, category_name, FEED_DAY, announce_type)


ITEMSAGE = paper(
    "2205.11728",
    "ItemSage: Learning Product Embeddings for Shopping Recommendations at Pinterest",
    "cs.IR",
    authors=tuple(
        Author(name, ("Pinterest",))
        for name in (
            "Paul Baltescu",
            "Haoyu Chen",
            "Nikil Pancha",
            "Andrew Zhai",
            "Jure Leskovec",
            "Charles Rosenberg",
        )
    ),
    abstract=(
        "Learned embeddings for products are an important building block for web-scale e-commerce\n"
        "recommendation systems. At Pinterest, we build a single set of product embeddings called ItemSage "
        "to provide relevant recommendations in all shopping use cases including user, image and search "
        "based recommendations. This approach has led to significant improvements."
    ),
    comment="10 pages, 5 figures, accepted at KDD 2022",
)
GANS = paper(
    "2205.09838",
    "Why GANs are overkill for NLP",
    "cs.LG",
    "cs.CL",
    authors=(
        Author("David Alvarez-Melis", ("Microsoft Research",)),
        Author("Vikas Garg", ("Aalto University",)),
        Author("Adam Tauman Kalai", ("Microsoft Research",)),
    ),
    abstract=(
        "This work offers a novel theoretical perspective on why, despite numerous attempts, adversarial "
        "approaches to generative modeling (e.g., GANs) have not been as popular for certain generation "
        "tasks. We show that minimizing $\\mathrm{KL}$-divergence is $O(n^2)$ cheaper."
    ),
)
ESCAPES = paper(
    "2508.20001",
    '<b>Bold</b> Claims & Counter-Claims: Escaping $\\alpha<\\beta$ in "Quoted" <i>Titles</i>',
    "cs.CL",
    "cs.IR",
    authors=(Author("Gerard 't Hooft"), Author("Ludwig van Beethoven"), Author("Jean-Pierre Dupont")),
    abstract="Titles & abstracts contain <tags> and ampersands; they must be escaped. Always.",
)
CONSORTIUM = paper(
    "2508.20002",
    "A Foundation Model Trained by Sixty People",
    "cs.LG",
    "cs.IR",
    authors=tuple(
        Author(f"Author{number} Surname{number}", (f"University {number % 10}",)) for number in range(60)
    ),
    abstract="We train a model. Everyone helped.",
    journal_ref="Transactions on Machine Learning Research, 2025",
)
ACCENTS = paper(
    "2508.20003",
    'Speech Enhancement with Schr\\"odinger Bridges',
    "eess.AS",
    authors=(Author("Paulo Andr\\'e Lima de Castro"), Author("S{\\o}ren Kierkegaard"), Author("Zhang Wei")),
    abstract="Speech is noisy. We denoise it with $\\sigma$-scheduled bridges.",
    comment="5 pages, 2 figures",
)
SPECIAL_ROWS = [
    (ITEMSAGE, listing(ITEMSAGE.arxiv_id, "cs.IR")),
    (GANS, listing(GANS.arxiv_id, "cs.LG")),
    (ESCAPES, listing(ESCAPES.arxiv_id, "cs.IR", AnnounceType.CROSS)),
    (CONSORTIUM, listing(CONSORTIUM.arxiv_id, "cs.LG")),
    (CONSORTIUM, listing(CONSORTIUM.arxiv_id, "cs.IR", AnnounceType.CROSS)),
    (ACCENTS, listing(ACCENTS.arxiv_id, "eess.AS")),
    (paper("2401.00001", "A Replaced Paper", "cs.IR"), listing("2401.00001", "cs.IR", AnnounceType.REPLACE)),
    (
        paper("2508.00001", "Yesterday's Paper", "cs.IR"),
        Listing("2508.00001", "cs.IR", date(2025, 8, 19), AnnounceType.NEW),
    ),
]
SPECIAL_CATEGORIES = ("cs.IR", "cs.LG", "eess.AS")


# --- strict Telegram HTML -----------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "a", "code", "pre", "blockquote"}
TAG = re.compile(r"<(/?)([a-z]+)((?:\s+[a-z]+=\"[^\"<>]*\"|\s+expandable)*)\s*>")
ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);")


def assert_telegram_html(message: str) -> None:
    """Only Telegram's tags, balanced, `a` with an href, and every `&` an entity."""
    stack: list[str] = []
    position = 0
    for match in TAG.finditer(message):
        assert_text(message[position : match.start()])
        closing, name, attributes = match.groups()
        assert name in ALLOWED_TAGS, f"tag <{name}> is not allowed"
        if closing:
            assert stack and stack[-1] == name, f"</{name}> closes {stack}"
            stack.pop()
        else:
            assert name != "a" or re.fullmatch(r'\s+href="[^"]+"', attributes), attributes
            assert name != "blockquote" or attributes in ("", " expandable"), attributes
            assert name in ("a", "blockquote") or not attributes, attributes
            assert "a" not in stack, "links must not nest"
            assert_text(attributes)
            stack.append(name)
        position = match.end()
    assert_text(message[position:])
    assert not stack, f"unclosed {stack}"


def assert_text(text: str) -> None:
    assert "<" not in text and ">" not in text, text
    assert ENTITY.sub("", text).count("&") == 0, text


def check_messages(messages: list[str], fmt: Format = Format.HTML) -> None:
    for message in messages:
        assert 0 < utf16_length(message) <= MESSAGE_LIMIT
        if fmt is Format.HTML:
            assert_telegram_html(message)


# --- golden files -------------------------------------------------------------------------------


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} differs; see the module docstring"


@pytest.mark.parametrize("fmt", list(Format))
def test_fixture_feed_digest_matches_golden(fmt):
    digest = build_digest(feed_rows(FIXTURES / "arxiv-atom-feed-sample.xml"), ["cs.AI"], FEED_DAY)
    messages = render_digest(digest, featured=3, fmt=fmt)
    check_messages(messages, fmt)
    assert_golden(f"feed-digest.{SUFFIX[fmt]}", MESSAGE_BREAK.join(messages))


@pytest.mark.parametrize("fmt", list(Format))
def test_special_cases_digest_matches_golden(fmt):
    digest = build_digest(SPECIAL_ROWS, SPECIAL_CATEGORIES, FEED_DAY)
    messages = render_digest(digest, featured=2, fmt=fmt)
    check_messages(messages, fmt)
    assert_golden(f"special-digest.{SUFFIX[fmt]}", MESSAGE_BREAK.join(messages))


@pytest.mark.parametrize("fmt", list(Format))
def test_fixture_feed_page_matches_golden(fmt):
    digest = build_digest(feed_rows(FIXTURES / "arxiv-atom-feed-sample.xml"), ["cs.AI"], FEED_DAY)
    text = render_page(category_page(digest, "cs.AI", 2, per_page=4), fmt=fmt, abstracts=True)
    check_messages([text], fmt)
    assert_golden(f"feed-page.{SUFFIX[fmt]}", text)


# --- what the golden files show, asserted on its own ------------------------------------------


def special_html() -> str:
    digest = build_digest(SPECIAL_ROWS, SPECIAL_CATEGORIES, FEED_DAY)
    return "\n\n".join(render_digest(digest, featured=2, limit=None))


def test_arxiv_text_is_escaped_and_links_are_quoted():
    text = render_entry(DigestEntry(ESCAPES, ("cs.IR",), (), None), featured=True, number=1)
    assert "&lt;b&gt;Bold&lt;/b&gt; Claims &amp; Counter-Claims" in text
    assert "α&lt;β" in text
    assert '"Quoted"' in text
    assert "&lt;tags&gt; and ampersands" in text
    quoted = render_entry(
        DigestEntry(paper('2508.1"><b>x', "T", "cs.IR"), ("cs.IR",), ("cs.IR",), None), featured=False
    )
    assert 'href="https://arxiv.org/abs/2508.1&quot;&gt;&lt;b&gt;x"' in quoted
    assert_telegram_html(quoted)


def test_header_counts_new_and_cross_per_category():
    assert special_html().startswith(
        "<b>arXiv digest · Wed 20 Aug 2025</b> · IR 1 (+2 cross) · LG 2 · AS 1\n"
    )


def test_a_paper_in_two_of_the_chats_categories_is_shown_once_with_both_tags():
    html = special_html()
    assert html.count("A Foundation Model Trained by Sixty People") == 1
    assert "[LG, IR] <b><a" in html


def test_sixty_authors_are_cut_to_six_with_the_count():
    html = special_html()
    assert (
        "A Surname0, A Surname1, A Surname2, A Surname3, A Surname4, A Surname5 et al. (60 authors)" in html
    )
    assert "[University 0 &amp; University 1 &amp; University 2 &amp; University 3 +6 more]" in html


def test_entries_without_affiliations_have_no_affiliation_line():
    text = render_entry(DigestEntry(ESCAPES, ("cs.IR",), (), None), featured=False, fmt=Format.TEXT)
    assert text.splitlines()[1] == "G 't Hooft, L van Beethoven, J-P Dupont"
    assert text.splitlines()[2].startswith("https://arxiv.org/abs/")
    assert "unknown" not in special_html().casefold()


def test_venue_is_shown_and_page_counts_are_not():
    html = special_html()
    assert "<i>Accepted at KDD 2022</i>" in html
    assert "<i>Published in Transactions on Machine Learning Research, 2025</i>" in html
    assert "pages" not in html


def test_featured_entries_show_the_abstract_and_compact_ones_do_not():
    html = special_html()
    featured, compact = html.split("<b>More papers</b>")
    assert featured.count("<blockquote expandable>") == 2
    assert "<blockquote" not in compact


def test_cut_digest_points_to_the_buttons_for_the_rest():
    digest = build_digest(SPECIAL_ROWS, SPECIAL_CATEGORIES, FEED_DAY)
    messages = render_digest(digest, featured=1, limit=2)
    assert messages[-1].endswith("\n\n+3 more: tap “All IR”, “All LG” or “All AS” below.")
    assert "3. [" not in messages[-1]


def test_empty_digest_says_so():
    digest = build_digest([], ["cs.IR"], FEED_DAY)
    header = "<b>arXiv digest · Wed 20 Aug 2025</b> · IR 0"
    assert render_digest(digest) == [f"{header}\n\nNo new papers in your categories in this announcement."]


def test_plain_text_has_the_same_content_without_markup():
    digest = build_digest(SPECIAL_ROWS, SPECIAL_CATEGORIES, FEED_DAY)
    text = "\n\n".join(render_digest(digest, featured=2, fmt=Format.TEXT))
    assert "<a " not in text and "<b>" not in text.replace("<b>Bold</b>", "")
    assert "https://arxiv.org/abs/2205.11728 · PDF: https://arxiv.org/pdf/2205.11728v1" in text
    assert "<b>Bold</b> Claims & Counter-Claims" in text


# --- pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "compact"),
    [
        ("Pinterest Baltescu", "P Baltescu"),
        ("Adam Tauman Kalai", "A T Kalai"),
        ("A. T. Kalai", "A T Kalai"),
        ("Ludwig van Beethoven", "L van Beethoven"),
        ("José de la Cruz", "J de la Cruz"),
        ("Vincent Van Gogh", "V Van Gogh"),
        ("Gerard 't Hooft", "G 't Hooft"),
        ("Jean-Pierre Dupont", "J-P Dupont"),
        ("J.-P. Dupont", "J-P Dupont"),
        ("David Alvarez-Melis", "D Alvarez-Melis"),
        ("Zhang Wei", "Z Wei"),
        ("张伟", "张伟"),
        ("Sukai", "Sukai"),
        ("Paulo Andr\\'e Lima de Castro", "P A L de Castro"),
        ("{\\'E}mile Zola", "É Zola"),
        ("Ya\\u{g}mur \\c{S}ahin", "Y Şahin"),
        ("Erd\\H{o}s P\\'al", "E Pál"),
        ("Martin Luther King Jr.", "M L King Jr."),
        ("Smith, John", "J Smith"),
        ("Mary (Molly) Smith", "M Smith"),
        ("ATLAS Collaboration", "ATLAS Collaboration"),
        ("  Alice   Smith ", "A Smith"),
        ("", ""),
    ],
)
def test_compact_author(name, compact):
    assert compact_author(name) == compact


@pytest.mark.parametrize(
    ("tex", "readable"),
    [
        ("$O(n^2)$ time", "O(n²) time"),
        ("achieving $1.13\\times$ faster", "achieving 1.13× faster"),
        ("$\\alpha$-divergence on $\\mathbb{R}^d$", "α-divergence on ℝ^d"),
        ("$W_{t+1} = W_t - \\eta \\nabla L$", "W_{t+1} = W_t - η ∇ L"),
        ("$\\frac{1}{2}$, $\\log(n)$, $\\mathcal{O}(n \\log n)$", "1/2, log(n), O(n log n)"),
        ("$10^{-3}$ and $x_1$", "10⁻³ and x₁"),
        ("$\\weird{x}$ stays", "$\\weird{x}$ stays"),
        ("R\\&D by Poincar\\'e and Schr\\\"odinger", "R&D by Poincaré and Schrödinger"),
        ("costs \\$5 for \\emph{all}", "costs $5 for all"),
        ("line\n  wrapped", "line wrapped"),
    ],
)
def test_readable_tex(tex, readable):
    assert readable_tex(tex) == readable


def test_featured_entries_carry_the_whole_abstract_collapsed():
    abstract = "Models help, e.g. in code. We propose X with $O(n^2)$ cost. " * 20
    item = paper("2508.10001", "A title", "cs.IR", abstract=abstract)
    digest = build_digest([(item, listing(item.arxiv_id, "cs.IR"))], ["cs.IR"], FEED_DAY)
    (html,) = render_digest(digest, featured=1)
    assert f"<blockquote expandable>{readable_tex(abstract).strip()}</blockquote>" in html
    (compact,) = render_digest(digest, featured=0)
    assert "blockquote" not in compact and "We propose" not in compact


def test_author_and_affiliation_lines():
    authors = [
        Author("Ann Lee", ("MIT", "Google")),
        Author("Bo Li", ("mit",)),
        Author("Cy Wu", ("unknown", "")),
    ]
    assert author_line(authors) == "A Lee, B Li, C Wu"
    assert author_line(authors, limit=2) == "A Lee, B Li et al. (3 authors)"
    assert affiliation_line(authors) == "[MIT & Google]"
    assert affiliation_line(authors, limit=1) == "[MIT +1 more]"
    assert affiliation_line([Author("Cy Wu")]) == ""


def test_tags_use_short_codes_unless_they_collide():
    assert tag_labels(["cs.IR", "eess.AS", "stat.ML", "quant-ph"]) == {
        "cs.IR": "IR",
        "eess.AS": "AS",
        "stat.ML": "stat.ML",
        "quant-ph": "quant-ph",
    }
    assert tag_labels(["cs.SY", "eess.SY", "cs.LG"]) == {
        "cs.SY": "cs.SY",
        "eess.SY": "eess.SY",
        "cs.LG": "LG",
    }


def test_dates_and_lengths_are_locale_and_telegram_aware():
    assert format_date(date(2025, 8, 20)) == "Wed 20 Aug 2025"
    assert utf16_length("a🙂é") == 4


# --- limits and well-formedness -----------------------------------------------------------------

LONG_TITLE = "Scaling <b>Laws</b> & Retrieval-Augmented Generation with $\\alpha$-Mixtures " * 6
LONG_ABSTRACT = "We study retrieval at scale & more. " * 80


def big_rows(count: int) -> list[tuple[Paper, Listing]]:
    categories = ("cs.IR", "cs.LG", "cs.CL", "cs.AI", "cs.CV", "stat.ML", "eess.AS", "cs.SD", "cs.RO")
    rows = []
    for number in range(count):
        arxiv_id = f"2508.{10000 + number}"
        own = categories[number % len(categories)]
        other = categories[(number + 1) % len(categories)]
        authors = tuple(
            Author(f"Author{k} Name{k}", (f"Institute for Very Long Affiliation Names {k} & Friends 🙂",))
            for k in range(number % 70)
        )
        item = paper(arxiv_id, f"{number} {LONG_TITLE}", own, other, authors=authors, abstract=LONG_ABSTRACT)
        rows.append((item, listing(arxiv_id, own)))
        rows.append((item, listing(arxiv_id, other, AnnounceType.CROSS)))
    return rows


@pytest.mark.parametrize("limit", [None, 10])
def test_every_message_of_a_500_paper_digest_fits_and_is_well_formed(limit):
    digest = build_digest(big_rows(500), ["cs.IR", "cs.LG", "cs.CL", "cs.AI", "stat.ML"], FEED_DAY)
    messages = render_digest(digest, featured=5, limit=limit)
    check_messages(messages)
    numbers = [int(found) for found in re.findall(r"^(\d+)\. \[", "\n".join(messages), re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == (limit or len(digest.entries))
    for message in messages[1:]:
        assert re.match(r"(\d+\. \[|<b>More papers</b>\n|\+\d+ more: )", message), message[:80]


def huge_entry(number: int) -> DigestEntry:
    tags = ("cs.IR", "cs.LG", "cs.CL", "cs.AI", "stat.ML")
    item = Paper(
        arxiv_id=f"2508.{10000 + number}",
        version=12,
        title="&<>" * 3000,
        abstract="& " * 5000,
        authors=tuple(Author("&" * 500, ("<" * 5000,)) for _ in range(300)),
        categories=tags,
        comment="Accepted at " + "&" * 5000,
    )
    return DigestEntry(item, tags, tags[:1], "Accepted at " + "&" * 100)


def test_an_entry_too_long_for_a_message_is_shortened_not_split():
    entry = huge_entry(1)
    for fmt in Format:
        text = render_entry(entry, featured=True, number=1, fmt=fmt)
        check_messages([text], fmt)
        assert text.count("https://arxiv.org/abs/2508.10001") == (2 if fmt is Format.HTML else 1)


def test_a_page_of_the_largest_size_fits_even_with_pathological_entries():
    entries = tuple(huge_entry(number) for number in range(MAX_PAGE_SIZE))
    digest = Digest(FEED_DAY, (), entries)
    page = category_page(digest, "cs.IR", 1, per_page=MAX_PAGE_SIZE)
    for fmt in Format:
        check_messages([render_page(page, fmt=fmt, abstracts=True)], fmt)


def test_page_header_and_numbering():
    digest = build_digest(big_rows(63), ["cs.IR"], FEED_DAY)
    page = category_page(digest, "cs.IR", 2, per_page=4)
    text = render_page(page)
    total = len([entry for entry in digest.entries if "cs.IR" in entry.tags])
    assert text.startswith(
        f"<b>cs.IR · Wed 20 Aug 2025</b> · page 2 of {-(-total // 4)} · {total} papers\n\n5. [IR]"
    )
    assert "\n\n8. [IR]" in text and "9. [" not in text
    check_messages([text])


def test_empty_page_says_so():
    page = category_page(build_digest([], ["cs.IR"], FEED_DAY), "cs.IR", 1)
    assert render_page(page, fmt=Format.TEXT) == (
        "cs.IR · Wed 20 Aug 2025 · page 1 of 1 · 0 papers\n\nNo new papers in cs.IR in this announcement."
    )


arxiv_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=150, deadline=None)
@given(
    title=arxiv_text,
    abstract=arxiv_text,
    names=st.lists(arxiv_text, max_size=8),
    affiliation=arxiv_text,
    comment=arxiv_text,
)
def test_any_arxiv_text_renders_to_valid_html(title, abstract, names, affiliation, comment):
    item = paper(
        "2508.10001",
        title,
        "cs.IR",
        abstract=abstract,
        authors=tuple(Author(name, (affiliation,)) for name in names),
        comment=comment,
    )
    digest = build_digest([(item, listing(item.arxiv_id, "cs.IR"))], ["cs.IR"], FEED_DAY)
    check_messages(render_digest(digest, featured=1))
    check_messages(render_digest(digest, featured=1, fmt=Format.TEXT), Format.TEXT)


# --- the Chinese layout ----------------------------------------------------------------------------

ZH_WORDS = CHINESE.digest_words()
LONG_ZH_SUMMARY = ("本文提出了一种面向大规模检索的新方法&<b>，" * 25)[:400]  # the longest summary accepted
LONG_ZH_TITLE = ("大规模检索<方法>&" * 10)[:60]


def in_chinese(digest: Digest, summary: str = LONG_ZH_SUMMARY, title: str = LONG_ZH_TITLE) -> Digest:
    texts = {entry.paper.arxiv_id: Generated(summary, title) for entry in digest.entries}
    return with_generated(digest, texts, None)


@pytest.mark.parametrize("limit", [None, 10])
def test_a_chinese_digest_with_the_longest_summaries_fits_every_message(limit):
    digest = in_chinese(
        build_digest(big_rows(200), ["cs.IR", "cs.LG", "cs.CL", "cs.AI", "stat.ML"], FEED_DAY)
    )
    messages = render_digest(digest, featured=3, limit=limit, words=ZH_WORDS)
    check_messages(messages)
    numbers = [int(found) for found in re.findall(r"^(\d+)、\[", "\n".join(messages), re.MULTILINE)]
    assert numbers == list(range(1, (limit or len(digest.entries)) + 1))
    assert "".join(messages).count("<blockquote><i>AI</i> · ") == 3, "every featured entry keeps its summary"


@settings(max_examples=80, deadline=None)
@given(
    summary=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400),
    title=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
    abstract=arxiv_text,
    count=st.integers(min_value=1, max_value=30),
)
def test_any_chinese_digest_splits_between_entries_within_the_limit(summary, title, abstract, count):
    rows = [
        (
            paper(f"2508.{10000 + n}", f"{n} {LONG_TITLE}", "cs.IR", abstract=abstract * 5),
            listing(f"2508.{10000 + n}", "cs.IR"),
        )
        for n in range(count)
    ]
    digest = in_chinese(build_digest(rows, ["cs.IR"], FEED_DAY), summary, title)
    messages = render_digest(digest, words=ZH_WORDS, limit=None)
    check_messages(messages)
    for n in range(count):
        assert sum(f'"https://arxiv.org/abs/2508.{10000 + n}"' in message for message in messages) == 1


def test_the_chinese_layout_of_a_digest_in_text():
    digest = build_digest(SPECIAL_ROWS, SPECIAL_CATEGORIES, FEED_DAY)
    first = digest.entries[0].paper.arxiv_id
    digest = with_generated(digest, {first: Generated("一句中文概述。", "中文标题")}, None)
    [message] = render_digest(digest, featured=1, fmt=Format.TEXT, words=ZH_WORDS)
    lines = message.split("\n")
    assert lines[0].startswith("arXiv 每日速递 · 2025年8月20日 周三 · ")
    assert lines[1] == "IR - 信息检索   LG - 机器学习   AS - 音频与语音处理"
    assert lines[2] == "摘要：中文标题"
    assert "AI · 中文标题：一句中文概述。" in lines
    assert "另外几篇值得关注的论文：" in lines and lines[
        lines.index("另外几篇值得关注的论文：") + 1
    ].startswith("2、[")
