"""Which papers a chat gets for one announcement, in what order, and how they are cut into pages.

A chat follows some categories. Its digest for an announcement date holds that date's news in those
categories: `new` submissions and `cross` lists; replacements are older papers and never appear. A
paper listed in several of the chat's categories appears once, tagged with each of them.

Entries are ordered most relevant first, so a pushed digest can feature the first few and cut the
rest without losing the best ones. The order compares, in turn:

1. primary submissions before cross-lists: a paper submitted to one of the chat's categories is
   closer to the chat's interests than one that only touches them;
2. papers listed in more of the chat's categories first;
3. papers that name a venue first (a comment such as "Accepted at KDD 2022", or a journal
   reference), since acceptance is the one quality signal arXiv metadata carries;
4. arXiv id ascending, which is arXiv's own announcement order and makes the order total.

Pure: no I/O, the same rows always give the same digest.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from bot.core.i18n import N_
from storage.models import AnnounceType, Generated, Listing, Paper

BEYOND_CATEGORIES = N_("beyond your categories")
FEATURED = 3  # the top entries of a digest, featured with the opening of their abstract
PAGE_SIZE = 8
MAX_PAGE_SIZE = 8  # the renderer proves a page of this many minimal entries fits one message
VENUE_CHARS = 120

_VENUE = re.compile(
    r"(?i:\baccepted\b|\bto appear\b|\bpublished\b|\bcamera[- ]ready\b|\bproceedings\b"
    r"|\b(?:oral|spotlight)\b|\binterspeech\b)"
    r"|\b[A-Z][A-Za-z]*[A-Z][A-Za-z]*(?:\s|-)?(?:19|20)\d{2}\b"
    r"|\b[A-Z][A-Za-z]*[A-Z][A-Za-z]*\s?['’]\d{2}\b"
)
_NOT_VENUE = re.compile(
    r"(?i:\bsubmitted\b|\bunder (?:review|submission|consideration)\b|\bin submission\b|\brejected\b"
    r"|\bcode\b)"
)
_WORDY_START = re.compile(r"(?i)^(?:this|the|our) (?:paper|work|article|manuscript) (?:has been|was|is) ")
_BOILERPLATE = re.compile(
    r"(?i:[,;(]?\s*\d+\s*(?:pages?|pp\b|figures?|figs?\b|tables?)\b"
    r"|[,;(:]\s*(?:code|data|project page|website|supplementary|appendix)\b|\(?https?://|github)"
)
_CLAUSE_BREAK = re.compile(r"[;|\n]+|(?<=[.!?])\s+(?=[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:^|\s)(?:[A-Z][a-z]{0,5}|[A-Za-z])\.$")
_NEW_STYLE_ID = re.compile(r"^(\d{4})\.(\d{4,5})$")


def _untranslated(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the chat's ranking put an entry where it is (`bot.core.rank`): the follows it matches, or
    one fixed phrase, English and marked for the catalogue so the renderer can show it translated."""

    follows: tuple[str, ...] = ()
    outside: bool = False  # from a category the chat does not follow
    phrase: str | None = None  # with `{count}` where `count` is given
    count: int | None = None

    def text(self, gettext: Callable[[str], str] = _untranslated) -> str:
        if self.follows:
            line = " · ".join(f"★ {label}" for label in self.follows)
            return f"{line} · {gettext(BEYOND_CATEGORIES)}" if self.outside else line
        return gettext(self.phrase or "").format(count=self.count)

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True, slots=True)
class DigestEntry:
    paper: Paper
    tags: tuple[str, ...]  # the chat's categories listing the paper, its primary category first
    new_in: tuple[str, ...]  # those of `tags` where it is a primary submission, not a cross-list
    venue: str | None  # see venue_note
    generated: Generated | None = None  # a model's summary, shown (marked) above the abstract
    reason: Reason | None = None  # why the chat's ranking put it here (bot.core.rank)
    highlights: tuple[tuple[int, int], ...] = ()  # followed words in the readable title, to show bold
    outside: bool = False  # from a category the chat does not follow, shown because it matched a follow

    @property
    def is_cross(self) -> bool:
        return not self.new_in


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: str
    new: int
    cross: int


@dataclass(frozen=True, slots=True)
class Pick:
    """A paper a group's members liked recently, for the "Group picks" block."""

    paper: Paper
    likes: int


@dataclass(frozen=True, slots=True)
class Digest:
    announced: date
    counts: tuple[CategoryCount, ...]  # one per chat category, in the chat's order
    entries: tuple[DigestEntry, ...]  # most relevant first
    picks: tuple[Pick, ...] = ()  # a group's most liked papers of the last day, shown first

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(count.category for count in self.counts)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a category's papers for `/cat`."""

    category: str
    announced: date
    number: int  # 1-based
    count: int  # pages in all, at least 1
    total: int  # papers in the category
    first_position: int  # 1-based position of the page's first entry among the category's papers
    entries: tuple[DigestEntry, ...]


Relevance = tuple[bool, int, bool, tuple[int, int, str]]
EntryMemo = dict[tuple[object, ...], tuple[Relevance, DigestEntry]]


def build_digest(
    rows: Iterable[tuple[Paper, Listing]],
    categories: Sequence[str],
    announced: date,
    memo: EntryMemo | None = None,
) -> Digest:
    """The chat's digest: news listed on `announced` in `categories`, one entry per paper.

    `memo`, shared by the digests built from the same rows (a push builds one per distinct list of
    categories), keeps each paper's entry per way it is listed: made and weighed once, not per digest.
    """
    wanted = tuple(dict.fromkeys(categories))
    papers: dict[str, Paper] = {}
    listed: dict[str, dict[str, AnnounceType]] = {}
    for paper, listing in rows:
        if listing.announced != announced or listing.category not in wanted:
            continue
        if not listing.announce_type.is_news:
            continue
        papers.setdefault(listing.arxiv_id, paper)
        listed.setdefault(listing.arxiv_id, {})[listing.category] = listing.announce_type
    tally = {(name, kind): 0 for name in wanted for kind in (AnnounceType.NEW, AnnounceType.CROSS)}
    for types in listed.values():
        for name, kind in types.items():
            tally[name, kind] += 1
    counts = tuple(
        CategoryCount(name, new=tally[name, AnnounceType.NEW], cross=tally[name, AnnounceType.CROSS])
        for name in wanted
    )
    known: EntryMemo = {} if memo is None else memo
    weighed = []
    for arxiv_id, types in listed.items():
        if len(types) == 1:
            key: tuple[object, ...] = (arxiv_id, *types.items())
        else:
            key = (arxiv_id, *((name, types[name]) for name in wanted if name in types))
        found = known.get(key)
        if found is None:
            entry = _entry(papers[arxiv_id], types, wanted)
            found = known[key] = (_relevance(entry), entry)
        weighed.append(found)
    weighed.sort(key=itemgetter(0))
    return Digest(announced, counts, tuple(entry for _, entry in weighed))


def _entry(paper: Paper, types: dict[str, AnnounceType], wanted: tuple[str, ...]) -> DigestEntry:
    if len(types) == 1:  # most papers: listed in one of the chat's categories
        [(name, kind)] = types.items()
        new_in = (name,) if kind is AnnounceType.NEW else ()
        return DigestEntry(paper, (name,), new_in, venue_note(paper.comment, paper.journal_ref))
    new_in = tuple(name for name in wanted if types.get(name) is AnnounceType.NEW)
    primary = paper.primary_category or (new_in[0] if new_in else None)
    tags = sorted((name for name in wanted if name in types), key=lambda name: name != primary)
    return DigestEntry(paper, tuple(tags), new_in, venue_note(paper.comment, paper.journal_ref))


def _relevance(entry: DigestEntry) -> Relevance:
    return (entry.is_cross, -len(entry.tags), entry.venue is None, arxiv_order(entry.paper.arxiv_id))


@lru_cache(maxsize=65_536)
def arxiv_order(arxiv_id: str) -> tuple[int, int, str]:
    """Numeric order for new-style ids (2508.9999 before 2508.10000); old-style ids sort first.
    Cached: every ranking sorts hundreds of ids."""
    match = _NEW_STYLE_ID.match(arxiv_id)
    if match is None:
        return (-1, 0, arxiv_id)
    return (int(match.group(1)), int(match.group(2)), "")


@lru_cache(maxsize=4096)
def venue_note(comment: str | None, journal_ref: str | None) -> str | None:
    """Where the paper is (to be) published, from its arXiv comment or journal reference.

    "10 pages, 5 figures, accepted at ICLR 2024" gives "Accepted at ICLR 2024"; page counts,
    "submitted to ..." and "under review" give nothing. A journal reference is the fallback.
    Cached: a push renders each paper in many digests (one per distinct choice of categories).
    """
    for clause in _clauses(comment or ""):
        match = _VENUE.search(clause)
        if match is None:
            continue
        start = clause.rfind(",", 0, match.start()) + 1
        note = clause[start:]
        tail = _BOILERPLATE.search(note, match.end() - start)
        if tail is not None:
            note = note[: tail.start()]
        if not _NOT_VENUE.search(note):
            return _tidy(note)
    reference = re.sub(r"(?i)^\s*(?:published\s+)?in\b:?", "", journal_ref or "")
    return _tidy("Published in " + reference) if reference.strip() else None


def _clauses(comment: str) -> list[str]:
    """Split at semicolons, bars, newlines and sentence ends, but not after "Proc." or "J."."""
    clauses: list[str] = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(comment):
        at_sentence_end = match.group().isspace() and "\n" not in match.group()
        if at_sentence_end and _ABBREVIATION.search(comment[start : match.start()]):
            continue
        clauses.append(comment[start : match.start()])
        start = match.end()
    clauses.append(comment[start:])
    return [clause.strip() for clause in clauses if clause.strip()]


def _tidy(note: str) -> str | None:
    text = _WORDY_START.sub("", " ".join(note.split())).strip(" ,;:.(")
    if text.count("(") < text.count(")"):
        text = text.rstrip(")")
    if not text:
        return None
    text = text[0].upper() + text[1:]
    if len(text) > VENUE_CHARS:
        text = text[: VENUE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return text


def with_generated(digest: Digest, texts: Mapping[str, Generated], first: int | None) -> Digest:
    """The digest with generated text on its first `first` entries (None: all), where `texts` has it."""
    if not texts:
        return digest
    reach = len(digest.entries) if first is None else first
    entries = tuple(
        dataclasses.replace(entry, generated=texts.get(entry.paper.arxiv_id)) if index < reach else entry
        for index, entry in enumerate(digest.entries)
    )
    return dataclasses.replace(digest, entries=entries)


class Selection(NamedTuple):
    """The entries a digest message shows, and how many it leaves for `/cat`."""

    shown: tuple[DigestEntry, ...]
    remaining: int


def select_for_push(digest: Digest, size: int | None) -> Selection:
    """The entries a pushed digest (or `/today`) shows; `size` None (or 0, "all") shows every entry."""
    if size is None or size == 0:
        return Selection(digest.entries, 0)
    if size < 0:
        raise ValueError(f"digest size must be positive, got {size}")
    return Selection(digest.entries[:size], max(0, len(digest.entries) - size))


@dataclass(frozen=True, slots=True)
class EnrichmentPriority:
    """The papers whose affiliations matter first, as arXiv ids: those a push features (the top
    FEATURED entries of every digest), then the rest of each digest's first message."""

    featured: tuple[str, ...]
    first_page: tuple[str, ...]

    @property
    def order(self) -> tuple[str, ...]:
        return self.featured + self.first_page


def enrichment_priority(digests: Iterable[tuple[Digest, int | None]]) -> EnrichmentPriority:
    """Priority over several digests, each with the limit of its chats' size (`digest_limit`; None:
    every entry).

    Rank by rank across the digests (every digest's first entry, then every second one), each paper
    once, so a few dozen pages serve the top of every digest however many digests there are.
    """
    shown = [select_for_push(digest, size).shown for digest, size in digests]

    def by_rank(start: int, stop: int | None) -> tuple[str, ...]:
        longest = max((len(entries) for entries in shown), default=0)
        ids = (
            entries[rank].paper.arxiv_id
            for rank in range(start, longest if stop is None else min(stop, longest))
            for entries in shown
            if rank < len(entries)
        )
        return tuple(dict.fromkeys(ids))

    featured = by_rank(0, FEATURED)
    taken = set(featured)
    first_page = tuple(arxiv_id for arxiv_id in by_rank(FEATURED, None) if arxiv_id not in taken)
    return EnrichmentPriority(featured, first_page)


def cut_categories(digest: Digest, selection: Selection) -> tuple[str, ...]:
    """The chat's categories that have entries the selection leaves out, in the chat's order."""
    hidden = {name for entry in digest.entries[len(selection.shown) :] for name in entry.tags}
    return tuple(name for name in digest.categories if name in hidden)


def in_category(digest: Digest, category: str) -> tuple[DigestEntry, ...]:
    """The digest's entries listed in `category`, in that category's own order: what `/cat` shows,
    whichever other categories the digest was built for."""
    listed = (entry for entry in digest.entries if category in entry.tags)
    return tuple(sorted(listed, key=lambda entry: _relevance_in(entry, category)))


def _relevance_in(entry: DigestEntry, category: str) -> tuple[bool, bool, tuple[int, int, str]]:
    """`_relevance` of the entry as if tagged with `category` alone."""
    return (category not in entry.new_in, entry.venue is None, arxiv_order(entry.paper.arxiv_id))


@dataclass(frozen=True, slots=True)
class Unshown:
    """What an "All IR (41)" button needs of its category: the papers `/cat` pages through, and
    the page holding the first of them the selection does not show."""

    papers: int
    page: int


def unshown(
    digest: Digest, selection: Selection, categories: Iterable[str], per_page: int = PAGE_SIZE
) -> dict[str, Unshown]:
    """Each category's `Unshown`, in one pass over the digest and without sorting a category (every
    digest with "All" buttons asks): a category's first paper not shown comes first of those not
    shown, after the shown ones that rank above it."""
    wanted = set(categories)
    shown = {entry.paper.arxiv_id for entry in selection.shown}
    papers = dict.fromkeys(wanted, 0)
    first: dict[str, tuple[bool, bool, tuple[int, int, str]]] = {}
    shown_ranks: dict[str, list[tuple[bool, bool, tuple[int, int, str]]]] = {name: [] for name in wanted}
    for entry in digest.entries:
        is_shown = entry.paper.arxiv_id in shown
        for name in entry.tags:
            if name not in wanted:
                continue
            papers[name] += 1
            rank = _relevance_in(entry, name)
            if is_shown:
                shown_ranks[name].append(rank)
            elif name not in first or rank < first[name]:
                first[name] = rank
    return {
        name: Unshown(
            papers[name],
            sum(rank < first[name] for rank in shown_ranks[name]) // per_page + 1 if name in first else 1,
        )
        for name in wanted
    }


def category_page(digest: Digest, category: str, number: int, per_page: int = PAGE_SIZE) -> Page:
    """Page `number` of the digest's papers tagged `category`, in the category's own order.

    A number past either end is clamped, so a stale button still shows a page.
    """
    if not 1 <= per_page <= MAX_PAGE_SIZE:
        raise ValueError(f"per_page must be between 1 and {MAX_PAGE_SIZE}, got {per_page}")
    listed = in_category(digest, category)
    count = max(1, math.ceil(len(listed) / per_page))
    number = min(max(number, 1), count)
    first = (number - 1) * per_page
    return Page(
        category=category,
        announced=digest.announced,
        number=number,
        count=count,
        total=len(listed),
        first_position=first + 1,
        entries=listed[first : first + per_page],
    )
