"""Plain dataclasses shared by storage and the pure core (digest, render).

They live in `storage` because imports point downward only (handlers -> bot -> storage) and both
layers need them; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class AnnounceType(StrEnum):
    """Why a paper appears in a category's announcement (`<arxiv:announce_type>`)."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"

    @property
    def is_news(self) -> bool:
        """New submissions and cross-lists are today's papers; replacements are not."""
        return self in (AnnounceType.NEW, AnnounceType.CROSS)


class AffiliationSource(StrEnum):
    """Where an affiliation was read, best first: a better source replaces what a weaker one gave."""

    API = "api"  # the export API's arxiv:affiliation, typed by the submitter
    HTML_AUTHORS = "html-authors"  # the author block of arXiv's HTML page
    HTML_NOTE = "html-note"  # a \\thanks or footnote on that page

    @property
    def rank(self) -> int:
        """Higher is better."""
        return -list(AffiliationSource).index(self)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()
    sources: tuple[AffiliationSource, ...] = ()  # one per affiliation; empty when not recorded


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper at the version last announced."""

    arxiv_id: str  # without version, e.g. "2205.11728"
    version: int
    title: str
    abstract: str
    authors: tuple[Author, ...]
    categories: tuple[str, ...]  # primary first when known
    primary_category: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}v{self.version}"

    @property
    def html_url(self) -> str:
        return f"https://arxiv.org/html/{self.arxiv_id}v{self.version}"

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"


@dataclass(frozen=True, slots=True)
class Listing:
    """A paper's place in one category's announcement."""

    arxiv_id: str
    category: str
    announced: date
    announce_type: AnnounceType


@dataclass(frozen=True, slots=True)
class Generated:
    """Text a language model wrote for one paper in one language, accepted after checks."""

    summary: str
    title: str | None = None  # a title of its own only where the paper's is in another language
