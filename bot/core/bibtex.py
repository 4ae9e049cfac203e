"""BibTeX entries for saved papers, as arXiv itself exports them (`@misc` with eprint fields).

Titles and names keep their TeX (arXiv metadata is TeX already); braces around the title keep its
capitals. Keys are surname + year + first title word ("leskovec2022itemsage"), made unique within
one export. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.names import name_tokens
from storage.models import Paper

_NEW_STYLE = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}$")
_OLD_STYLE = re.compile(r"/(\d{2})\d{5}$")
_TITLE_WORD = re.compile(r"[A-Za-z]+")
_SMALL_WORDS = frozenset(
    {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward"}
)


def arxiv_year(arxiv_id: str) -> int | None:
    """The year in an arXiv id: 2205.11728 is 2022, hep-th/9901001 is 1999."""
    match = _NEW_STYLE.match(arxiv_id) or _OLD_STYLE.search(arxiv_id)
    if match is None:
        return None
    short = int(match.group(1))
    return 2000 + short if short < 91 else 1900 + short


def bibtex(papers: Iterable[Paper]) -> str:
    """Every paper as a BibTeX entry, blank lines between them."""
    keys: dict[str, int] = {}
    entries = []
    for paper in papers:
        key = _key(paper)
        keys[key] = keys.get(key, 0) + 1
        if keys[key] > 1:
            key = f"{key}{chr(ord('a') + keys[key] - 2)}" if keys[key] <= 27 else f"{key}{keys[key]}"
        entries.append(entry(paper, key))
    return "\n\n".join(entries) + ("\n" if entries else "")


def entry(paper: Paper, key: str) -> str:
    fields = [
        ("title", "{" + _clean(paper.title) + "}"),
        ("author", " and ".join(_clean(author.name) for author in paper.authors) or "Anonymous"),
        ("year", str(arxiv_year(paper.arxiv_id) or "")),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category or (paper.categories[0] if paper.categories else "")),
        ("url", paper.abs_url),
    ]
    if paper.doi:
        fields.append(("doi", paper.doi))
    if paper.journal_ref:
        fields.append(("note", _clean(paper.journal_ref)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key},\n{body}\n}}"


def _key(paper: Paper) -> str:
    surname = name_tokens(paper.authors[0].name)[-1:] if paper.authors else ()
    words = [word.casefold() for word in _TITLE_WORD.findall(paper.title)]
    first = next((word for word in words if word not in _SMALL_WORDS), "paper")
    year = arxiv_year(paper.arxiv_id) or ""
    return f"{surname[0] if surname else 'arxiv'}{year}{first}"


def _clean(text: str) -> str:
    """One line, with braces balanced so a stray one cannot end the field early."""
    line = " ".join(text.split())
    depth = 0
    kept = []
    for char in line:
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                continue
            depth -= 1
        kept.append(char)
    return "".join(kept) + "}" * depth
