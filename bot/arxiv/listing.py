"""The listing pages (arxiv.org/list/<category>/new): an announcement the moment arXiv makes it.

arXiv announces at 20:00 US Eastern, and its listing pages show the announcement at once, with
ids, titles, authors, comments, journal references, subjects and abstracts, new submissions,
cross-lists and replacements in separate sections. The feeds follow hours later. Three layouts
are understood (tests/fixtures/listings names a real page of each, or says why it cannot):

- current (since late 2024): `<h3>Showing new listings for Monday, 24 November 2026</h3>`, then
  `<dl id='articles'>` with `<h3>New submissions (showing 14 of 14 entries)</h3>`, "Cross
  submissions", "Replacement submissions";
- mid-2024: the date inside each heading, "New submissions for Friday, 9 August 2024 (showing 6
  of 6 entries )";
- older: "New submissions for Fri, 20 Jul 18", "Cross-lists", "Replacements", with the page's
  "total of N entries".

A page is taken only whole: a layout that is not recognised, or a page that shows fewer entries
than it announces, raises `ListingLayoutError`, and the caller reads the feed instead. Storing
half an announcement would make a digest silently incomplete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from lxml import etree
from lxml import html as lxml_html

from bot.arxiv.feed import collapse_whitespace, split_authors, split_versioned_id
from bot.arxiv.http import (
    ArxivError,
    with_retries,
)
from bot.arxiv.site import SitePageEndpoint
from bot.core.names import readable_name
from storage.models import AnnounceType, Author, Paper

MAX_PAGE_BYTES = 32 * 2**20
"""The busiest category's page (cs.LG, about 700 entries with abstracts) is a few megabytes."""
SHOW_ALL = 2000  # arXiv's largest page: every entry of one announcement on one page

_SHOWING = re.compile(r"^Showing new listings for (?P<date>.+)$", re.IGNORECASE)
_SECTION = re.compile(
    r"^(?P<kind>New submissions|Cross submissions|Cross-lists|Replacement submissions|Replacements)"
    r"(?:\s+for\s+(?P<date>[^()]+?))?"
    r"(?:\s*\((?P<continued>continued,\s*)?showing\s+(?:first\s+|last\s+)?(?P<shown>\d+)\s+of\s+"
    r"(?P<total>\d+)\s+entries\s*\))?\s*$",
    re.IGNORECASE,
)
_KINDS = {
    "new submissions": AnnounceType.NEW,
    "cross submissions": AnnounceType.CROSS,
    "cross-lists": AnnounceType.CROSS,
    "replacement submissions": AnnounceType.REPLACE,
    "replacements": AnnounceType.REPLACE,
}
_DATE = re.compile(r"(?:[A-Za-z]+,?\s+)?(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]+)\s+(?P<year>\d{2}|\d{4})$")
_DATELINE = re.compile(r"announced\s+(?P<date>.+?)\s*$", re.IGNORECASE)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_PAGE_TOTAL = re.compile(r"total of (?P<total>\d+) entries(?::\s*(?P<first>\d+)\s*-\s*(?P<last>\d+))?", re.I)
_PLAIN_ID = re.compile(r"\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7}")
_HTML_VERSION = re.compile(r"/html/(?P<id>[^/?#]+)$")
_SUBJECT_CODE = re.compile(r"\(([a-z-]+(?:\.[A-Za-z-]+)?)\)")
_DESCRIPTOR = re.compile(r"^\s*(?:Title|Authors|Comments|Journal-ref|Subjects):\s*", re.IGNORECASE)
_NO_UPDATES = "no updates today"
_PARSER = lxml_html.HTMLParser(encoding="utf-8")  # arXiv serves UTF-8, whatever a page declares


class ArxivListingError(ArxivError):
    """The listing page answered, but not with a page we can use (bad status, too large)."""


class ListingLayoutError(ArxivListingError):
    """The page is not a listing we understand, or not all of one: read the feed instead."""


@dataclass(frozen=True, slots=True)
class ListingEntry:
    arxiv_id: str  # without version
    version: int  # from the HTML link when the page has one, else 1 until the export API says
    announce_type: AnnounceType
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # primary first
    comment: str | None = None
    journal_ref: str | None = None

    def paper(self) -> Paper:
        """The paper as the page shows it: everything but affiliations, which the API and HTML add."""
        return Paper(
            arxiv_id=self.arxiv_id,
            version=self.version,
            title=self.title,
            abstract=self.abstract,
            authors=tuple(Author(name) for name in self.authors),
            categories=self.categories,
            primary_category=self.categories[0] if self.categories else None,
            comment=self.comment,
            journal_ref=self.journal_ref,
        )


@dataclass(frozen=True, slots=True)
class ListingAnnouncement:
    """One category's listing page. No entries: arXiv announced nothing in it that day."""

    category: str
    announced: date
    entries: tuple[ListingEntry, ...]
    layout: str  # "current", "2024" or "old"

    def count(self, announce_type: AnnounceType) -> int:
        return sum(entry.announce_type is announce_type for entry in self.entries)


@dataclass
class _Section:
    kind: AnnounceType
    heading: str
    shown: int | None
    total: int | None
    entries: list[ListingEntry] = field(default_factory=list)


def parse_listing(content: bytes, category: str, source: str = "listing") -> ListingAnnouncement:
    """Parse a whole listing page or raise `ListingLayoutError`; never returns part of a page."""
    try:
        root = lxml_html.document_fromstring(content, parser=_PARSER)
    except (etree.ParserError, ValueError) as error:
        raise ListingLayoutError(f"{source}: not an HTML page ({error})") from None
    dates: set[date] = set()
    layout = "old"
    sections: list[_Section] = []
    page_total: re.Match[str] | None = None
    pending: etree._Element | None = None
    for element in root.iter("h3", "dt", "dd", "div", "small"):
        classes = (element.get("class") or "").split()
        if element.tag == "h3":
            text = collapse_whitespace(element.text_content())
            if showing := _SHOWING.match(text):
                layout = "current"
                dates.add(_date(showing["date"], source))
            elif heading := _SECTION.match(text):
                sections.append(_section(heading, text, source))
                if heading["date"]:
                    dates.add(_date(heading["date"], source))
                    layout = "2024" if heading["shown"] else layout
        elif element.tag == "dt":
            if not sections:
                raise ListingLayoutError(f"{source}: an entry before any section heading")
            pending = element
        elif element.tag == "dd" and pending is not None:
            sections[-1].entries.append(_entry(pending, element, sections[-1].kind, category, source))
            pending = None
        elif "list-dateline" in classes:
            if dateline := _DATELINE.search(collapse_whitespace(element.text_content())):
                dates.add(_date(dateline["date"], source))
        elif ("paging" in classes or element.tag == "small") and page_total is None:
            page_total = _PAGE_TOTAL.search(collapse_whitespace(element.text_content()))
    if not dates:
        raise ListingLayoutError(f"{source}: no announcement date found (layout not recognised)")
    if len(dates) > 1:
        shown = ", ".join(sorted(map(str, dates)))
        raise ListingLayoutError(f"{source}: the page names several announcement dates ({shown})")
    if not sections and _NO_UPDATES not in collapse_whitespace(root.text_content()).casefold():
        raise ListingLayoutError(f"{source}: no section headings (layout not recognised)")
    _require_whole(sections, page_total, source)
    entries = tuple(entry for section in sections for entry in section.entries)
    return ListingAnnouncement(category, dates.pop(), entries, layout)


def _section(heading: re.Match[str], text: str, source: str) -> _Section:
    if heading["continued"]:
        raise ListingLayoutError(f"{source}: “{text}”: the page starts inside the section")
    shown = int(heading["shown"]) if heading["shown"] else None
    total = int(heading["total"]) if heading["total"] else None
    return _Section(_KINDS[heading["kind"].casefold()], text, shown, total)


def _require_whole(sections: list[_Section], page_total: re.Match[str] | None, source: str) -> None:
    """Every section shows all its entries, and the page all it announces."""
    for section in sections:
        if section.total is not None and section.shown != section.total:
            raise ListingLayoutError(f"{source}: “{section.heading}”: not every entry is on the page")
        if section.shown is not None and len(section.entries) != section.shown:
            raise ListingLayoutError(
                f"{source}: “{section.heading}”: {len(section.entries)} entries read, {section.shown} shown"
            )
    counted = all(section.total is not None for section in sections)
    if page_total is None:
        if not counted:
            raise ListingLayoutError(f"{source}: no entry counts: cannot tell whether the page is whole")
        return
    total = int(page_total["total"])
    found = sum(len(section.entries) for section in sections)
    whole_range = page_total["first"] is None or (
        int(page_total["first"]) == 1 and int(page_total["last"]) == total
    )
    if found != total or not whole_range:
        raise ListingLayoutError(f"{source}: {found} entries read of the {total} the page announces")


def _date(text: str, source: str) -> date:
    match = _DATE.search(text.strip())
    month = match["month"][:3].casefold() if match else ""
    if match is None or month not in _MONTHS:
        raise ListingLayoutError(f"{source}: unreadable date {text.strip()[:60]!r}")
    year = int(match["year"]) + (2000 if len(match["year"]) == 2 else 0)
    try:
        return date(year, _MONTHS.index(month) + 1, int(match["day"]))
    except ValueError:
        raise ListingLayoutError(f"{source}: impossible date {text.strip()[:60]!r}") from None


def _entry(
    term: etree._Element, description: etree._Element, kind: AnnounceType, category: str, source: str
) -> ListingEntry:
    arxiv_id, version = _identifier(term, source)
    title = _field(description, "list-title")
    if not title:
        raise ListingLayoutError(f"{source}: {arxiv_id}: no title")
    subjects = _part(description, "list-subjects")
    primary = _part(subjects, "primary-subject") if subjects is not None else None
    codes = (
        _SUBJECT_CODE.findall(collapse_whitespace(subjects.text_content())) if subjects is not None else []
    )
    first = _SUBJECT_CODE.findall(collapse_whitespace(primary.text_content())) if primary is not None else []
    categories = tuple(dict.fromkeys([*first[:1], *codes]))
    if kind is AnnounceType.REPLACE and categories and categories[0] != category:
        kind = AnnounceType.REPLACE_CROSS
    abstract = next(
        (
            collapse_whitespace(node.text_content())
            for node in description.iter("p")
            if "mathjax" in (node.get("class") or "").split()
        ),
        "",
    )
    return ListingEntry(
        arxiv_id=arxiv_id,
        version=version,
        announce_type=kind,
        title=title,
        abstract=abstract,
        authors=_authors(description),
        categories=categories,
        comment=_field(description, "list-comments") or None,
        journal_ref=_field(description, "list-journal-ref") or None,
    )


def _identifier(term: etree._Element, source: str) -> tuple[str, int]:
    link = next((a for a in term.iter("a") if (a.get("href") or "").startswith("/abs/")), None)
    if link is None:
        raise ListingLayoutError(f"{source}: an entry without its /abs/ link")
    raw = link.get("href").removeprefix("/abs/").strip()
    versioned = split_versioned_id(raw)
    if versioned is not None:
        return versioned
    if not _PLAIN_ID.fullmatch(raw):
        raise ListingLayoutError(f"{source}: unexpected arXiv id {raw[:40]!r}")
    for anchor in term.iter("a"):
        found = _HTML_VERSION.search(anchor.get("href") or "")
        versioned = split_versioned_id(found["id"]) if found else None
        if versioned is not None and versioned[0] == raw:
            return versioned
    return raw, 1


def _part(element: etree._Element, css_class: str) -> etree._Element | None:
    return next(
        (node for node in element.iter() if css_class in (node.get("class") or "").split()),
        None,
    )


def _field(element: etree._Element, css_class: str) -> str:
    node = _part(element, css_class)
    return _DESCRIPTOR.sub("", collapse_whitespace(node.text_content())) if node is not None else ""


def _authors(description: etree._Element) -> tuple[str, ...]:
    node = _part(description, "list-authors")
    if node is None:
        return ()
    names = [collapse_whitespace(anchor.text_content()) for anchor in node.iter("a")]
    if names:
        return tuple(readable_name(name) for name in names if name)
    return split_authors(_DESCRIPTOR.sub("", collapse_whitespace(node.text_content())))


def listing_url(base_url: str, category: str) -> str:
    """The page of a category's latest announcement, every entry on it."""
    return f"{base_url}{category}/new?skip=0&show={SHOW_ALL}"


class ListingClient(SitePageEndpoint):
    """Reads one category's listing page per call, on arxiv.org's pacer and within its robots.txt,
    shared with the HTML pages: the host sees one crawler at its crawl delay."""

    def url(self, category: str) -> str:
        return listing_url(self._base_url, category)

    async def fetch(self, category: str) -> ListingAnnouncement:
        """Raises `ListingLayoutError` (fall back to the feed), `ArxivListingError` (also when
        robots.txt keeps crawlers out of the page), `ArxivRefusedError` or `ArxivUnavailableError`."""
        url = self.url(category)
        if not await self.robots.allows(url):
            raise ArxivListingError(f"{url}: robots.txt keeps crawlers out")

        async def attempt() -> bytes:
            return await self._document(url, MAX_PAGE_BYTES, ArxivListingError, hold_host=True)

        content = await with_retries(attempt, self._retry, sleep=self._sleep, what=f"listing {category}")
        return parse_listing(content, category, source=url)
