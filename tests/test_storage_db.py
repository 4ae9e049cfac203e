import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from storage import db as database
from storage.chats import ChatRepository


@pytest.mark.sqlite_only
async def test_connect_applies_every_migration_and_pragmas(db):
    assert await database.schema_version(db) == len(database.migrations())
    async with db.execute("PRAGMA journal_mode") as cursor:
        assert (await cursor.fetchone())[0] == "wal"
    async with db.execute("PRAGMA foreign_keys") as cursor:
        assert (await cursor.fetchone())[0] == 1
    async with db.execute("PRAGMA busy_timeout") as cursor:
        assert (await cursor.fetchone())[0] == database.BUSY_TIMEOUT_MS


async def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path):
    path = tmp_path / "nested" / "bot.sqlite3"
    first = await database.connect(path)
    try:
        await ChatRepository(first).register(1, "private", None, "en", datetime.now(UTC))
    finally:
        await first.close()
    second = await database.connect(path)
    try:
        assert await database.migrate(second) == len(database.migrations())
        assert (await ChatRepository(second).get(1)).language == "en"
    finally:
        await second.close()


@pytest.mark.sqlite_only
async def test_a_connection_opened_beside_another_takes_turns_with_its_writes(tmp_path):
    path = tmp_path / "bot.sqlite3"
    first = await database.connect(path)
    # No busy timeout: a write that waited for the other's lock inside SQLite would fail at once.
    second = await database.connect(path, busy_timeout=0, beside=first)
    try:
        now = datetime.now(UTC)
        async with database.transaction(first):  # BEGIN IMMEDIATE: the file's write lock is first's
            writing = asyncio.create_task(ChatRepository(second).register(1, "private", None, None, now))
            await asyncio.sleep(0)
            assert await ChatRepository(first).count() == (0, 0)  # a round trip while the other waits
            assert not writing.done()
        await writing
        assert await ChatRepository(first).count() == (1, 1)
    finally:
        await second.close()
        await first.close()


async def test_register_creates_then_reactivates_keeping_created(db):
    chats = ChatRepository(db)
    created = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert await chats.register(-100, "supergroup", "Reading group", None, created) is True
    await chats.set_active(-100, False)
    assert (await chats.get(-100)).active is False
    assert await chats.register(-100, "supergroup", "Renamed", "de", created + timedelta(days=3)) is False
    chat = await chats.get(-100)
    assert (chat.active, chat.title, chat.language, chat.created) == (True, "Renamed", "de", created)
    assert await chats.count() == (1, 1)


def test_migration_scripts_split_like_sqlite_does():
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (a TEXT DEFAULT 'x;y');\n"
        "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN SELECT 1; END;\n"
        "-- a comment before the last statement, which has no semicolon\n"
        "ALTER TABLE t ADD COLUMN b INTEGER\n"
    )
    statements = database._statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'x;y');")
    assert statements[2].endswith("ALTER TABLE t ADD COLUMN b INTEGER")


@pytest.mark.sqlite_only
async def test_a_transaction_cancelled_while_waiting_to_begin_leaves_the_connection_usable(tmp_path):
    """A stopping bot cancels a job while BEGIN waits for another process's lock: aiosqlite's thread
    still begins it once the lock is free, and that transaction must not be left open."""
    path = tmp_path / "bot.sqlite3"
    waiting = await database.connect(path, busy_timeout=5)
    holder = await database.connect(path)
    try:
        await holder.execute("BEGIN IMMEDIATE")
        begun = asyncio.create_task(_enter_transaction(waiting))
        await asyncio.sleep(0.2)  # the BEGIN is blocked on the holder's lock in aiosqlite's thread
        begun.cancel()
        await holder.execute("COMMIT")
        with pytest.raises(asyncio.CancelledError):
            await begun
        assert await ChatRepository(waiting).register(1, "private", None, "en", datetime.now(UTC))
        assert not waiting.in_transaction
    finally:
        await waiting.close()
        await holder.close()


async def _enter_transaction(db) -> None:
    async with database.transaction(db):
        pass


@pytest.mark.sqlite_only
async def test_a_transaction_cancelled_while_committing_keeps_what_it_committed(tmp_path):
    """A stopping bot cancels a job while its COMMIT waits in aiosqlite's thread: the thread still
    commits, and the rollback queued behind it must not turn the cancellation into an error."""
    db = await database.connect(tmp_path / "bot.sqlite3")
    entered, release = threading.Event(), threading.Event()

    def gate() -> int:
        entered.set()
        release.wait(5)
        return 1

    try:
        await db.create_function("gate", 0, gate)
        await db.execute("CREATE TABLE kept (x INTEGER)")
        body_done = asyncio.Event()

        async def register_then_commit_behind_the_gate() -> None:
            async with database.transaction(db):
                await db.execute("INSERT INTO kept VALUES (1)")
                blocking = asyncio.ensure_future(db.execute_fetchall("SELECT gate()"))
                await asyncio.to_thread(entered.wait, 5)
                body_done.set()
            await blocking

        job = asyncio.create_task(register_then_commit_behind_the_gate())
        await body_done.wait()  # the job's COMMIT is queued behind the gate
        job.cancel()
        await asyncio.sleep(0)  # the job reaches its rollback, queued behind the COMMIT
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await job
        assert not db.in_transaction
        assert [tuple(row) for row in await db.execute_fetchall("SELECT x FROM kept")] == [(1,)]
    finally:
        release.set()
        await db.close()
