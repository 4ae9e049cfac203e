"""Papers, their listings in category announcements, and the announcements themselves.

A paper is stored once however many categories list it. Ingest writes what the feed says first,
then completes it from the export API; `ids_missing_metadata` is the queue of papers still waiting,
so an API outage only delays completion. An empty feed never reaches this module: the latest
announcement of a category is always a day arXiv actually announced something.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from storage.db import Connection, transaction
from storage.dialect import dialect_of
from storage.generation import Generation
from storage.models import AffiliationSource, AnnounceType, Author, Listing, Paper

_CHUNK = 500  # ids per `IN (...)`, far below SQLite's limit on bound variables
_NEWS = (AnnounceType.NEW.value, AnnounceType.CROSS.value)
_PAPER_COLUMNS = "arxiv_id, version, title, abstract, primary_category, categories, comment, journal_ref, doi"


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What storing one announcement changed; all zero and False when it was stored before."""

    papers_added: int
    papers_updated: int  # stored before, now announced at a newer version
    listings_added: int
    replacements_skipped: int
    announcement_added: bool

    @property
    def changed(self) -> bool:
        return bool(
            self.papers_added or self.papers_updated or self.listings_added or self.announcement_added
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PaperRepository:
    def __init__(self, db: Connection, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._db = db
        self._dialect = dialect_of(db)
        self._clock = clock
        self._generation = Generation(db, "paper_changes")

    async def generation(self) -> tuple[int, int]:
        """Changes when papers, their authors or listings changed (triggers move paper_changes).
        Caches of digests compare it."""
        return await self._generation.current()

    async def store_announcement(
        self, category: str, announced: date, entries: Sequence[tuple[Paper, AnnounceType]]
    ) -> StoreResult:
        """Store one category's announcement as the feed gave it, in one transaction.

        New submissions and cross-lists become papers and listings; replacements are not news and
        are only counted. A stored paper keeps its metadata unless the feed shows a newer version,
        which puts it back in the queue for completion.
        """
        if not entries:
            raise ValueError("an announcement has entries: an empty feed means no announcement")
        news: dict[str, tuple[Paper, AnnounceType]] = {}
        for paper, announce_type in entries:
            if announce_type.is_news:
                news.setdefault(paper.arxiv_id, (paper, announce_type))
        now = self._timestamp()
        async with self._generation.write():
            stored = await self._versions(news)
            added = [paper for paper, _ in news.values() if paper.arxiv_id not in stored]
            newer = [
                paper
                for paper, _ in news.values()
                if paper.arxiv_id in stored and paper.version > stored[paper.arxiv_id]
            ]
            await self._db.executemany(
                f"INSERT INTO papers ({_PAPER_COLUMNS}, metadata_complete, first_seen) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                [(*_paper_values(paper), now) for paper in added],
            )
            await self._db.executemany(
                "UPDATE papers SET version = ?, title = ?, abstract = ?, categories = ?,"
                " metadata_complete = 0, metadata_misses = 0, metadata_fetched_at = NULL,"
                " affiliations_fetched_at = NULL WHERE arxiv_id = ?",
                [
                    (paper.version, paper.title, paper.abstract, _json(paper.categories), paper.arxiv_id)
                    for paper in newer
                ],
            )
            await self._write_authors(added, replace=newer)
            listed = await self._listed(category, announced)
            async with self._db.executemany(  # only new listings: PostgreSQL's triggers count statements
                "INSERT INTO listings (category, announced, arxiv_id, announce_type)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (category, announced.isoformat(), arxiv_id, announce_type.value)
                    for arxiv_id, (_, announce_type) in news.items()
                    if arxiv_id not in listed
                ],
            ) as cursor:
                listings_added = max(cursor.rowcount, 0)
            async with self._db.execute(
                "INSERT INTO announcements (category, announced, entries, ingested_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (category, announced.isoformat(), len(entries), now),
            ) as cursor:
                announcement_added = cursor.rowcount == 1
        return StoreResult(
            papers_added=len(added),
            papers_updated=len(newer),
            listings_added=listings_added,
            replacements_skipped=sum(not announce_type.is_news for _, announce_type in entries),
            announcement_added=announcement_added,
        )

    async def store_metadata(self, papers: Sequence[Paper]) -> None:
        """Store papers as the export API describes them, marking them complete.

        Authors are replaced by the API's list, so affiliations found elsewhere are looked for again.
        """
        if not papers:
            return
        now = self._timestamp()
        async with self._generation.write():
            await self._db.executemany(
                f"INSERT INTO papers ({_PAPER_COLUMNS}, metadata_complete, first_seen, metadata_fetched_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
                "ON CONFLICT (arxiv_id) DO UPDATE SET version = excluded.version, title = excluded.title,"
                " abstract = excluded.abstract, primary_category = excluded.primary_category,"
                " categories = excluded.categories, comment = excluded.comment,"
                " journal_ref = excluded.journal_ref, doi = excluded.doi, metadata_complete = 1,"
                " metadata_fetched_at = excluded.metadata_fetched_at, affiliations_fetched_at = NULL",
                [(*_paper_values(paper), now, now) for paper in papers],
            )
            await self._write_authors([], replace=papers)

    async def record_metadata_misses(self, arxiv_ids: Iterable[str]) -> None:
        """Count an API answer that lacked these papers (the API can lag the announcement)."""
        async with transaction(self._db):
            await self._db.executemany(
                "UPDATE papers SET metadata_misses = metadata_misses + 1"
                " WHERE arxiv_id = ? AND metadata_complete = 0",
                [(arxiv_id,) for arxiv_id in arxiv_ids],
            )

    async def set_author_affiliations(self, arxiv_id: str, authors: Sequence[Author]) -> bool:
        """Store a paper's authors with the affiliations found for them; False for an unknown paper."""
        async with self._generation.write():
            async with self._db.execute(
                "UPDATE papers SET affiliations_fetched_at = ? WHERE arxiv_id = ?",
                (self._timestamp(), arxiv_id),
            ) as cursor:
                if cursor.rowcount == 0:
                    return False
            await self._db.execute("DELETE FROM authors WHERE arxiv_id = ?", (arxiv_id,))
            await self._db.executemany(_INSERT_AUTHOR, _author_rows(arxiv_id, authors))
        return True

    async def record_affiliation_failure(self, arxiv_id: str, give_up_after: int) -> None:
        """Count a failed HTML fetch; after `give_up_after` of them the paper leaves the queue."""
        async with transaction(self._db):
            await self._db.execute(
                "UPDATE papers SET affiliation_attempts = affiliation_attempts + 1,"
                " affiliations_fetched_at = CASE WHEN affiliation_attempts + 1 >= ? THEN ? END"
                " WHERE arxiv_id = ?",
                (give_up_after, self._timestamp(), arxiv_id),
            )

    async def awaiting_affiliations(self, arxiv_ids: Iterable[str], *, complete: bool = False) -> list[str]:
        """Those of `arxiv_ids`, in their order, whose affiliations were not looked for yet; with
        `complete`, only those whose metadata is complete (the ones enrichment can do now)."""
        ids = list(dict.fromkeys(arxiv_ids))
        only_complete = " AND metadata_complete = 1" if complete else ""
        waiting: set[str] = set()
        for chunk in _chunks(ids):
            rows = await self._db.execute_fetchall(
                f"SELECT arxiv_id FROM papers WHERE arxiv_id IN ({_marks(chunk)})"
                f" AND affiliations_fetched_at IS NULL{only_complete}",
                chunk,
            )
            waiting.update(row[0] for row in rows)
        return [arxiv_id for arxiv_id in ids if arxiv_id in waiting]

    async def with_affiliations(self, arxiv_ids: Iterable[str]) -> int:
        """How many of `arxiv_ids` have an affiliation for at least one author."""
        ids = list(dict.fromkeys(arxiv_ids))
        count = 0
        for chunk in _chunks(ids):
            rows = await self._db.execute_fetchall(
                f"SELECT COUNT(DISTINCT arxiv_id) FROM authors WHERE arxiv_id IN ({_marks(chunk)})"
                " AND affiliations != '[]'",
                chunk,
            )
            count += int(rows[0][0])
        return count

    async def papers_with_affiliations_by_source(self) -> dict[str, int]:
        """How many papers have at least one affiliation from each source ('' where not recorded)."""
        rows = await self._db.execute_fetchall(
            "SELECT coalesce(s.value, ''), COUNT(DISTINCT a.arxiv_id) FROM authors a"
            f" {self._dialect.left_join_each('a.affiliation_sources', 's')}"
            " WHERE a.affiliations != '[]' GROUP BY coalesce(s.value, '')"
        )
        return {row[0]: int(row[1]) for row in rows}

    async def first_ingested(self, announced: date) -> datetime | None:
        """When the first category's feed of an announcement was stored."""
        rows = await self._db.execute_fetchall(
            "SELECT min(ingested_at) FROM announcements WHERE announced = ?", (announced.isoformat(),)
        )
        return datetime.fromisoformat(rows[0][0]) if rows and rows[0][0] else None

    async def announced_categories(self, announced: date) -> set[str]:
        """The categories whose announcement of `announced` is stored (not a day without one, nor a
        category still unread)."""
        rows = await self._db.execute_fetchall(
            "SELECT category FROM announcements WHERE announced = ?", (announced.isoformat(),)
        )
        return {row[0] for row in rows}

    async def late_categories(self, announced: date, planned_at: datetime) -> list[str]:
        """Categories of `announced` stored after its push was planned and not delivered late yet."""
        rows = await self._db.execute_fetchall(
            "SELECT category, ingested_at FROM announcements"
            " WHERE announced = ? AND delivered_late IS NULL ORDER BY category",
            (announced.isoformat(),),
        )
        return [category for category, ingested in rows if datetime.fromisoformat(ingested) > planned_at]

    async def mark_delivered_late(self, announced: date, categories: Sequence[str]) -> None:
        async with transaction(self._db):
            await self._db.execute(
                "UPDATE announcements SET delivered_late = ?"
                f" WHERE announced = ? AND category IN ({self._dialect.texts_in})",
                (self._timestamp(), announced.isoformat(), json.dumps(list(categories))),
            )

    async def latest_announcement(self, category: str) -> date | None:
        rows = await self._db.execute_fetchall(
            "SELECT announced FROM announcements WHERE category = ? ORDER BY announced DESC LIMIT 1",
            (category,),
        )
        return date.fromisoformat(rows[0][0]) if rows else None

    async def latest_announcements(self, categories: Iterable[str]) -> dict[str, date]:
        """Latest announcement per category; categories never announced are absent."""
        names = list(dict.fromkeys(categories))
        if not names:
            return {}
        rows = await self._db.execute_fetchall(
            f"SELECT category, max(announced) FROM announcements WHERE category IN ({_marks(names)})"
            " GROUP BY category",
            names,
        )
        return {row[0]: date.fromisoformat(row[1]) for row in rows}

    async def is_announced(self, categories: Iterable[str], announced: date) -> bool:
        """Whether an announcement of `announced` is stored for any of `categories`."""
        names = list(dict.fromkeys(categories))
        if not names:
            return False
        rows = await self._db.execute_fetchall(
            f"SELECT 1 FROM announcements WHERE category IN ({_marks(names)}) AND announced = ? LIMIT 1",
            [*names, announced.isoformat()],
        )
        return bool(rows)

    async def nearest_announcements(
        self, categories: Iterable[str], day: date
    ) -> tuple[date | None, date | None]:
        """The stored announcements of `categories` closest before and after `day` (None: none)."""
        names = list(dict.fromkeys(categories))
        if not names:
            return None, None
        marks = _marks(names)
        rows = await self._db.execute_fetchall(
            f"SELECT (SELECT max(announced) FROM announcements"
            f" WHERE category IN ({marks}) AND announced < ?),"
            f" (SELECT min(announced) FROM announcements WHERE category IN ({marks}) AND announced > ?)",
            [*names, day.isoformat(), *names, day.isoformat()],
        )
        before, after = rows[0]
        return (date.fromisoformat(before) if before else None, date.fromisoformat(after) if after else None)

    async def listings(self, categories: Sequence[str], announced: date) -> list[tuple[Paper, Listing]]:
        """Today's papers: the new and cross-listed papers of `categories` announced on `announced`.

        Ordered by the given category order, new submissions before cross-lists, then by id. A paper
        listed in two of the categories appears once per listing (sharing one `Paper`), so a digest
        can decide where to show it.
        """
        names = list(dict.fromkeys(categories))
        if not names:
            return []
        rows = await self._db.execute_fetchall(
            f"SELECT arxiv_id, category, announce_type FROM listings WHERE category IN ({_marks(names)})"
            f" AND announced = ? AND announce_type IN ({_marks(_NEWS)})",
            [*names, announced.isoformat(), *_NEWS],
        )
        papers = await self.papers(row[0] for row in rows)
        order = {name: index for index, name in enumerate(names)}
        found = [
            (papers[row[0]], Listing(row[0], row[1], announced, AnnounceType(row[2])))
            for row in rows
            if row[0] in papers
        ]
        found.sort(
            key=lambda item: (
                order[item[1].category],
                item[1].announce_type is not AnnounceType.NEW,
                item[1].arxiv_id,
            )
        )
        return found

    async def outlines(self, categories: Sequence[str], announced: date) -> list[tuple[Paper, Listing]]:
        """`listings`, with papers in outline: what ranking needs, without title, abstract or authors.

        A chat sees 10 papers of hundreds; ranking all of them on outlines and loading in full only
        those shown (`papers`) keeps /today and /cat fast however busy the day was.
        """
        names = list(dict.fromkeys(categories))
        if not names:
            return []
        rows = await self._db.execute_fetchall(
            "SELECT l.arxiv_id, l.category, l.announce_type, p.version, p.primary_category, p.categories,"
            " p.comment, p.journal_ref FROM listings l JOIN papers p ON p.arxiv_id = l.arxiv_id"
            f" WHERE l.category IN ({_marks(names)}) AND l.announced = ?"
            f" AND l.announce_type IN ({_marks(_NEWS)})",
            [*names, announced.isoformat(), *_NEWS],
        )
        outlines: dict[str, Paper] = {}
        found = []
        for arxiv_id, category, announce_type, version, primary, listed_in, comment, journal_ref in rows:
            paper = outlines.get(arxiv_id)
            if paper is None:
                paper = outlines[arxiv_id] = Paper(
                    arxiv_id=arxiv_id,
                    version=version,
                    title="",
                    abstract="",
                    authors=(),
                    categories=tuple(json.loads(listed_in)),
                    primary_category=primary,
                    comment=comment,
                    journal_ref=journal_ref,
                )
            found.append((paper, Listing(arxiv_id, category, announced, AnnounceType(announce_type))))
        return found

    async def paper(self, arxiv_id: str) -> Paper | None:
        return (await self.papers([arxiv_id])).get(arxiv_id)

    async def abstracts(self, arxiv_ids: Iterable[str]) -> dict[str, str]:
        """Stored papers' abstracts by id, without loading the rest of each paper."""
        ids = list(dict.fromkeys(arxiv_ids))
        found: dict[str, str] = {}
        for chunk in _chunks(ids):
            rows = await self._db.execute_fetchall(
                f"SELECT arxiv_id, abstract FROM papers WHERE arxiv_id IN ({_marks(chunk)})", chunk
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    async def papers(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        """Stored papers by id, with authors; unknown ids are absent."""
        ids = list(dict.fromkeys(arxiv_ids))
        rows: list[Sequence[Any]] = []
        authors: dict[str, list[Author]] = {}
        for chunk in _chunks(ids):
            rows.extend(
                await self._db.execute_fetchall(
                    f"SELECT {_PAPER_COLUMNS} FROM papers WHERE arxiv_id IN ({_marks(chunk)})", chunk
                )
            )
            for arxiv_id, name, affiliations, sources in await self._db.execute_fetchall(
                "SELECT arxiv_id, name, affiliations, affiliation_sources FROM authors"
                f" WHERE arxiv_id IN ({_marks(chunk)}) ORDER BY arxiv_id, position",
                chunk,
            ):
                authors.setdefault(arxiv_id, []).append(_author(name, affiliations, sources))
        return {
            row[0]: Paper(
                arxiv_id=row[0],
                version=row[1],
                title=row[2],
                abstract=row[3],
                authors=tuple(authors.get(row[0], ())),
                categories=tuple(json.loads(row[5])),
                primary_category=row[4],
                comment=row[6],
                journal_ref=row[7],
                doi=row[8],
            )
            for row in rows
        }

    async def ids_missing_metadata(self, limit: int, *, max_misses: int | None = None) -> list[str]:
        """Papers known only from the feed, most recently seen first.

        With `max_misses`, papers the API already failed to return that many times are left out.
        """
        misses = "" if max_misses is None else f" AND metadata_misses < {int(max_misses)}"
        rows = await self._db.execute_fetchall(
            f"SELECT arxiv_id FROM papers WHERE metadata_complete = 0{misses}"
            " ORDER BY first_seen DESC, arxiv_id LIMIT ?",
            (limit,),
        )
        return [row[0] for row in rows]

    async def ids_missing_affiliations(self, limit: int) -> list[str]:
        """Complete papers whose affiliations were not looked for yet, most recently seen first."""
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id FROM papers WHERE metadata_complete = 1 AND affiliations_fetched_at IS NULL"
            " ORDER BY first_seen DESC, arxiv_id LIMIT ?",
            (limit,),
        )
        return [row[0] for row in rows]

    async def _versions(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        versions: dict[str, int] = {}
        for chunk in _chunks(list(arxiv_ids)):
            rows = await self._db.execute_fetchall(
                f"SELECT arxiv_id, version FROM papers WHERE arxiv_id IN ({_marks(chunk)})", chunk
            )
            versions.update((row[0], row[1]) for row in rows)
        return versions

    async def _listed(self, category: str, announced: date) -> set[str]:
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id FROM listings WHERE category = ? AND announced = ?",
            (category, announced.isoformat()),
        )
        return {row[0] for row in rows}

    async def _write_authors(self, added: Sequence[Paper], *, replace: Sequence[Paper]) -> None:
        """Write the authors of new papers, and replace those of papers stored before."""
        await self._db.executemany("DELETE FROM authors WHERE arxiv_id = ?", [(p.arxiv_id,) for p in replace])
        await self._db.executemany(
            _INSERT_AUTHOR,
            [row for paper in (*added, *replace) for row in _author_rows(paper.arxiv_id, paper.authors)],
        )

    def _timestamp(self) -> str:
        return self._clock().astimezone(UTC).isoformat()


def _paper_values(paper: Paper) -> tuple[object, ...]:
    return (
        paper.arxiv_id,
        paper.version,
        paper.title,
        paper.abstract,
        paper.primary_category,
        _json(paper.categories),
        paper.comment,
        paper.journal_ref,
        paper.doi,
    )


_INSERT_AUTHOR = (
    "INSERT INTO authors (arxiv_id, position, name, affiliations, affiliation_sources) VALUES (?, ?, ?, ?, ?)"
)


def _author_rows(arxiv_id: str, authors: Sequence[Author]) -> list[tuple[str, int, str, str, str]]:
    return [
        (arxiv_id, position, author.name, _json(author.affiliations), _json(author.sources))
        for position, author in enumerate(authors)
    ]


def _author(name: str, affiliations: str, sources: str) -> Author:
    """An author as stored; provenance counts only when it was recorded for every affiliation."""
    institutions = tuple(json.loads(affiliations))
    recorded = tuple(AffiliationSource(source) for source in json.loads(sources))
    return Author(name, institutions, recorded if len(recorded) == len(institutions) else ())


def _json(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    return (ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK))
