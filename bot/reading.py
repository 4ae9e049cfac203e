"""Loading a chat's digest from storage: the one place that joins storage rows and the pure core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.digest import Digest, build_digest
from storage.papers import PaperRepository


async def latest_announcement(papers: PaperRepository, categories: Sequence[str]) -> date | None:
    """The newest announcement stored for any of `categories` (a quiet category may lag behind)."""
    latest = await papers.latest_announcements(categories)
    return max(latest.values(), default=None)


async def load_digest(papers: PaperRepository, categories: Sequence[str], announced: date) -> Digest:
    return build_digest(await papers.listings(categories, announced), categories, announced)
