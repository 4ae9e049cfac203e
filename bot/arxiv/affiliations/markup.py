"""Finding the author block in a page and reading its elements, tables included, as lines and marks."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from bot.arxiv.affiliations.classify import _is_names_line
from bot.arxiv.affiliations.tokens import _MARK_TEXT, _Mark, _mark_values, _marks_from_tex, _Stream

_AUTHORS_DIV = re.compile(rb"<div\b[^>]*?\bclass\s*=\s*[\"'][^\"']*\bltx_authors\b", re.IGNORECASE)
_ARTICLE = re.compile(rb"<article\b", re.IGNORECASE)
_BODY_START = re.compile(rb"<section\b|<div\b[^>]*?\bclass\s*=\s*[\"'][^\"']*\bltx_abstract\b", re.IGNORECASE)
_DECLARED_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?([\w.:\-]+)", re.IGNORECASE)
# The front matter of the largest author blocks seen is under 100 KB; beyond this bound the rest is cut
# off (lxml closes what is left open), so a hostile page costs bounded time.
MAX_FRONT_MATTER = 256 * 1024


def _front_matter(html: str | bytes) -> etree._Element | None:
    """Parse only the page's front matter: the body of a paper is megabytes the author block never needs.

    From the author block's `<article>` (or the article's start, for a page without an author block) to
    the abstract or the first section.
    """
    data = _utf8(html)
    found = _AUTHORS_DIV.search(data) or _ARTICLE.search(data)
    if found is None:
        return None
    start = (
        max(data.rfind(b"<article", 0, found.start()), 0)
        if _AUTHORS_DIV.match(data, found.start())
        else found.start()
    )
    body = _BODY_START.search(data, found.end())
    end = min(body.start() if body else len(data), start + MAX_FRONT_MATTER)
    try:
        return lxml.html.document_fromstring(data[start:end], parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.LxmlError, ValueError):
        return None


def _utf8(html: str | bytes) -> bytes:
    """The page as UTF-8, whatever it came in: a byte-order mark or a declared charset is honoured,
    undecodable bytes become U+FFFD."""
    if isinstance(html, str):
        return html.encode("utf-8", "replace")
    data = bytes(html)
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace").encode("utf-8")
    declared = _DECLARED_CHARSET.search(data, 0, 4096)
    codec = declared.group(1).decode("ascii", "replace").lower() if declared else "utf-8"
    if codec.replace("-", "").replace("_", "") == "utf8":
        return data
    try:
        return data.decode(codec, "replace").encode("utf-8")
    except LookupError:
        return data


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
# Every \\thanks of the front matter in order, the title's (a "pubnote") included: they share the
# footnote counter that \\footnotemark[k] refers to.
_NUMBERED_THANKS = etree.XPath(
    f"//*[({_has_class('ltx_note')} or {_has_class('ltx_pubnote')}) and {_has_class('ltx_role_thanks')}]"
)
_FOOTNOTEMARKS = etree.XPath(f".//*[{_has_class('ltx_note')} and {_has_class('ltx_role_footnotemark')}]")
_AUTHOR_NOTE = (
    f"{_has_class('ltx_note')} and ({_has_class('ltx_role_thanks')} or {_has_class('ltx_role_footnote')})"
)
_CREATOR_NOTES = etree.XPath(f".//*[{_AUTHOR_NOTE}][not(ancestor::*[{_has_class('ltx_personname')}])]")
# Centred paragraphs before the abstract, where a title block set by hand sits.
_CENTRED_PARAGRAPHS = etree.XPath(
    f"//article/descendant::*[{_has_class('ltx_p')} and {_has_class('ltx_align_center')}]"
    f"[not(ancestor::*[{_has_class('ltx_abstract')} or {_has_class('ltx_section')}])]"
)
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


_AUTHOR_NOTE_ROLES = frozenset({"ltx_role_thanks", "ltx_role_footnote"})
# The 2026 renderer says what a \\thanks is about; these kinds never give an address, whatever words
# they use ("… greatly improving results and massively accelerating our research").
_NOT_ADDRESS_NOTES = frozenset({"ltx_thanks_contribution", "ltx_thanks_correspondence", "ltx_thanks_funding"})


def _note_key(index: int) -> str:
    """The mark standing for the `index`th note on a creator's names; no page writes marks like it."""
    return f"note {index}"


def _footnotemark_key(element: etree._Element) -> str:
    """The mark standing for a \\footnotemark on a name: the number of the note it repeats."""
    marks = _NOTE_MARK(element)
    return f"note mark {''.join(marks[0].itertext()).strip() if marks else ''}"


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
    if stream.notes is not None and "ltx_note" in classes and classes & _AUTHOR_NOTE_ROLES:
        stream.notes.append(element)  # a \\thanks or footnote on a name: a mark pointing at its text
        stream.add_mark((_note_key(len(stream.notes) - 1),))
        return
    if stream.notes is not None and "ltx_note" in classes and "ltx_role_footnotemark" in classes:
        stream.add_mark((_footnotemark_key(element),))  # \\footnotemark: a mark repeating another note
        return
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
