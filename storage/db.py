"""Database connections: SQLite through aiosqlite (the default), or PostgreSQL.

SQLite: WAL lets `push` or `fetch` run while `run` holds the database, and lets a process read on
one connection while it writes on another; `busy_timeout` makes writers of different processes wait
for each other instead of failing. Within a process, connections opened `beside` another take turns
with it for writes (`transaction`). Migrations are the numbered `migrations/NNNN_*.sql` files, each
applied once in its own transaction; `PRAGMA user_version` records the last one applied.

PostgreSQL (`DATABASE_URL`): the same repositories through `storage.postgres`. Its schema starts at
`migrations/postgres/`'s first file (the SQLite schema up to that number, written once for
PostgreSQL); each later migration ships in both dialects under one number. The version applied is a
row of `schema_version`, and instances migrating at once wait for each other on an advisory lock.
"""

from __future__ import annotations

import asyncio
import errno
import re
import sqlite3
import sys
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import aiosqlite

if TYPE_CHECKING:  # psycopg is loaded only to open a PostgreSQL database: a push on SQLite never pays for it
    from storage.postgres import PostgresConnection

BUSY_TIMEOUT_MS = 10_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_MIGRATION_LOCK = 0x70617065  # the advisory lock instances take while migrating a PostgreSQL database

Connection: TypeAlias = "aiosqlite.Connection | PostgresConnection"
"""What every repository is handed: the process's one connection, to either engine."""


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(_POSTGRES_SCHEMES)


def is_postgres(db: Connection) -> TypeGuard[PostgresConnection]:
    return not isinstance(db, aiosqlite.Connection)


def migrations(dialect: str = "sqlite") -> list[tuple[int, str]]:
    """(version, SQL) for every migration of `dialect` shipped with the package, in order.

    SQLite's run from 1; PostgreSQL's from its schema file's number. Neither may have gaps, and
    PostgreSQL's must end where SQLite's do, so both engines always have the same schema version.
    """
    package = "storage.migrations" if dialect == "sqlite" else "storage.migrations.postgres"
    found = []
    for entry in resources.files(package).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _ in found]
    first = versions[0] if versions and dialect != "sqlite" else 1
    if versions != list(range(first, first + len(found))):
        raise RuntimeError(f"{dialect} migrations must be numbered without gaps, found {versions}")
    if dialect != "sqlite" and versions[-1] != migrations()[-1][0]:
        raise RuntimeError(f"{dialect} migrations end at {versions[-1]}, SQLite's at {migrations()[-1][0]}")
    return found


class StorageFault(StrEnum):
    """Kinds of trouble with the database file, each with its own answer from the bot."""

    BUSY = "locked by another process"  # a write lock held longer than busy_timeout
    FULL = "on a full disk"
    READ_ONLY = "read-only"
    IO = "on a failing disk (I/O error)"
    CORRUPT = "damaged"
    UNREACHABLE = "unreachable (the PostgreSQL server refused, dropped or limits connections)"

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


_FAULTS_BY_SQLSTATE = {
    "53100": StorageFault.FULL,  # disk_full
    "25006": StorageFault.READ_ONLY,  # read_only_sql_transaction (a standby after a failover)
    "55P03": StorageFault.BUSY,  # lock_not_available
    "40P01": StorageFault.BUSY,  # deadlock_detected
    "40001": StorageFault.BUSY,  # serialization_failure
    "53300": StorageFault.UNREACHABLE,  # too_many_connections
    "57P01": StorageFault.UNREACHABLE,  # admin_shutdown
    "57P02": StorageFault.UNREACHABLE,  # crash_shutdown
    "57P03": StorageFault.UNREACHABLE,  # cannot_connect_now (starting up, in recovery)
    "58030": StorageFault.IO,  # io_error
    "XX001": StorageFault.CORRUPT,  # data_corrupted
    "XX002": StorageFault.CORRUPT,  # index_corrupted
}


def storage_fault(error: BaseException) -> StorageFault | None:
    """The kind of database trouble `error` is, or None when it is something else (a bug)."""
    if isinstance(error, StorageUnavailable):
        return error.fault
    psycopg = sys.modules.get("psycopg")  # its errors exist only once a PostgreSQL database was opened
    if psycopg is not None and isinstance(error, psycopg.Error):
        fault = _FAULTS_BY_SQLSTATE.get(error.sqlstate or "")
        if fault is None and isinstance(error, psycopg.OperationalError):
            return StorageFault.UNREACHABLE
        return fault
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorname", None) or ""
        primary = next((name for name in _FAULTS_BY_CODE if f"{code}_".startswith(f"{name}_")), None)
        return _FAULTS_BY_CODE[primary] if primary else None
    if isinstance(error, OSError):
        return _FAULTS_BY_ERRNO.get(error.errno)
    return None


async def connect(
    target: Path | str,
    busy_timeout: float = BUSY_TIMEOUT_MS / 1000,
    *,
    verify: bool = False,
    beside: Connection | None = None,
) -> Connection:
    """Open the database (creating its folder), set pragmas and bring the schema up to date.

    `target` is a SQLite file's path or a `postgresql://` URL. `busy_timeout`: seconds a write waits
    for another process's lock before failing with SQLITE_BUSY (on PostgreSQL, for the connection).
    `verify` runs SQLite's quick_check first (about a second per 500 MB), so a damaged or truncated
    file stops a command at its start, in one line, rather than in the middle of its work.
    `beside`: this process's connection to the same database, checked and migrated already. On SQLite
    the new connection's statements run on a thread of their own, and its transactions take turns
    with those of `beside` in the event loop, never waiting for each other inside SQLite (which would
    hold the waiting connection's thread, and every statement queued behind it). On PostgreSQL the two
    are as independent as two processes' connections.
    """
    if is_postgres_url(target):
        from storage.postgres import PostgresConnection

        postgres = await PostgresConnection.open(str(target), connect_timeout=busy_timeout)
        try:
            if beside is None:
                await migrate(postgres)
        except BaseException:
            await postgres.close()
            raise
        return postgres
    if str(target) != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(target, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        if beside is not None:
            _write_locks[db] = _write_lock(beside)
        else:
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


_write_locks: weakref.WeakKeyDictionary[Connection, asyncio.Lock] = weakref.WeakKeyDictionary()


def _write_lock(db: Connection) -> asyncio.Lock:
    return _write_locks.setdefault(db, asyncio.Lock())


@asynccontextmanager
async def transaction(db: Connection) -> AsyncIterator[None]:
    """A write transaction on a connection the process's coroutines share.

    Without this lock one coroutine's statements could land inside another's open transaction (and
    vanish with its rollback), or a second BEGIN would fail; connections opened `beside` another share
    its lock. Every write of every repository goes through here.
    """
    async with _write_lock(db):
        if is_postgres(db):
            async with db.transaction():
                yield
            return
        try:
            await db.execute("BEGIN IMMEDIATE")
        except BaseException:
            await _roll_back_after_what_runs(db)
            raise
        try:
            yield
            await db.execute("COMMIT")  # can fail too (disk full): then nothing of it stays
        except BaseException:
            await _roll_back_after_what_runs(db)
            raise


async def _roll_back_after_what_runs(db: aiosqlite.Connection) -> None:
    """Roll back behind the statement aiosqlite's thread may still run for a cancelled await.

    A stopping bot cancels jobs mid-statement, but the thread finishes the BEGIN or COMMIT anyway:
    until then `in_transaction` cannot say whether there is anything to roll back. The ROLLBACK is
    queued after it, and its "no transaction is active" only means that statement ended it.
    """
    try:
        await db.execute("ROLLBACK")
    except sqlite3.OperationalError:
        if db.in_transaction:
            raise


async def write_statement(db: Connection, sql: str, parameters: dict[str, Any]) -> list[Any]:
    """One write statement, atomic by itself, and the rows it returns.

    On SQLite the statement is its own transaction (the connection autocommits): one round trip to
    the connection's thread where `transaction` takes three, holding the process's write turn that
    much shorter. It still takes that turn, or it would land inside another coroutine's transaction.
    """
    if is_postgres(db):
        async with transaction(db):
            return await db.execute_fetchall(sql, parameters)
    async with _write_lock(db):
        return list(await db.execute_fetchall(sql, parameters))


@dataclass(frozen=True, slots=True)
class DatabaseSize:
    """The database file's size, and how much of it is free pages that new rows fill before it grows."""

    total: int  # bytes
    free: int  # bytes


async def database_size(db: Connection) -> DatabaseSize:
    if is_postgres(db):
        rows = await db.execute_fetchall("SELECT pg_database_size(current_database())")
        return DatabaseSize(total=rows[0][0], free=0)
    rows = await db.execute_fetchall(
        "SELECT * FROM pragma_page_count, pragma_freelist_count, pragma_page_size"
    )
    pages, free, page_size = rows[0]
    return DatabaseSize(total=pages * page_size, free=free * page_size)


async def schema_version(db: Connection) -> int:
    if is_postgres(db):
        exists = await db.execute_fetchall("SELECT to_regclass('schema_version') IS NOT NULL")
        if not exists[0][0]:
            return 0
        rows = await db.execute_fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(rows[0][0])
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def migrate(db: Connection) -> int:
    """Apply pending migrations; a concurrent process applying the same ones is waited for.

    Each migration has its own write transaction, which reads the version again. A database already
    up to date (every start but the first after an upgrade) takes one, not one per migration; it
    still makes a database locked by another process show at start.
    """
    if is_postgres(db):
        return await _migrate_postgres(db)
    pending = migrations()
    while pending:
        async with transaction(db):
            applied = await schema_version(db)
            pending = [(version, sql) for version, sql in pending if version > applied]
            if pending:
                version, sql = pending.pop(0)
                for statement in _statements(sql):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {version}")
    return await schema_version(db)


async def _migrate_postgres(db: PostgresConnection) -> int:
    pending = migrations("postgres")
    async with transaction(db):
        await db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await schema_version(db)
        for version, sql in pending:
            if current < version:
                await db.execute(sql)
                current = version
        await db.execute("DELETE FROM schema_version")
        await db.execute("INSERT INTO schema_version (version) VALUES (?)", (current,))
    return current


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
