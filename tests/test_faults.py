"""Faults from the matrix in docs/reliability.md that no other module covers, through the fakes.

Real clients only (httpx inside PTB and the bot, requests inside `arxiv`, sqlite3 for the rival
writer); time that matters is injected, and waits are on observations with deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest
from telegram import Bot

from bot.arxiv.clients import ArxivClients
from bot.arxiv.ingest import ingest
from bot.arxiv.schedule import ARXIV_TZ, POLL_SOON
from bot.config import Settings, load_settings
from bot.core.render import Format, render_digest
from bot.jobs import POLL_JOB, poll_arxiv, run_ingest
from bot.push.broadcaster import Broadcaster
from bot.push.limits import ChatLimits, SendRetry
from bot.push.planning import BROADCASTER_KEY, run_push
from bot.push.transport import push_bot
from bot.reading import with_full_papers
from bot.services import Services
from storage import db as database
from storage.chats import ChatRepository
from storage.deliveries import DeliveryLedger, Plan, PlannedPart
from storage.papers import PaperRepository
from tests.announcement import DAY, IR_NEW, seed_day
from tests.clock import SteppingClock, VirtualTime
from tests.fakes.arxiv_server import API, FEED, LISTING, FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness, StartBot, make_harness
from tests.support import bot_command, cli_env, planned_poll, subscribe_chats, wait_until

USER = 11
OPERATOR = 7
DAY_BEFORE = DAY - timedelta(days=1)
TUESDAY_MORNING = datetime(2026, 11, 24, 0, 20, tzinfo=ARXIV_TZ)
LOCK_HELD = 1.0
"""Seconds the rival writer keeps the database after the bot took the update: its write runs into it."""


def digests(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [
        m.visible_text for m in telegram.sent_messages(chat_id) if m.visible_text.startswith("arXiv digest")
    ]


# --- the database locked by another process ---------------------------------------------------


def hold_write_lock(
    path: Path, locked: threading.Event, release: threading.Event, released: list[float]
) -> None:
    """A second writer, as `python -m bot push` would be: BEGIN IMMEDIATE until told to commit."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as rival:
        rival.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait()
        released.append(time.monotonic())
        rival.execute("COMMIT")


@pytest.mark.sqlite_only
async def test_a_command_waits_for_a_database_locked_by_another_process(bot: BotHarness):
    locked, release, released = threading.Event(), threading.Event(), []
    path = bot.services.settings.database_path
    rival = threading.Thread(target=hold_write_lock, args=(path, locked, release, released), daemon=True)
    rival.start()
    try:
        assert await asyncio.to_thread(locked.wait, 5), "the rival writer did not get the lock"
        mark = bot.telegram.mark()
        update = bot.telegram.push_update(bot.telegram.message_update(USER, "/subscribe IR", user_id=USER))

        async def fetched() -> bool:
            return all(
                pending["update_id"] != update["update_id"] for pending in bot.telegram.pending_updates
            )

        await wait_until(fetched, "the bot did not fetch the update")
        await asyncio.sleep(LOCK_HELD)  # the handler runs into the lock and has to wait it out
        assert bot.telegram.sent_messages(USER) == []
    finally:
        release.set()
        await asyncio.to_thread(rival.join)
    [reply] = await bot.telegram.wait_for("sendMessage", chat_id=USER, after=mark)
    assert reply.time >= released[0]
    assert reply.ok and reply.params["text"].startswith("✅ Subscribed to IR")
    assert await bot.services.subscriptions.of_chat(USER) == ["cs.IR"]


# --- arXiv down at poll time -------------------------------------------------------------------


async def test_a_poll_that_finds_arxiv_down_tries_again_in_two_minutes(
    telegram: FakeTelegram, arxiv: FakeArxiv, bot_env: dict[str, str]
):
    seed_day(arxiv)
    arxiv.fail(LISTING, 503, times=None)
    arxiv.fail(FEED, 503, times=None)
    await subscribe_chats(Path(bot_env["DATABASE_PATH"]), [USER], ["cs.IR", "cs.LG"], TUESDAY_MORNING)
    settings = load_settings({**bot_env, "ARXIV_RETRIES": "1"}, env_file=None)
    harness = make_harness(telegram, settings, clock=lambda: TUESDAY_MORNING)
    await harness.start()
    try:
        assert await planned_poll(harness) == TUESDAY_MORNING + POLL_SOON
        assert await harness.services.papers.latest_announcements(["cs.IR", "cs.LG"]) == {}
        for endpoint, prefix in ((LISTING, "/list/cs.IR/new"), (FEED, "/atom/cs.IR")):
            polled = [request.path for request in arxiv.requests_to(endpoint)]
            assert prefix in polled and len(polled) == len(set(polled))  # ARXIV_RETRIES=1: one try each

        arxiv.clear_faults()
        harness.application.job_queue.get_jobs_by_name(POLL_JOB)[0].schedule_removal()
        harness.application.job_queue.run_once(poll_arxiv, when=0, name=POLL_JOB)
        assert await planned_poll(harness) == datetime(2026, 11, 24, 20, 0, tzinfo=ARXIV_TZ)
        assert await harness.services.papers.latest_announcement("cs.IR") == DAY
    finally:
        await harness.stop()


async def test_a_poll_that_left_papers_without_metadata_comes_back_before_the_push(
    telegram: FakeTelegram, arxiv: FakeArxiv, bot_env: dict[str, str]
):
    """The export API failing for one poll must not cost the day's digest its affiliations: the push
    waits AFFILIATION_WAIT (5 minutes) for them, so the next try has to come within that wait,
    not at the next announcement."""
    seed_day(arxiv)
    arxiv.fail(API, 503, times=1)
    await subscribe_chats(Path(bot_env["DATABASE_PATH"]), [USER], ["cs.IR", "cs.LG"], TUESDAY_MORNING)
    settings = load_settings({**bot_env, "ARXIV_RETRIES": "1"}, env_file=None)
    harness = make_harness(telegram, settings, clock=lambda: TUESDAY_MORNING)
    await harness.start()
    try:
        planned = await planned_poll(harness)
        assert await harness.services.papers.latest_announcement("cs.IR") == DAY
        assert len(await harness.services.papers.ids_missing_metadata(100)) == 41
        assert planned - TUESDAY_MORNING < timedelta(seconds=settings.affiliation_wait)
    finally:
        await harness.stop()


# --- the daily push after outages --------------------------------------------------------------


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))


@pytest.fixture
def push_settings(bot_env: dict[str, str]) -> Settings:
    env = {**bot_env, "CATEGORIES": "IR", "AFFILIATION_WAIT": "600", "ARXIV_RETRIES": "1"}
    return load_settings(env, env_file=None)


@pytest.fixture
async def services(push_settings: Settings, clock: SteppingClock) -> AsyncIterator[Services]:
    async with Services.open(push_settings, clock) as opened:
        yield opened


@pytest.fixture
def broadcaster(services: Services, pusher: Bot, clock: SteppingClock) -> Broadcaster:
    return Broadcaster(pusher, services.ledger, services.chats, clock=clock)


async def follow_ir(services: Services, chat_id: int) -> None:
    await services.chats.register(chat_id, "private", None, None, services.clock())
    await services.subscriptions.add(chat_id, ["cs.IR"], services.clock())


async def test_a_restart_after_a_day_down_pushes_only_the_latest_announcement_once(
    push_settings: Settings, arxiv: FakeArxiv, telegram: FakeTelegram, clock: SteppingClock
):
    """Monday's announcement was stored, then the bot went down before its push; it comes back on
    Tuesday and its start-up poll stores Tuesday's. Monday's is never sent, Tuesday's once."""
    arxiv.add_paper("2611.09001", "Monday's paper", categories=["cs.IR"])
    arxiv.set_announcement("cs.IR", DAY_BEFORE, [("2611.09001", "new")])
    async with Services.open(push_settings, clock) as before_downtime:
        await follow_ir(before_downtime, USER)
        await run_ingest(before_downtime, ["cs.IR"])
    clock.advance(days=1)
    seed_day(arxiv)

    async with restarted(push_settings, clock, telegram) as (services, broadcaster):
        await run_ingest(services, ["cs.IR"])
        clock.advance(minutes=11)
        first = await run_push(services, broadcaster)
        assert first.planned is not None and first.planned.announced == DAY
        assert first.delivered.sent == 1
        again = await run_push(services, broadcaster)
        assert again.planned is None and again.delivered.sent == 0
    [digest] = digests(telegram, USER)
    assert digest.startswith("arXiv digest · Tue 24 Nov 2026") and "Monday's paper" not in digest

    clock.advance(days=2)
    async with restarted(push_settings, clock, telegram) as (services, broadcaster):
        later = await run_push(services, broadcaster)
        assert later.planned is None and later.delivered.sent == 0
        assert await services.push_runs.get(DAY_BEFORE) is None
        assert (await services.ledger.summary(DAY_BEFORE)).chats == 0
    assert len(digests(telegram, USER)) == 1


@contextlib.asynccontextmanager
async def restarted(
    settings: Settings, clock: SteppingClock, telegram: FakeTelegram
) -> AsyncIterator[tuple[Services, Broadcaster]]:
    """A fresh process's services and broadcaster on the same database."""
    async with (
        Services.open(settings, clock) as services,
        push_bot(telegram.token, telegram.base_url, connections=8) as pusher,
    ):
        yield services, Broadcaster(pusher, services.ledger, services.chats, clock=clock)


async def test_export_api_down_all_day_the_digest_goes_out_from_the_feed_and_is_completed_later(
    services, broadcaster, arxiv: FakeArxiv, telegram: FakeTelegram, clock: SteppingClock
):
    await follow_ir(services, USER)
    arxiv.fail(API, 503, times=None)
    seed_day(arxiv)
    clock.set(datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    report = await run_ingest(services, ["cs.IR"])
    assert "HTTP 503" in report.metadata_error and report.metadata_completed == 0

    assert (await run_push(services, broadcaster)).planned is None  # affiliations get their wait
    clock.advance(minutes=11)
    await run_ingest(services, ["cs.IR"])  # the next poll: the API is still down
    pushed = await run_push(services, broadcaster)
    assert pushed.planned is not None and pushed.delivered.sent == 1
    [digest] = digests(telegram, USER)
    assert "Retrieval study number 0" in digest and "A Lovelace, A Turing" in digest
    assert "University of Oxford" not in digest

    arxiv.clear_faults()
    clock.advance(hours=1)
    completed = await run_ingest(services, ["cs.IR"])
    assert completed.errors == [] and completed.metadata_completed == 16
    assert await services.papers.ids_missing_metadata(100) == []
    paper = await services.papers.paper(IR_NEW[0])
    assert paper.primary_category == "cs.IR"
    assert paper.authors[0].affiliations == ("University of Oxford",)
    digest = await with_full_papers(services.papers, await services.curation.digest(["cs.IR"], DAY), None)
    today = "\n".join(render_digest(digest, fmt=Format.TEXT))
    assert "[University of Oxford & Google DeepMind]" in today
    assert (await run_push(services, broadcaster)).delivered.sent == 0
    assert len(digests(telegram, USER)) == 1


# --- Telegram flood control storms ------------------------------------------------------------


STORM_WAIT = 30
STORM_RETRY = SendRetry(sends=4, backoff=0.01, later=timedelta(minutes=10))
PUSHED_AT = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def part_texts(chat_id: int, parts: int) -> list[str]:
    return [f"Digest for {chat_id}, part {number} of {parts}" for number in range(1, parts + 1)]


async def plan_parts(db: aiosqlite.Connection, chat_ids: list[int], parts: int) -> DeliveryLedger:
    ledger = DeliveryLedger(db)
    for chat_id in chat_ids:
        await ChatRepository(db).register(chat_id, "private", None, None, PUSHED_AT)
    plans = [
        Plan(chat_id, DAY, [PlannedPart(text) for text in part_texts(chat_id, parts)]) for chat_id in chat_ids
    ]
    await ledger.plan_many(plans, PUSHED_AT)
    return ledger


def storm_broadcaster(
    pusher: Bot, db: aiosqlite.Connection, ledger: DeliveryLedger, wall: SteppingClock, virtual: VirtualTime
) -> Broadcaster:
    return Broadcaster(
        pusher,
        ledger,
        ChatRepository(db),
        chat_limits=ChatLimits(interval=0.05),
        retry=STORM_RETRY,
        clock=wall,
        monotonic=virtual.monotonic,
        sleep=virtual.sleep,
    )


async def test_consecutive_flood_waits_are_each_honoured_and_the_digest_arrives_in_order(
    telegram: FakeTelegram, pusher: Bot, db: aiosqlite.Connection
):
    ledger = await plan_parts(db, [USER], parts=2)
    telegram.fail_next("sendMessage", error_code=429, retry_after=STORM_WAIT, times=3)
    virtual = VirtualTime()
    report = await storm_broadcaster(pusher, db, ledger, SteppingClock(PUSHED_AT), virtual).run()
    assert (report.sent, report.retried, report.released, report.failed) == (2, 3, 0, 0)
    assert [m.text for m in telegram.sent_messages(USER)] == part_texts(USER, 2)
    assert virtual.now >= 3 * STORM_WAIT


async def test_a_flood_storm_outlasting_the_push_holds_every_digest_for_later_and_loses_none(
    telegram: FakeTelegram, pusher: Bot, db: aiosqlite.Connection
):
    chat_ids = [101, 102, 103]
    ledger = await plan_parts(db, chat_ids, parts=2)
    telegram.fail_next("sendMessage", error_code=429, retry_after=STORM_WAIT, times=None)
    wall, virtual = SteppingClock(PUSHED_AT), VirtualTime()

    stormy = await storm_broadcaster(pusher, db, ledger, wall, virtual).run()
    assert (stormy.sent, stormy.failed, stormy.deactivated, stormy.released) == (0, 0, 0, 6)
    assert telegram.count("sendMessage") == len(chat_ids) * STORM_RETRY.sends
    assert virtual.now >= (STORM_RETRY.sends - 1) * STORM_WAIT
    assert [(await ChatRepository(db).get(chat_id)).active for chat_id in chat_ids] == [True] * 3
    rows = await db.execute_fetchall("SELECT status, last_error FROM deliveries WHERE part = 1")
    assert all(status == "pending" and error.startswith("RetryAfter") for status, error in rows)

    telegram.clear_faults()
    assert (await storm_broadcaster(pusher, db, ledger, wall, virtual).run()).sent == 0  # held back
    wall.advance(seconds=STORM_RETRY.later.total_seconds())
    calm = await storm_broadcaster(pusher, db, ledger, wall, virtual).run()
    assert calm.sent == 6
    for chat_id in chat_ids:
        assert [m.text for m in telegram.sent_messages(chat_id)] == part_texts(chat_id, 2)


async def test_a_reply_hit_by_flood_control_still_arrives(bot: BotHarness):
    """Replies share Telegram's limits with a running push, so a 429 on a reply must be waited out."""
    bot.telegram.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=USER)
    reply = await bot.send(USER, "/subscribe IR", user_id=USER)
    assert reply.visible_text.startswith("✅ Subscribed to IR")


@pytest.fixture
async def operator_bot(start_bot: StartBot, clock: SteppingClock) -> BotHarness:
    return await start_bot(clock=clock, ADMIN_IDS=str(OPERATOR))


async def test_a_broadcast_holds_a_chat_lost_to_a_flood_storm_for_later_and_reports_once_done(
    operator_bot: BotHarness, clock: SteppingClock
):
    bot = operator_bot
    for chat_id in (USER, OPERATOR):
        await bot.send(chat_id, "/start", user_id=chat_id)
    preview = await bot.send(OPERATOR, "/broadcast Maintenance tonight", user_id=OPERATOR)
    bot.telegram.fail_next("sendMessage", error_code=429, retry_after=1, times=None, chat_id=USER)
    mark = bot.telegram.mark()
    await bot.press(OPERATOR, preview.message_id, preview.buttons[0]["callback_data"], user_id=OPERATOR)
    refused = await bot.telegram.wait_for("sendMessage", chat_id=USER, count=4, after=mark, timeout=15)
    assert all(call.error_code == 429 for call in refused)

    async def held_back() -> bool:
        rows = await bot.services.db.execute_fetchall(
            "SELECT status, last_error FROM deliveries WHERE chat_id = ? AND broadcast_id IS NOT NULL",
            (USER,),
        )
        pushing = bot.services.push_lock.locked()
        return not pushing and rows[0][0] == "pending" and rows[0][1].startswith("RetryAfter")

    await wait_until(held_back, "the flooded chat's broadcast was not held back for later")
    assert [m.visible_text for m in bot.telegram.sent_messages(OPERATOR)][-1] == "Maintenance tonight"

    bot.telegram.clear_faults()
    clock.advance(minutes=10)
    await run_push(bot.services, bot.application.bot_data[BROADCASTER_KEY])
    [report] = [m.visible_text for m in bot.telegram.sent_messages(OPERATOR) if "done" in m.visible_text]
    assert report == "Broadcast done: 2 sent, 0 failed, 0 deactivated (bot blocked or removed)."
    assert [m.visible_text for m in bot.telegram.sent_messages(USER)][-1] == "Maintenance tonight"


# --- the bot crashing mid-ingest -----------------------------------------------------------------


@pytest.mark.e2e
async def test_a_fetch_killed_mid_ingest_keeps_what_it_stored_and_a_rerun_completes_it(
    base_env: dict[str, str], arxiv: FakeArxiv, tmp_path: Path
):
    seed_day(arxiv)
    arxiv.hang(API, times=None)
    env = {**base_env, **arxiv.env(), "CATEGORIES": "IR,LG", "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        *bot_command("fetch"),
        cwd=tmp_path,
        env=cli_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        async def asking_the_api() -> bool:
            assert process.returncode is None, "fetch ended before the API request"
            return bool(arxiv.requests_to(API))

        await wait_until(asking_the_api, "fetch never reached the export API", within=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
    arxiv.clear_faults()

    settings = load_settings(env, env_file=None)
    db = await database.connect(settings.database)
    try:
        if not database.is_postgres(db):  # PostgreSQL's own log makes a killed client's write atomic
            assert [row[0] for row in await db.execute_fetchall("PRAGMA integrity_check")] == ["ok"]
        repo = PaperRepository(db)
        assert await repo.latest_announcements(["cs.IR", "cs.LG"]) == {"cs.IR": DAY, "cs.LG": DAY}
        assert len(await repo.ids_missing_metadata(100)) == 41
        async with ArxivClients(settings) as clients:
            rerun = await ingest(["cs.IR", "cs.LG"], clients, repo)
        assert [report.stored for report in rerun.categories] == [0, 0]
        assert (rerun.metadata_completed, rerun.errors) == (41, [])
        assert await repo.ids_missing_metadata(100) == []
        listings = await db.execute_fetchall("SELECT category, COUNT(*) FROM listings GROUP BY category")
        assert sorted(tuple(row) for row in listings) == [("cs.IR", 16), ("cs.LG", 26)]
    finally:
        await db.close()
