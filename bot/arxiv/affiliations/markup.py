"""Finding the author block in a page and reading its elements, tables included, as lines and marks."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from bot.arxiv.affiliations.classify import _is_names_line
from bot.arxiv.affiliations.tokens import _MARK_TEXT, _Mark, _mark_values, _marks_from_tex, _Stream

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
        "ltx_contact_name",  # the 2026 renderer's labels: "Affiliation:", "Email:"
        "ltx_font_typewriter",  # e-mail addresses and URLs, set in \\texttt
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


def _is_contact_link(href: str) -> bool:
    """A mailto link holds an address; an ORCID link may hold the author's name, so it is read."""
    return href.startswith("mailto:")


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
