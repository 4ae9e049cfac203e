"""Does the ranking put what a reader wants in the featured block? Precision@5 per day, against the
mechanical order, on real arXiv metadata (`benchmarks/data/`, source in SOURCES.md).

The corpus is one real announcement day of several categories' /new pages; it is dealt out
round-robin into DAYS announcements, stored through the real repositories in a scratch database.
Each simulated reader has a hidden interest (words a paper of theirs has in its title or abstract)
and follows one of those words from the start. Every day the bot ranks the reader's digest
(`Curation.personalize`, exactly as the push does); the reader then taps 👍 on the featured papers
they want and 👎 on the others, through the same repository the buttons use. Precision@5 is the share
of the five featured papers the reader wants; the mechanical order is arXiv's primary-first order
that digests had before ranking. Day 1 shows follows alone; day N has N-1 days of taps behind it.

Run from the repository root: `.venv/bin/python benchmarks/ranking.py [--days N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.digest import build_digest  # noqa: E402
from bot.core.follows import parse_follows  # noqa: E402
from bot.curation import Curation  # noqa: E402
from storage import db as database  # noqa: E402
from storage.chats import ChatRepository  # noqa: E402
from storage.feedback import DISLIKE, LIKE, FeedbackRepository  # noqa: E402
from storage.follows import FollowRepository  # noqa: E402
from storage.models import AnnounceType, Author, Paper  # noqa: E402
from storage.papers import PaperRepository  # noqa: E402

CORPUS = ROOT / "benchmarks" / "data" / "arxiv-2025-04-08.jsonl"
FEATURED = 5
FIRST_DAY = date(2025, 4, 8)
TARGET = 3.0


@dataclass(frozen=True)
class Reader:
    name: str
    interest: str  # a regular expression over title and abstract: the papers this reader wants
    follows: str  # what the reader types after /follow on day one

    def wants(self, paper: Paper) -> bool:
        return re.search(self.interest, f"{paper.title} {paper.abstract}", re.IGNORECASE) is not None


READERS = (
    Reader("medical imaging", r"\b(?:medical|clinical|patient|diagnos\w*|disease|health\w*)\b", "clinical"),
    Reader("retrieval and RAG", r"\b(?:retrieval|RAG|search engine|recommend\w*)\b", "RAG"),
    Reader("3D and scenes", r"\b(?:3D|scene|point cloud|depth|SLAM|Gaussian splatting)\b", "3D"),
    Reader("reasoning in LLMs", r"\b(?:reasoning|chain-of-thought|math\w*)\b", "reasoning"),
    Reader("diffusion models", r"\b(?:diffusion|denois\w*|generative)\b", "diffusion"),
    Reader("agents", r"\b(?:agents?|agentic|multi-agent|tool use)\b", "agents"),
)


def load_corpus(path: Path) -> list[Paper]:
    papers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        categories = tuple(
            name for name in item["categories"] if re.fullmatch(r"[a-z-]+(?:\.[A-Za-z-]+)?", name)
        )
        papers.append(
            Paper(
                arxiv_id=item["id"],
                version=1,
                title=" ".join(item["title"].split()),
                abstract=" ".join(item["summary"].split()),
                authors=tuple(Author(name) for name in item["authors"]),
                categories=categories,
                primary_category=categories[0],
                comment=item.get("comment"),
            )
        )
    return papers


def announcement_days(count: int) -> list[date]:
    days, day = [], FIRST_DAY
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def precision(papers: list[Paper], reader: Reader) -> float:
    return sum(reader.wants(paper) for paper in papers) / FEATURED


async def simulate(corpus: list[Paper], days: int) -> tuple[list[str], dict[str, list[tuple[float, float]]]]:
    """Per reader, per day: (mechanical precision@5, ranked precision@5)."""
    pages = [name for name, _ in Counter(paper.primary_category for paper in corpus).most_common()]
    dates = announcement_days(days)
    results: dict[str, list[tuple[float, float]]] = {reader.name: [] for reader in READERS}
    with tempfile.TemporaryDirectory() as folder:
        db = await database.connect(Path(folder) / "ranking.sqlite3")
        try:
            clock = _Clock(datetime.combine(dates[0], datetime.min.time(), UTC))
            papers = PaperRepository(db, clock=clock)
            for index, day in enumerate(dates):
                todays = corpus[index::days]
                for name in pages:
                    entries = [
                        (paper, AnnounceType.NEW if paper.primary_category == name else AnnounceType.CROSS)
                        for paper in todays
                        if name in paper.categories
                    ]
                    if entries:
                        await papers.store_announcement(name, day, entries)
                        await papers.store_metadata([paper for paper, _ in entries])
            follows, feedback, chats = FollowRepository(db), FeedbackRepository(db), ChatRepository(db)
            curation = Curation(papers, follows, feedback, pages, clock)
            for chat_id, reader in enumerate(READERS, start=1):
                await chats.register(chat_id, "private", None, None, clock())
                wanted = [(item.kind.value, item.text, item.key) for item in parse_follows(reader.follows)]
                await follows.add(chat_id, wanted, clock(), limit=50)
            for day in dates:
                clock.now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1)
                mechanical = build_digest(await papers.outlines(pages, day), pages, day)
                full = await papers.papers(entry.paper.arxiv_id for entry in mechanical.entries)
                for chat_id, reader in enumerate(READERS, start=1):
                    ranked = await curation.personalize(chat_id, mechanical, wait=True)
                    featured = [
                        full.get(entry.paper.arxiv_id) or entry.paper for entry in ranked.entries[:FEATURED]
                    ]
                    baseline = [full[entry.paper.arxiv_id] for entry in mechanical.entries[:FEATURED]]
                    results[reader.name].append((precision(baseline, reader), precision(featured, reader)))
                    shown = [paper.arxiv_id for paper in featured]
                    for paper in featured:
                        action = LIKE if reader.wants(paper) else DISLIKE
                        await feedback.tap(chat_id, chat_id, paper.arxiv_id, action, shown, clock())
                        clock.now += timedelta(seconds=1)
            await curation.close()
        finally:
            await db.close()
    return pages, results


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def report(
    corpus: list[Paper], pages: list[str], days: int, results: dict[str, list[tuple[float, float]]]
) -> None:
    per_day = len(corpus) // days
    print(
        f"corpus: {len(corpus)} papers of one real announcement ({', '.join(pages)} /new pages), "
        f"dealt into {days} days of about {per_day} papers; {len(READERS)} readers, "
        f"featured block of {FEATURED}"
    )
    print()
    print("readers: hidden interest / what each follows from day one")
    for reader in READERS:
        relevant = sum(reader.wants(paper) for paper in corpus)
        print(f"  {reader.name:<20} {relevant:>3} of {len(corpus)} papers wanted   /follow {reader.follows}")
    print()
    print(f"{'day':<5} {'taps so far':<12} {'mechanical P@5':>15} {'ranked P@5':>11} {'ratio':>7}")
    final = first = 0.0
    for day in range(days):
        mechanical = statistics.fmean(results[reader.name][day][0] for reader in READERS)
        ranked = statistics.fmean(results[reader.name][day][1] for reader in READERS)
        ratio = ranked / mechanical if mechanical else float("inf")
        note = "follows only" if day == 0 else f"{day} day{'s' if day > 1 else ''}"
        print(f"{day + 1:<5} {note:<12} {mechanical:>15.2f} {ranked:>11.2f} {ratio:>6.1f}x")
        if day == 0:
            first = ratio
        final = ratio
    print()
    print(f"day 1 (follows alone): {first:.1f}x the mechanical order's precision@5")
    verdict = "met" if final >= TARGET else "missed"
    print(f"goal >= {TARGET:.0f}x after {days - 1} days of feedback: {verdict} ({final:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=6, help="announcements the corpus is dealt into")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSON lines of arXiv metadata")
    arguments = parser.parse_args()
    corpus = load_corpus(arguments.corpus)
    pages, results = asyncio.run(simulate(corpus, arguments.days))
    report(corpus, pages, arguments.days, results)


if __name__ == "__main__":
    main()
