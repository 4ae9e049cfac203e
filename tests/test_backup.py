"""`python -m bot backup PATH`: a consistent copy during writes, restore, and the overwrite rules."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import threading
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.__main__ import main
from bot.cli.backup import BackupError, backup_database
from bot.config import Settings
from storage import db as database
from storage.subscriptions import SubscriptionRepository
from tests.support import open_database

pytestmark = pytest.mark.sqlite_only  # SQLite's own file: locks, a full or failing disk, backups

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SEEDED = 50
WRITES = 200
WRITES_DURING_BACKUP = 20
CATEGORY = "cs.IR"
SCHEMA_VERSION = len(database.migrations())
SETTING_VARIABLES = [field.name.upper() for field in fields(Settings)]
HOLD_LIMIT = 30.0
"""Seconds the progress hook waits for the writer before it gives up; only reached if writes stall."""


async def add_chat_with_subscription(db: aiosqlite.Connection, chat_id: int) -> None:
    """One transaction: a copy holding the chat without its subscription would be torn."""
    async with database.transaction(db):
        await db.execute(
            "INSERT INTO chats (id, type, created) VALUES (?, 'private', ?)", (chat_id, NOW.isoformat())
        )
        await db.execute(
            "INSERT INTO subscriptions (chat_id, category, created) VALUES (?, ?, ?)",
            (chat_id, CATEGORY, NOW.isoformat()),
        )


def read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True))


def chats_with_subscriptions(path: Path) -> list[tuple[int, str | None]]:
    with read_only(path) as copy:
        return copy.execute(
            "SELECT chats.id, subscriptions.category FROM chats"
            " LEFT JOIN subscriptions ON subscriptions.chat_id = chats.id ORDER BY chats.id"
        ).fetchall()


def chat_count(path: Path) -> int:
    with read_only(path) as connection:
        return connection.execute("SELECT COUNT(*) FROM chats").fetchone()[0]


def expected_rows(count: int) -> list[tuple[int, str | None]]:
    return [(chat_id, CATEGORY) for chat_id in range(1, count + 1)]


def assert_sound_copy(path: Path) -> None:
    """Integrity ok, the current schema, and one self-contained file in rollback-journal mode."""
    with read_only(path) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not path.with_name(path.name + "-wal").exists()


@pytest.fixture
async def source(tmp_path: Path) -> Path:
    """A closed database with SEEDED chats, each subscribed to CATEGORY."""
    path = tmp_path / "bot.sqlite3"
    async with open_database(path) as db:
        for chat_id in range(1, SEEDED + 1):
            await add_chat_with_subscription(db, chat_id)
    return path


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """`main(["backup", ...])` with DATABASE_PATH as the only setting, from a folder without `.env`."""
    monkeypatch.chdir(tmp_path)
    for variable in SETTING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)

    def run(database_path: Path, *args: str) -> int:
        monkeypatch.setenv("DATABASE_PATH", str(database_path))
        return main(["backup", *args])

    return run


def printed_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".partial"))


async def test_backup_during_writes_copies_one_commit(source: Path, tmp_path: Path):
    """The writer keeps committing while the copy runs; the copy is the state at one commit, whole."""
    target = tmp_path / "backups" / "copy.sqlite3"
    loop = asyncio.get_running_loop()
    copy_started = asyncio.Event()
    commits = threading.Condition()
    committed = SEEDED
    committed_at_start: int | None = None
    progress: list[tuple[int, int]] = []

    def hold_until_more_commits(done: int, total: int) -> None:
        """At the first step, note what is committed, then let WRITES_DURING_BACKUP more commits land."""
        nonlocal committed_at_start
        progress.append((done, total))
        if committed_at_start is not None:
            return
        committed_at_start = chat_count(source)
        target_commit = committed_at_start + WRITES_DURING_BACKUP
        loop.call_soon_threadsafe(copy_started.set)
        with commits:
            landed = commits.wait_for(lambda: committed >= target_commit, timeout=HOLD_LIMIT)
        assert landed, f"the writer stalled at chat {committed}"

    async def keep_writing(db: aiosqlite.Connection) -> None:
        """WRITES commits; halfway it waits for the copy, so writes are certain to overlap it."""
        nonlocal committed
        for chat_id in range(SEEDED + 1, SEEDED + WRITES + 1):
            if chat_id == SEEDED + WRITES // 2:
                await copy_started.wait()
            await add_chat_with_subscription(db, chat_id)
            with commits:
                committed = chat_id
                commits.notify_all()

    db = await database.connect(source)
    try:
        writer = asyncio.create_task(keep_writing(db))
        try:
            report = await asyncio.to_thread(
                backup_database,
                source,
                target,
                pages_per_step=1,
                pause=0,
                on_progress=hold_until_more_commits,
            )
        finally:
            copy_started.set()
            await writer
    finally:
        await db.close()

    assert_sound_copy(target)
    assert report.schema_version == SCHEMA_VERSION
    assert report.size == target.stat().st_size
    assert len(progress) > 1
    assert progress[-1] == (report.pages, report.pages)
    rows = chats_with_subscriptions(target)
    copied = len(rows)
    assert rows == expected_rows(copied)
    assert committed_at_start is not None
    assert SEEDED <= copied <= committed_at_start
    assert chat_count(source) == SEEDED + WRITES
    assert copied + WRITES_DURING_BACKUP <= SEEDED + WRITES


async def test_a_backup_restores_to_a_working_database(source: Path, tmp_path: Path):
    backup = tmp_path / "backups" / "copy.sqlite3"
    backup_database(source, backup)
    restored = tmp_path / "restored" / "bot.sqlite3"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    db = await database.connect(restored)
    try:
        assert await database.schema_version(db) == SCHEMA_VERSION
        async with db.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM chats") as cursor:
            assert tuple(await cursor.fetchone()) == (SEEDED, 1, SEEDED)
        subscriptions = SubscriptionRepository(db)
        assert await subscriptions.of_chat(1) == [CATEGORY]
        assert await subscriptions.counts_by_category() == {CATEGORY: SEEDED}
        await add_chat_with_subscription(db, SEEDED + 1)
    finally:
        await db.close()
    assert chats_with_subscriptions(restored) == expected_rows(SEEDED + 1)


def test_an_existing_file_is_not_replaced_without_force(source: Path, tmp_path: Path):
    target = tmp_path / "copy.sqlite3"
    target.write_bytes(b"an older backup")
    with pytest.raises(BackupError, match="exists; pass --force to replace it"):
        backup_database(source, target)
    assert target.read_bytes() == b"an older backup"
    assert leftovers(tmp_path) == []


def test_force_replaces_the_file_and_removes_its_stale_wal(
    source: Path, tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
):
    target = tmp_path / "copy.sqlite3"
    stale_wal = target.with_name(target.name + "-wal")
    target.write_bytes(b"an older backup")
    stale_wal.write_bytes(b"a WAL the crashed bot left behind")
    assert cli(source, str(target)) == 1
    assert printed_lines(capsys.readouterr().err) == [f"error: {target} exists; pass --force to replace it"]
    assert stale_wal.exists()

    assert cli(source, str(target), "--force") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Backed up {source} to {target}: ")
    assert f"schema version {SCHEMA_VERSION}, integrity ok." in out
    assert not stale_wal.exists()
    assert_sound_copy(target)
    assert chats_with_subscriptions(target) == expected_rows(SEEDED)
    assert leftovers(tmp_path) == []


def test_missing_target_folders_are_created(source: Path, tmp_path: Path):
    target = tmp_path / "backups" / "2026" / "11" / "copy.sqlite3"
    report = backup_database(source, target)
    assert report.target == target
    assert report.pages > 0
    assert_sound_copy(target)
    assert chats_with_subscriptions(target) == expected_rows(SEEDED)
    assert leftovers(target.parent) == []


def test_backing_up_onto_the_database_itself_is_refused_even_with_force(source: Path):
    stored = source.read_bytes()
    with pytest.raises(BackupError, match="is the database itself"):
        backup_database(source, source, force=True)
    assert source.read_bytes() == stored
    assert leftovers(source.parent) == []


def test_a_folder_as_target_is_refused(source: Path, tmp_path: Path):
    with pytest.raises(BackupError, match="is a folder"):
        backup_database(source, tmp_path, force=True)


def test_backup_of_a_missing_database_fails_without_creating_it(tmp_path: Path):
    with pytest.raises(BackupError, match="no database at"):
        backup_database(tmp_path / "absent.sqlite3", tmp_path / "copy.sqlite3")
    assert sorted(tmp_path.iterdir()) == []


def test_cli_names_a_missing_database_in_one_line_and_exits_1(
    tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
):
    missing = tmp_path / "data" / "bot.sqlite3"
    target = tmp_path / "backups" / "copy.sqlite3"
    assert cli(missing, str(target)) == 1
    captured = capsys.readouterr()
    assert printed_lines(captured.err) == [f"error: no database at {missing} (DATABASE_PATH)"]
    assert captured.out == ""
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.parametrize("into_page", [0.5, 0.0], ids=["torn-cells", "wrecked-page-header"])
async def test_a_damaged_database_fails_the_backup_in_one_line(
    tmp_path: Path, cli, capsys: pytest.CaptureFixture[str], into_page: float
):
    """integrity_check lists the problems (torn cells) or refuses to read (a wrecked page header).

    Either way the operator gets one line and no copy.
    """
    damaged = tmp_path / "bot.sqlite3"
    db = await database.connect(damaged)
    try:
        async with database.transaction(db):
            await db.executemany(
                "INSERT INTO chats (id, type, title, created) VALUES (?, 'group', ?, ?)",
                [(chat_id, f"Reading group {chat_id}", NOW.isoformat()) for chat_id in range(1, 2001)],
            )
    finally:
        await db.close()
    with read_only(damaged) as connection:
        page_size, page_count = connection.execute(
            "SELECT * FROM pragma_page_size, pragma_page_count"
        ).fetchone()
    with damaged.open("r+b") as file:
        # Near the end of the file: a leaf of the chats table, whose rows were written last.
        file.seek(page_size * (page_count - 3) + int(page_size * into_page))
        file.write(b"\xff" * 64)
    target = tmp_path / "backups" / "copy.sqlite3"
    assert cli(damaged, str(target)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = printed_lines(err)
    assert line.startswith("error: the copy failed integrity_check: ")
    assert not target.exists()
    assert leftovers(target.parent) == []
