"""The curation caches: paper texts, feature spaces and chat models, and one chat's signals.

`bot.core.rank` orders a digest from plain signals; this module gathers them for one chat: its
follows (matched on folded paper texts, cached per paper), likes across every chat, its own 👎,
its model's scores, and for groups the papers members liked in the last day.

Models (`bot.curation.models`): a TF-IDF space fitted once per announcement on that announcement's
papers in every category the bot ingests, and per chat a logistic regression trained on the chat's
👍 and 🔖 papers against 👎 and papers shown but left untapped. A chat's model is small (its
weights on the words of the papers it tapped), cached, and retrained in a worker thread whenever its
taps change; a command never waits for training and uses the previous model, or none, meanwhile.
The push waits, since it runs in the background anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from scipy.sparse import vstack

from bot.core.clock import Clock
from bot.core.digest import Digest, DigestEntry, Pick, venue_note
from bot.core.follows import Follow, FollowKind, PaperText, match_follows, paper_text
from bot.core.rank import PaperFeedback, Signals, model_ready, rank, training_labels
from bot.curation.models import ChatModel, FeatureSpace
from storage.feedback import FeedbackRepository
from storage.follows import FollowRepository, StoredFollow
from storage.models import Paper
from storage.papers import PaperRepository

logger = logging.getLogger(__name__)

TEXT_CACHE = 20_000  # papers kept in matchable form (a few announcements of every category)
MODEL_CACHE = 2_000  # chat models kept; each holds weights for the words its chat tapped on
SPACES = 2  # TF-IDF spaces kept: the latest announcement and the one before
PICKS_WINDOW = timedelta(days=1)
MAX_PICKS = 3


def follows_from(stored: Iterable[StoredFollow]) -> list[Follow]:
    return [Follow(FollowKind(item.kind), item.text, item.id) for item in stored]


class Curation:
    """Per-process caches of paper texts, feature spaces and chat models; see the module docstring."""

    def __init__(
        self,
        papers: PaperRepository,
        follows: FollowRepository,
        feedback: FeedbackRepository,
        categories: Sequence[str],
        clock: Clock,
    ) -> None:
        self._papers = papers
        self._follows = follows
        self._feedback = feedback
        self._categories = tuple(categories)
        self._clock = clock
        self._texts: OrderedDict[str, tuple[int, PaperText]] = OrderedDict()
        self._spaces: OrderedDict[date, FeatureSpace] = OrderedDict()
        self._rows: dict[date, tuple[dict[str, int], Any]] = {}
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

    async def _announcement(self, announced: date) -> list[Paper]:
        """Outlines of every news paper of an announcement, in every category the bot ingests."""
        seen: dict[str, Paper] = {}
        for paper, _ in await self._papers.outlines(self._categories, announced):
            seen.setdefault(paper.arxiv_id, paper)
        return list(seen.values())

    # --- feature spaces and models ----------------------------------------------------------------

    async def space(self, announced: date, *, wait: bool) -> FeatureSpace | None:
        """The TF-IDF space of an announcement, fitted in a worker thread; None while it is fitted."""
        space = self._spaces.get(announced)
        if space is not None:
            return space
        task = self._task(("space", announced), lambda: self._fit_space(announced))
        return await task if wait else None

    async def _fit_space(self, announced: date) -> FeatureSpace:
        texts = await self.texts(await self._announcement(announced))
        corpus = [text.text for text in texts.values()] or [""]
        space = await asyncio.to_thread(FeatureSpace.fit, announced, corpus)
        self._spaces[announced] = space
        while len(self._spaces) > SPACES:
            dropped, _ = self._spaces.popitem(last=False)
            self._rows.pop(dropped, None)
        return space

    async def model(self, chat_id: int, space: FeatureSpace, *, wait: bool) -> ChatModel | None:
        """The chat's model in `space`: the cached one if current; otherwise trained (awaited only with
        `wait`, else the previous model of this space stands in meanwhile). None before a handful of likes."""
        feedback = await self._feedback.of_chat(chat_id)
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
            return await task
        return cached if cached is not None and cached.announced == space.announced else None

    async def _train(
        self, chat_id: int, version: int, space: FeatureSpace, labels: Mapping[str, int]
    ) -> ChatModel:
        texts = await self.texts(labels)
        known = [arxiv_id for arxiv_id in labels if arxiv_id in texts]
        model = await asyncio.to_thread(
            ChatModel.train,
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

    def features(self, space: FeatureSpace, texts: Mapping[str, PaperText]) -> tuple[list[str], Any]:
        """Rows of `space` for these papers: each paper is transformed once per space, and rows are
        kept in one matrix, so a digest's rows are one indexing operation."""
        rows, matrix = self._rows.get(space.announced, ({}, None))
        missing = [arxiv_id for arxiv_id in texts if arxiv_id not in rows]
        if missing:
            added = space.transform([texts[arxiv_id].text for arxiv_id in missing])
            start = 0 if matrix is None else matrix.shape[0]
            matrix = added if matrix is None else vstack([matrix, added], format="csr")
            rows = rows | {arxiv_id: start + index for index, arxiv_id in enumerate(missing)}
            self._rows[space.announced] = (rows, matrix)
        ids = list(texts)
        return ids, matrix[[rows[arxiv_id] for arxiv_id in ids]]

    def _task(self, key: object, start: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        """One task per key at a time: concurrent requests for the same work share it."""
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
        """Wait for every feature space and model being prepared (tests, and before a push)."""
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
        candidates = [entry.paper for entry in digest.entries]
        texts = await self.texts(candidates)
        outside = await self._outside(digest, follows) if follows else []
        texts.update(await self.texts(entry.paper for entry in outside))
        entries = list(digest.entries) + outside
        scores, disliked = {}, set()
        if chat_id is not None:
            scores = await self._scores(chat_id, digest.announced, entries, texts, wait=wait)
            feedback = await self._feedback.of_chat(chat_id)
            disliked = {arxiv_id for arxiv_id, votes, saves in feedback.papers if votes < 0 and not saves}
        liked = await self._feedback.liked_by(texts)
        signals = {}
        for entry in entries:
            arxiv_id = entry.paper.arxiv_id
            text = texts.get(arxiv_id)
            signals[arxiv_id] = Signals(
                matches=match_follows(follows, text) if text and follows else (),
                similarity=scores.get(arxiv_id),
                liked_by=liked.get(arxiv_id, 0),
                has_code=bool(text and text.has_code),
                disliked=arxiv_id in disliked,
            )
        ranked = rank(digest, signals, outside=outside)
        if group and chat_id is not None:
            ranked = dataclasses.replace(ranked, picks=await self._picks(chat_id))
        return ranked

    async def _outside(self, digest: Digest, follows: Sequence[Follow]) -> list[DigestEntry]:
        """Papers of the announcement outside the chat's categories by a followed author."""
        authors = [follow for follow in follows if follow.kind is FollowKind.AUTHOR]
        if not authors:
            return []
        inside = {entry.paper.arxiv_id for entry in digest.entries}
        others = [
            paper for paper in await self._announcement(digest.announced) if paper.arxiv_id not in inside
        ]
        texts = await self.texts(others)
        return [
            DigestEntry(
                paper,
                tags=(paper.primary_category or paper.categories[0],) if paper.categories else (),
                new_in=(),
                venue=venue_note(paper.comment, paper.journal_ref),
            )
            for paper in others
            if paper.arxiv_id in texts and match_follows(authors, texts[paper.arxiv_id])
        ]

    async def _scores(
        self,
        chat_id: int,
        announced: date,
        entries: Sequence[DigestEntry],
        texts: Mapping[str, PaperText],
        *,
        wait: bool,
    ) -> dict[str, float]:
        space = await self.space(announced, wait=wait)
        if space is None:
            return {}
        model = await self.model(chat_id, space, wait=wait)
        if model is None:
            return {}
        wanted = {
            entry.paper.arxiv_id: texts[entry.paper.arxiv_id]
            for entry in entries
            if entry.paper.arxiv_id in texts
        }
        ids, features = self.features(space, wanted)
        return dict(zip(ids, model.scores(features).tolist(), strict=True))

    async def _picks(self, chat_id: int) -> tuple[Pick, ...]:
        liked = await self._feedback.picks(chat_id, self._clock() - PICKS_WINDOW, MAX_PICKS)
        if not liked:
            return ()
        papers = await self._papers.papers(arxiv_id for arxiv_id, _ in liked)
        return tuple(Pick(papers[arxiv_id], likes) for arxiv_id, likes in liked if arxiv_id in papers)
