"""The curation caches: each announcement prepared once for every chat, and chat models.

`bot.core.rank` orders a digest from plain signals; this module gathers them for one chat: its
follows, likes across every chat, its own 👎, its model's scores, and for groups the papers members
liked in the last day.

Work is shared wherever it can be. An announcement (`Day`) is prepared once, in worker threads:
its papers in every category the bot ingests, which of them mention code, and on first need (a
follow, a chat's model) the papers in matchable form, word indexes that find a follow's few
candidate papers without scanning the day, and the TF-IDF space with the day's matrix (so a chat
model scores every paper in one sparse product). Mechanical digests are cached per category
list, and chats without personal signals (no follows, no model, no 👎) share one ranking of it.
The caches are checked against the papers' generation, so a later ingest, or another process
writing to the database, is never served stale.

Models (`bot.curation.models`): per chat a logistic regression trained on the chat's 👍 and 🔖
papers against 👎 and papers shown but left untapped. A chat's model is small (its weights on the
words of the papers it tapped), cached, and retrained in a worker thread whenever its taps change;
a command never waits for training and uses the previous model, or none, meanwhile. The push
waits, since it runs in the background anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import importlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bot.core.clock import Clock
from bot.core.digest import Digest, DigestEntry, Pick, build_digest, venue_note
from bot.core.follows import (
    Follow,
    FollowKind,
    FollowMatch,
    PaperText,
    match_follows,
    mentions_code,
    paper_text,
)
from bot.core.rank import PaperFeedback, Signals, model_ready, rank, training_labels
from storage.feedback import ChatFeedback, FeedbackRepository
from storage.follows import FollowRepository, StoredFollow
from storage.models import Paper
from storage.papers import PaperRepository

if TYPE_CHECKING:  # scikit-learn (and numpy, scipy) load only when a model or space is made
    from bot.curation.models import ChatModel, FeatureSpace

logger = logging.getLogger(__name__)

TEXT_CACHE = 20_000  # papers kept in matchable form (a few announcements of every category)
MODEL_CACHE = 2_000  # chat models kept; each holds weights for the words its chat tapped on
DAYS = 2  # announcements kept prepared: the latest and the one before
DIGESTS = 128  # mechanical digests kept, by category list and announcement
FOLLOWED_CACHE = 20_000  # distinct follows whose matches a prepared day keeps
PICKS_WINDOW = timedelta(days=1)
MAX_PICKS = 3


async def _learning() -> ModuleType:
    """`bot.curation.models`, imported in a worker thread: loading scikit-learn takes seconds (more on
    a busy host), and on the event loop it held up every reply meanwhile."""
    return await asyncio.to_thread(importlib.import_module, "bot.curation.models")


def follows_from(stored: Iterable[StoredFollow]) -> list[Follow]:
    return [Follow(FollowKind(item.kind), item.text, item.id, item.key) for item in stored]


@dataclass(slots=True)
class Day:
    """One announcement, prepared once and shared by every chat.

    Its papers in matchable form and their word indexes are made on first need (`Curation.indexed`:
    a follow, or a chat's model); the ranking chats without either share needs only `has_code`.
    """

    announced: date
    generation: tuple[int, int]
    outlines: dict[str, Paper]  # every news paper of the day, in every category the bot ingests
    has_code: frozenset[str]
    indexed: bool = False  # the four below are filled
    texts: dict[str, PaperText] = field(default_factory=dict)
    words: dict[str, list[str]] = field(default_factory=dict)  # folded word of title or abstract -> papers
    people: dict[str, list[str]] = field(default_factory=dict)  # author name token -> papers
    places: dict[str, list[str]] = field(default_factory=dict)  # affiliation word -> papers
    space: FeatureSpace | None = None
    liked: tuple[int, dict[str, int]] | None = None  # (taps generation, readers who liked each paper)
    shared: dict[tuple[str, ...], Digest] = field(default_factory=dict)  # rankings without signals
    followed: dict[Follow, dict[str, FollowMatch]] = field(default_factory=dict)  # matches by follow
    outside: dict[str, DigestEntry] = field(default_factory=dict)  # entries reached by a followed author

    def outside_entry(self, arxiv_id: str) -> DigestEntry:
        """A paper from a category the chat does not follow, reached through a followed author."""
        entry = self.outside.get(arxiv_id)
        if entry is None:
            paper = self.outlines[arxiv_id]
            entry = self.outside[arxiv_id] = DigestEntry(
                paper,
                tags=(paper.primary_category or paper.categories[0],) if paper.categories else (),
                new_in=(),
                venue=venue_note(paper.comment, paper.journal_ref),
            )
        return entry

    def candidates(self, follow: Follow) -> list[str]:
        """Papers that may match `follow`: those with its rarest-looking word; match_follows decides."""
        tokens = follow.key.split()
        if not tokens:
            return []
        if follow.kind is FollowKind.AUTHOR:
            return self.people.get(tokens[-1], [])
        index = self.places if follow.kind is FollowKind.INSTITUTION else self.words
        return min((index.get(token, []) for token in tokens), key=len)

    def matches(self, follows: Sequence[Follow]) -> dict[str, tuple[FollowMatch, ...]]:
        """Every paper of the day the follows match, with its matches in the order followed."""
        found: dict[str, list[FollowMatch]] = {}
        for follow in follows:
            for arxiv_id, matched in self._matched(follow).items():
                found.setdefault(arxiv_id, []).append(matched)
        return {arxiv_id: tuple(matched) for arxiv_id, matched in found.items()}

    def _matched(self, follow: Follow) -> dict[str, FollowMatch]:
        """One follow's matches, worked out once per day for every chat that follows the same words."""
        shared = dataclasses.replace(follow, id=None)
        cached = self.followed.get(shared)
        if cached is None:
            cached = {}
            for arxiv_id in self.candidates(shared):
                for match in match_follows((shared,), self.texts[arxiv_id]):
                    cached[arxiv_id] = match
            if len(self.followed) >= FOLLOWED_CACHE:
                self.followed.clear()
            self.followed[shared] = cached
        return cached


def _word_indexes(
    texts: dict[str, PaperText],
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """(words, people, places): which papers have each folded word, name token and affiliation word."""
    words: dict[str, list[str]] = {}
    people: dict[str, list[str]] = {}
    places: dict[str, list[str]] = {}
    for arxiv_id, text in texts.items():
        for word in set(text.text.split()):
            words.setdefault(word, []).append(arxiv_id)
        for token in text.surnames:
            people.setdefault(token, []).append(arxiv_id)
        for word in set(text.places.split()) - {"|"}:
            places.setdefault(word, []).append(arxiv_id)
    return words, people, places


class Curation:
    """Per-process caches of prepared announcements, digests and chat models; see the module docstring."""

    def __init__(
        self,
        papers: PaperRepository,
        follows: FollowRepository,
        feedback: FeedbackRepository,
        ingested: Callable[[], Awaitable[Sequence[str]]],
        clock: Clock,
    ) -> None:
        self._papers = papers
        self._follows = follows
        self._feedback = feedback
        self._ingested = ingested  # the categories the bot reads: those someone follows
        self._clock = clock
        self._texts: OrderedDict[str, tuple[int, PaperText]] = OrderedDict()
        self._days: OrderedDict[date, Day] = OrderedDict()
        self._digests: OrderedDict[tuple[tuple[str, ...], date], tuple[tuple[int, int], Digest]] = (
            OrderedDict()
        )
        self._models: OrderedDict[int, ChatModel] = OrderedDict()
        self._tasks: dict[object, asyncio.Task[Any]] = {}

    # --- paper texts ----------------------------------------------------------------------------

    async def texts(self, papers: Iterable[Paper | str]) -> dict[str, PaperText]:
        """Matchable texts of these papers, or ids (outlines are enough: full papers are loaded here)."""
        found: dict[str, PaperText] = {}
        missing = []
        for paper in papers:
            arxiv_id = paper if isinstance(paper, str) else paper.arxiv_id
            cached = self._texts.get(arxiv_id)
            if cached is not None and (isinstance(paper, str) or cached[0] == paper.version):
                found[arxiv_id] = cached[1]
            else:
                missing.append(arxiv_id)
        if missing:
            loaded = list((await self._papers.papers(missing)).values())
            made = await asyncio.to_thread(lambda: [paper_text(paper) for paper in loaded])
            for paper, text in zip(loaded, made, strict=True):
                self._texts[paper.arxiv_id] = (paper.version, text)
                found[paper.arxiv_id] = text
            while len(self._texts) > TEXT_CACHE:
                self._texts.popitem(last=False)
        return found

    # --- announcements and digests --------------------------------------------------------------

    async def digest(self, categories: Sequence[str], announced: date) -> Digest:
        """The mechanical digest of `categories` (in the chat's order) on `announced`, its entries in
        outline; built once per category list and announcement while the papers are unchanged."""
        key = (tuple(categories), announced)
        generation = await self._papers.generation()
        cached = self._digests.get(key)
        if cached is not None and cached[0] == generation:
            self._digests.move_to_end(key)
            return cached[1]
        digest = build_digest(await self._papers.outlines(categories, announced), categories, announced)
        self._digests[key] = (generation, digest)
        while len(self._digests) > DIGESTS:
            self._digests.popitem(last=False)
        return digest

    async def day(self, announced: date, *, wait: bool = False) -> Day:
        """The prepared announcement, shared by every chat. After its papers change (an ingest, an
        affiliation found) it is prepared again in the background while the previous one serves
        commands; `wait` (the push) waits for the fresh one."""
        generation = await self._papers.generation()
        day = self._days.get(announced)
        if day is not None and day.generation == generation:
            return day
        task = self._task(("day", announced, generation), lambda: self._prepare(announced, generation))
        return day if day is not None and not wait else await asyncio.shield(task)

    async def _prepare(self, announced: date, generation: tuple[int, int]) -> Day:
        outlines: dict[str, Paper] = {}
        for paper, _ in await self._papers.outlines(await self._ingested(), announced):
            outlines.setdefault(paper.arxiv_id, paper)
        abstracts = await self._papers.abstracts(outlines)
        has_code = await asyncio.to_thread(
            lambda: frozenset(
                arxiv_id
                for arxiv_id, paper in outlines.items()
                if mentions_code(paper.comment, abstracts.get(arxiv_id, ""))
            )
        )
        day = Day(announced, generation, outlines, has_code)
        previous = self._days.get(announced)
        if previous is not None and previous.space is not None:
            day.space = previous.space if previous.space.rows.keys() == outlines.keys() else None
        self._days[announced] = day
        self._days.move_to_end(announced)
        while len(self._days) > DAYS:
            self._days.popitem(last=False)
        # A prepared day is hundreds of thousands of objects that live until the next announcement:
        # keep them out of full collections, as bot.app does with start-up objects (they are still
        # freed when the day is dropped; none of them form cycles).
        gc.freeze()
        return day

    async def indexed(self, day: Day) -> Day:
        """The day with its papers in matchable form and their word indexes, made once."""
        if not day.indexed:
            await asyncio.shield(
                self._task(("index", day.announced, day.generation), lambda: self._index(day))
            )
        return day

    async def _index(self, day: Day) -> None:
        texts = await self.texts(day.outlines.values())
        day.words, day.people, day.places = await asyncio.to_thread(_word_indexes, texts)
        day.texts = texts
        day.indexed = True
        gc.freeze()  # as for the day itself: long-lived, and no cycles

    async def space(self, day: Day, *, wait: bool) -> FeatureSpace | None:
        """The day's TF-IDF space, fitted in a worker thread; None while it is fitted (unless `wait`)."""
        if day.space is not None:
            return day.space
        task = self._task(("space", day.announced, day.generation), lambda: self._fit_space(day))
        return await asyncio.shield(task) if wait else None

    async def _fit_space(self, day: Day) -> FeatureSpace:
        await self.indexed(day)  # first: a command waiting for the index goes on before this import
        learning = await _learning()
        ids = list(day.texts)
        space = await asyncio.to_thread(
            learning.FeatureSpace.fit, day.announced, ids, [day.texts[arxiv_id].text for arxiv_id in ids]
        )
        day.space = space
        return space

    async def _liked(self, day: Day) -> dict[str, int]:
        """Readers who liked or saved each paper of the day, in every chat; counted again after a tap."""
        taps = self._feedback.generation
        if day.liked is None or day.liked[0] != taps:
            day.liked = (taps, await self._feedback.liked_by(day.outlines))
        return day.liked[1]

    # --- chat models ------------------------------------------------------------------------------

    async def model(
        self, chat_id: int, feedback: ChatFeedback, space: FeatureSpace, *, wait: bool
    ) -> ChatModel | None:
        """The chat's model in `space`: the cached one if current; otherwise trained (awaited only with
        `wait`, else the previous model of this space stands in meanwhile). None before a handful of
        likes."""
        cached = self._models.get(chat_id)
        if cached is not None and (cached.version, cached.announced) == (feedback.version, space.announced):
            self._models.move_to_end(chat_id)
            return cached
        labels = training_labels(
            (PaperFeedback(arxiv_id, votes, saves) for arxiv_id, votes, saves in feedback.papers),
            feedback.shown,
        )
        if not model_ready(labels):
            self._models.pop(chat_id, None)
            return None
        task = self._task(
            ("model", chat_id, feedback.version, space.announced),
            lambda: self._train(chat_id, feedback.version, space, labels),
        )
        if wait:
            return await asyncio.shield(task)
        return cached if cached is not None and cached.announced == space.announced else None

    async def _train(
        self, chat_id: int, version: int, space: FeatureSpace, labels: Mapping[str, int]
    ) -> ChatModel:
        learning = await _learning()
        texts = await self.texts(labels)
        known = [arxiv_id for arxiv_id in labels if arxiv_id in texts]
        model = await asyncio.to_thread(
            learning.ChatModel.train,
            version,
            space,
            [texts[key].text for key in known],
            [labels[key] for key in known],
        )
        current = self._models.get(chat_id)
        if current is None or current.version <= version:
            self._models[chat_id] = model
            self._models.move_to_end(chat_id)
            while len(self._models) > MODEL_CACHE:
                self._models.popitem(last=False)
        return model

    def _task(self, key: object, start: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        """One task per key at a time: concurrent requests for the same work share it. Waiters await
        it shielded: one cut short (a push when the bot stops) must not cancel it under the others."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(start())
            self._tasks[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def _finished(self, key: object, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("curation: %s failed", key, exc_info=task.exception())

    async def settled(self) -> None:
        """Wait for every announcement and model being prepared (tests, and before a push)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop preparing anything: the database is about to close."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def forget(self, chat_id: int) -> None:
        """/ranking reset: drop the chat's cached model at once."""
        self._models.pop(chat_id, None)

    # --- one chat's digest ------------------------------------------------------------------------

    async def personalize(
        self,
        chat_id: int | None,
        digest: Digest,
        *,
        group: bool = False,
        follows: Sequence[Follow] | None = None,
        wait: bool = False,
    ) -> Digest:
        """The digest in this chat's order, with reasons, outside papers its follows reach, and for
        groups the members' picks of the last day. `wait` waits for the chat's model (the push).

        Without a chat (None), the order every chat without personal signals shares.
        """
        if follows is None:
            follows = follows_from(await self._follows.of_chat(chat_id)) if chat_id is not None else []
        feedback = await self._feedback.of_chat(chat_id) if chat_id is not None else None
        day = await self.day(digest.announced, wait=wait)
        liked = await self._liked(day)
        disliked = (
            {arxiv_id for arxiv_id, votes, saves in feedback.papers if votes < 0 and not saves}
            if feedback is not None
            else set()
        )
        scores = await self._scores(chat_id, feedback, day, wait=wait) if feedback and feedback.papers else {}
        if follows:
            day = await self.indexed(day)
        if not follows and not scores and not disliked:
            ranked = self._shared(day, digest, liked)
        else:
            ranked = self._ranked(day, digest, follows, scores, liked, disliked)
        if group and chat_id is not None and (picks := await self._picks(chat_id)):
            ranked = dataclasses.replace(ranked, picks=picks)
        return ranked

    def is_shared(self, ranked: Digest) -> bool:
        """Whether `ranked` is the ranking every chat without personal signals shares (this very
        object, not an equal one): what is made of it may be kept for all of them."""
        return any(ranked is shared for day in self._days.values() for shared in day.shared.values())

    def _shared(self, day: Day, digest: Digest, liked: Mapping[str, int]) -> Digest:
        """The ranking every chat without personal signals shares, per category list and taps."""
        key = (*digest.categories, str(len(digest.entries)), str(day.liked[0] if day.liked else -1))
        ranked = day.shared.get(key)
        if ranked is None:
            ranked = self._ranked(day, digest, (), {}, liked, set())
            if len(day.shared) > DIGESTS:
                day.shared.clear()
            day.shared[key] = ranked
        return ranked

    def _ranked(
        self,
        day: Day,
        digest: Digest,
        follows: Sequence[Follow],
        scores: Mapping[str, float],
        liked: Mapping[str, int],
        disliked: set[str],
    ) -> Digest:
        matches = day.matches(follows) if follows else {}
        inside = {entry.paper.arxiv_id for entry in digest.entries}
        outside = [
            day.outside_entry(arxiv_id)
            for arxiv_id, found in matches.items()
            if arxiv_id not in inside and any(match.follow.kind is FollowKind.AUTHOR for match in found)
        ]
        candidates = inside | {entry.paper.arxiv_id for entry in outside}
        personal = set(matches) | disliked | (day.has_code & candidates) | (set(liked) & candidates)
        signals = {
            arxiv_id: Signals(
                matches=matches.get(arxiv_id, ()),
                liked_by=liked.get(arxiv_id, 0),
                has_code=arxiv_id in day.has_code,
                disliked=arxiv_id in disliked,
            )
            for arxiv_id in personal & candidates
        }
        outside.sort(key=lambda entry: entry.paper.arxiv_id)
        return rank(digest, signals, similarity=scores, outside=outside)

    async def _scores(
        self, chat_id: int | None, feedback: ChatFeedback | None, day: Day, *, wait: bool
    ) -> dict[str, float]:
        if chat_id is None or feedback is None:
            return {}
        space = await self.space(day, wait=wait)
        if space is None:
            return {}
        model = await self.model(chat_id, feedback, space, wait=wait)
        if model is None:
            return {}
        return dict(zip(space.rows, model.scores(space).tolist(), strict=True))

    async def _picks(self, chat_id: int) -> tuple[Pick, ...]:
        liked = await self._feedback.picks(chat_id, self._clock() - PICKS_WINDOW, MAX_PICKS)
        if not liked:
            return ()
        papers = await self._papers.papers(arxiv_id for arxiv_id, _ in liked)
        return tuple(Pick(papers[arxiv_id], likes) for arxiv_id, likes in liked if arxiv_id in papers)
