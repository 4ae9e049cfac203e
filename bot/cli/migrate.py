"""`python -m bot migrate-to-postgres`: move the SQLite database at DATABASE_PATH into the empty
PostgreSQL database at DATABASE_URL, and prove the copy equal.

The SQLite file is first brought to the current schema (as `run` would), then read in one snapshot
while PostgreSQL receives every table through COPY in one transaction: a failure leaves PostgreSQL
empty. Identity columns continue after the highest copied id. Verification reads both databases
again, table by table, and compares row counts and the sum of every row's SHA-256 (independent of
the order each engine returns them in). Not copied: what only running processes use (job leases,
send grants) and the change counters of the papers and the generated texts, which the copy itself
moves.
Stop the bot first: writes made during the copy would not be in it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli import console
from bot.config import Settings
from storage import db as database
from storage.postgres import PostgresConnection

TABLES: tuple[tuple[str, str], ...] = (
    # (table, the primary key it is read in), parents before children
    ("chats", "id"),
    ("papers", "arxiv_id"),
    ("authors", "arxiv_id, position"),
    ("listings", "category, announced, arxiv_id"),
    ("announcements", "category, announced"),
    ("subscriptions", "chat_id, category"),
    ("delivery_contents", "id"),
    ("broadcasts", "id"),
    ("deliveries", "id"),
    ("push_runs", "announced"),
    ("generated_texts", "arxiv_id, language"),
    ("llm_usage", "day"),
    ("searches", "id"),
    ("follows", "id"),
    ("feedback", "chat_id, user_id, arxiv_id"),
    ("impressions", "chat_id, arxiv_id"),
    ("ranking_state", "chat_id"),
)
IDENTITY_TABLES = ("delivery_contents", "broadcasts", "deliveries", "searches", "follows")
BATCH = 5_000


class MigrationError(Exception):
    """The move was refused or failed; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class MigrationReport:
    rows: dict[str, int]  # rows copied (and verified) per table
    seconds: float


async def migrate_to_postgres(source: Path, url: str) -> MigrationReport:
    started = time.monotonic()
    if not await asyncio.to_thread(source.is_file):
        raise MigrationError(f"no SQLite database at {source} (DATABASE_PATH)")
    sqlite = await database.connect(source)
    try:
        postgres = await database.connect(url)
        try:
            columns = {table: await _columns(sqlite, table) for table, _ in TABLES}
            await _refuse_unless_empty(postgres)
            await _copy(sqlite, postgres, columns)
            rows = await _verify(sqlite, postgres, columns)
        finally:
            await postgres.close()
    finally:
        await sqlite.close()
    return MigrationReport(rows, time.monotonic() - started)


async def _columns(sqlite: database.Connection, table: str) -> list[str]:
    return [row[1] for row in await sqlite.execute_fetchall(f"PRAGMA table_info({table})")]


async def _refuse_unless_empty(postgres: database.Connection) -> None:
    for table, _ in TABLES:
        if await postgres.execute_fetchall(f"SELECT 1 FROM {table} LIMIT 1"):
            raise MigrationError(
                f"the PostgreSQL database is not empty ({table} has rows): give an empty one"
            )


async def _rows(db: database.Connection, table: str, key: str, columns: Sequence[str]) -> AsyncIterator[list]:
    """Every row of `table` in primary-key order, a batch at a time (keyset paging, no OFFSET)."""
    names = ", ".join(columns)
    key_columns = [name.strip() for name in key.split(",")]
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            where, params = "", []
        else:
            where, params = f" WHERE ({key}) > ({', '.join('?' for _ in key_columns)})", list(last)
        batch = await db.execute_fetchall(
            f"SELECT {names} FROM {table}{where} ORDER BY {key} LIMIT {BATCH}", params
        )
        if not batch:
            return
        yield [tuple(row) for row in batch]
        last = tuple(batch[-1][columns.index(name)] for name in key_columns)


async def _copy(
    sqlite: database.Connection, postgres: database.Connection, columns: dict[str, list[str]]
) -> None:
    assert isinstance(postgres, PostgresConnection)
    raw = postgres.raw
    async with database.transaction(sqlite), database.transaction(postgres):
        for table, key in TABLES:
            names = ", ".join(columns[table])
            async with raw.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[arg-type]
                async for batch in _rows(sqlite, table, key, columns[table]):
                    for row in batch:
                        await copy.write_row(row)
        for table in IDENTITY_TABLES:
            await postgres.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                f" FROM {table}"
            )


async def _verify(
    sqlite: database.Connection, postgres: database.Connection, columns: dict[str, list[str]]
) -> dict[str, int]:
    counts = {}
    for table, key in TABLES:
        digests = []
        for db in (sqlite, postgres):
            digest, count = 0, 0
            async for batch in _rows(db, table, key, columns[table]):
                for row in batch:
                    digest += int.from_bytes(hashlib.sha256(repr(row).encode()).digest())
                count += len(batch)
            digests.append((count, digest % 2**256))
        if digests[0] != digests[1]:
            raise MigrationError(
                f"verification failed for {table}: SQLite has {digests[0][0]} rows, PostgreSQL"
                f" {digests[1][0]}, and their contents differ"
            )
        counts[table] = digests[0][0]
    return counts


def migrate_command(settings: Settings) -> int:
    """The CLI edge: one line of outcome; exit 1 when refused or failed (PostgreSQL left as it was)."""
    if not settings.database_url:
        console.errors.print(
            "error: set DATABASE_URL to the empty PostgreSQL database to move DATABASE_PATH into",
            markup=False,
            highlight=False,
        )
        return 1
    try:
        report = asyncio.run(migrate_to_postgres(settings.database_path, settings.database_url))
    except MigrationError as error:
        console.errors.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
        return 1
    total = sum(report.rows.values())
    console.console.print(
        f"Moved {settings.database_path} to PostgreSQL: {total} rows in {len(report.rows)} tables,"
        f" verified equal, in {report.seconds:.1f} s. Keep DATABASE_URL set from now on.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0
