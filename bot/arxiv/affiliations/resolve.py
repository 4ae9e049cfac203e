"""Marks, shared lines and contacts resolved to each author's institutions, each with its source."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.arxiv.affiliations.creators import _Address, _Group
from bot.arxiv.affiliations.institutions import _institutions, _unique
from bot.core.names import name_tokens
from storage.models import AffiliationSource

_Found = tuple[str, AffiliationSource]


@dataclass(frozen=True, slots=True)
class AuthorAffiliations:
    """One author as the HTML page names them, with institutions in order of appearance and, for each,
    where on the page it was read (the author block, or a \\thanks or footnote)."""

    name: str
    affiliations: tuple[str, ...] = ()
    sources: tuple[AffiliationSource, ...] = ()


@dataclass(slots=True)
class _Resolved:
    name: str
    institutions: list[_Found]
    only_from_lines: bool  # everything found was written under the name, nothing came by mark or contact


def _resolve(
    groups: list[_Group], notes: list[_Address], statements: list[tuple[tuple[str, ...] | None, str]]
) -> list[AuthorAffiliations]:
    """Each name gets the addresses its marks point at (its own block's first), else the lines under it;
    plus its creator's contacts. Names left with nothing fall back to \\thanks statements, then, when
    no author got anything at all, to addresses that belong to nobody in particular (an unmarked
    institute note, a block without names).

    When nothing on the page says who is where, nobody gets a guess: several names written together
    without marks share their lines and contacts only when these name one place.
    """
    if not any(name.marks for group in groups for name in group.names):
        groups = [_unmarked(group) for group in groups]
        notes = [_Address((), note.text, note.note) for note in notes]
    marked, shared = _mark_table(groups, notes)
    resolved = []
    for group in groups:
        local: dict[str, list[_Address]] = {}
        for address in group.addresses:
            for mark in address.marks:
                local.setdefault(mark, []).append(address)
        lines = [address for address in group.addresses if not address.marks]
        written_under = [_Address((), " \n ".join(address.text for address in lines))] if lines else []
        places = [address for address in [*written_under, *group.contacts] if _institutions_of([address])]
        ambiguous = len(group.names) > 1 and len(places) > 1
        contacts = [] if ambiguous else _institutions_of(group.contacts)
        for name in group.names:
            by_mark = _institutions_of(
                address for mark in name.marks for address in local.get(mark) or marked.get(mark, [])
            )
            lines_count = not ambiguous and (not by_mark or len(group.names) == 1)
            from_lines = _institutions_of(lines) if lines_count else []
            found = by_mark + from_lines + contacts
            resolved.append(_Resolved(name.text, found, bool(from_lines) and found == from_lines))
    _share_last_line(resolved)
    common = [] if any(item.institutions for item in resolved) else _institutions_of(shared)
    authors = {tuple(sorted(name_tokens(item.name))) for item in resolved}
    results = []
    for item in resolved:
        found = [
            (institution, source)
            for institution, source in item.institutions or _stated_for(item.name, statements) or common
            if tuple(sorted(name_tokens(institution))) not in authors  # a co-author listed in an entry
        ]
        kept = _unique(institution for institution, _ in found)
        source_of = {}
        for institution, source in found:
            source_of.setdefault(institution, source)
        results.append(AuthorAffiliations(item.name, kept, tuple(source_of[name] for name in kept)))
    return results


def _unmarked(group: _Group) -> _Group:
    """Marks mean nothing when no name carries one: every address is then an unmarked line."""
    return _Group(
        group.names,
        [_Address((), address.text, address.note) for address in group.addresses],
        [_Address((), address.text, address.note) for address in group.contacts],
    )


def _mark_table(
    groups: list[_Group], notes: list[_Address]
) -> tuple[dict[str, list[_Address]], list[_Address]]:
    """Addresses by mark across the page, and the addresses no name claims."""
    marked: dict[str, list[_Address]] = {}
    shared: list[_Address] = []
    for group in groups:
        for address in group.addresses:
            for mark in address.marks:
                marked.setdefault(mark, []).append(address)
            if not group.names and not address.marks:
                shared.append(address)
        if not group.names:
            shared.extend(group.contacts)
    referenced = {mark for group in groups for name in group.names for mark in name.marks}
    for address in notes:
        for mark in address.marks:
            marked.setdefault(mark, []).append(address)
        if not set(address.marks) & referenced:
            shared.append(address)
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


def _stated_for(name: str, statements: list[tuple[tuple[str, ...] | None, str]]) -> list[_Found]:
    tokens = name_tokens(name)
    surname = tokens[-1] if tokens else None
    return _institutions_of(
        _Address((), where, note=True)
        for surnames, where in statements
        if surnames is None or (surname and surname in surnames)
    )


def _institutions_of(addresses: Iterable[_Address]) -> list[_Found]:
    return [
        (institution, AffiliationSource.HTML_NOTE if address.note else AffiliationSource.HTML_AUTHORS)
        for address in addresses
        for institution in _institutions(address.text)
    ]
