"""Affiliations from arXiv's HTML rendering (LaTeXML author blocks), reduced to institution names.

Few papers carry `arxiv:affiliation`, but most recent ones have an HTML version whose author block
names affiliations in one of several shapes: contacts under each author (`ltx_role_affiliation`,
`ltx_role_institute`, `ltx_role_address`), numbered marks pointing at institute notes
(`ltx_role_institutetext`, `ltx_role_affiliationtext`), or plain lines under the names. This module
reads them all from the page and maps the result onto the export API's authors. It does no I/O:
fetching and caching the pages belong to another module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import Enum
from functools import lru_cache

import lxml.html
from lxml import etree

from storage.models import Author


@dataclass(frozen=True, slots=True)
class AuthorAffiliations:
    """One author as the HTML author block names them, with institutions in order of appearance."""

    name: str
    affiliations: tuple[str, ...] = ()


def parse_author_affiliations(html: str | bytes) -> list[AuthorAffiliations]:
    """Authors of an arXiv HTML page in document order; no author block (or no HTML) gives []."""
    root = _front_matter(html)
    if root is None:
        return []
    blocks = _AUTHOR_BLOCKS(root)
    if not blocks:
        return []
    creators = _CREATORS(blocks[0]) or _PERSONNAMES(blocks[0])
    groups = [group for creator in creators for group in _read_creator(creator)]
    notes = [address for note in _INSTITUTE_NOTES(root) for address in _read_institute_note(note)]
    statements = [statement for note in _THANKS_NOTES(root) for statement in _with_statements(note)]
    return _resolve(groups, notes, statements)


def normalise_institution(text: str) -> str | None:
    """The institution an address names ("Dept. of CS, Carnegie Mellon University, Pittsburgh" ->
    "Carnegie Mellon University"), or None when the text names none (an e-mail, a note)."""
    found = _institutions(text)
    return found[0] if found else None


def paper_affiliations(authors: Iterable[AuthorAffiliations | Author]) -> tuple[str, ...]:
    """The paper's institutions, each once, in order of first appearance."""
    return _unique(institution for author in authors for institution in author.affiliations)


def merge_affiliations(
    api_authors: Sequence[Author], html_authors: Sequence[AuthorAffiliations]
) -> tuple[Author, ...]:
    """The API's author list with affiliations filled in from the HTML authors.

    Authors are paired by name (accents, initials, word order and TeX leftovers do not matter), and
    by position only for those left unpaired when both lists have the same length. An author's own
    `arxiv:affiliation` wins when it names an institution; names always stay as the API spells them.
    """
    pairs = _pair_by_name(
        [_name_tokens(a.name) for a in api_authors], [_name_tokens(h.name) for h in html_authors]
    )
    if len(api_authors) == len(html_authors):
        taken = set(pairs.values())
        for index in range(len(api_authors)):
            if index not in pairs and index not in taken:
                pairs[index] = index
    merged = []
    for index, author in enumerate(api_authors):
        own = _unique(institution for text in author.affiliations for institution in _institutions(text))
        if own:
            merged.append(Author(author.name, own))
        elif index in pairs:
            merged.append(Author(author.name, html_authors[pairs[index]].affiliations))
        else:
            merged.append(author)
    return tuple(merged)


# --- Finding the author block -------------------------------------------------------------------

_AUTHORS_DIV = re.compile(rb"<div\b[^>]*?\bclass\s*=\s*[\"'][^\"']*\bltx_authors\b", re.IGNORECASE)
_BODY_START = re.compile(rb"<section\b", re.IGNORECASE)


def _front_matter(html: str | bytes) -> etree._Element | None:
    """Parse only the page's front matter: the body of a paper is megabytes the author block never needs."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else bytes(html)
    found = _AUTHORS_DIV.search(data)
    if found is None:
        return None
    start = max(data.rfind(b"<article", 0, found.start()), 0)
    body = _BODY_START.search(data, found.end())
    chunk = data[start : body.start() if body else len(data)]
    try:
        return lxml.html.document_fromstring(chunk, parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.LxmlError, ValueError):
        return None


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_AFFILIATION_ROLES = (
    "ltx_role_affiliation",
    "ltx_role_additional_affiliation",
    "ltx_role_address",
    "ltx_role_institute",
)
_AUTHOR_BLOCKS = etree.XPath(f"//div[{_has_class('ltx_authors')}]")
_CREATORS = etree.XPath(f".//*[{_has_class('ltx_creator')} and {_has_class('ltx_role_author')}]")
_PERSONNAMES = etree.XPath(f".//*[{_has_class('ltx_personname')}]")
_CONTACTS = etree.XPath(".//*[" + " or ".join(_has_class(role) for role in _AFFILIATION_ROLES) + "]")
_INSTITUTE_NOTES = etree.XPath(
    f"//*[{_has_class('ltx_note')} and ({_has_class('ltx_role_institutetext')}"
    f" or {_has_class('ltx_role_affiliationtext')})]"
)
_THANKS_NOTES = etree.XPath(f"//*[{_has_class('ltx_note')} and {_has_class('ltx_role_thanks')}]")
_NOTE_MARK = etree.XPath(f"./*[{_has_class('ltx_note_mark')}]")
_NOTE_CONTENT = etree.XPath(f".//*[{_has_class('ltx_note_content')}]")


# --- Elements to lines of text and marks --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Mark:
    """Superscript marks ("1", "*", "†") that tie a name to an institute."""

    values: tuple[str, ...]


_Line = list["str | _Mark"]

_SKIPPED_TAGS = frozenset({"script", "style", "img", "svg", "button", "annotation", "annotation-xml", "head"})
_SKIPPED_CLASSES = frozenset(
    {
        "ltx_note",  # \thanks and footnotes: equal contribution, corresponding author, funding
        "ltx_note_mark",
        "ltx_note_type",
        "ltx_tag",
        "ltx_role_email",
        "ltx_role_orcid",
        "ltx_role_homepage",
        "ltx_role_emailmark",
        "ltx_role_institutemark",
        "ltx_role_affiliationmark",
        "ltx_role_dedicatory",
        "ltx_role_mobile",
        *_AFFILIATION_ROLES,  # read separately, as the creator's contacts
    }
)
_LINE_TAGS = frozenset({"p", "div", "li", "tr", "td", "th"})
_LINE_CLASSES = frozenset({"ltx_p", "ltx_para", "ltx_tr", "ltx_td", "ltx_inline-block", "ltx_parbox"})
_IGNORED_FIELDS = frozenset(
    {
        "ltx_affiliation_city",
        "ltx_affiliation_state",
        "ltx_affiliation_postcode",
        "ltx_affiliation_country",
        "ltx_affiliation_streetaddress",
        "ltx_affiliation_position",
    }
)
_KEPT_FIELDS = frozenset({"ltx_affiliation_institution", "ltx_affiliation_department"})
_AUTHOR_SEPARATOR_MACROS = frozenset({"\\and", "\\And", "\\AND"})

_INLINE_MARK = re.compile(
    r"\[(\d{1,2}|[a-z]|[*†‡§¶])\]"  # LaTeXML's "[1]" for an unsupported \author[1]{...}
    r"|(?<!\w)([*∗†‡§¶⋆★✝✉]+)|([*∗†‡§¶⋆★✝✉]+)(?!\w)"  # symbols typed as text, but not the "*" of "A*STAR"
    r"|([⁰¹²³⁴⁵⁶⁷⁸⁹]+(?:[,˒][⁰¹²³⁴⁵⁶⁷⁸⁹]+)*)"
)
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹˒", "0123456789,")
_MARK_TEXT = re.compile(r"[\s,;.]*(?:(?:\d{1,2}|[A-Za-z]|[^\w\s,;.])[\s,;.]*){1,6}")
_MARK_VALUE = re.compile(r"\d+|[A-Za-z]|[^\w\s,;.()]")
_TEX_SYMBOLS = {
    "dagger": "†",
    "dag": "†",
    "ddagger": "‡",
    "ddag": "‡",
    "ast": "*",
    "star": "⋆",
    "bigstar": "★",
    "S": "§",
    "P": "¶",
    "sharp": "♯",
    "natural": "♮",
    "flat": "♭",
    "diamond": "⋄",
    "diamondsuit": "♢",
    "clubsuit": "♣",
    "spadesuit": "♠",
    "heartsuit": "♡",
    "circ": "∘",
    "bullet": "•",
    "triangle": "△",
}
_TEX_FORMATTING = re.compile(
    r"\\(?:text\w*|math\w*|rm|bf|it|sf|tt|scriptsize|footnotesize|small|tiny)\b|\\[,;:! ]"
)


class _Stream:
    """Text and marks read from elements: blocks (one per author written apart) of lines."""

    def __init__(self) -> None:
        self.blocks: list[list[_Line]] = [[[]]]

    def add_text(self, text: str) -> None:
        line = self.blocks[-1][-1]
        position = 0
        for found in _INLINE_MARK.finditer(text):
            if found.start() > position:
                line.append(text[position : found.start()])
            line.append(_Mark(_mark_values(next(group for group in found.groups() if group))))
            position = found.end()
        if position < len(text):
            line.append(text[position:])

    def add_mark(self, values: tuple[str, ...]) -> None:
        if values:
            self.blocks[-1][-1].append(_Mark(values))

    def break_line(self) -> None:
        if _has_content(self.blocks[-1][-1]):
            self.blocks[-1].append([])

    def break_block(self) -> None:
        if any(_has_content(line) for line in self.blocks[-1]):
            self.blocks.append([[]])

    def extend(self, other: _Stream) -> None:
        for index, block in enumerate(other.blocks):
            if index:
                self.break_block()
            for line_index, line in enumerate(block):
                if line_index:
                    self.break_line()
                self.blocks[-1][-1].extend(line)

    def block_lines(self) -> list[list[_Line]]:
        blocks = [[line for line in block if _has_content(line)] for block in self.blocks]
        return [block for block in blocks if block]

    def lines(self) -> list[_Line]:
        return [line for block in self.block_lines() for line in block]


def _has_content(line: _Line) -> bool:
    return any(isinstance(token, _Mark) or token.strip() for token in line)


def _starts_with_mark(line: _Line) -> bool:
    return isinstance(
        next((token for token in line if isinstance(token, _Mark) or token.strip()), None), _Mark
    )


def _line_text(line: _Line) -> str:
    return "".join(token for token in line if isinstance(token, str))


def _classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


def _emit_children(element: etree._Element, stream: _Stream) -> None:
    if element.text:
        stream.add_text(element.text)
    for child in element:
        _emit(child, stream)
        if child.tail:
            stream.add_text(child.tail)


def _emit(element: etree._Element, stream: _Stream) -> None:
    tag = element.tag
    if not isinstance(tag, str) or tag in _SKIPPED_TAGS:
        return
    classes = _classes(element)
    if classes & _SKIPPED_CLASSES:
        return
    if tag == "br":
        stream.break_line()
    elif tag == "math":
        stream.add_mark(_marks_from_tex(element.get("alttext") or ""))
    elif tag == "sup":
        _emit_superscript(element, stream)
    elif tag == "a" and _is_contact_link(element.get("href") or ""):
        return
    elif "ltx_author_before" in classes:
        stream.break_block()
    elif "ltx_ERROR" in classes:
        if "".join(element.itertext()).strip() in _AUTHOR_SEPARATOR_MACROS:
            stream.break_block()
    elif classes & _IGNORED_FIELDS:
        stream.add_text(", ")
    elif "ltx_tabular" in classes or tag == "table":
        _emit_table(element, stream)
    elif tag in _LINE_TAGS or classes & _LINE_CLASSES:
        stream.break_line()
        _emit_children(element, stream)
        stream.break_line()
    elif classes & _KEPT_FIELDS:
        stream.add_text(", ")
        _emit_children(element, stream)
        stream.add_text(", ")
    else:
        _emit_children(element, stream)


def _emit_superscript(element: etree._Element, stream: _Stream) -> None:
    """A superscript is a mark when it holds only marks; anything longer is ordinary text."""
    inner = _Stream()
    _emit_children(element, inner)
    tokens = [token for line in inner.lines() for token in line]
    text = "".join(token for token in tokens if isinstance(token, str))
    if text.strip() and not _MARK_TEXT.fullmatch(text):
        stream.extend(inner)
        return
    values: list[str] = []
    for token in tokens:
        values.extend(token.values if isinstance(token, _Mark) else _mark_values(token))
    stream.add_mark(tuple(values))


def _mark_values(text: str) -> tuple[str, ...]:
    return tuple(_MARK_VALUE.findall(text.translate(_SUPERSCRIPT_DIGITS)))


def _marks_from_tex(tex: str) -> tuple[str, ...]:
    """Marks from a formula's TeX (`{}^{1,2}`, `^\\dagger`, `\\star`); other formulas here are noise."""
    text = _TEX_FORMATTING.sub("", tex).strip()
    superscript = re.match(r"^(?:\{\s*\})?\s*\^", text)
    if superscript:
        text = text[superscript.end() :]
    text = re.sub(r"\\([A-Za-z]+)", lambda found: _TEX_SYMBOLS.get(found.group(1), "\\"), text)
    text = re.sub(r"[{}\s]", "", text)
    if not text or "\\" in text or not _MARK_TEXT.fullmatch(text):
        return ()
    if not superscript and re.search(r"\w", text):
        return ()
    return _mark_values(text)


def _is_contact_link(href: str) -> bool:
    return href.startswith("mailto:") or "orcid.org" in href


def _emit_table(table: etree._Element, stream: _Stream) -> None:
    """Authors laid out in a tabular: down each column a name cell starts an author, the cells under it
    are that author's lines; authors then follow in reading order (row of the name, then column)."""
    rows = [cells for cells in (_cells(row) for row in _rows(table)) if cells]
    width = len(rows[0]) if rows else 0
    if width > 1 and all(len(cells) == width for cells in rows):
        authors: list[tuple[int, int, _Stream]] = []
        for column in range(width):
            for row_index, cells in enumerate(rows):
                cell = _Stream()
                _emit_children(cells[column], cell)
                lines = cell.lines()
                if not lines:
                    continue
                if not authors or authors[-1][1] != column or _is_names_line(lines[0], first=False):
                    authors.append((row_index, column, _Stream()))
                else:
                    authors[-1][2].break_line()
                authors[-1][2].extend(cell)
        for _, _, author in sorted(authors, key=lambda item: item[:2]):
            stream.break_block()
            stream.extend(author)
        stream.break_block()
        return
    for cells in rows:
        for cell in cells:
            stream.break_line()
            _emit_children(cell, stream)
            stream.break_line()


def _is_row(element: etree._Element) -> bool:
    return element.tag == "tr" or "ltx_tr" in _classes(element)


def _is_cell(element: etree._Element) -> bool:
    return element.tag in ("td", "th") or "ltx_td" in _classes(element)


def _is_table(element: etree._Element) -> bool:
    return element.tag == "table" or "ltx_tabular" in _classes(element)


def _rows(table: etree._Element) -> list[etree._Element]:
    rows = []
    for child in table:
        if not isinstance(child.tag, str) or _is_table(child):
            continue
        rows.extend([child] if _is_row(child) else _rows(child))
    return rows


def _cells(row: etree._Element) -> list[etree._Element]:
    return [child for child in row if isinstance(child.tag, str) and _is_cell(child)]


# --- Creators to names and addresses ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Address:
    """An address as written; marks say which names it belongs to (none: the names it is written under)."""

    marks: tuple[str, ...]
    text: str


@dataclass(slots=True)
class _Name:
    text: str
    marks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    """Names written together, with the addresses under them and the contacts of their creator."""

    names: list[_Name]
    addresses: list[_Address]
    contacts: list[_Address]


def _read_creator(creator: etree._Element) -> list[_Group]:
    """The creator's name blocks; its contacts count by mark only when its names carry marks."""
    personname = creator if "ltx_personname" in _classes(creator) else next(iter(_PERSONNAMES(creator)), None)
    stream = _Stream()
    if personname is not None:
        _emit_children(personname, stream)
    contacts = []
    for contact in _CONTACTS(creator):
        contact_stream = _Stream()
        _emit_children(contact, contact_stream)
        contacts.extend(_addresses(contact_stream.lines()))
    groups = [_read_block(lines) for lines in stream.block_lines()] or [_Group([], [], [])]
    if not any(name.marks for group in groups for name in group.names):
        contacts = [_Address((), address.text) for address in contacts]
    marked = [address for address in contacts if address.marks]
    unmarked = [address for address in contacts if not address.marks]
    for group in groups:
        group.addresses += marked
        group.contacts = unmarked
    return groups


def _read_institute_note(note: etree._Element) -> list[_Address]:
    """An institute note keeps its own mark unless its text carries marks of its own."""
    marks = _NOTE_MARK(note)
    note_mark = _mark_values("".join(marks[0].itertext())) if marks else ()
    content = next(iter(_NOTE_CONTENT(note)), note)
    stream = _Stream()
    _emit_children(content, stream)
    return [
        address if address.marks else _Address(note_mark, address.text)
        for address in _addresses(stream.lines())
    ]


# Matched on collapsed text (single spaces), with bounded repeats so that long notes stay linear.
_PERSON = r"(?<![\w'’\-.])(?:(?:[A-Z]\.-?\s?){1,4}|[A-Z][\w'’\-]++ (?:[A-Z][\w'’\-]*+\.? )?)[A-Z][\w'’\-]++"
_ALL_AUTHORS = r"(?:The|All|Both)\s+authors"
_WITH_STATEMENT = re.compile(
    rf"(?P<who>{_PERSON}(?:,? and {_PERSON}|, {_PERSON}){{0,40}}|{_ALL_AUTHORS})"
    r" (?:is|are) (?:also |currently |now )?(?:with|at) (?:the )?(?P<where>.{1,300}?)"
    rf"(?= ?\( ?[Ee]-?mail| ?[Ee]-?mail ?:|;|\.? ?$|\. (?:{_PERSON}|{_ALL_AUTHORS}) )"
)


def _with_statements(note: etree._Element) -> list[tuple[tuple[str, ...] | None, str]]:
    """IEEE journals name affiliations in \\thanks: "A. Smith and B. Lee are with the Dept. of ..., X
    University". Gives (surnames, or None for "the authors", address) per statement."""
    content = next(iter(_NOTE_CONTENT(note)), note)
    stream = _Stream()
    _emit_children(content, stream)
    text = _collapse(" ".join(_line_text(line) for line in stream.lines()))
    statements = []
    for found in _WITH_STATEMENT.finditer(text):
        who = found.group("who")
        surnames = (
            None
            if who.lower().endswith("authors")
            else tuple(
                _name_tokens(person)[-1] for person in re.findall(_PERSON, who) if _name_tokens(person)
            )
        )
        statements.append((surnames, found.group("where")))
    return statements


def _read_block(lines: list[_Line]) -> _Group:
    """Names come first; the first line that does not read as names starts the addresses."""
    name_lines: list[_Line] = []
    address_lines: list[_Line] = []
    for index, line in enumerate(lines):
        if not address_lines and _is_names_line(line, first=index == 0):
            name_lines.append(line)
        else:
            address_lines.append(line)
    names, stray = _names(name_lines)
    return _Group(names, [_Address((), text) for text in stray] + _addresses(address_lines), [])


def _addresses(lines: list[_Line]) -> list[_Address]:
    """A mark starts an address; unmarked lines continue the one before (a multi-line address)."""
    built: list[tuple[tuple[str, ...], list[str]]] = []
    for line in lines:
        for token in line:
            if isinstance(token, _Mark):
                built.append((token.values, []))
            elif token.strip():
                if not built:
                    built.append(((), []))
                built[-1][1].append(token)
        if built:
            built[-1][1].append("\n")
    addresses = [_Address(marks, _collapse("".join(parts).replace("\n", " \n "))) for marks, parts in built]
    return [address for address in addresses if address.text.strip(" \n,;")]


def _word_list(text: str) -> frozenset[str]:
    return frozenset(item.strip() for item in text.split("|") if item.strip())


_NAME_SEPARATOR = re.compile(r"\s*(?:[,;，、]|\band\b|&|[\u2000-\u200a\u3000]|\u00a0{2,})\s*")
_PARENTHETICAL = re.compile(r"\(([^()]*)\)")
_TRAILING_NUMBERS = re.compile(r"[\d\s,]+$")
_NAME_SUFFIXES = frozenset({"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV"})
_PARTICLES = _word_list("van|von|der|den|de|del|della|di|da|du|le|la|bin|al|el|y|dos|das|ter|zu")


def _is_names_line(line: _Line, *, first: bool) -> bool:
    """The first line is names unless nothing on it reads as one; later lines must read as full names
    and not start with a mark (a marked line under names is an affiliation)."""
    if not first and _starts_with_mark(line):
        return False
    text = _PARENTHETICAL.sub(" ", _strip_contacts(_line_text(line)))
    items = [item for item in (_clean_name(part) for part in _NAME_SEPARATOR.split(text)) if item]
    if not items:
        return False
    if first:
        return any(_segment_kind(item) is _Kind.UNKNOWN for item in items)
    return all(_looks_like_full_name(item) for item in items)


def _names(lines: list[_Line]) -> tuple[list[_Name], list[str]]:
    """Names with their marks. Marks usually follow a name ("A¹ B²" is two names), but when the block
    opens with one they precede it ("¹A, ²B"). Institutions on the line are stray addresses."""
    leading = bool(lines) and _starts_with_mark(lines[0])
    names: list[_Name] = []
    stray: list[str] = []
    text = ""
    marks: list[str] = []
    marked = False

    def finish() -> None:
        nonlocal text, marks, marked
        for inner in _PARENTHETICAL.findall(text):
            if _is_affiliation_text(inner):
                stray.append(inner)
        bare, typed_marks = _split_typed_marks(_PARENTHETICAL.sub(" ", text))
        marks = marks + typed_marks
        name = _clean_name(bare)
        if name in _NAME_SUFFIXES and names:
            names[-1].text += f" {name}"
            names[-1].marks.extend(marks)
        elif name and _is_affiliation_text(name):
            stray.append(name)
        elif name and _segment_kind(name) is _Kind.UNKNOWN:
            names.append(_Name(name, marks))
        elif not name and marks and names:
            names[-1].marks.extend(marks)
        text, marks, marked = "", [], False

    for line in lines:
        for token in line:
            if isinstance(token, _Mark):
                if leading:
                    if text.strip():
                        finish()
                    marks.extend(token.values)
                elif text.strip():
                    marks.extend(token.values)
                    marked = True
                elif names and not marks:
                    names[-1].marks.extend(token.values)
                else:
                    marks.extend(token.values)
                continue
            for index, piece in enumerate(_NAME_SEPARATOR.split(_strip_contacts(token))):
                if index or (marked and piece.strip()):
                    finish()
                text += piece
        finish()
    return names, stray


_TEX_LEFTOVER = re.compile(r"\\[A-Za-z]+\*?|\\\\|[{}$^_~]")
_IEEE_MEMBERSHIP = re.compile(
    r",?\s*\b(?:(?:Senior|Student|Life)\s+)?(?:Member|Fellow),?\s*IEEE\b", re.IGNORECASE
)


def _split_typed_marks(text: str) -> tuple[str, list[str]]:
    """ "Alice Smith1,2" is a name with marks typed as plain digits."""
    trailing = _TRAILING_NUMBERS.search(text)
    numbers = re.findall(r"\d+", trailing.group()) if trailing else []
    if (
        not numbers
        or any(len(number) > 2 for number in numbers)
        or not re.search(r"[^\W\d_]", text[: trailing.start()])
    ):
        return text, []
    return text[: trailing.start()], numbers


def _clean_name(text: str) -> str:
    text = _IEEE_MEMBERSHIP.sub(" ", _strip_contacts(text))
    text = _collapse(_TEX_LEFTOVER.sub(" ", text)).strip(" ,;:-–—|/")
    return re.sub(r"(?<=[^\W\d_]{3})\.$", "", text)


def _looks_like_full_name(item: str) -> bool:
    words = item.split()
    if len(words) == 1 and _is_cjk(item):
        return True
    if not 2 <= len(words) <= 5 or re.search(r"[\d@/:]", item):
        return False
    if _segment_kind(item) is not _Kind.UNKNOWN:
        return False
    return all(word[:1].isupper() or word.lower() in _PARTICLES or _is_cjk(word) for word in words)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" for char in text)


def _is_affiliation_text(text: str) -> bool:
    if "@" in text:
        return True
    return any(_segment_kind(segment) in _AFFILIATION_KINDS for segment in _segments(text))


# --- Marks, shared lines and contacts to each author's institutions -----------------------------


@dataclass(slots=True)
class _Resolved:
    name: str
    institutions: list[str]
    only_from_lines: bool  # everything found was written under the name, nothing came by mark or contact


def _resolve(
    groups: list[_Group], notes: list[_Address], statements: list[tuple[tuple[str, ...] | None, str]]
) -> list[AuthorAffiliations]:
    """Each name gets the addresses its marks point at (its own block's first), else the lines under it;
    plus its creator's contacts. Names left with nothing fall back to \\thanks statements, then to
    addresses that belong to nobody in particular (an unmarked institute note, a block without names)."""
    marked, shared = _mark_table(groups, notes)
    resolved = []
    for group in groups:
        local: dict[str, list[str]] = {}
        for address in group.addresses:
            for mark in address.marks:
                local.setdefault(mark, []).append(address.text)
        lines = [address.text for address in group.addresses if not address.marks]
        contacts = _institutions_of(address.text for address in group.contacts)
        for name in group.names:
            by_mark = _institutions_of(
                text for mark in name.marks for text in local.get(mark) or marked.get(mark, [])
            )
            from_lines = _institutions_of(lines) if not by_mark or len(group.names) == 1 else []
            found = by_mark + from_lines + contacts
            resolved.append(_Resolved(name.text, found, bool(from_lines) and found == from_lines))
    _share_last_line(resolved)
    common = _institutions_of(shared)
    return [
        AuthorAffiliations(
            item.name, _unique(item.institutions or _stated_for(item.name, statements) or common)
        )
        for item in resolved
    ]


def _mark_table(groups: list[_Group], notes: list[_Address]) -> tuple[dict[str, list[str]], list[str]]:
    """Addresses by mark across the page, and the addresses no name claims."""
    marked: dict[str, list[str]] = {}
    shared: list[str] = []
    for group in groups:
        for address in group.addresses:
            for mark in address.marks:
                marked.setdefault(mark, []).append(address.text)
            if not group.names and not address.marks:
                shared.append(address.text)
        if not group.names:
            shared.extend(address.text for address in group.contacts)
    referenced = {mark for group in groups for name in group.names for mark in name.marks}
    for address in notes:
        for mark in address.marks:
            marked.setdefault(mark, []).append(address.text)
        if not set(address.marks) & referenced:
            shared.append(address.text)
    return marked, shared


def _share_last_line(resolved: list[_Resolved]) -> None:
    """`\\author{A \\and B \\\\ Univ}` puts the one shared line under the last name only: share it."""
    if (
        len(resolved) < 2
        or not resolved[-1].only_from_lines
        or any(item.institutions for item in resolved[:-1])
    ):
        return
    for item in resolved[:-1]:
        item.institutions = list(resolved[-1].institutions)


def _stated_for(name: str, statements: list[tuple[tuple[str, ...] | None, str]]) -> list[str]:
    tokens = _name_tokens(name)
    surname = tokens[-1] if tokens else None
    return _institutions_of(
        where for surnames, where in statements if surnames is None or (surname and surname in surnames)
    )


def _institutions_of(addresses: Iterable[str]) -> list[str]:
    return [institution for address in addresses for institution in _institutions(address)]


def _unique(institutions: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    unique = []
    for institution in institutions:
        key = _institution_key(institution)
        if key and key not in seen:
            seen.add(key)
            unique.append(institution)
    return tuple(unique)


def _institution_key(institution: str) -> str:
    return re.sub(r"^the", "", re.sub(r"[\W_]+", "", _fold(institution)))


# --- Addresses to institutions ------------------------------------------------------------------


class _Kind(Enum):
    """What one comma-separated part of an address is."""

    NOTE = "note"  # not an institution: equal contribution, internship, funding, an e-mail, a bare number
    DEPARTMENT = "department"  # never an institution on its own
    SUBUNIT = "subunit"  # "Institute of X", "Lab for Y"
    ORGANISATION = "organisation"  # a university, a company, an academy
    INSTITUTE = "institute"  # any other institute, lab or centre
    LOCATION = "location"  # city, state, postcode, country, street
    UNKNOWN = "unknown"


_AFFILIATION_KINDS = frozenset(
    {_Kind.DEPARTMENT, _Kind.SUBUNIT, _Kind.ORGANISATION, _Kind.INSTITUTE, _Kind.LOCATION}
)

_EMAIL = re.compile(r"(?:\{[^{}]*\}|\([^()]*\)|(?<![\w.+\-])[\w.+\-]++)\s*@\s*[\w\-]++(?:\.[\w\-]++)+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_ORCID = re.compile(r"\b\d{4}-\d{4}-\d{4}-\d{3}[\dX]\b")
_LABEL = re.compile(
    r"^(?:also\s+(?:affiliated\s+)?(?:with|at)|affiliations?|(?:current|present|permanent)?\s*address|and|&)\s*[:\-]?\s+",
    re.IGNORECASE,
)
_ACRONYM_IN_PARENTHESES = re.compile(r"\s*\([A-Z][A-Z0-9&.\-]{1,9}\)")
_NOTE = re.compile(
    r"equal(?:ly)?\s+contribut|contributed\s+equally|corresponding|correspondence|"
    r"work\s+(?:was\s+)?(?:done|performed|conducted|carried)|internship|\bintern\b|\bvisiting\b|"
    r"project\s+lead|co-?first|first\s+authors?|these\s+authors|senior\s+author|\bauthors?\b|"
    r"supported\s+(?:by|in\s+part)|\bfunded\b|\bgrants?\b|\bnow\s+(?:at|with)\b|preprint|under\s+review|"
    r"accepted\s+(?:at|to|by|in)|proceedings|copyright|technical\s+report|\bdraft\b|\bworkshop\b|"
    r"\bconference\b|\bsubmitted\b|\bcode\b|github|homepage|website|project\s+page|e-?mail|\bcontact\b|orcid",
    re.IGNORECASE,
)
_DEPARTMENT = re.compile(
    r"^(?:the\s+)?(?:(?:joint|graduate)\s+)?(?:d[eé]part(?:e|a)?ment|dipartimento|dept\b\.?|dep\.|school\s+of|"
    r"facult|fakult|fachbereich|escuela\s+de|college\s+of|division\b|chair\s+(?:of|for)|program(?:me)?\s+(?:in|of)|"
    r"section\s+of|unit\s+of)|"
    r"\b(?:department|dept\.?|group|team)$",
    re.IGNORECASE,
)
_SUBUNIT = re.compile(
    r"^(?:the\s+)?(?:(?:state|national|provincial|joint|ministry\s+of\s+education)\s+)*(?:key\s+)?(?:research\s+)?"
    r"(?:institute|institut|instituto|istituto|laborator(?:y|ies)|lab|cent(?:er|re)|centro)\s+(?:of|for|on|de|di|für)\b",
    re.IGNORECASE,
)
_KNOWN_ORGANISATION = re.compile(
    r"\b(?:Google|DeepMind|Microsoft|Meta|Facebook|Amazon|AWS|Apple|NVIDIA|Nvidia|IBM|Intel|AMD|Qualcomm|Adobe|"
    r"Salesforce|OpenAI|Anthropic|Alibaba|Tencent|Baidu|ByteDance|Bytedance|Huawei|Samsung|Sony|Xiaomi|Meituan|"
    r"Kuaishou|JD\.com|Ant\s+Group|NetEase|SenseTime|Megvii|iFLYTEK|iFlytek|Pinterest|Netflix|Spotify|Uber|LinkedIn|"
    r"Snap|Yandex|Naver|NAVER|Kakao|Cisco|Oracle|Siemens|Bosch|Toyota|Hitachi|Fujitsu|Nokia|Ericsson|Philips|"
    r"Bloomberg|Criteo|Zalando|Yahoo|eBay|Walmart|Tesla|Waymo|Databricks|Hugging\s*Face|Mistral\s+AI|Cohere|xAI|"
    r"DeepSeek|Zhipu\s+AI|Moonshot\s+AI|MiniMax|Jane\s+Street|Two\s+Sigma|Allen\s+Institute|AI2|Inria|INRIA|CNRS|"
    r"Fraunhofer|Max\s+Planck|RIKEN|NTT|KAIST|POSTECH|MIT|CMU|UCLA|UCSD|UIUC|NYU|EPFL|ETH|KTH|NUS|NTU|HKUST|CUHK|"
    r"SJTU|USTC|Mila|Vector\s+Institute|DFKI|CSIRO|A\*STAR|NASA|NIH|NIST|Shanghai\s+AI\s+Lab(?:oratory)?|"
    r"Shanghai\s+Artificial\s+Intelligence\s+Laboratory|Zhejiang\s+Lab|Peng\s+Cheng\s+Lab(?:oratory)?|BAAI|"
    r"Preferred\s+Networks)\b"
)
_ORGANISATION = re.compile(
    r"universi|uniwersytet|univerzit|üniversite|\buniv\b|\bcollege\b|\bacadem(?:y|ia|ie)\b|polytechn|politecnico|polit[eé]cnic|\b[eé]cole\b|"
    r"hochschule|institute\s+of\s+technology|\binc\b|\bltd\b|\blimited\b|\bllc\b|\bgmbh\b|\bcorp\b|corporation|"
    r"\bcompany\b|\btechnologies\b|\bhospital\b|medical\s+(?:center|centre|school)|national\s+laborator|"
    r"\blabs\b|\blaboratories\b|^\S.*\sresearch\b",
    re.IGNORECASE,
)
_ORGANISATION_AI = re.compile(r"\sAI$")
_LEGAL_FORM = (
    r"(?:Co\.?,?\s*)?"
    r"(?:Inc|Ltd|LLC|GmbH|AG|Corp|Corporation|Limited|S\.A|SAS|B\.V|N\.V|Oy|AB|S\.p\.A|Pte|Pty)\.?"
)
_LEGAL_FORM_ONLY = re.compile(rf"^{_LEGAL_FORM}$")
_TRAILING_LEGAL_FORM = re.compile(rf"(?:,?\s+{_LEGAL_FORM})+$")
_INSTITUTE = re.compile(
    r"institut|istituto|laborator|\blab\b|\bcent(?:er|re)\b|centro|foundation|council|agency|ministry|"
    r"organi[sz]ation|consortium|observatory|museum|\bresearch\b",
    re.IGNORECASE,
)
_CAMPUS_SYSTEM = re.compile(
    r"^(?:the\s+)?(?:university\s+of\s+(?:california|texas|massachusetts|illinois|maryland|wisconsin|colorado|"
    r"north\s+carolina|missouri|nebraska|hawai.?i|tennessee|minnesota)|chinese\s+university\s+of\s+hong\s+kong|"
    r"harbin\s+institute\s+of\s+technology)$",
    re.IGNORECASE,
)
_US_STATE = re.compile(
    r"^(?:[A-Z][\w.'\-]*\s+){0,3}(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|"
    r"RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])(?:\s+\d{5}(?:-\d{4})?)?$"
)


_COUNTRIES = _word_list(
    """usa|u.s.a|us|u.s|united states|united states of america|america|uk|u.k|united kingdom|
    great britain|england|scotland|wales|northern ireland|ireland|china|p.r. china|pr china|
    p. r. china|p.r.china|people's republic of china|hong kong|hong kong sar|macau|macao|taiwan|japan|
    korea|south korea|republic of korea|singapore|india|germany|france|italy|spain|portugal|
    netherlands|the netherlands|belgium|luxembourg|switzerland|austria|sweden|norway|denmark|finland|
    iceland|poland|czech republic|czechia|slovakia|hungary|greece|turkey|türkiye|israel|russia|
    ukraine|estonia|latvia|lithuania|slovenia|croatia|serbia|romania|bulgaria|cyprus|canada|mexico|
    brazil|argentina|chile|colombia|peru|australia|new zealand|south africa|egypt|nigeria|kenya|
    morocco|tunisia|saudi arabia|uae|united arab emirates|qatar|iran|pakistan|bangladesh|vietnam|
    viet nam|thailand|malaysia|indonesia|philippines"""
)
_PLACES = _word_list(
    """beijing|shanghai|shenzhen|hangzhou|nanjing|guangzhou|wuhan|chengdu|xi'an|xian|hefei|tianjin|
    harbin|changsha|suzhou|xiamen|jinan|qingdao|dalian|chongqing|taipei|tokyo|kyoto|osaka|seoul|
    daejeon|bangalore|bengaluru|mumbai|delhi|new delhi|hyderabad|chennai|london|cambridge|oxford|
    edinburgh|manchester|paris|berlin|munich|münchen|zurich|zürich|lausanne|geneva|amsterdam|delft|
    eindhoven|copenhagen|stockholm|helsinki|oslo|vienna|prague|warsaw|madrid|barcelona|lisbon|milan|
    rome|turin|tel aviv|haifa|jerusalem|toronto|montreal|montréal|vancouver|waterloo|ottawa|edmonton|
    boston|new york|seattle|redmond|pittsburgh|stanford|berkeley|palo alto|menlo park|mountain view|
    san francisco|san jose|los angeles|san diego|chicago|austin|atlanta|princeton|ithaca|philadelphia|
    baltimore|ann arbor|madison|urbana|champaign|evanston|houston|sydney|melbourne|canberra|brisbane|
    auckland|moscow|tübingen|tuebingen|saarbrücken|darmstadt|heidelberg|karlsruhe|aachen|dresden|
    hamburg|stuttgart|leuven|ghent|grenoble|lyon|abu dhabi|dubai|doha|riyadh|thuwal|california|texas|
    massachusetts|pennsylvania|new jersey|washington|illinois|maryland|georgia|ontario|quebec|québec|
    british columbia|alberta|guangdong|zhejiang|jiangsu|sichuan|hubei|hunan|shandong|fujian|anhui|
    bavaria|baden-württemberg"""
)


@lru_cache(maxsize=4096)
def _institutions(address: str) -> tuple[str, ...]:
    """Institutions named by one address: a university or company wins over its departments, labs and
    city; without one, the last institute or lab named (sub-units are written before their parent)."""
    segments = [segment for segment in _segments(address) if segment]
    kinds = [_segment_kind(segment) for segment in segments]
    if _Kind.ORGANISATION in kinds:
        chosen = [
            _with_campus(segment, segments[index + 1] if index + 1 < len(segments) else None)
            for index, (segment, kind) in enumerate(zip(segments, kinds, strict=True))
            if kind is _Kind.ORGANISATION
        ]
    else:
        units = [
            s for s, kind in zip(segments, kinds, strict=True) if kind in (_Kind.INSTITUTE, _Kind.SUBUNIT)
        ]
        unknown = [s for s, kind in zip(segments, kinds, strict=True) if kind is _Kind.UNKNOWN]
        chosen = units[-1:] or unknown[:1]
    return _unique(_TRAILING_LEGAL_FORM.sub("", institution) or institution for institution in chosen)


def _segments(address: str) -> list[str]:
    text = _strip_contacts(address)
    text = _TEX_LEFTOVER.sub(" ", text)
    segments: list[str] = []
    for part in re.split(r"[,;\n|·•]+|\s+/\s+", text):
        cleaned = _clean_segment(part)
        if segments and _LEGAL_FORM_ONLY.match(part.strip()):
            segments[-1] += f", {part.strip()}"
        elif _DEPARTMENT.search(cleaned) and " at " in cleaned:
            segments.extend(_clean_segment(piece) for piece in cleaned.split(" at ", 1))
        else:
            segments.append(cleaned)
    return segments


def _clean_segment(part: str) -> str:
    text = _collapse(part).strip(" .:-–—*†‡")
    text = _LABEL.sub("", text)
    text = _ACRONYM_IN_PARENTHESES.sub("", text).strip(" .:-–—*†‡")
    if text.startswith("(") and ")" not in text:
        text = text[1:]
    if text.endswith(")") and "(" not in text:
        text = text[:-1]
    return text.strip()


def _segment_kind(segment: str) -> _Kind:
    if not re.search(r"[^\W\d_]", segment) or "@" in segment:
        return _Kind.NOTE
    if _NOTE.search(segment):
        return _Kind.NOTE
    if _DEPARTMENT.search(segment) and not _KNOWN_ORGANISATION.search(segment):
        return _Kind.DEPARTMENT
    if _SUBUNIT.search(segment) and not _KNOWN_ORGANISATION.search(segment):
        return _Kind.SUBUNIT
    if (
        _KNOWN_ORGANISATION.search(segment)
        or _ORGANISATION.search(segment)
        or _ORGANISATION_AI.search(segment)
        or _TRAILING_LEGAL_FORM.search(segment)
    ):
        return _Kind.ORGANISATION
    if _INSTITUTE.search(segment):
        return _Kind.INSTITUTE
    if _is_location(segment):
        return _Kind.LOCATION
    return _Kind.UNKNOWN


def _is_location(segment: str) -> bool:
    folded = segment.lower().strip(" .")
    if folded in _COUNTRIES or folded in _PLACES or _US_STATE.match(segment):
        return True
    return bool(re.search(r"\d", segment))


def _with_campus(organisation: str, following: str | None) -> str:
    """Keep "University of California, Berkeley" whole: after a university system, the place is a campus."""
    if following is None or not _CAMPUS_SYSTEM.match(organisation):
        return organisation
    plain_place = following.lower() in _PLACES or _segment_kind(following) is _Kind.UNKNOWN
    if plain_place and len(following.split()) <= 3 and following.lower() not in organisation.lower():
        return f"{organisation}, {following}"
    return organisation


def _strip_contacts(text: str) -> str:
    return _ORCID.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", text)))


def _collapse(text: str) -> str:
    return re.sub(r"[^\S\n]+", " ", text).strip()


# --- Names to comparable tokens -----------------------------------------------------------------

_TEX_ACCENT = re.compile(r"\\[\"'`^~=.uvHcdbtk]\s*\{?\s*([A-Za-z])\s*\}?")
_TEX_LETTERS = {
    r"\ss": "ss",
    r"\o": "o",
    r"\O": "O",
    r"\l": "l",
    r"\L": "L",
    r"\aa": "a",
    r"\AA": "A",
    r"\ae": "ae",
    r"\oe": "oe",
    r"\i": "i",
}
_UNACCENTED = str.maketrans(
    {"ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def _fold(text: str) -> str:
    """Lower case without accents or TeX accent commands: "M\\"uller", "Müller" and "Muller" agree."""
    text = _TEX_ACCENT.sub(r"\1", text)
    for command, letters in _TEX_LETTERS.items():
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", letters, text)
    text = text.replace("{", "").replace("}", "")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).translate(_UNACCENTED)


def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[^\W\d_]+", _fold(_PARENTHETICAL.sub(" ", name))))


def _pair_by_name(api: list[tuple[str, ...]], html: list[tuple[str, ...]]) -> dict[int, int]:
    """One-to-one pairs (api index -> html index), best scores first."""
    scored = sorted(
        ((_name_score(a, h), i, j) for i, a in enumerate(api) for j, h in enumerate(html)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    pairs: dict[int, int] = {}
    taken: set[int] = set()
    for score, i, j in scored:
        if score < 0.75:
            break
        if i not in pairs and j not in taken:
            pairs[i] = j
            taken.add(j)
    return pairs


def _name_score(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if sorted(a) == sorted(b) or "".join(a) == "".join(b):
        return 0.95
    if a[-1] == b[-1] and _given_names_agree(a[:-1], b[:-1]):
        return 0.9
    if (a[0] == b[-1] and _given_names_agree(a[1:], b[:-1])) or (
        a[-1] == b[0] and _given_names_agree(a[:-1], b[1:])
    ):
        return 0.85
    ratio = SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()
    return ratio * 0.85 if ratio >= 0.9 else 0.0


def _given_names_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Given names agree as "J" / "John" / "John A", or "Xiaoming" / "Xiao Ming"; "John" / "Jane" do not."""
    if not a or not b:
        return False
    if "".join(a) == "".join(b):
        return True
    first_a, first_b = a[0], b[0]
    if len(first_a) == 1 or len(first_b) == 1:
        return first_a[0] == first_b[0]
    return first_a == first_b
