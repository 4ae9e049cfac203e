"""The curation caches share work without serving anything stale: digests, prepared announcements and
the ranking of chats without personal signals."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import reading
from bot.curation import Curation
from storage.chats import ChatRepository
from storage.deliveries import DeliveryLedger, PlannedPart
from storage.feedback import FeedbackRepository
from storage.follows import FollowRepository
from storage.generated import GeneratedTextRepository
from storage.models import AnnounceType, Author, Generated, Paper
from storage.papers import PaperRepository
from storage.subscriptions import SubscriptionRepository
from tests.support import REPO, cli_env, open_database

DAY = date(2025, 4, 8)
NOW = datetime(2025, 4, 8, 1, 0, tzinfo=UTC)
CATEGORIES = ("cs.CL", "cs.CV")
SUMMARY = Generated("A short summary of the parsing paper.")


def paper(arxiv_id: str, category: str, title: str, author: str = "Ada Lovelace") -> Paper:
    return Paper(arxiv_id, 1, title, "An abstract.", (Author(author),), (category,), category)


@pytest.fixture
def papers(db) -> PaperRepository:
    return PaperRepository(db)


@pytest.fixture
async def curation(db, papers):
    await papers.store_announcement(
        "cs.CL", DAY, [(paper("2504.00001", "cs.CL", "Parsing"), AnnounceType.NEW)]
    )

    async def ingested() -> list[str]:
        return list(CATEGORIES)

    store = Curation(papers, FollowRepository(db), FeedbackRepository(db), ingested, lambda: NOW)
    yield store
    await store.close()


async def test_a_digest_is_built_once_and_again_after_an_ingest(papers, curation):
    first = await curation.digest(CATEGORIES, DAY)
    assert await curation.digest(CATEGORIES, DAY) is first
    await papers.store_announcement(
        "cs.CV", DAY, [(paper("2504.00002", "cs.CV", "Segmentation"), AnnounceType.NEW)]
    )
    later = await curation.digest(CATEGORIES, DAY)
    assert [entry.paper.arxiv_id for entry in later.entries] == ["2504.00001", "2504.00002"]


async def test_a_waiter_cut_short_leaves_the_preparation_to_the_others(db, papers):
    """The push waits for the freshly prepared announcement; cut short by a stopping bot, it must not
    cancel that preparation under a command waiting for it too, which would never be answered."""
    await papers.store_announcement(
        "cs.CL", DAY, [(paper("2504.00001", "cs.CL", "Parsing"), AnnounceType.NEW)]
    )
    preparing, go_on, push_waits = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def ingested() -> list[str]:
        preparing.set()
        await go_on.wait()
        return list(CATEGORIES)

    generation = papers.generation

    async def seen_generation() -> tuple[int, int]:
        answer = await generation()
        if preparing.is_set():  # the second asker, the push: it awaits the preparation next
            push_waits.set()
        return answer

    papers.generation = seen_generation
    store = Curation(papers, FollowRepository(db), FeedbackRepository(db), ingested, lambda: NOW)
    try:
        command = asyncio.create_task(store.day(DAY))
        await preparing.wait()
        push = asyncio.create_task(store.day(DAY, wait=True))
        await push_waits.wait()
        push.cancel()
        go_on.set()
        day = await command
        assert list(day.outlines) == ["2504.00001"]
        with pytest.raises(asyncio.CancelledError):
            await push
    finally:
        await store.close()


async def test_a_poll_that_finds_what_is_stored_keeps_the_digest_cached(papers, curation):
    first = await curation.digest(CATEGORIES, DAY)
    generation = await papers.generation()
    await papers.store_announcement(
        "cs.CL", DAY, [(paper("2504.00001", "cs.CL", "Parsing"), AnnounceType.NEW)]
    )
    assert await papers.generation() == generation
    assert await curation.digest(CATEGORIES, DAY) is first


async def test_a_write_by_another_process_is_seen(db, curation, tmp_path: Path):
    first = await curation.digest(CATEGORIES, DAY)
    async with open_database(tmp_path / "test.sqlite3") as other:
        await PaperRepository(other).store_announcement(
            "cs.CV", DAY, [(paper("2504.00002", "cs.CV", "Segmentation"), AnnounceType.NEW)]
        )
    later = await curation.digest(CATEGORIES, DAY)
    assert later is not first
    assert [entry.paper.arxiv_id for entry in later.entries] == ["2504.00001", "2504.00002"]


async def test_writes_to_anything_but_papers_keep_the_digest_cached(db, curation, tmp_path: Path):
    first = await curation.digest(CATEGORIES, DAY)
    async with open_database(tmp_path / "test.sqlite3") as other:  # as the push's own connection does
        await ChatRepository(other).register(1, "private", None, None, NOW)
        await DeliveryLedger(other).plan(1, DAY, [PlannedPart("a digest")], NOW)
        await GeneratedTextRepository(other).record("2504.00001", "en", "model", NOW, generated=SUMMARY)
    assert await curation.digest(CATEGORIES, DAY) is first


async def test_chats_without_personal_signals_share_one_ranking_and_a_follow_gets_its_own(db, curation):
    chats, follows = ChatRepository(db), FollowRepository(db)
    for chat_id in (1, 2, 3):
        await chats.register(chat_id, "private", None, None, NOW)
    await follows.add(3, [("author", "Lovelace", "lovelace")], NOW, limit=50)
    digest = await curation.digest(CATEGORIES, DAY)
    one, two = await curation.personalize(1, digest), await curation.personalize(2, digest)
    assert one is two
    followed = await curation.personalize(3, digest)
    assert followed is not one
    assert str(followed.entries[0].reason) == "★ A Lovelace"


LOADS_SCIKIT_LEARN = """
import asyncio, sys, threading
from datetime import date

from bot.core.follows import paper_text
from bot.curation import Curation
from bot.curation.store import Day
from storage.models import Author, Paper

importers = []


class Watch:
    def find_spec(self, name, path, target=None):
        if name == "sklearn":
            importers.append(threading.get_ident())


sys.meta_path.insert(0, Watch())
words = ["parsing trees", "speech audio", "robot grasping", "graph molecules"]
papers = [Paper(f"2504.0000{n}", 1, words[n], words[n], (Author("A B"),), ("cs.CL",)) for n in range(4)]
texts = {paper.arxiv_id: paper_text(paper) for paper in papers}
day = Day(date(2025, 4, 8), (0, 0), {p.arxiv_id: p for p in papers}, frozenset(), indexed=True, texts=texts)


async def fit() -> None:
    await Curation(None, None, None, None, None).space(day, wait=True)
    print(len(importers), threading.get_ident() in importers)


asyncio.run(fit())
"""


def test_scikit_learn_loads_outside_the_event_loop():
    """Loading scikit-learn for a day's first model takes seconds: on the event loop, every reply
    waited for it (a fresh interpreter, so that nothing loaded it before)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADS_SCIKIT_LEARN],
        cwd=REPO,
        env=cli_env({}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"], "scikit-learn was loaded once, not by the event loop"


async def test_the_enrichment_priority_is_worked_out_off_the_event_loop(db, papers, curation, monkeypatch):
    """Hundreds of digests, one per choice of categories among 100,000 chats, held the loop a second."""
    threads = []
    build = reading.build_digest

    def recording_build(*arguments):
        threads.append(threading.current_thread())
        return build(*arguments)

    monkeypatch.setattr(reading, "build_digest", recording_build)
    await ChatRepository(db).register(1, "private", None, None, NOW)
    await ChatRepository(db).register(2, "private", None, None, NOW)
    await SubscriptionRepository(db).add(1, ["cs.CL"], NOW)
    await SubscriptionRepository(db).add(2, ["cs.CL", "cs.CV"], NOW)
    priority = await reading.enrichment_priority_of(papers, SubscriptionRepository(db), list(CATEGORIES), DAY)
    assert priority.featured == ("2504.00001",)
    assert len(threads) == 2 and threading.main_thread() not in threads
