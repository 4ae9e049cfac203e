"""Affiliations from arXiv's HTML rendering (LaTeXML author blocks), reduced to institution names.

Few papers carry `arxiv:affiliation`, but most recent ones have an HTML version whose author block
names affiliations in one of several shapes: contacts under each author (`ltx_role_affiliation`,
`ltx_role_institute`, `ltx_role_address`), numbered marks pointing at institute notes
(`ltx_role_institutetext`, `ltx_role_affiliationtext`), or plain lines under the names. This package
reads them all from the page and maps the result onto the export API's authors. It does no I/O:
fetching and caching the pages belong to another module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.arxiv.affiliations.creators import (
    _centred_title_block,
    _footnotes,
    _read_creator,
    _read_institute_note,
    _with_statements,
)
from bot.arxiv.affiliations.institutions import _institutions, _unique
from bot.arxiv.affiliations.markup import (
    _AUTHOR_BLOCKS,
    _CREATORS,
    _INSTITUTE_NOTES,
    _PERSONNAMES,
    _THANKS_NOTES,
    _front_matter,
)
from bot.arxiv.affiliations.resolve import AuthorAffiliations, _resolve
from bot.core.names import name_tokens, pair_by_name
from storage.models import AffiliationSource, Author


def parse_author_affiliations(html: str | bytes) -> list[AuthorAffiliations]:
    """Authors of an arXiv HTML page in document order; no author block (or no HTML) gives []."""
    root = _front_matter(html)
    if root is None:
        return []
    blocks = _AUTHOR_BLOCKS(root)
    if blocks:
        creators = _CREATORS(blocks[0]) or _PERSONNAMES(blocks[0])
        footnotes = _footnotes(root, blocks[0])
        groups = [group for creator in creators for group in _read_creator(creator, footnotes)]
    else:
        groups = _centred_title_block(root)
    if not groups:
        return []
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
    by position only for those left unpaired when both lists have the same length. What an author
    has is replaced only by a source at least as good (`AffiliationSource`): the API's own
    `arxiv:affiliation` (also when its provenance was not recorded) wins over the page's author block,
    which wins over a note on the page. Names always stay as the API spells them.
    """
    pairs = pair_by_name(
        [name_tokens(a.name) for a in api_authors], [name_tokens(h.name) for h in html_authors]
    )
    if len(api_authors) == len(html_authors):
        taken = set(pairs.values())
        for index in range(len(api_authors)):
            if index not in pairs and index not in taken:
                pairs[index] = index
    merged = []
    for index, author in enumerate(api_authors):
        held = _held(author)
        found = html_authors[pairs[index]] if index in pairs else None
        # Parsed authors built without sources (a caller's own list) count as read from the author block.
        sources = (
            (found.sources or (AffiliationSource.HTML_AUTHORS,) * len(found.affiliations)) if found else ()
        )
        if (
            found is not None
            and found.affiliations
            and (not held.affiliations or _best(sources).rank >= _best(held.sources).rank)
        ):
            merged.append(Author(author.name, found.affiliations, sources))
        else:
            merged.append(held)
    return tuple(merged)


def _held(author: Author) -> Author:
    """An author's affiliations as institutions with their sources; unrecorded ones came from the API."""
    if author.sources:
        return author
    own = _unique(institution for text in author.affiliations for institution in _institutions(text))
    return Author(author.name, own, (AffiliationSource.API,) * len(own))


def _best(sources: Sequence[AffiliationSource]) -> AffiliationSource:
    return max(sources, key=lambda source: source.rank, default=AffiliationSource.HTML_NOTE)
