"""Fill a database with a year of arXiv papers and many chats, fast, for the benchmarks.

The schema is the real one (`storage.db.connect` applies the migrations); rows go in with plain
`executemany` inside one transaction, with journaling and syncing off for the load only, which is
safe for a scratch file and far faster than the repositories' per-announcement transactions.
Generation is seeded, so the same arguments always give the same database; `cached_database`
keeps the result under the temp folder, keyed by the migrations, this file and the arguments.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from storage import db as database

# One announcement day of the followed categories: (new submissions, cross-lists).
DAILY_LISTINGS: dict[str, tuple[int, int]] = {
    "cs.LG": (140, 160),
    "cs.CV": (110, 40),
    "cs.CL": (90, 30),
    "cs.AI": (60, 90),
    "cs.IR": (25, 15),
    "cs.RO": (45, 15),
    "eess.AS": (15, 15),
    "cs.SD": (10, 15),
    "stat.ML": (15, 45),
}
PAPERS_PER_DAY = 800  # the rest of the new submissions belong to categories the bot does not follow
LAST_DAY = date(2025, 8, 29)
SEED = 20250829
PUSH_PLANNED_AFTER = timedelta(minutes=40)  # affiliations had their time

# Subscription popularity: a chat's 1-4 categories are drawn with these weights.
POPULARITY: dict[str, int] = {
    "cs.LG": 30,
    "cs.CV": 20,
    "cs.CL": 18,
    "cs.AI": 12,
    "cs.IR": 6,
    "cs.RO": 6,
    "eess.AS": 3,
    "cs.SD": 2,
    "stat.ML": 3,
}
_OUTSIDE = ("cs.CR", "cs.HC", "math.OC", "eess.IV", "eess.SP", "cs.NE", "stat.ME", "cs.SE", "q-bio.QM")
_AUTHOR_COUNT_WEIGHTS = (6, 12, 16, 16, 14, 10, 7, 5, 4, 3, 2, 2, 1, 1, 1)  # 1..15 authors

# Space-separated pools, split once by _TextMaker.
_WORDS = (
    "learning model models neural network networks deep graph representation representations training "
    "data dataset datasets large language vision transformer transformers attention diffusion generative "
    "reinforcement policy agent agents reward robust robustness adversarial efficient scalable sparse "
    "optimization gradient stochastic convergence bound bounds theoretical empirical benchmark benchmarks "
    "performance accuracy state-of-the-art method methods approach framework task tasks downstream "
    "retrieval recommendation ranking query queries user users item items embedding embeddings contrastive "
    "self-supervised supervised unsupervised semi-supervised federated privacy fairness bias "
    "interpretability explanation causal inference uncertainty calibration Bayesian probabilistic latent "
    "variational autoencoder image images video segmentation detection tracking depth 3D point cloud "
    "scene speech audio speaker recognition synthesis text translation summarization reasoning "
    "instruction tuning alignment preference feedback human evaluation zero-shot few-shot in-context "
    "prompt prompting multimodal cross-modal robot robotic manipulation navigation control planning "
    "trajectory simulation real-world hardware memory compute inference latency throughput pruning "
    "quantization distillation compression architecture layer layers kernel temporal spatial sequence "
    "sequences time series forecasting anomaly kernel regression classification clustering metric"
)
_ACRONYMS = (
    "GraphSAGE LLaMA-Adapter ItemSage DiffuSeq RoboFlow SpeechLM FedProx ViTDet MetaRank PolicyGen "
    "AudioMAE SegFormer TabNet CoRAL DeepFuse HyperNeRF TimeGPT VoxPoser ReAct CLIPSeg"
)
_FIRST_NAMES = (
    "Wei Jing Xiaoming Yuxuan Hao Lei Mei Chen Priya Rahul Ananya Arjun Vikram Sneha Maria Anna Laura "
    "Sofia Elena Giulia Lucas Mateo Thomas Pierre Jean-Pierre Hans Jürgen Lars Erik Olga Dmitri Ivan "
    "Yuki Hiroshi Haruto Min-jun Ji-woo Seo-yeon Ahmed Fatima Omar Layla David Sarah Michael Emily "
    "James Olivia Daniel Grace Samuel Chloé François Zoë Nguyen Thanh Linh Kwame Amara Tiago Rafael"
)
_LAST_NAMES = (
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin He Gao Luo Sharma Patel "
    "Gupta Singh Kumar Reddy Iyer Rossi Russo Bianchi Müller Schmidt Schneider Fischer Weber García "
    "Martínez López González Rodríguez Dubois Lefèvre Moreau Kowalski Nowak Ivanov Petrov Smirnov "
    "Tanaka Suzuki Takahashi Watanabe Kim Lee Park Choi Jung Nguyen Tran Pham Smith Johnson Williams "
    "Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Jackson Martin Baltescu Leskovec"
)
_INSTITUTIONS = (
    "Tsinghua University",
    "Peking University",
    "Shanghai Jiao Tong University",
    "Zhejiang University",
    "Fudan University",
    "University of Science and Technology of China",
    "Chinese Academy of Sciences",
    "The Chinese University of Hong Kong",
    "National University of Singapore",
    "Nanyang Technological University",
    "KAIST",
    "Seoul National University",
    "The University of Tokyo",
    "Indian Institute of Science",
    "IIT Bombay",
    "Massachusetts Institute of Technology",
    "Stanford University",
    "Carnegie Mellon University",
    "University of California, Berkeley",
    "University of Washington",
    "Princeton University",
    "Cornell University",
    "New York University",
    "University of Toronto",
    "Mila - Quebec AI Institute",
    "University of Oxford",
    "University of Cambridge",
    "Imperial College London",
    "ETH Zurich",
    "EPFL",
    "Max Planck Institute for Intelligent Systems",
    "Technical University of Munich",
    "Aalto University",
    "KTH Royal Institute of Technology",
    "University of Amsterdam",
    "Inria",
    "Sorbonne Université",
    "Google DeepMind",
    "Google Research",
    "Microsoft Research",
    "Microsoft Research Asia",
    "Meta AI",
    "FAIR, Meta",
    "Amazon",
    "Apple",
    "NVIDIA",
    "Alibaba Group",
    "Tencent AI Lab",
    "ByteDance",
    "Baidu Research",
    "Huawei Noah's Ark Lab",
    "Samsung AI Center",
    "Pinterest",
    "Netflix",
    "Spotify",
    "IBM Research",
    "OpenAI",
    "Anthropic",
    "Allen Institute for AI",
)
_COMMENTS = (
    "12 pages, 5 figures",
    "8 pages, 3 figures, 2 tables",
    "Preprint. Under review",
    "Submitted to NeurIPS 2025",
    "Accepted at ICLR 2025",
    "Accepted to CVPR 2025 (Highlight)",
    "To appear in Proceedings of ACL 2025",
    "Camera-ready version for KDD 2025; code: https://github.com/example/repo",
    "Accepted by Interspeech 2025",
    "25 pages, 11 figures. Code available at https://github.com/example/code",
    "Oral presentation at ICRA 2025",
    "Extended version of the SIGIR '25 short paper",
)
_JOURNALS = (
    "IEEE Transactions on Pattern Analysis and Machine Intelligence, 2025",
    "Journal of Machine Learning Research 26 (2025) 1-42",
    "Transactions on Machine Learning Research (TMLR), 2025",
    "ACM Transactions on Information Systems, 2025",
)
_LANGUAGES = ("en", "en", "en", "zh-hans", "ru", "es", "de", "ja", "pt-br", None)
_TIMEZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/Moscow")


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What `seed` wrote, and how long it took."""

    papers: int
    authors: int
    listings: int
    announcements: int
    chats: int
    subscriptions: int
    first_day: date
    last_day: date  # the latest announcement of every followed category
    seconds: float

    def to_json(self) -> str:
        values = asdict(self)
        values["first_day"] = self.first_day.isoformat()
        values["last_day"] = self.last_day.isoformat()
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str) -> SeedReport:
        values = json.loads(text)
        values["first_day"] = date.fromisoformat(values["first_day"])
        values["last_day"] = date.fromisoformat(values["last_day"])
        return cls(**values)


def announcement_days(count: int, last_day: date = LAST_DAY) -> list[date]:
    """The `count` weekdays (arXiv's announcement days) ending at `last_day`, oldest first."""
    days: list[date] = []
    day = last_day
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


async def create_schema(path: Path) -> None:
    """An empty database with every migration applied, exactly as the bot creates it."""
    connection = await database.connect(path)
    await connection.close()


def seed(
    path: Path,
    *,
    papers: int,
    chats: int,
    last_day: date = LAST_DAY,
    latest_pushed: bool = True,
    rng_seed: int = SEED,
) -> SeedReport:
    """Write `papers` papers (newest day `last_day`) and `chats` chats into a database with the schema.

    Every announcement but the latest was pushed already (a `push_runs` row each, the sent
    deliveries themselves are left out); `latest_pushed` says whether the latest was too, or whether
    the bot's push job has it still to plan.
    """
    rng = random.Random(rng_seed)
    text = _TextMaker(rng)
    started = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -262144")
        connection.execute("BEGIN")
        counts = _write_papers(connection, rng, text, papers, last_day)
        chat_rows, subscription_rows = _write_chats(connection, rng, chats, last_day)
        pushed = counts[0] if latest_pushed else counts[0][:-1]
        connection.executemany(
            "INSERT INTO push_runs (announced, planned_at, chats, messages) VALUES (?, ?, ?, ?)",
            [
                (
                    day.isoformat(),
                    (_ingested(day) + PUSH_PLANNED_AFTER).isoformat(),
                    chats,
                    chats + chats // 3,
                )
                for day in pushed
            ],
        )
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()
    days, paper_rows, author_rows, listing_rows, announcement_rows = counts
    return SeedReport(
        papers=paper_rows,
        authors=author_rows,
        listings=listing_rows,
        announcements=announcement_rows,
        chats=chat_rows,
        subscriptions=subscription_rows,
        first_day=days[0] if days else last_day,
        last_day=last_day,
        seconds=time.perf_counter() - started,
    )


async def cached_database(
    papers: int, chats: int, *, last_day: date = LAST_DAY, latest_pushed: bool = True, fresh: bool = False
) -> tuple[Path, SeedReport, bool]:
    """A seeded database file to copy from, built once per schema and arguments; True if reused.

    Builds of other keys are removed, so the cache holds one database at a time.
    """
    folder = Path(tempfile.gettempdir()) / "paper-digest-bot-bench"
    folder.mkdir(exist_ok=True)
    key = _cache_key(papers, chats, last_day, latest_pushed)
    path, meta = folder / f"{key}.sqlite3", folder / f"{key}.json"
    if not fresh and path.exists() and meta.exists():
        return path, SeedReport.from_json(meta.read_text()), True
    for stale in folder.glob("*.sqlite3*"):
        stale.unlink()
    for stale in folder.glob("*.json"):
        stale.unlink()
    building = folder / f"{key}.building.sqlite3"
    await create_schema(building)
    report = seed(building, papers=papers, chats=chats, last_day=last_day, latest_pushed=latest_pushed)
    building.rename(path)
    meta.write_text(report.to_json())
    return path, report, False


def _ingested(day: date) -> datetime:
    """When the bot stored an announcement: 00:30 US Eastern (summer time), just after the turnover."""
    return datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=4, minutes=30)


def copy_database(source: Path, target: Path) -> None:
    """A private copy for one run, so the cached file stays as it was built."""
    shutil.copyfile(source, target)


def _cache_key(papers: int, chats: int, last_day: date, latest_pushed: bool) -> str:
    digest = hashlib.sha256()
    for version, sql in database.migrations():
        digest.update(f"{version}\n{sql}".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(f"{papers}/{chats}/{last_day.isoformat()}/{latest_pushed}".encode())
    return digest.hexdigest()[:16]


class _TextMaker:
    """Titles, abstracts and people of realistic length, from fixed pools so generation stays fast."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = _WORDS.split()
        self.acronyms = _ACRONYMS.split()
        self.first_names = _FIRST_NAMES.split()
        self.last_names = _LAST_NAMES.split()
        self.sentences = [self._sentence() for _ in range(4000)]
        self.names = [self._name() for _ in range(20_000)]
        self.affiliation_json = {name: json.dumps([name], ensure_ascii=False) for name in _INSTITUTIONS}

    def _sentence(self) -> str:
        words = self.rng.choices(self.words, k=self.rng.randint(12, 32))
        if self.rng.random() < 0.08:
            words.insert(self.rng.randrange(len(words)), "$O(n \\log n)$")
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    def _name(self) -> str:
        first, last = self.rng.choice(self.first_names), self.rng.choice(self.last_names)
        if self.rng.random() < 0.15:
            return f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
        return f"{first} {last}"

    def title(self) -> str:
        words = self.rng.choices(self.words, k=self.rng.randint(6, 14))
        title = " ".join(word if word[0].isupper() else word.capitalize() for word in words)
        roll = self.rng.random()
        if roll < 0.3:
            return f"{self.rng.choice(self.acronyms)}: {title}"
        if roll < 0.33:
            return f"$\\ell_1$-Regularized {title}"
        return title

    def abstract(self) -> str:
        return " ".join(self.rng.choices(self.sentences, k=self.rng.randint(4, 9)))

    def authors(self, arxiv_id: str) -> list[tuple[str, int, str, str]]:
        count = self.rng.choices(range(1, 16), weights=_AUTHOR_COUNT_WEIGHTS)[0]
        homes = self.rng.sample(_INSTITUTIONS, self.rng.randint(1, 3))
        rows = []
        for position in range(count):
            roll = self.rng.random()
            if roll < 0.25:
                affiliations = "[]"
            elif roll < 0.9:
                affiliations = self.affiliation_json[self.rng.choice(homes)]
            else:
                affiliations = json.dumps(self.rng.sample(_INSTITUTIONS, 2), ensure_ascii=False)
            rows.append((arxiv_id, position, self.rng.choice(self.names), affiliations))
        return rows


def _write_papers(
    connection: sqlite3.Connection, rng: random.Random, text: _TextMaker, papers: int, last_day: date
) -> tuple[list[date], int, int, int, int]:
    days = announcement_days(math.ceil(papers / PAPERS_PER_DAY), last_day) if papers else []
    next_number: dict[str, int] = {}
    written = author_rows = listing_rows = announcement_rows = 0
    for index, day in enumerate(days):
        keep = papers - PAPERS_PER_DAY * (len(days) - 1) if index == 0 else PAPERS_PER_DAY
        day_papers = _day_papers(rng, day, next_number)[:keep]
        stamp = _ingested(day)
        seen, fetched = stamp.isoformat(), (stamp + timedelta(minutes=20)).isoformat()
        paper_rows, authors, listings = [], [], []
        for arxiv_id, primary, listed in day_papers:
            extra = [rng.choice(_OUTSIDE)] if rng.random() < 0.3 else []
            categories = list(dict.fromkeys([primary, *listed, *extra]))
            roll = rng.random()
            paper_rows.append(
                (
                    arxiv_id,
                    1 if rng.random() < 0.9 else 2,
                    text.title(),
                    text.abstract(),
                    primary,
                    json.dumps(categories),
                    rng.choice(_COMMENTS) if roll < 0.55 else None,
                    rng.choice(_JOURNALS) if roll > 0.96 else None,
                    f"10.1109/TPAMI.2025.{arxiv_id.replace('.', '')}" if 0.93 < roll <= 0.96 else None,
                    seen,
                    fetched,
                    fetched,
                )
            )
            authors.extend(text.authors(arxiv_id))
            listings.extend(
                (name, day.isoformat(), arxiv_id, "new" if name == primary else "cross") for name in listed
            )
        listings.sort()
        per_category: dict[str, int] = {}
        for name, *_ in listings:
            per_category[name] = per_category.get(name, 0) + 1
        connection.executemany(
            "INSERT INTO papers (arxiv_id, version, title, abstract, primary_category, categories, comment,"
            " journal_ref, doi, metadata_complete, metadata_misses, first_seen, metadata_fetched_at,"
            " affiliations_fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?)",
            paper_rows,
        )
        connection.executemany(
            "INSERT INTO authors (arxiv_id, position, name, affiliations) VALUES (?, ?, ?, ?)", authors
        )
        connection.executemany(
            "INSERT INTO listings (category, announced, arxiv_id, announce_type) VALUES (?, ?, ?, ?)",
            listings,
        )
        connection.executemany(
            "INSERT INTO announcements (category, announced, entries, ingested_at) VALUES (?, ?, ?, ?)",
            [
                (name, day.isoformat(), count + count // 5, seen)  # replacements are counted too
                for name, count in sorted(per_category.items())
            ],
        )
        written += len(paper_rows)
        author_rows += len(authors)
        listing_rows += len(listings)
        announcement_rows += len(per_category)
    return days, written, author_rows, listing_rows, announcement_rows


def _day_papers(
    rng: random.Random, day: date, next_number: dict[str, int]
) -> list[tuple[str, str, list[str]]]:
    """One day's papers as (arxiv id, primary category, followed categories listing it), in id order.

    Each followed category gets exactly its daily new and cross counts; papers submitted elsewhere
    fill the day up and are cross-listed into the followed categories.
    """
    primaries = [name for name, (new, _) in DAILY_LISTINGS.items() for _ in range(new)]
    primaries += [rng.choice(_OUTSIDE) for _ in range(max(0, PAPERS_PER_DAY - len(primaries)))]
    rng.shuffle(primaries)
    listed: list[list[str]] = [[name] if name in DAILY_LISTINGS else [] for name in primaries]
    crosses = [name for name, (_, cross) in DAILY_LISTINGS.items() for _ in range(cross)]
    rng.shuffle(crosses)
    unlisted = [index for index, names in enumerate(listed) if not names]
    for name in crosses:
        index = unlisted.pop() if unlisted else rng.randrange(len(listed))
        for _ in range(10):
            if name not in listed[index]:
                listed[index].append(name)
                break
            index = rng.randrange(len(listed))
    prefix = f"{day:%y%m}"
    first = next_number.get(prefix, 1)
    next_number[prefix] = first + len(primaries)
    return [
        (f"{prefix}.{first + offset:05d}", primary, names)
        for offset, (primary, names) in enumerate(zip(primaries, listed, strict=True))
        if names
    ]


def _write_chats(
    connection: sqlite3.Connection, rng: random.Random, chats: int, last_day: date
) -> tuple[int, int]:
    groups = chats // 5
    ids = [-(10**12) - number for number in rng.sample(range(10**9, 9 * 10**9), groups)]
    ids += rng.sample(range(10**8, 8 * 10**9), chats - groups)
    ids.sort()
    names, weights = list(POPULARITY), list(POPULARITY.values())
    start = datetime.combine(last_day, datetime.min.time(), UTC) - timedelta(days=365)
    chat_rows, subscription_rows = [], []
    for chat_id in ids:
        created = (start + timedelta(seconds=rng.randrange(365 * 86_400))).isoformat()
        customised = rng.random() < 0.1
        chat_rows.append(
            (
                chat_id,
                "supergroup" if chat_id < 0 else "private",
                f"Reading group {-chat_id % 10_000}" if chat_id < 0 else None,
                rng.choice(_LANGUAGES),
                created,
                0 if rng.random() < 0.05 else 1,
                f"{rng.randrange(6, 23):02d}:00" if customised else None,
                rng.choice(_TIMEZONES) if customised else None,
                rng.choice((5, 10, 20, 0)) if customised else None,
            )
        )
        wanted = rng.choices((1, 2, 3, 4), weights=(35, 30, 20, 15))[0]
        chosen: set[str] = set()
        while len(chosen) < wanted:
            chosen.add(rng.choices(names, weights=weights)[0])
        subscription_rows.extend((chat_id, name, created) for name in sorted(chosen))
    connection.executemany(
        "INSERT INTO chats (id, type, title, language, created, active, delivery_time, timezone, digest_size)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chat_rows,
    )
    connection.executemany(
        "INSERT INTO subscriptions (chat_id, category, created) VALUES (?, ?, ?)", subscription_rows
    )
    return len(chat_rows), len(subscription_rows)
