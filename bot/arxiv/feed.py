"""The announcement feed (rss.arxiv.org/atom/<category>): what arXiv announced in a category today.

The feed turns over hours after the listing pages (bot/arxiv/listing.py) show an announcement, so
it is their fallback and cross-check. Parsing is strict: a malformed document or entry raises
`ArxivFeedError` and yields no entries at all, because storing half an announcement would make a
digest silently incomplete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from bot.arxiv.http import (
    ArxivError,
    PacedEndpoint,
    with_retries,
)
from bot.core.names import NAME_SUFFIXES, readable_name
from storage.models import AnnounceType, Author, Paper

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"

_VERSIONED_ID = re.compile(r"(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})v(?P<version>\d+)")
_OAI_PREFIX = "oai:arXiv.org:"
_ABSTRACT_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.IGNORECASE)
_AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


MAX_FEED_BYTES = 16 * 2**20
"""A busy day's feed is a few megabytes; a much larger body is not an announcement, and is not read."""


class ArxivFeedError(ArxivError):
    """The feed answered, but not with an announcement we can trust (bad status or malformed Atom)."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    arxiv_id: str  # without version
    version: int
    announce_type: AnnounceType
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # as the feed lists them, primary first in practice

    def paper(self) -> Paper:
        """The paper as far as the feed knows it: no affiliations, comment or primary category yet."""
        return Paper(
            arxiv_id=self.arxiv_id,
            version=self.version,
            title=self.title,
            abstract=self.abstract,
            authors=tuple(Author(name) for name in self.authors),
            categories=self.categories,
        )


@dataclass(frozen=True, slots=True)
class FeedAnnouncement:
    """One category's feed. No entries means arXiv announced nothing (weekend, holiday)."""

    category: str
    announced: date | None
    entries: tuple[FeedEntry, ...]

    @property
    def is_empty(self) -> bool:
        return not self.entries

    def count(self, announce_type: AnnounceType) -> int:
        return sum(entry.announce_type is announce_type for entry in self.entries)


def split_versioned_id(text: str) -> tuple[str, int] | None:
    """("2508.13426", 1) for "2508.13426v1", also old-style "cs/0501001v2"; None if not an arXiv id."""
    match = _VERSIONED_ID.fullmatch(text.strip())
    if match is None:
        return None
    return match["id"], int(match["version"])


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def split_authors(creators: str) -> tuple[str, ...]:
    """Names from `dc:creator`: "A, B, and C" or "A and B"; "Jr."-style suffixes stay attached."""
    names: list[str] = []
    for part in _AUTHOR_SEPARATOR.split(collapse_whitespace(creators)):
        if not part:
            continue
        if names and part.casefold() in NAME_SUFFIXES:
            names[-1] = f"{names[-1]}, {part}"
        else:
            names.append(readable_name(part))
    return tuple(names)


def parse_feed(content: bytes, category: str, source: str = "feed") -> FeedAnnouncement:
    """Parse a whole feed document or raise `ArxivFeedError`; never returns part of a feed."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise ArxivFeedError(f"{source}: malformed XML ({error})") from None
    if root.tag != f"{_ATOM}feed":
        raise ArxivFeedError(f"{source}: not an Atom feed (root element {root.tag!r})")
    entries: list[FeedEntry] = []
    dates: set[date] = set()
    for position, element in enumerate(root.iterfind(f"{_ATOM}entry"), start=1):
        try:
            entry, published = _parse_entry(element)
        except ValueError as error:
            raise ArxivFeedError(f"{source}: entry {position}: {error}") from None
        entries.append(entry)
        if published is not None:
            dates.add(published)
    if not entries:
        return FeedAnnouncement(category, None, ())
    if len(dates) > 1:
        shown = ", ".join(sorted(map(str, dates)))
        raise ArxivFeedError(f"{source}: entries disagree on the announcement date ({shown})")
    if dates:
        return FeedAnnouncement(category, dates.pop(), tuple(entries))
    try:
        announced = _date_of(_text(root, f"{_ATOM}updated"))
    except ValueError as error:
        raise ArxivFeedError(f"{source}: feed <updated>: {error}") from None
    return FeedAnnouncement(category, announced, tuple(entries))


def _parse_entry(element: etree._Element) -> tuple[FeedEntry, date | None]:
    oai_id = _text(element, f"{_ATOM}id")
    parsed = split_versioned_id(oai_id.removeprefix(_OAI_PREFIX)) if oai_id.startswith(_OAI_PREFIX) else None
    if parsed is None:
        raise ValueError(f"unexpected id {oai_id!r}")
    arxiv_id, version = parsed
    raw_type = _text(element, f"{_ARXIV}announce_type")
    try:
        announce_type = AnnounceType(raw_type)
    except ValueError:
        raise ValueError(f"{arxiv_id}: unknown announce type {raw_type!r}") from None
    title = collapse_whitespace(_text(element, f"{_ATOM}title"))
    if not title:
        raise ValueError(f"{arxiv_id}: empty title")
    summary = _text(element, f"{_ATOM}summary", required=False) or ""
    categories = tuple(
        term for node in element.iterfind(f"{_ATOM}category") if (term := (node.get("term") or "").strip())
    )
    creators = _text(element, f"{_DC}creator", required=False) or ""
    published = _text(element, f"{_ATOM}published", required=False)
    entry = FeedEntry(
        arxiv_id=arxiv_id,
        version=version,
        announce_type=announce_type,
        title=title,
        abstract=collapse_whitespace(_ABSTRACT_PREFIX.sub("", summary, count=1)),
        authors=split_authors(creators),
        categories=tuple(dict.fromkeys(categories)),
    )
    return entry, _date_of(published) if published else None


def _text(element: etree._Element, tag: str, *, required: bool = True) -> str:
    node = element.find(tag)
    if node is None or node.text is None or not node.text.strip():
        if required:
            raise ValueError(f"missing <{tag.rpartition('}')[2]}>")
        return ""
    return node.text


def _date_of(timestamp: str) -> date:
    """The calendar date as written, in the timestamp's own offset (arXiv writes US Eastern)."""
    try:
        return datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"not a timestamp: {timestamp.strip()!r}") from None


class FeedClient(PacedEndpoint):
    """Fetches and parses one category's feed per call, paced and retried like every arXiv request."""

    def url(self, category: str) -> str:
        return self._base_url + category

    async def fetch(self, category: str) -> FeedAnnouncement:
        """Raises `ArxivFeedError` (bad status, malformed feed) or `ArxivUnavailableError`."""
        url = self.url(category)

        async def attempt() -> bytes:
            return await self._document(url, MAX_FEED_BYTES, ArxivFeedError)

        content = await with_retries(attempt, self._retry, sleep=self._sleep, what=f"feed {category}")
        return parse_feed(content, category, source=url)
