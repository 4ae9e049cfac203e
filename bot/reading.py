"""Full papers for what a message shows, the latest announcement of a chat's categories, and the
rendered digests chats without personal signals share.

Digests are built and ranked on paper outlines (`Curation.digest`, from `PaperRepository.outlines`);
only the entries a message shows are loaded in full, here.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date

from bot.core.digest import (
    FEATURED,
    Digest,
    DigestEntry,
    EnrichmentPriority,
    EntryMemo,
    Page,
    build_digest,
    enrichment_priority,
    with_generated,
)
from bot.core.i18n import Language
from bot.core.preferences import digest_limit
from bot.core.replies import DigestReply, digest_reply
from bot.locales import Translation
from storage.generated import GeneratedTextRepository
from storage.models import Listing, Paper
from storage.papers import PaperRepository
from storage.subscriptions import SubscriptionRepository

SHARED_REPLIES = 256  # rendered digests kept, by categories, announcement, size and language


async def latest_announcement(papers: PaperRepository, categories: Sequence[str]) -> date | None:
    """The newest announcement stored for any of `categories` (a quiet category may lag behind)."""
    latest = await papers.latest_announcements(categories)
    return max(latest.values(), default=None)


async def enrichment_priority_of(
    papers: PaperRepository, subscriptions: SubscriptionRepository, followed: Sequence[str], announced: date
) -> EnrichmentPriority:
    """The papers of `announced` a push is about to feature, then the rest of its first messages: over
    the digest of every distinct choice of categories and size among active chats.

    Worked out in a worker thread: hundreds of choices take a second or more, which held the event
    loop, a digest at a time, every time the enrichment planned its next pages.
    """
    outlines = await papers.outlines(followed, announced)
    choices = await subscriptions.digest_choices()
    return await asyncio.to_thread(_priority_over, outlines, choices, followed, announced)


def _priority_over(
    outlines: Sequence[tuple[Paper, Listing]],
    choices: Sequence[tuple[tuple[str, ...], int | None]],
    followed: Sequence[str],
    announced: date,
) -> EnrichmentPriority:
    """One digest per choice of categories (the sizes of that choice share it), each paper's entry
    made once per way it is listed."""
    entries: EntryMemo = {}
    built: dict[tuple[str, ...], Digest] = {}
    digests = []
    for categories, size in choices:
        wanted = tuple(name for name in categories if name in followed)
        if wanted:
            if wanted not in built:
                built[wanted] = build_digest(outlines, wanted, announced, entries)
            digests.append((built[wanted], digest_limit(size)))
    return enrichment_priority(digests)


async def latest_priority(
    papers: PaperRepository, subscriptions: SubscriptionRepository
) -> EnrichmentPriority | None:
    """`enrichment_priority_of` the latest announcement of the categories someone follows, if any."""
    followed = await subscriptions.active_categories()
    announced = await latest_announcement(papers, followed)
    if announced is None:
        return None
    return await enrichment_priority_of(papers, subscriptions, followed, announced)


async def with_full_papers(
    papers: PaperRepository, digest: Digest, shown: int | None, loaded: dict[str, Paper] | None = None
) -> Digest:
    """The digest with its first `shown` entries (None: all) carrying their full papers.

    `loaded`: papers read before, by id, which it reads again only if they are missing, and to which
    it adds the papers it reads (a push renders thousands of digests from one announcement's papers).
    """
    head = await _full(papers, digest.entries[:shown] if shown else digest.entries, loaded)
    return dataclasses.replace(digest, entries=head + digest.entries[len(head) :])


def generated_reach(language: Language, limit: int | None) -> int | None:
    """How many entries of a digest showing `limit` (None: all) carry the model's text: in English
    the featured ones (a summary), in Chinese every one shown (a title under the English one)."""
    return FEATURED if language is Language.EN else limit


async def with_generated_texts(
    texts: GeneratedTextRepository, digest: Digest, language: Language, limit: int | None
) -> Digest:
    """The digest with the model's accepted text in `language` on the entries a chat reading it sees
    (`generated_reach`) of a digest showing `limit`."""
    first = generated_reach(language, limit)
    ids = [entry.paper.arxiv_id for entry in digest.entries[:first]]
    return with_generated(digest, await texts.accepted(ids, language.value), first)


async def page_with_full_papers(papers: PaperRepository, page: Page) -> Page:
    return dataclasses.replace(page, entries=await _full(papers, page.entries))


async def _full(
    papers: PaperRepository, entries: Sequence[DigestEntry], loaded: dict[str, Paper] | None = None
) -> tuple[DigestEntry, ...]:
    found = {} if loaded is None else loaded
    missing = [entry.paper.arxiv_id for entry in entries if entry.paper.arxiv_id not in found]
    if missing:
        found.update(await papers.papers(missing))
    return tuple(dataclasses.replace(entry, paper=found[entry.paper.arxiv_id]) for entry in entries)


class SharedReplies:
    """The rendered digest (`DigestReply`) of each ranking chats without personal signals share, per
    size and language: /today in such a chat reads and sends, without loading, ranking or rendering.

    An entry serves only the very ranking it was made of (`Curation` makes a new one when community
    likes, or a new announcement, change it) and only while the papers' and the generated texts'
    generations stand, so an affiliation found or a summary accepted shows at once.
    """

    def __init__(self, papers: PaperRepository, texts: GeneratedTextRepository) -> None:
        self._papers = papers
        self._texts = texts
        self._replies: OrderedDict[
            tuple[tuple[str, ...], date, int | None, Language], tuple[Digest, object, DigestReply]
        ] = OrderedDict()

    async def reply(self, ranked: Digest, limit: int | None, tr: Translation, *, shared: bool) -> DigestReply:
        """`ranked` showing `limit` entries in the language of `tr`, its shown entries in full with the
        model's texts in that language; kept for the next chat when `shared`."""
        if not shared:
            return await self._render(ranked, limit, tr)
        key = (ranked.categories, ranked.announced, limit, tr.language)
        generation = (await self._papers.generation(), await self._texts.generation())
        cached = self._replies.get(key)
        if cached is not None and cached[0] is ranked and cached[1] == generation:
            self._replies.move_to_end(key)
            return cached[2]
        reply = await self._render(ranked, limit, tr)
        self._replies[key] = (ranked, generation, reply)
        self._replies.move_to_end(key)
        while len(self._replies) > SHARED_REPLIES:
            self._replies.popitem(last=False)
        return reply

    async def _render(self, ranked: Digest, limit: int | None, tr: Translation) -> DigestReply:
        digest = await with_full_papers(self._papers, ranked, limit)
        digest = await with_generated_texts(self._texts, digest, tr.language, limit)
        return digest_reply(digest, limit, tr.digest_words())
