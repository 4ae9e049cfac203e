"""One aiosqlite connection per process, configured for a long-running bot beside CLI commands.

WAL lets `push` or `fetch` run while `run` holds the database; `busy_timeout` makes writers wait
for each other instead of failing. Migrations are the numbered `migrations/NNNN_*.sql` files, each
applied once in its own transaction; `PRAGMA user_version` records the last one applied.
"""

from __future__ import annotations

import asyncio
import errno
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

import aiosqlite

BUSY_TIMEOUT_MS = 10_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


class StorageFault(StrEnum):
    """Kinds of trouble with the database file, each with its own answer from the bot."""

    BUSY = "locked by another process"  # a write lock held longer than busy_timeout
    FULL = "on a full disk"
    READ_ONLY = "read-only"
    IO = "on a failing disk (I/O error)"
    CORRUPT = "damaged"

    @property
    def passes(self) -> bool:
        """Worth waiting out: the lock is released, space is freed, the disk comes back."""
        return self is not StorageFault.CORRUPT


_FAULTS_BY_CODE = {
    "SQLITE_BUSY": StorageFault.BUSY,
    "SQLITE_LOCKED": StorageFault.BUSY,
    "SQLITE_FULL": StorageFault.FULL,
    "SQLITE_READONLY": StorageFault.READ_ONLY,
    "SQLITE_CANTOPEN": StorageFault.READ_ONLY,
    "SQLITE_IOERR": StorageFault.IO,
    "SQLITE_CORRUPT": StorageFault.CORRUPT,
    "SQLITE_NOTADB": StorageFault.CORRUPT,
}
_FAULTS_BY_ERRNO = {errno.ENOSPC: StorageFault.FULL, errno.EROFS: StorageFault.READ_ONLY}


class StorageUnavailable(Exception):
    """Work given up because the database stayed unusable: what it was, and what became of the work."""

    def __init__(self, fault: StorageFault, detail: str, consequence: str = "") -> None:
        super().__init__(f"the database is {fault} ({detail})" + (f": {consequence}" if consequence else ""))
        self.fault = fault
        self.detail = detail
        self.consequence = consequence


def storage_fault(error: BaseException) -> StorageFault | None:
    """The kind of database trouble `error` is, or None when it is something else (a bug)."""
    if isinstance(error, StorageUnavailable):
        return error.fault
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorname", None) or ""
        primary = next((name for name in _FAULTS_BY_CODE if f"{code}_".startswith(f"{name}_")), None)
        return _FAULTS_BY_CODE[primary] if primary else None
    if isinstance(error, OSError):
        return _FAULTS_BY_ERRNO.get(error.errno)
    return None


async def connect(
    path: Path | str, busy_timeout: float = BUSY_TIMEOUT_MS / 1000, *, verify: bool = False
) -> aiosqlite.Connection:
    """Open the database (creating its folder), set pragmas and bring the schema up to date.

    `busy_timeout`: seconds a write waits for another process's lock before failing with SQLITE_BUSY.
    `verify` runs SQLite's quick_check first (about a second per 500 MB), so a damaged or truncated
    file stops a command at its start, in one line, rather than in the middle of its work.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        if verify:
            await _quick_check(db)
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db


async def _quick_check(db: aiosqlite.Connection) -> None:
    problems = [row[0] for row in await db.execute_fetchall("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise StorageUnavailable(StorageFault.CORRUPT, f"quick_check says {'; '.join(problems)}")


_write_locks: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """A write transaction on the process's shared connection.

    Coroutines share one connection, so without this lock one coroutine's statements could land
    inside another's open transaction (and vanish with its rollback), or a second BEGIN would fail.
    Every write of every repository goes through here.
    """
    lock = _write_locks.setdefault(db, asyncio.Lock())
    async with lock:
        await db.execute("BEGIN IMMEDIATE")
        try:
            yield
            await db.execute("COMMIT")  # can fail too (disk full): then nothing of it stays
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise


@dataclass(frozen=True, slots=True)
class DatabaseSize:
    """The database file's size, and how much of it is free pages that new rows fill before it grows."""

    total: int  # bytes
    free: int  # bytes


async def database_size(db: aiosqlite.Connection) -> DatabaseSize:
    rows = await db.execute_fetchall(
        "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size"
    )
    pages, free, page_size = rows[0]
    return DatabaseSize(total=pages * page_size, free=free * page_size)


async def schema_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def migrate(db: aiosqlite.Connection) -> int:
    """Apply pending migrations; a concurrent process applying the same ones is waited for."""
    for version, sql in migrations():
        async with transaction(db):
            if await schema_version(db) < version:
                for statement in _statements(sql):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {version}")
    return await schema_version(db)


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements the way SQLite does (comments, literals, triggers).

    aiosqlite's executescript would commit on its own; applying statement by statement keeps each
    migration inside the one transaction that also bumps user_version.
    """
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if any(line.strip() and not line.strip().startswith("--") for line in pending.splitlines()):
        statements.append(pending.strip())
    return statements
