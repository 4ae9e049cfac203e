"""The ledger's promise under storage faults: when a send cannot be recorded, stop sending.

A write lock held by another process for longer than busy_timeout, a full disk (SQLite's own
SQLITE_FULL, from a page limit on the push's connection) and a disk that fails writes (a file size
limit on the push process): every part is delivered once, repeats are bounded by the sends that were
out without a record, and nothing ends in a traceback. The bot itself keeps running and answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest
from telegram import Bot

from bot.config import load_settings
from bot.jobs import POLL_JOB, STORAGE_RETRY
from bot.log import Throttle
from bot.push.broadcaster import Broadcaster
from bot.push.limits import ChatLimits
from bot.push.transport import push_bot
from bot.services import Services
from handlers.errors import BUSY
from storage.chats import ChatRepository
from storage.deliveries import DeliveryLedger, Plan, PlannedPart
from tests.announcement import DAY, seed_day
from tests.clock import SteppingClock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, make_harness
from tests.pushes import (
    CHATS,
    PARTS,
    Ledger,
    announced_database,
    assert_resumed,
    finish,
    push_environment,
    start_push,
)
from tests.rivals import locked

pytestmark = pytest.mark.sqlite_only  # SQLite's own file: locks, a full or failing disk

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
USER = 11
LOCK_HELD = 20.0
"""Seconds another process holds the lock in the middle of a push, as in the report that asked for this."""
UNRECORDED = 2 * 64
"""Sends a `python -m bot push` may have out without a record (two per connection)."""


@pytest.fixture(scope="module")
def announced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return announced_database(tmp_path_factory.mktemp("announced"))


@pytest.fixture
def push_env(tmp_path: Path, announced: Path, telegram: FakeTelegram) -> dict[str, str]:
    return push_environment(tmp_path, announced, telegram)


def each_part_once(telegram: FakeTelegram, database: Path) -> None:
    done = Ledger.read(database)
    for chat_id in CHATS:
        assert [m.text for m in telegram.sent_messages(chat_id)] == [p.text for p in done.parts[chat_id]]
        assert [p.status for p in done.parts[chat_id]] == ["sent"] * PARTS
    assert len(telegram.sent_messages()) == len(CHATS) * PARTS


# --- `python -m bot push` through a lock, a full disk, a failing disk -----------------------------


@pytest.mark.e2e
def test_a_push_through_a_20_second_lock_sends_every_part_once(
    telegram: FakeTelegram, push_env: dict[str, str], tmp_path: Path
):
    env = {**push_env, "DATABASE_BUSY_TIMEOUT": "2", "PUSH_LEASE": "30"}
    pushing = start_push(env, tmp_path, "locked")
    try:
        telegram.wait_for_sync("sendMessage", count=100, timeout=30)
        with locked(Path(env["DATABASE_PATH"])):
            at_lock = len(telegram.send_times())
            time.sleep(LOCK_HELD)
            during_lock = len(telegram.send_times()) - at_lock
        assert pushing.wait(timeout=60) == 0
    finally:
        pushing.kill()
    log = (tmp_path / "locked.log").read_text()
    assert during_lock <= UNRECORDED, "sending went on while nothing could be recorded"
    assert "sending paused" in log and "writable again" in log
    assert "Traceback" not in log
    each_part_once(telegram, Path(env["DATABASE_PATH"]))


def stopped_with(log: str) -> int:
    """The push's one line on stopping, and how many sends it says may repeat."""
    [line] = [line for line in log.splitlines() if line.startswith("error: ")]
    found = re.search(r"the push stopped after \d+ messages, at most (\d+) of them sent but not", line)
    assert found, line
    return int(found.group(1))


@pytest.mark.e2e
def test_a_lock_outlasting_the_lease_stops_the_push_in_one_line_and_the_next_repeats_only_unrecorded_sends(
    telegram: FakeTelegram, push_env: dict[str, str], tmp_path: Path
):
    env = {**push_env, "DATABASE_BUSY_TIMEOUT": "0.5", "PUSH_LEASE": "3"}
    database = Path(env["DATABASE_PATH"])
    first = start_push(env, tmp_path, "first")
    try:
        telegram.wait_for_sync("sendMessage", count=100, timeout=30)
        with locked(database):
            assert first.wait(timeout=30) == 1
    finally:
        first.kill()
    log = (tmp_path / "first.log").read_text()
    unrecorded = stopped_with(log)
    assert unrecorded <= UNRECORDED and "Traceback" not in log
    at_stop = Ledger.read(database)

    restarted = finish(env, tmp_path)
    in_flight = assert_resumed(telegram, at_stop, Ledger.read(database), restarted)
    assert len(in_flight) <= unrecorded


FILE_SIZE_LIMIT = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.argv = ["bot", "push"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


@pytest.mark.e2e
def test_a_disk_failing_mid_push_stops_it_in_one_line_and_the_next_push_completes(
    telegram: FakeTelegram, push_env: dict[str, str], tmp_path: Path
):
    """The push process may not write files past its database's size and a little (its WAL grows):
    the driver reports the writes that fail, as a full or broken disk does."""
    env = {**push_env, "PUSH_LEASE": "2"}
    database = Path(env["DATABASE_PATH"])
    # Past what planning writes (pages of 100 chats, each its own transaction), short of the sends.
    limit = database.stat().st_size + 512 * 1024
    first = start_push(env, tmp_path, "first", ["-c", FILE_SIZE_LIMIT, str(limit)])
    assert first.wait(timeout=60) == 1
    log = (tmp_path / "first.log").read_text()
    unrecorded = stopped_with(log)
    assert unrecorded <= UNRECORDED
    assert 0 < len(telegram.send_times()) < len(CHATS) * PARTS, "the disk failed before or after the push"
    assert "Traceback" not in log
    at_stop = Ledger.read(database)

    restarted = finish(env, tmp_path)
    in_flight = assert_resumed(telegram, at_stop, Ledger.read(database), restarted)
    assert len(in_flight) <= unrecorded


# --- a full disk in the middle of a push, and space coming back -----------------------------------


@pytest.fixture
async def pusher(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with push_bot(telegram.token, telegram.base_url, connections=8) as bot:
        yield bot


async def test_a_full_disk_pauses_sending_and_the_push_resumes_by_itself_when_space_returns(
    telegram: FakeTelegram, pusher: Bot, db: aiosqlite.Connection, caplog: pytest.LogCaptureFixture
):
    chat_ids = range(1, 201)
    ledger = DeliveryLedger(db)
    for chat_id in chat_ids:
        await ChatRepository(db).register(chat_id, "private", None, None, NOW)
    texts = {chat_id: [f"Digest for {chat_id}, part {n} of 2" for n in (1, 2)] for chat_id in chat_ids}
    await ledger.plan_many(
        [Plan(chat_id, DAY, [PlannedPart(text) for text in texts[chat_id]]) for chat_id in chat_ids], NOW
    )
    broadcaster = Broadcaster(
        pusher, ledger, ChatRepository(db), rate=300, paid=True, chat_limits=ChatLimits(0.05), connections=8
    )
    caplog.set_level(logging.WARNING, logger="bot.push.broadcaster")
    pushing = asyncio.create_task(broadcaster.run())
    await until(lambda: len(telegram.send_times()) >= 50, "the push did not start")
    (pages,) = (await db.execute_fetchall("PRAGMA page_count"))[0]
    await db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: the ledger cannot grow
    await until(lambda: "full disk" in caplog.text, "recording never ran out of space")
    at_pause = len(telegram.send_times())
    await asyncio.sleep(0.5)  # the disk stays full a while
    during_pause = len(telegram.send_times()) - at_pause
    await db.execute("PRAGMA max_page_count = 1073741823")  # space is freed
    report = await pushing

    assert during_pause <= broadcaster.unrecorded
    assert "writable again" in caplog.text
    assert report.sent == 400
    for chat_id in chat_ids:
        assert [m.text for m in telegram.sent_messages(chat_id)] == texts[chat_id]
    assert (await ledger.summary(DAY)).sent == 400


async def until(condition, what: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


# --- the running bot keeps going ------------------------------------------------------------------


@pytest.fixture
async def bot(telegram: FakeTelegram, bot_env: dict[str, str]) -> AsyncIterator[BotHarness]:
    settings = load_settings({**bot_env, "DATABASE_BUSY_TIMEOUT": "0.3"}, env_file=None)
    harness = make_harness(telegram, settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_command_during_a_lock_longer_than_busy_timeout_is_answered_politely_and_the_bot_goes_on(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
):
    with locked(bot.services.settings.database_path):
        reply = await bot.send(USER, "/subscribe IR", user_id=USER)
    assert reply.visible_text == BUSY
    assert await bot.services.subscriptions.of_chat(USER) == []
    assert not [record for record in caplog.records if record.exc_info], "a database fault is no bug"
    assert "the database is locked by another process" in caplog.text

    reply = await bot.send(USER, "/subscribe IR", user_id=USER)
    assert reply.visible_text.startswith("✅ Subscribed to IR")
    assert await bot.services.subscriptions.of_chat(USER) == ["cs.IR"]


async def test_a_poll_the_database_refuses_comes_back_in_a_minute(
    telegram: FakeTelegram, arxiv: FakeArxiv, bot_env: dict[str, str]
):
    seed_day(arxiv)
    clock = SteppingClock(datetime(2026, 11, 24, 5, 20, tzinfo=UTC))
    harness = make_harness(telegram, load_settings({**bot_env, "ARXIV_RETRIES": "1"}, env_file=None), clock)
    application = harness.application
    await application.initialize()
    await application.post_init(application)
    await harness.services.chats.register(USER, "private", None, None, clock())
    await harness.services.subscriptions.add(USER, ["cs.IR"], clock())  # the bot reads followed categories
    await harness.services.db.execute("PRAGMA query_only = ON")  # every write of the start-up poll refused
    await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:

        async def rescheduled() -> bool:
            jobs = application.job_queue.get_jobs_by_name(POLL_JOB)
            return bool(jobs) and jobs[0].data is not None

        await until_async(rescheduled, "the refused poll did not plan the next one")
        assert application.job_queue.get_jobs_by_name(POLL_JOB)[0].data == clock() + STORAGE_RETRY
        assert await harness.services.papers.latest_announcement("cs.IR") is None
    finally:
        await harness.stop()


async def until_async(condition, what: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


def disk_full(path: Path) -> sqlite3.OperationalError:
    """SQLITE_FULL from the driver itself: a page limit the table outgrows."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("CREATE TABLE t (x)")
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")
        try:
            db.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
        except sqlite3.OperationalError as error:
            return error
    raise AssertionError("the insert fitted")


async def test_storage_trouble_is_logged_at_most_once_a_minute(
    settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    now = [0.0]
    full = disk_full(tmp_path / "full.sqlite3")
    async with Services.open(settings) as services:
        services.storage_alarm = Throttle(60.0, monotonic=lambda: now[0])
        caplog.set_level(logging.ERROR, logger="bot.services")
        assert services.storage_trouble("push", full)
        now[0] = 30.0
        assert services.storage_trouble("arXiv poll", full)
        assert services.storage_trouble("handling an update", full)
        now[0] = 61.0
        assert services.storage_trouble("push", full)
        assert not services.storage_trouble("push", ValueError("a bug"))
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "push: the database is on a full disk (database or disk is full); will retry",
        "push: the database is on a full disk (database or disk is full); will retry"
        " (2 more since the last such line)",
    ]
