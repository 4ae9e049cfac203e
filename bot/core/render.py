"""Digests, entries and `/cat` pages as Telegram HTML or plain text, from one renderer.

An entry reads like the reference digest: `[IR] Title`, compact authors ("P Baltescu, H Chen"),
affiliations in brackets ("[Microsoft Research & Aalto University]"), the venue when the comment
names one, for featured entries the whole abstract (collapsed in Telegram), then the abstract and
PDF links.

A chat reading Chinese gets the reference's bilingual layout: a legend of the digest's categories
in Chinese, an overview line of the featured papers' Chinese titles, under each English title the
model's Chinese title (and, for featured entries, its summary, marked `AI`), the English abstract
kept whole. The fixed words come in as `DigestWords`, translated at the edge (`bot.locales`); without
generated text the same layout goes out without those lines.

Everything from arXiv is escaped, and no message exceeds Telegram's 4096 characters. Telegram
counts visible characters in UTF-16 code units; the raw HTML is always longer, so measuring that is
safe. Digests are split between entries only; an entry too long for a message of its own is shown
with less detail (no abstract, fewer authors, a shorter title), never cut inside markup.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from html import escape

from telegram.constants import MessageLimit

from bot.core.categories import SHORT_CODE_ARCHIVES, category
from bot.core.digest import (
    FEATURED,
    Digest,
    DigestEntry,
    Page,
    Pick,
    Selection,
    cut_categories,
    select_for_push,
    venue_note,
)
from bot.core.i18n import EITHER, LIST_SEPARATOR, N_, one_of
from bot.core.names import compact_author
from bot.core.tex import readable_tex
from storage.models import AffiliationSource, Author, Generated, Paper

MESSAGE_LIMIT = MessageLimit.MAX_TEXT_LENGTH
MAX_AUTHORS = 6
MAX_AFFILIATIONS = 4
AFFILIATION_CHARS = 100
NAME_CHARS = 60

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Format(StrEnum):
    HTML = "html"  # Telegram parse_mode HTML
    TEXT = "text"  # terminal output: no markup, links printed


@dataclass(frozen=True, slots=True)
class _Detail:
    """How much of an entry to show; shortened step by step until the entry fits."""

    abstract: bool
    authors: int
    affiliations: int
    venue: bool = True
    title_chars: int | None = None
    tags: int | None = None
    reason: bool = False  # the ranking's one-line reason, for featured entries
    summary: bool = False  # the model's summary, for featured entries


_LEVELS = (
    _Detail(abstract=True, authors=MAX_AUTHORS, affiliations=MAX_AFFILIATIONS),
    _Detail(abstract=False, authors=MAX_AUTHORS, affiliations=MAX_AFFILIATIONS),
    _Detail(abstract=False, authors=3, affiliations=2),
    _Detail(abstract=False, authors=1, affiliations=0, title_chars=200, tags=3),
    # The last level bounds an entry at about 450 UTF-16 units even for a title of ampersands,
    # so a /cat page of digest.MAX_PAGE_SIZE entries always fits one message.
    _Detail(abstract=False, authors=0, affiliations=0, venue=False, title_chars=40, tags=3),
)
_COMPACT_LEVEL = 1
_FEATURED_LEVELS = (
    tuple(replace(level, reason=True, summary=True) for level in _LEVELS[:2])
    + tuple(replace(level, reason=True) for level in _LEVELS[1:-1])
    + _LEVELS[-1:]
)
MAX_PICKS = 3


def affiliation_share(featured: int, with_affiliations: int) -> str:
    """ "25 of 27 (93%)": how many of a push's featured papers went out with affiliations."""
    if not featured:
        return "no featured papers"
    return f"{with_affiliations} of {featured} ({with_affiliations / featured:.0%})"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def format_date(day: date) -> str:
    """ "Wed 20 Aug 2025", independent of the process locale."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def tag_label(name: str) -> str:
    """The tag shown for a category: the short code for cs and eess (IR, AS), else the full name."""
    archive = name.split(".", 1)[0]
    return category(name).code if archive in SHORT_CODE_ARCHIVES else name


def tag_labels(categories: Iterable[str]) -> dict[str, str]:
    """Labels for a set of categories, falling back to full names where short codes collide."""
    names = tuple(dict.fromkeys(categories))
    short = {name: tag_label(name) for name in names}
    taken = [label.casefold() for label in short.values()]
    return {name: label if taken.count(label.casefold()) == 1 else name for name, label in short.items()}


def _untranslated(message: str) -> str:
    return message


def _english_title(name: str) -> str:
    return category(name).title


@dataclass(frozen=True, slots=True)
class DigestWords:
    """The fixed words of a digest in one language, and the layout choices that go with them.

    The strings are English, marked for the catalogue; `bot.locales.digest_words` translates them and
    brings the language's dates and category names, so this module stays free of catalogues.
    """

    title: str = N_("arXiv digest")
    cross: str = N_("(+{count} cross)")
    numbering: str = N_("{number}. ")
    more_papers: str = N_("More papers")
    group_picks: str = N_("Group picks")
    no_news: str = N_("No new papers in your categories in this announcement.")
    footer: str = N_("+{count} more: tap {buttons} below.")
    all_button: str = N_("All {label} ({count})")
    all_name: str = N_("“All {label}”")
    either: str = EITHER
    cross_list_from: str = N_("cross-list from {category}")
    overview: str = N_("Summary: ")
    list_separator: str = LIST_SEPARATOR
    titled_summary: str = N_("{title}: {summary}")
    page_header: str = N_("page {number} of {count}")
    one_paper: str = N_("1 paper")
    papers: str = N_("{count} papers")
    no_news_in: str = N_("No new papers in {category} in this announcement.")
    withdrawn: str = N_("⚠️ Withdrawn by its authors.")
    comments: str = N_("Comments: {text}")
    journal: str = N_("Journal: {text}")
    affiliations_from: str = N_("Affiliations from {sources}")
    also: str = N_(" and ")
    date: Callable[[date], str] = format_date
    category_title: Callable[[str], str] = _english_title
    gettext: Callable[[str], str] = _untranslated  # for the ranking's reasons (`bot.core.digest.Reason`)
    legend: bool = False  # the reference's "LG - 机器学习   CV - 计算机视觉" line under the header


ENGLISH_WORDS = DigestWords()


# --- pieces of an entry --------------------------------------------------------------------------


def author_line(authors: Sequence[Author], limit: int = MAX_AUTHORS) -> str:
    """ "P Baltescu, H Chen", or the first `limit` and "et al. (60 authors)"."""
    names = [_clip(compact_author(author.name), NAME_CHARS) for author in authors[:limit]]
    line = ", ".join(name for name in names if name)
    if len(authors) > limit:
        line = f"{line} et al. ({len(authors)} authors)".strip()
    return line


def affiliation_line(authors: Sequence[Author], limit: int = MAX_AFFILIATIONS) -> str:
    """ "[Microsoft Research & Aalto University]" in order of first appearance; empty when none known."""
    if limit <= 0:
        return ""
    seen: dict[str, str] = {}
    for author in authors:
        for affiliation in author.affiliations:
            text = " ".join(affiliation.split())
            if text and text.casefold() not in ("unknown", "none", "n/a"):
                seen.setdefault(text.casefold(), text)
    shown = [_clip(readable_tex(text), AFFILIATION_CHARS) for text in list(seen.values())[:limit]]
    more = f" +{len(seen) - limit} more" if len(seen) > limit else ""
    return f"[{' & '.join(shown)}{more}]" if shown else ""


def _inside_math(text: str, position: int) -> bool:
    return len(re.findall(r"(?<!\\)\$", text[:position])) % 2 == 1


def _clip(text: str, max_chars: int) -> str:
    """At most `max_chars` characters, cut between words (never inside `$...$`), ending with "…"."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    if _inside_math(text, len(cut)):
        cut = cut[: cut.rfind("$")]
    return cut.rstrip(" ,;:-–") + "…"


# --- entries -------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Text for Telegram HTML: only `&`, `<` and `>` need escaping outside attributes."""
    return escape(text, quote=False)


def _link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}">{_escape(text)}</a>'


def _entry_text(
    entry: DigestEntry,
    number: int | None,
    fmt: Format,
    labels: Mapping[str, str],
    detail: _Detail,
    words: DigestWords = ENGLISH_WORDS,
) -> str:
    paper = entry.paper
    html = fmt is Format.HTML
    show = _escape if html else str
    tags = [labels.get(name) or tag_label(name) for name in entry.tags]
    if detail.tags is not None and len(tags) > detail.tags:
        tags = [*tags[: detail.tags], f"+{len(tags) - detail.tags}"]
    title = readable_tex(paper.title)
    if detail.title_chars is not None:
        title = _clip(title, detail.title_chars)
    head = words.numbering.format(number=number) if number is not None else ""
    head += f"[{show(', '.join(tags))}] " if tags else ""
    if not html:
        head += title
    elif entry.highlights:
        head += f'<a href="{escape(paper.abs_url)}">{_highlighted(title, entry.highlights)}</a>'
    else:
        head += f"<b>{_link(paper.abs_url, title)}</b>"
    lines = [head]
    generated = entry.generated
    summary = generated is not None and detail.summary
    if generated is not None and generated.title and detail.title_chars is None and not summary:
        lines.append(f"<i>AI</i> · {_escape(generated.title)}" if html else f"AI · {generated.title}")
    if detail.reason and entry.reason:
        lines.append(show(entry.reason.text(words.gettext)))
    if detail.authors:
        lines.append(show(author_line(paper.authors, detail.authors)))
    lines.append(show(affiliation_line(paper.authors, detail.affiliations)))
    if detail.venue and entry.venue:
        lines.append(f"<i>{_escape(entry.venue)}</i>" if html else entry.venue)
    if summary:
        lines.append(_summary(generated, html, words))
    if detail.abstract:
        abstract = readable_tex(paper.abstract)
        lines.append(
            f"<blockquote expandable>{_escape(abstract)}</blockquote>" if html and abstract else abstract
        )
    origin = _cross_origin(entry)
    origin_note = f" · {show(words.cross_list_from.format(category=origin))}" if origin else ""
    if html:
        abs_link = _link(paper.abs_url, "arXiv:" + paper.arxiv_id)
        lines.append(f"{abs_link} · {_link(paper.pdf_url, 'PDF')}{origin_note}")
    else:
        lines.append(f"{paper.abs_url} · PDF: {paper.pdf_url}{origin_note}")
    return "\n".join(line for line in lines if line)


def _summary(generated: Generated, html: bool, words: DigestWords) -> str:
    """The model's lines, marked `AI`: a title of its own (bold) before its summary, as the reference
    writes Chinese ones, or the English one-sentence summary alone."""
    show = _escape if html else str
    text = show(generated.summary)
    if generated.title:
        title = f"<b>{_escape(generated.title)}</b>" if html else generated.title
        text = words.titled_summary.format(title=title, summary=text)
    return f"<blockquote><i>AI</i> · {text}</blockquote>" if html else f"AI · {text}"


def _highlighted(title: str, spans: Sequence[tuple[int, int]]) -> str:
    """The title escaped, with the followed words in it bold: they are what the reader follows."""
    parts, position = [], 0
    for start, end in sorted(spans):
        if start < position or end > len(title):
            continue
        parts.append(_escape(title[position:start]))
        parts.append(f"<b>{_escape(title[start:end])}</b>")
        position = end
    parts.append(_escape(title[position:]))
    return "".join(parts)


def _cross_origin(entry: DigestEntry) -> str | None:
    """The primary category of a paper that is only cross-listed in the chat's categories."""
    paper = entry.paper
    primary = paper.primary_category or (paper.categories[0] if paper.categories else None)
    return primary if entry.is_cross and primary not in entry.tags else None


def _fit_entry(
    entry: DigestEntry,
    number: int | None,
    fmt: Format,
    labels: Mapping[str, str],
    *,
    featured: bool,
    budget: int,
    words: DigestWords = ENGLISH_WORDS,
) -> str:
    """The entry at the most detail that fits `budget` UTF-16 units, else at the least detail."""
    levels = _FEATURED_LEVELS if featured else _LEVELS[_COMPACT_LEVEL:]
    for detail in levels[:-1]:
        text = _entry_text(entry, number, fmt, labels, detail, words)
        if utf16_length(text) <= budget:
            return text
    return _entry_text(entry, number, fmt, labels, levels[-1], words)


def render_entry(
    entry: DigestEntry,
    *,
    featured: bool,
    number: int | None = None,
    fmt: Format = Format.HTML,
    labels: Mapping[str, str] | None = None,
) -> str:
    """One entry, fit for a message of its own; featured entries include the abstract's opening."""
    labels = tag_labels(entry.tags) if labels is None else labels
    return _fit_entry(entry, number, fmt, labels, featured=featured, budget=MESSAGE_LIMIT)


# --- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One message of a digest, and the featured papers it shows (they get feedback buttons)."""

    text: str
    featured: tuple[tuple[int, str], ...]  # (entry number, arXiv id)


def render_digest(
    digest: Digest,
    *,
    featured: int = FEATURED,
    limit: int | None = None,
    fmt: Format = Format.HTML,
    words: DigestWords = ENGLISH_WORDS,
) -> list[str]:
    """The digest as messages of at most 4096 UTF-16 units, split between entries.

    The first `featured` entries show the whole abstract; `limit` caps the entries shown (see
    `select_for_push`), and a footer points to the buttons that open the rest.
    """
    messages = digest_messages(digest, featured=featured, limit=limit, fmt=fmt, words=words)
    return [message.text for message in messages]


Block = tuple[str, tuple[int, str] | None]
"""A piece of a digest that stays whole in one message, and the featured paper it shows (number, id)."""


def digest_messages(
    digest: Digest,
    *,
    featured: int = FEATURED,
    limit: int | None = None,
    fmt: Format = Format.HTML,
    words: DigestWords = ENGLISH_WORDS,
) -> list[RenderedMessage]:
    """`render_digest`, telling which featured entries each message holds."""
    return pack_blocks(list(digest_blocks(digest, featured=featured, limit=limit, fmt=fmt, words=words)))


def digest_blocks(
    digest: Digest,
    *,
    featured: int = FEATURED,
    limit: int | None = None,
    fmt: Format = Format.HTML,
    words: DigestWords = ENGLISH_WORDS,
) -> Iterator[Block]:
    """The blocks `pack_blocks` joins into `digest_messages`, each rendered when asked for: work
    that must not hold the event loop long (a push's planning) can stop between two."""
    html = fmt is Format.HTML
    labels = tag_labels(digest.categories)
    selection = select_for_push(digest, limit)
    yield _digest_header(digest, selection.shown[:featured], labels, fmt, words), None
    if digest.picks:
        yield _picks(digest.picks[:MAX_PICKS], fmt, words), None
    if not digest.entries:
        yield words.no_news, None
    heading = f"<b>{_escape(words.more_papers)}</b>" if html else words.more_papers
    for index, entry in enumerate(selection.shown):
        if index == featured and index > 0:
            budget = MESSAGE_LIMIT - utf16_length(heading) - 1
            text = _fit_entry(entry, index + 1, fmt, labels, featured=False, budget=budget, words=words)
            yield f"{heading}\n{text}", None
        else:
            text = _fit_entry(
                entry, index + 1, fmt, labels, featured=index < featured, budget=MESSAGE_LIMIT, words=words
            )
            yield text, (index + 1, entry.paper.arxiv_id) if index < featured else None
    if selection.remaining:
        yield _digest_footer(digest, selection, labels, fmt, words), None


def _picks(picks: Sequence[Pick], fmt: Format, words: DigestWords) -> str:
    lines = [f"<b>{_escape(words.group_picks)}</b>" if fmt is Format.HTML else words.group_picks]
    for pick in picks:
        title = _clip(readable_tex(pick.paper.title), 120)
        shown = _link(pick.paper.abs_url, title) if fmt is Format.HTML else f"{title} {pick.paper.abs_url}"
        lines.append(f"👍 {pick.likes} · {shown}")
    return "\n".join(lines)


def _digest_header(
    digest: Digest,
    featured: Sequence[DigestEntry],
    labels: Mapping[str, str],
    fmt: Format,
    words: DigestWords,
) -> str:
    """The title line; in the reference's layout also the legend and the overview of the featured
    papers in the model's titles (only when there are such titles)."""
    html = fmt is Format.HTML
    show = _escape if html else str
    title = f"{words.title} · {words.date(digest.announced)}"
    counts = []
    for count in digest.counts:
        cross = " " + words.cross.format(count=count.cross) if count.cross else ""
        counts.append(f"{labels[count.category]} {count.new}{cross}")
    lines = [(f"<b>{_escape(title)}</b>" if html else title) + "".join(f" · {show(part)}" for part in counts)]
    if words.legend:
        legend = (f"{labels[name]} - {words.category_title(name)}" for name in digest.categories)
        lines.append(show("   ".join(legend)))
    titles = [entry.generated.title for entry in featured if entry.generated and entry.generated.title]
    if titles:
        lines.append(show(words.overview + words.list_separator.join(titles)))
    return "\n".join(lines)


def _digest_footer(
    digest: Digest, selection: Selection, labels: Mapping[str, str], fmt: Format, words: DigestWords
) -> str:
    """Points to the "All IR (41)" buttons below the message (`bot.core.navigation.more_buttons`)."""
    buttons = [words.all_name.format(label=labels[name]) for name in cut_categories(digest, selection)]
    names = one_of(buttons, words.either, words.list_separator)
    text = words.footer.format(count=selection.remaining, buttons=names)
    return _escape(text) if fmt is Format.HTML else text


def pack_blocks(blocks: Sequence[Block]) -> list[RenderedMessage]:
    """Blocks joined by blank lines into as few messages as fit; each block is already small enough."""
    messages: list[RenderedMessage] = []
    current, featured = "", []
    for block, paper in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if current and utf16_length(candidate) > MESSAGE_LIMIT:
            messages.append(RenderedMessage(current, tuple(featured)))
            current, featured = block, []
        else:
            current = candidate
        if paper is not None:
            featured.append(paper)
    messages.append(RenderedMessage(current, tuple(featured)))
    return messages


def render_page(
    page: Page, *, fmt: Format = Format.HTML, abstracts: bool = False, words: DigestWords = ENGLISH_WORDS
) -> str:
    """A `/cat` page as one message of at most 4096 UTF-16 units.

    Entries show the abstract when `abstracts` is set and everything fits; otherwise all entries of
    the page step down together to less detail.
    """
    html = fmt is Format.HTML
    show = _escape if html else str
    title = f"{page.category} · {words.date(page.announced)}"
    papers = words.one_paper if page.total == 1 else words.papers.format(count=page.total)
    header = f"<b>{_escape(title)}</b>" if html else title
    header += show(f" · {words.page_header.format(number=page.number, count=page.count)} · {papers}")
    if not page.entries:
        return f"{header}\n\n{show(words.no_news_in.format(category=page.category))}"
    return _entries_message(header, page.entries, page.first_position, fmt, abstracts=abstracts, words=words)


def render_results(
    heading: str,
    papers: Sequence[Paper],
    first_position: int,
    *,
    fmt: Format = Format.HTML,
    words: DigestWords = ENGLISH_WORDS,
) -> str:
    """Papers found by /search as one message, entries as `/cat` shows them in the reader's language
    (`words`); `heading` is ready for `fmt` (escaped for HTML)."""
    entries = []
    for paper in papers:
        primary = tuple(paper.categories[:1])  # tagged with its primary category, as a new submission
        entries.append(DigestEntry(paper, primary, primary, venue_note(paper.comment, paper.journal_ref)))
    return _entries_message(heading, entries, first_position, fmt, abstracts=False, words=words)


def _entries_message(
    header: str,
    entries: Sequence[DigestEntry],
    first_position: int,
    fmt: Format,
    *,
    abstracts: bool,
    words: DigestWords = ENGLISH_WORDS,
) -> str:
    """The header and numbered entries, all stepping down together until the message fits."""
    labels = tag_labels(name for entry in entries for name in entry.tags)
    levels = _LEVELS if abstracts else _LEVELS[_COMPACT_LEVEL:]
    for detail in levels:
        text = "\n\n".join(
            [header]
            + [
                _entry_text(entry, first_position + offset, fmt, labels, detail, words)
                for offset, entry in enumerate(entries)
            ]
        )
        if utf16_length(text) <= MESSAGE_LIMIT:
            break
    return text


# --- one paper in full ---------------------------------------------------------------------------

FULL_AUTHORS = 30
FULL_AFFILIATIONS = 8
COMMENT_CHARS = 300
_WITHDRAWN = re.compile(r"(?i)\bwithdrawn\b")


def is_withdrawn(paper: Paper) -> bool:
    """arXiv keeps a withdrawn paper's entry and says so in its comment (or its abstract)."""
    return bool(_WITHDRAWN.search(paper.comment or "") or _WITHDRAWN.search(paper.abstract[:200]))


_PROVENANCE = {
    AffiliationSource.API: N_("the export API (as submitted)"),
    AffiliationSource.HTML_AUTHORS: N_("the author block of arXiv's HTML page"),
    AffiliationSource.HTML_NOTE: N_("a note on arXiv's HTML page"),
}


def affiliation_provenance(authors: Sequence[Author], words: DigestWords = ENGLISH_WORDS) -> str:
    """Where the shown affiliations were read, best source first; empty when none was recorded."""
    found = {source for author in authors for source in author.sources}
    if not found:
        return ""
    sources = words.also.join(
        words.gettext(_PROVENANCE[source]) for source in sorted(found, key=lambda source: -source.rank)
    )
    return words.affiliations_from.format(sources=sources)


def render_paper(
    paper: Paper,
    *,
    fmt: Format = Format.HTML,
    words: DigestWords = ENGLISH_WORDS,
    generated: Generated | None = None,
) -> str:
    """One paper in full, for /paper and pasted links: every detail arXiv gives, the abstract whole
    (collapsed in Telegram), within one message; its labels in the reader's language (`words`), and
    the model's text in that language where a digest had one accepted, marked `AI` as there."""
    html = fmt is Format.HTML
    show = _escape if html else str
    abstract = readable_tex(paper.abstract)
    levels = ((FULL_AUTHORS, None, True), (MAX_AUTHORS, 1500, True), (3, 600, False), (1, 300, False))
    for authors, abstract_chars, notes in levels:
        title = readable_tex(paper.title) if notes else _clip(readable_tex(paper.title), 200)
        lines = [f"<b>{_link(paper.abs_url, title)}</b>" if html else title]
        if is_withdrawn(paper):
            lines.append(words.withdrawn)
        lines.append(show(author_line(paper.authors, authors)))
        lines.append(show(affiliation_line(paper.authors, FULL_AFFILIATIONS)))
        if notes:
            lines.append(show(affiliation_provenance(paper.authors, words)))
        venue = venue_note(paper.comment, paper.journal_ref)
        if venue:
            lines.append(f"<i>{_escape(venue)}</i>" if html else venue)
        if generated is not None:
            lines.append(_summary(generated, html, words))
        if paper.comment and notes:
            lines.append(show(words.comments.format(text=_clip(readable_tex(paper.comment), COMMENT_CHARS))))
        if paper.journal_ref and notes:
            lines.append(
                show(words.journal.format(text=_clip(readable_tex(paper.journal_ref), COMMENT_CHARS)))
            )
        if paper.categories:
            lines.append(show(" · ".join(paper.categories)))
        text = abstract if abstract_chars is None else _clip(abstract, abstract_chars)
        if text:
            lines.append(f"<blockquote expandable>{_escape(text)}</blockquote>" if html else text)
        if html:
            lines.append(
                f"{_link(paper.abs_url, 'arXiv:' + paper.versioned_id)} · {_link(paper.pdf_url, 'PDF')}"
                f" · {_link(paper.html_url, 'HTML')}"
            )
        else:
            lines.append(f"{paper.abs_url} · PDF: {paper.pdf_url} · HTML: {paper.html_url}")
        message = "\n".join(line for line in lines if line)
        if utf16_length(message) <= MESSAGE_LIMIT:
            return message
    return message
