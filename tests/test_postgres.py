"""PostgreSQL as the bot's database: placeholders, migrations run by two instances at once, a server
that drops the connection, `migrate-to-postgres`, `doctor` and `backup` on it.

Tests that need the server run in the suite's PostgreSQL run (TEST_DATABASE=postgres), which
`make test` always runs; the placeholder rewriting is pure and runs in both.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from psycopg.pq import TransactionStatus

from bot.cli.main import main
from bot.push.broadcaster import Broadcaster
from bot.push.limits import ChatLimits
from bot.push.transport import push_bot
from storage import db as database
from storage.chats import ChatRepository
from storage.deliveries import DeliveryLedger, Plan, PlannedPart
from storage.feedback import LIKE, SAVE, FeedbackRepository
from storage.follows import FollowRepository
from storage.generated import GeneratedTextRepository
from storage.models import AnnounceType, Author, Generated, Paper
from storage.papers import PaperRepository
from storage.postgres import PostgresConnection, to_psycopg
from storage.push_runs import PushRunRepository
from storage.searches import SearchRepository
from storage.subscriptions import SubscriptionRepository
from tests.announcement import DAY
from tests.postgres_server import start_server
from tests.support import CLOSED_PORT, TEST_TOKEN, run_cli

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)


def feed_paper(arxiv_id: str, category: str = "cs.IR") -> Paper:
    return Paper(arxiv_id, 1, f"Feed title {arxiv_id}", "Abstract.", (Author("Ann Lee"),), (category,))


postgres = pytest.mark.postgres_only


def test_placeholders_become_psycopg_ones_outside_literals_and_casts():
    assert to_psycopg("SELECT ? WHERE a = :name AND b::text LIKE 'x%?:no' AND c % 2 = 1") == (
        "SELECT %s WHERE a = %(name)s AND b::text LIKE 'x%%?:no' AND c %% 2 = 1"
    )
    assert to_psycopg('SELECT CAST(:contents AS jsonb), "odd:col"') == (
        'SELECT CAST(%(contents)s AS jsonb), "odd:col"'
    )


class _BeginAnsweredThenCancelled:
    """psycopg's side of a BEGIN cancelled in flight: it waits for the server's answer, so the
    transaction is open, then raises the cancellation."""

    closed = broken = False

    def __init__(self) -> None:
        self.status = TransactionStatus.IDLE
        self.statements: list[str] = []

    @property
    def info(self) -> SimpleNamespace:
        return SimpleNamespace(transaction_status=self.status)

    async def execute(self, sql: str) -> None:
        self.statements.append(sql)
        if sql == "BEGIN":
            self.status = TransactionStatus.INTRANS
            raise asyncio.CancelledError
        if sql == "ROLLBACK":
            self.status = TransactionStatus.IDLE


async def test_a_transaction_cancelled_while_beginning_is_rolled_back_not_left_open():
    raw = _BeginAnsweredThenCancelled()
    connection = PostgresConnection(raw, "postgresql://localhost/unused", 1.0)
    with pytest.raises(asyncio.CancelledError):
        async with connection.transaction():
            pytest.fail("the transaction's statements must not run")
    assert raw.statements == ["BEGIN", "ROLLBACK"]
    assert not connection.in_transaction


@postgres
async def test_a_nul_character_in_user_text_is_dropped_rather_than_failing_the_statement(db):
    searches = SearchRepository(db)
    search_id = await searches.save(7, "graph\x00 retrieval", NOW)
    assert await searches.get(search_id, 7) == "graph retrieval"


@postgres
async def test_instances_migrating_one_database_at_once_apply_each_migration_once():
    url = start_server().empty_database()
    first, second = await asyncio.gather(database.connect(url), database.connect(url))
    try:
        latest = database.migrations()[-1][0]
        assert await database.schema_version(first) == await database.schema_version(second) == latest
        rows = await first.execute_fetchall("SELECT COUNT(*) FROM schema_version")
        assert rows[0][0] == 1
    finally:
        await first.close()
        await second.close()


@postgres
async def test_a_dropped_connection_fails_the_transaction_in_flight_whole_and_the_next_one_reconnects():
    url = start_server().empty_database()
    db = await database.connect(url)
    try:
        chats = ChatRepository(db)
        await chats.register(1, "private", None, "en", NOW)
        with pytest.raises(psycopg.OperationalError) as lost:
            async with database.transaction(db):
                await db.execute("UPDATE chats SET title = 'half' WHERE id = 1")
                await _terminate_other_connections(url)
                await db.execute("UPDATE chats SET title = 'done' WHERE id = 1")
        assert database.storage_fault(lost.value) is database.StorageFault.UNREACHABLE
        assert (await chats.get(1)).title is None  # nothing of the failed transaction stayed
        await chats.register(2, "private", None, "en", NOW)  # the next use opens a new connection
        assert (await chats.get(2)) is not None
    finally:
        await db.close()


async def _terminate_other_connections(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as killer:
        await killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


async def _fill(db: database.Connection) -> None:
    """A little of everything the bot stores, through its repositories."""
    chats, subscriptions = ChatRepository(db), SubscriptionRepository(db)
    for chat_id in (1, -1001234567890123):
        await chats.register(chat_id, "private" if chat_id > 0 else "supergroup", "Ünïcode 'room'", "zh", NOW)
        await subscriptions.add(chat_id, ["cs.IR", "cs.LG"], NOW)
    papers = PaperRepository(db, clock=lambda: NOW)
    await papers.store_announcement(
        "cs.IR",
        DAY,
        [(feed_paper("2611.10000"), AnnounceType.NEW), (feed_paper("2611.10001"), AnnounceType.NEW)],
    )
    await papers.store_announcement("cs.LG", DAY, [(feed_paper("2611.10001", "cs.LG"), AnnounceType.CROSS)])
    ledger = DeliveryLedger(db)
    await ledger.plan(
        1, DAY, [PlannedPart("<b>one</b> 100%", {"inline_keyboard": []}), PlannedPart("two")], NOW
    )
    await ledger.plan(-1001234567890123, DAY, [PlannedPart("<b>one</b> 100%", {"inline_keyboard": []})], NOW)
    await ledger.claim("pusher", NOW, 10, timedelta(seconds=30))
    await ledger.plan_broadcast("Maintenance at 22:00", 1, 1, NOW)
    await PushRunRepository(db).record(DAY, NOW, 2, 3, featured=(2, 1))
    texts = GeneratedTextRepository(db)
    await texts.record("2611.10000", "zh", "model", NOW, generated=Generated("摘要", "标题"))
    await texts.take_request(DAY, 10)
    await SearchRepository(db).save(1, "graph retrieval", NOW)
    await FollowRepository(db).add(1, [("topic", "Retrieval", "retrieval")], NOW, limit=10)
    feedback = FeedbackRepository(db)
    await feedback.tap(1, 7, "2611.10000", LIKE, ["2611.10000", "2611.10001"], NOW)
    await feedback.tap(1, 7, "2611.10001", SAVE, ["2611.10000", "2611.10001"], NOW)


@postgres
def test_migrate_to_postgres_copies_every_row_verified_and_the_bot_goes_on(tmp_path, monkeypatch, capsys):
    source = tmp_path / "bot.sqlite3"
    asyncio.run(_filled_sqlite(source))
    url = start_server().empty_database()
    monkeypatch.setenv("DATABASE_PATH", str(source))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")

    assert main(["migrate-to-postgres"]) == 0
    out = capsys.readouterr().out
    assert f"Moved {source} to PostgreSQL:" in out and "verified equal" in out
    asyncio.run(_goes_on(url))

    assert main(["migrate-to-postgres"]) == 1
    assert "not empty (chats has rows)" in capsys.readouterr().err


async def _filled_sqlite(path: Path) -> None:
    sqlite = await database.connect(path)
    try:
        await _fill(sqlite)
    finally:
        await sqlite.close()


async def _goes_on(url: str) -> None:
    db = await database.connect(url)
    try:
        ids = [row[0] for row in await db.execute_fetchall("SELECT id FROM chats ORDER BY id")]
        assert ids == [-1001234567890123, 1]
        assert await SubscriptionRepository(db).of_chat(-1001234567890123) == ["cs.IR", "cs.LG"]
        assert (await PaperRepository(db).paper("2611.10001")).title == "Feed title 2611.10001"
        assert await FeedbackRepository(db).tallies(1, ["2611.10000"]) == {"2611.10000": (1, 0, 0)}
        # New rows continue after the copied ids instead of colliding with them.
        assert await SearchRepository(db).save(1, "another", NOW) == 2
        assert await DeliveryLedger(db).plan(1, DAY + timedelta(days=1), [PlannedPart("next")], NOW)
    finally:
        await db.close()


def test_migrate_to_postgres_needs_a_target(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "bot.sqlite3"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    assert main(["migrate-to-postgres"]) == 1
    assert "set DATABASE_URL" in capsys.readouterr().err


@postgres
def test_doctor_on_postgres_names_the_server_and_never_the_password(monkeypatch, capsys, tmp_path):
    server = start_server()
    monkeypatch.setenv("DATABASE_URL", server.url("postgres").replace("bot@", "bot:s3cretpassw0rd@"))
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "unused.sqlite3"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("ARXIV_FEED_URL", "http://127.0.0.1:9/atom/")
    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")
    monkeypatch.setenv("ARXIV_HTML_URL", "http://127.0.0.1:9/html/")
    monkeypatch.setenv("ARXIV_LISTING_URL", "http://127.0.0.1:9/list/")
    main(["doctor"])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "PostgreSQL 1" in text and f"127.0.0.1:{server.port}/postgres" in text
    assert "the primary, accepting writes" in text
    assert "s3cretpassw0rd" not in text


def test_backup_on_postgres_points_to_pg_dump(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pw@127.0.0.1:9/bot")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    assert main(["backup", str(tmp_path / "copy")]) == 1
    err = capsys.readouterr().err
    assert "pg_dump" in err and "pw@" not in err


@postgres
async def test_a_push_through_dropped_connections_sends_every_part_once(telegram):
    """The server drops the push's connection twice while it sends (a restart, a failover): sending
    pauses, the connection is opened again, and every chat gets its message once."""
    url = start_server().empty_database()
    db = await database.connect(url)
    try:
        chat_ids = range(1, 61)
        for chat_id in chat_ids:
            await ChatRepository(db).register(chat_id, "private", None, None, NOW)
        ledger = DeliveryLedger(db)
        await ledger.plan_many(
            [Plan(chat_id, DAY, [PlannedPart(f"for {chat_id}")]) for chat_id in chat_ids], NOW
        )
        async with push_bot(telegram.token, telegram.base_url, 8) as bot:
            pusher = Broadcaster(
                bot, ledger, ChatRepository(db), rate=20, batch=5, chat_limits=ChatLimits(interval=0.0)
            )
            push = asyncio.create_task(pusher.run("pusher"))
            for sent in (15, 35):
                await telegram.wait_for("sendMessage", count=sent, timeout=30)
                await _terminate_other_connections(url)
            report = await push
        assert sorted(message.chat_id for message in telegram.sent_messages()) == list(chat_ids)
        assert report.sent == len(chat_ids)
        assert (await ledger.summary(DAY)).sent == len(chat_ids)
    finally:
        await db.close()


def test_an_unreachable_postgresql_at_start_is_one_line_without_the_password(tmp_path):
    env = {
        "DATABASE_URL": "postgresql://bot:s3cretpassw0rd@127.0.0.1:9/bot",
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_BASE_URL": f"{CLOSED_PORT}/bot",
    }
    result = run_cli(env, "push", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    line = lines[0]
    assert line.startswith("error: database 127.0.0.1:9/bot: unreachable")
    assert line.endswith("check that DATABASE_URL's PostgreSQL server is up, with a connection free")
    assert "s3cretpassw0rd" not in output and "Traceback" not in output
