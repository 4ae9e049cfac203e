"""Full papers for what a message shows, and the latest announcement of a chat's categories.

Digests are built and ranked on paper outlines (`Curation.digest`, from `PaperRepository.outlines`);
only the entries a message shows are loaded in full, here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from bot.core.digest import Digest, DigestEntry, Page
from storage.papers import PaperRepository


async def latest_announcement(papers: PaperRepository, categories: Sequence[str]) -> date | None:
    """The newest announcement stored for any of `categories` (a quiet category may lag behind)."""
    latest = await papers.latest_announcements(categories)
    return max(latest.values(), default=None)


async def with_full_papers(papers: PaperRepository, digest: Digest, shown: int | None) -> Digest:
    """The digest with its first `shown` entries (None: all) carrying their full papers."""
    head = await _full(papers, digest.entries[:shown] if shown else digest.entries)
    return dataclasses.replace(digest, entries=head + digest.entries[len(head) :])


async def page_with_full_papers(papers: PaperRepository, page: Page) -> Page:
    return dataclasses.replace(page, entries=await _full(papers, page.entries))


async def _full(papers: PaperRepository, entries: Sequence[DigestEntry]) -> tuple[DigestEntry, ...]:
    found = await papers.papers(entry.paper.arxiv_id for entry in entries)
    return tuple(dataclasses.replace(entry, paper=found[entry.paper.arxiv_id]) for entry in entries)
