"""Creators (`ltx_creator`), institute notes and `\\thanks` statements read into names and addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from bot.arxiv.affiliations.classify import (
    _NAME_SEPARATOR,
    _PARENTHETICAL,
    _clean_name,
    _is_affiliation_text,
    _is_names_line,
    _is_person_name,
    _split_typed_marks,
)
from bot.arxiv.affiliations.institutions import (
    _collapse,
    _Kind,
    _names_institution,
    _segment_kind,
    _strip_contacts,
)
from bot.arxiv.affiliations.markup import (
    _CENTRED_PARAGRAPHS,
    _CONTACTS,
    _CREATOR_NOTES,
    _FOOTNOTEMARKS,
    _NOT_ADDRESS_NOTES,
    _NOTE_CONTENT,
    _NOTE_MARK,
    _NUMBERED_THANKS,
    _PERSONNAMES,
    _classes,
    _emit_children,
    _footnotemark_key,
    _note_key,
)
from bot.arxiv.affiliations.tokens import (
    _MARK_TEXT,
    _Line,
    _line_text,
    _Mark,
    _mark_values,
    _starts_with_mark,
    _Stream,
)
from bot.core.names import NAME_SUFFIXES, name_tokens

_MAX_CENTRED_PARAGRAPHS = 12


@dataclass(frozen=True, slots=True)
class _Address:
    """An address as written; marks say which names it belongs to (none: the names it is written under).
    `note`: read from a \\thanks or footnote rather than the author block itself."""

    marks: tuple[str, ...]
    text: str
    note: bool = False


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


def _read_creator(creator: etree._Element, footnotes: dict[str, list[str]]) -> list[_Group]:
    """The creator's name blocks; its contacts count by mark only when its names carry marks (or when it
    has no names: a legend set as a creator of its own). `footnotes`: what each \\footnotemark repeats."""
    personname = creator if "ltx_personname" in _classes(creator) else next(iter(_PERSONNAMES(creator)), None)
    stream = _Stream(collect_notes=True)
    if personname is not None:
        _emit_children(personname, stream)
    contacts = []
    for contact in _CONTACTS(creator):
        contact_stream = _Stream()
        _emit_children(contact, contact_stream)
        contacts.extend(_addresses(contact_stream.lines()))
    contacts = _continued(contacts)
    if personname is not creator:
        contacts += [
            _Address((), text, note=True)
            for note in _CREATOR_NOTES(creator)
            for text in _note_addresses(note)
        ]
    groups = [_read_block(lines) for lines in stream.block_lines()] or [_Group([], [], [])]
    notes = [
        _Address((_note_key(index),), text, note=True)
        for index, note in enumerate(stream.notes or ())
        for text in _note_addresses(note)
    ]
    marks = {mark for group in groups for name in group.names for mark in name.marks}
    notes += [
        _Address((key,), text, note=True) for key in sorted(marks & set(footnotes)) for text in footnotes[key]
    ]
    _drop_empty_note_marks(groups, {mark for note in notes for mark in note.marks})
    named = [name for group in groups for name in group.names]
    if named and not any(name.marks for name in named):
        contacts = [_Address((), address.text, address.note) for address in contacts]
    marked = notes + [address for address in contacts if address.marks]
    unmarked = [address for address in contacts if not address.marks]
    for group in groups:
        group.addresses += marked
        group.contacts = unmarked
    return groups


def _centred_title_block(root: etree._Element) -> list[_Group]:
    """A title block set by hand (`\\begin{center}`, no `\\author`): centred paragraphs, the title
    first, then one of names written in full, then the centred lines after it, up to the abstract."""
    lines: list[_Line] = []
    for paragraph in _CENTRED_PARAGRAPHS(root)[1:_MAX_CENTRED_PARAGRAPHS]:
        stream = _Stream()
        _emit_children(paragraph, stream)
        paragraph_lines = stream.lines()
        if lines or (paragraph_lines and _is_names_line(paragraph_lines[0], first=False)):
            lines += paragraph_lines
    group = _read_block(lines)
    return [group] if group.names else []


def _note_addresses(note: etree._Element) -> list[str]:
    """A \\thanks or footnote that gives an address ("Univ Rennes, CNRS, F-35000 Rennes, France");
    notes about contributions or funding, and IEEE's "X is with Y" sentences (read for every author
    they name), give none."""
    if _classes(note) & _NOT_ADDRESS_NOTES:
        return []
    content = next(iter(_NOTE_CONTENT(note)), note)
    stream = _Stream()
    _emit_children(content, stream)
    text = "\n".join(_line_text(line) for line in stream.lines())
    if _WITH_STATEMENT.search(_collapse(text.replace("\n", " "))) or not _names_institution(text):
        return []
    return [text]


def _footnotes(root: etree._Element, block: etree._Element) -> dict[str, list[str]]:
    """The addresses each \\footnotemark on the names repeats: `\\footnotemark[k]` stands for the k-th
    \\thanks of the front matter (the title's count too). One mark pointing past the notes there are
    means the numbering is not the page's to read, and then no mark is followed."""
    thanks = _NUMBERED_THANKS(root)
    numbers = {_footnotemark_key(mark).removeprefix("note mark ") for mark in _FOOTNOTEMARKS(block)}
    if not all(number.isdigit() and 1 <= int(number) <= len(thanks) for number in numbers):
        return {}
    return {f"note mark {number}": _note_addresses(thanks[int(number) - 1]) for number in numbers}


def _drop_empty_note_marks(groups: list[_Group], kept: set[str]) -> None:
    """Marks standing for notes that give no address would make unmarked names look marked."""
    for group in groups:
        for name in group.names:
            name.marks = [mark for mark in name.marks if mark in kept or not mark.startswith("note ")]


def _continued(addresses: list[_Address]) -> list[_Address]:
    """One address written over several entries (arXiv's 2026 renderer gives each line of an
    `\\affiliation` its own): an entry that names no institution continues the one before, or leads
    into the next ("Computer Science" / "X Institute of Technology" / "Deggendorf, Germany")."""
    merged: list[_Address] = []
    for address in addresses:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and not address.marks
            and not previous.marks
            and not (_names_institution(previous.text) and _names_institution(address.text))
        ):
            merged[-1] = _Address((), f"{previous.text}\n{address.text}", previous.note and address.note)
        else:
            merged.append(address)
    return merged


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
            else tuple(name_tokens(person)[-1] for person in re.findall(_PERSON, who) if name_tokens(person))
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
    return _Group(names, stray + _addresses(address_lines), [])


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


@dataclass(slots=True)
class _Piece:
    """Text between separators and marks on a names line, read as a name, an address or a note."""

    kind: str  # "name", "address", "suffix" or "other"
    text: str
    marks: list[str] = field(default_factory=list)


def _names(lines: list[_Line]) -> tuple[list[_Name], list[_Address]]:
    """Names with their marks, and addresses written on the same lines (a legend: "†Univ A; ‡Univ B").

    Marks usually follow a name ("A¹ B²" is two names), but when the block opens with one they precede
    it ("¹A, ²B"). Between a name and an address, the last mark is the address's own; once an address
    has been read, marks point forward to what follows them.
    """
    leading = bool(lines) and _starts_with_mark(lines[0])
    sequence: list[_Piece | _Mark] = []
    stray: list[_Address] = []
    for line in lines:
        for token in _joined(line):
            if isinstance(token, _Mark):
                sequence.append(token)
                continue
            for piece in _NAME_SEPARATOR.split(_strip_contacts(token)):
                inner = _PARENTHETICAL.findall(piece)
                stray.extend(_Address((), text) for text in inner if _is_affiliation_text(text))
                sequence.extend(_read_piece(_PARENTHETICAL.sub(" ", piece)))
    _read_legend(sequence)
    before: list[_Piece | None] = []
    for item in sequence:
        before.append(item if isinstance(item, _Piece) else (before[-1] if before else None))
    after: list[_Piece | None] = []
    for item in reversed(sequence):
        after.append(item if isinstance(item, _Piece) else (after[-1] if after else None))
    after.reverse()
    for index, item in enumerate(sequence):
        if isinstance(item, _Mark):
            neighbours = (
                before[index - 1] if index else None,
                after[index + 1] if index + 1 < len(after) else None,
            )
            owner = _owner(sequence, index, neighbours, leading)
            if owner is not None:
                owner.marks.extend(item.values)
    names: list[_Name] = []
    for piece in (item for item in sequence if isinstance(item, _Piece)):
        if piece.kind == "suffix" and names:
            names[-1].text += f" {piece.text}"
            names[-1].marks.extend(piece.marks)
        elif piece.kind == "name":
            names.append(_Name(piece.text, piece.marks))
        elif piece.kind == "address":
            stray.append(_Address(tuple(piece.marks), piece.text))
    return names, stray


def _read_legend(sequence: list[_Piece | _Mark]) -> None:
    """Once a marked address was read on the names lines, a legend has begun: what follows a mark is
    an address too ("†University of London; ‡Bletchley Park")."""
    legend = False
    for index, item in enumerate(sequence):
        if not isinstance(item, _Piece) or not index or not isinstance(sequence[index - 1], _Mark):
            continue
        if item.kind == "address":
            legend = True
        elif legend and item.kind == "name":
            item.kind = "address"


def _owner(
    sequence: list[_Piece | _Mark],
    index: int,
    neighbours: tuple[_Piece | None, _Piece | None],
    leading: bool,
) -> _Piece | None:
    """The piece the mark at `index` belongs to, of the pieces before and after it (see `_names`)."""
    before, after = neighbours
    if before is None or after is None:
        return before or after
    if leading or before.kind in ("address", "other"):
        return after
    if after.kind in ("address", "other"):
        last_of_run = not isinstance(sequence[index + 1], _Mark)
        if last_of_run and isinstance(sequence[index - 1], _Mark):
            return after
    return before


def _read_piece(text: str) -> list[_Piece | _Mark]:
    """A piece of a names line, with marks typed as plain digits ("Alice Smith1,2") split off."""
    if not text.strip():
        return []
    bare, typed = _split_typed_marks(text)
    name = _clean_name(bare)
    if not name:
        values = _mark_values(text) if _MARK_TEXT.fullmatch(text.strip()) else ()
        return [_Mark(values)] if values else []
    if name.casefold() in NAME_SUFFIXES:
        kind = "suffix"
    elif _is_person_name(name) or (_segment_kind(name) is _Kind.UNKNOWN and _is_name_length(name)):
        kind = "name"
    elif _is_affiliation_text(name):
        kind = "address"
    else:
        kind = "other"
    return [_Piece(kind, name), *([_Mark(tuple(typed))] if typed else [])]


def _is_name_length(text: str) -> bool:
    """A name has at most five words: more are names run together, which cannot be told apart."""
    return len(text.split()) <= 5


def _joined(line: _Line) -> list[str | _Mark]:
    """The line with neighbouring text tokens joined, so a name split across elements stays whole."""
    joined: list[str | _Mark] = []
    for token in line:
        if isinstance(token, str) and joined and isinstance(joined[-1], str):
            joined[-1] += token
        else:
            joined.append(token)
    return joined
