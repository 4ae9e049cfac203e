"""Does the ranking put what a reader wants in the featured block? Precision@5 per day, against the
mechanical order, on real arXiv metadata (`benchmarks/data/`, source in SOURCES.md).

The corpus is one real announcement of the cs.CL and cs.CV /new pages (new submissions and
cross-lists, 308 papers). Each simulated day is an announcement of `--day-size` papers drawn from it
(seeded), stored through the real repositories in a scratch database; a paper a reader was already
shown in a featured block is left out of that reader's later days, as a real reader never sees it
announced twice. Each reader has a hidden interest (a regular expression over title and abstract,
10 readers, 5-13% of the corpus each) and follows one of its words from the start. Every day the
bot ranks the reader's digest of every category (`Curation.personalize`, exactly as the push does,
waiting for the chat's model); the reader then taps 👍 on the featured papers they want and 👎 on
the others, through the same repository the buttons use.

Precision@5 is the share of the five featured papers the reader wants, averaged over the readers.
Three orders of the same digest are compared: the mechanical order digests had before ranking
(primary submissions first, then more categories, a venue, arXiv order), the bot's ranking with
follows only (a twin chat that never taps), and the bot's ranking learning from the taps. Day 1 has
follows alone; day N has N-1 days of taps behind it.

Run from the repository root: `.venv/bin/python benchmarks/ranking.py [--days N --day-size N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
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
SEED = 20250408


@dataclass(frozen=True)
class Reader:
    name: str
    interest: str  # a regular expression over title and abstract: the papers this reader wants
    follows: str  # what the reader types after /follow on day one

    def wants(self, paper: Paper) -> bool:
        return re.search(self.interest, f"{paper.title} {paper.abstract}", re.IGNORECASE) is not None


READERS = (
    Reader(
        "medical imaging",
        r"\b(?:medical|clinical|patient|diagnos\w*|disease|health\w*|MRI|CT|patholog\w*|tumou?r|lesion\w*"
        r"|radiolog\w*)\b",
        "medical",
    ),
    Reader(
        "retrieval and RAG", r"\b(?:retrieval|retriever|RAG|search engine|recommend\w*|re-?ranking)\b", "RAG"
    ),
    Reader("3D and scenes", r"\b(?:3D|scene|point cloud|depth|SLAM|Gaussian splatting|LiDAR|NeRF)\b", "3D"),
    Reader("reasoning in LLMs", r"\b(?:reasoning|chain-of-thought|CoT|math\w*)\b", "reasoning"),
    Reader("diffusion models", r"\b(?:diffusion|denois\w*)\b", "diffusion"),
    Reader("agents", r"\b(?:agents?|agentic|multi-agent|tool use)\b", "agents"),
    Reader(
        "multilingual",
        r"\b(?:multilingual|cross-lingual|languages|translation|low-resource)\b",
        "multilingual",
    ),
    Reader("video", r"\b(?:video\w*|temporal|motion)\b", "video"),
    Reader("safety", r"\b(?:safety|jailbreak\w*|adversarial|attack\w*|robustness|harmful)\b", "jailbreak"),
    Reader("segmentation", r"\b(?:segment\w*|mask\w*)\b", "segmentation"),
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


@dataclass
class DayResult:
    mechanical: float
    follows_only: float
    learning: float
    ideal: float  # the best any order could do: wanted papers left in the reader's digest, up to 5


async def store_days(papers: PaperRepository, corpus: list[Paper], dates: list[date], size: int) -> list[str]:
    """Store each day's announcement, `size` papers drawn from the corpus, under every category it
    lists them in; the categories, most papers first."""
    pages = [name for name, _ in Counter(paper.primary_category for paper in corpus).most_common()]
    draw = random.Random(SEED)
    for day in dates:
        todays = draw.sample(corpus, min(size, len(corpus)))
        for name in pages:
            entries = [
                (paper, AnnounceType.NEW if paper.primary_category == name else AnnounceType.CROSS)
                for paper in todays
                if name in paper.categories
            ]
            if entries:
                await papers.store_announcement(name, day, entries)
                await papers.store_metadata([paper for paper, _ in entries])
    return pages


async def simulate(
    corpus: list[Paper], days: int, size: int
) -> tuple[list[str], dict[str, list[DayResult]], list[int]]:
    """Per reader, per day: precision@5 of the three orders; and the digest size of each day."""
    dates = announcement_days(days)
    results: dict[str, list[DayResult]] = {reader.name: [] for reader in READERS}
    sizes = []
    with tempfile.TemporaryDirectory() as folder:
        db = await database.connect(Path(folder) / "ranking.sqlite3")
        try:
            clock = _Clock(datetime.combine(dates[0], datetime.min.time(), UTC))
            papers = PaperRepository(db, clock=clock)
            pages = await store_days(papers, corpus, dates, size)
            follows, feedback, chats = FollowRepository(db), FeedbackRepository(db), ChatRepository(db)

            async def ingested() -> list[str]:
                return pages

            curation = Curation(papers, follows, feedback, ingested, clock)
            learner = {reader.name: index for index, reader in enumerate(READERS, start=1)}
            twin = {reader.name: 1000 + index for index, reader in enumerate(READERS, start=1)}
            for reader in READERS:
                wanted = [(item.kind.value, item.text, item.key) for item in parse_follows(reader.follows)]
                for chat_id in (learner[reader.name], twin[reader.name]):
                    await chats.register(chat_id, "private", None, None, clock())
                    await follows.add(chat_id, wanted, clock(), limit=50)
            seen: dict[str, set[str]] = {reader.name: set() for reader in READERS}
            for day in dates:
                clock.now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1)
                announced = await curation.digest(pages, day)
                full = await papers.papers(entry.paper.arxiv_id for entry in announced.entries)
                sizes.append(len(announced.entries))
                for reader in READERS:
                    fresh = tuple(e for e in announced.entries if e.paper.arxiv_id not in seen[reader.name])
                    digest = dataclasses.replace(announced, entries=fresh)
                    learning = await curation.personalize(learner[reader.name], digest, wait=True)
                    follows_only = await curation.personalize(twin[reader.name], digest, wait=True)
                    featured = [full[entry.paper.arxiv_id] for entry in learning.entries[:FEATURED]]
                    results[reader.name].append(
                        DayResult(
                            mechanical=precision([full[e.paper.arxiv_id] for e in fresh[:FEATURED]], reader),
                            follows_only=precision(
                                [full[e.paper.arxiv_id] for e in follows_only.entries[:FEATURED]], reader
                            ),
                            learning=precision(featured, reader),
                            ideal=min(sum(reader.wants(full[e.paper.arxiv_id]) for e in fresh), FEATURED)
                            / FEATURED,
                        )
                    )
                    shown = [paper.arxiv_id for paper in featured]
                    seen[reader.name].update(shown)
                    for paper in featured:
                        action = LIKE if reader.wants(paper) else DISLIKE
                        await feedback.tap(learner[reader.name], 1, paper.arxiv_id, action, shown, clock())
                        clock.now += timedelta(seconds=1)
            await curation.close()
        finally:
            await db.close()
    return pages, results, sizes


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def report(corpus: list[Paper], days: int, results: dict[str, list[DayResult]], sizes: list[int]) -> None:
    print(
        f"corpus: {len(corpus)} papers of one real announcement (cs.CL and cs.CV /new pages, "
        f"new and cross-listed); {days} days of {_span(sizes)} papers drawn from it; "
        f"{len(READERS)} readers; featured block of {FEATURED}"
    )
    print()
    print("readers: hidden interest / what each follows from day one")
    for reader in READERS:
        relevant = sum(reader.wants(paper) for paper in corpus)
        print(f"  {reader.name:<20} {relevant:>3} of {len(corpus)} papers wanted   /follow {reader.follows}")
    print()
    print(
        f"{'day':<4} {'taps so far':<12} {'mechanical':>10} {'follows only':>13} {'learning':>9}"
        f" {'ideal':>6} {'learning / mechanical':>22}"
    )
    print(f"{'':<4} {'':<12} {'P@5':>10} {'P@5':>13} {'P@5':>9} {'P@5':>6}")
    ratios = []
    for day in range(days):
        mechanical = statistics.fmean(results[reader.name][day].mechanical for reader in READERS)
        follows_only = statistics.fmean(results[reader.name][day].follows_only for reader in READERS)
        learning = statistics.fmean(results[reader.name][day].learning for reader in READERS)
        ideal = statistics.fmean(results[reader.name][day].ideal for reader in READERS)
        ratio = learning / mechanical if mechanical else float("inf")
        ratios.append(ratio)
        note = "none" if day == 0 else f"{day} day{'s' if day > 1 else ''}"
        print(
            f"{day + 1:<4} {note:<12} {mechanical:>10.2f} {follows_only:>13.2f} {learning:>9.2f}"
            f" {ideal:>6.2f} {ratio:>21.1f}x"
        )
    print()
    print(f"day 1 (follows alone): {ratios[0]:.1f}x the mechanical order's precision@5")
    verdict = "met" if ratios[-1] >= TARGET else "missed"
    final = f"{ratios[-1]:.1f}x on day {days}"
    print(f"goal >= {TARGET:.0f}x after {days - 1} days of feedback: {verdict} ({final})")


def _span(sizes: list[int]) -> str:
    return str(sizes[0]) if min(sizes) == max(sizes) else f"{min(sizes)}-{max(sizes)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=6, help="announcements simulated")
    parser.add_argument("--day-size", type=int, default=200, help="papers drawn into each announcement")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSON lines of arXiv metadata")
    arguments = parser.parse_args()
    corpus = load_corpus(arguments.corpus)
    _, results, sizes = asyncio.run(simulate(corpus, arguments.days, arguments.day_size))
    report(corpus, arguments.days, results, sizes)


if __name__ == "__main__":
    main()
