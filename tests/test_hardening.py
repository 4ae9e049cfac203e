"""Hardening: one chat cannot hold up the others, an unreadable update cannot stop the bot, a
revoked token stops it with one line, and every message of the process shares one send budget."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import Chat, Message, Update
from telegram.error import RetryAfter

from bot.context import RUNNING_KEY, cancel_running_work, stop_for_good
from bot.gateway.limiter import SharedSendLimiter
from bot.gateway.polling import REJECTED_TOKEN
from bot.gateway.updates import ChatBudget, PerChatUpdateProcessor
from bot.jobs import ENRICH_JOB, PUSH_JOB, cancelled_on_stop
from bot.push.limits import HOLD_FOR_REPLIES, SendRate
from bot.services import FATAL_KEY, PUSH_SERVICES_KEY
from storage import db as database
from tests.announcement import seed_day
from tests.clock import QueuedTime, VirtualTime
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import FakeTelegram
from tests.harness import BotHarness
from tests.support import TEST_TOKEN, ingested, start_cli, subscribe_chats, wait_until

USER = 4242
_HELD = 0x68656C64  # an advisory lock key the PostgreSQL test holds
OTHER = 5151
GROUP = -1001234
ADMIN = 77
MEMBER = 88


# --- one chat's flood stays in that chat ---------------------------------------------------------


async def test_a_group_flooding_the_bot_does_not_delay_a_private_chat(bot: BotHarness):
    telegram = bot.telegram
    telegram.add_chat(GROUP, "supergroup", title="Lab")
    telegram.set_admins(GROUP, [ADMIN])
    for _ in range(60):
        telegram.push_update(telegram.message_update(GROUP, "/subscribe IR", user_id=MEMBER))
    reply = await bot.send(USER, "/start", user_id=USER)
    assert "arXiv paper digest" in reply.visible_text
    # The group's refusals are held to Telegram's 20 messages a minute for that group alone.
    assert len(telegram.sent_messages(GROUP)) <= 21


async def test_a_chat_s_updates_are_handled_in_the_order_sent(bot: BotHarness):
    telegram = bot.telegram
    mark = telegram.mark()
    for text in ("/subscribe IR", "/unsubscribe IR", "/subscribe LG"):
        telegram.push_update(telegram.message_update(USER, text, user_id=USER))
    await telegram.wait_for("sendMessage", chat_id=USER, after=mark, count=3)
    replies = [message.visible_text for message in telegram.sent_messages(USER)]
    assert replies[0].startswith("✅ Subscribed to IR")
    assert replies[1].startswith("Unsubscribed from IR")
    assert replies[2].startswith("✅ Subscribed to LG")
    assert await bot.services.subscriptions.of_chat(USER) == ["cs.LG"]


async def test_a_chat_over_its_budget_has_the_excess_dropped_and_logged_once(
    caplog: pytest.LogCaptureFixture,
):
    clock = VirtualTime()
    processor = PerChatUpdateProcessor(budget=ChatBudget(burst=3, per_minute=60), monotonic=clock.monotonic)
    handled: list[str] = []

    async def handle(name: str) -> None:
        handled.append(name)

    with caplog.at_level(logging.WARNING, logger="bot.gateway.updates"):
        for number in range(6):
            await processor.process_update(_update(USER, number), handle(f"user-{number}"))
        await processor.process_update(_update(OTHER, 0), handle("other-0"))
        clock.now += 2.0  # two seconds refill two updates at 60 a minute
        for number in range(6, 9):
            await processor.process_update(_update(USER, number), handle(f"user-{number}"))
    assert handled == ["user-0", "user-1", "user-2", "other-0", "user-6", "user-7"]
    assert [record.getMessage() for record in caplog.records].count(
        f"chat {USER} sends more than 60 updates a minute; the excess is dropped"
    ) == 1


def _update(chat_id: int, number: int) -> Update:
    chat = Chat(chat_id, "private")
    return Update(number, message=Message(number, date=datetime.now(UTC), chat=chat, text="hi"))


# --- a busy event loop --------------------------------------------------------------------------


async def test_a_poll_that_comes_due_while_the_event_loop_is_busy_still_runs(
    start_bot, arxiv: FakeArxiv, bot_env: dict[str, str]
):
    seed_day(arxiv)
    await subscribe_chats(Path(bot_env["DATABASE_PATH"]), [1], ["cs.IR"], datetime.now(UTC))
    bot = await start_bot()
    # A long computation on the loop (planning a large push, say) makes the first poll late by
    # more than APScheduler's default one-second grace; a poll dropped then would end polling.
    time.sleep(1.5)  # noqa: ASYNC251 - blocking the loop is the point
    await ingested(bot, "cs.IR")


# --- unreadable updates --------------------------------------------------------------------------


async def test_an_unreadable_update_is_skipped_once_and_polling_goes_on(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
):
    telegram = bot.telegram
    with caplog.at_level(logging.WARNING, logger="bot.gateway.polling"):
        broken = [
            telegram.push_update({"message": "a string where an object belongs"}),
            telegram.push_update({"poll": {"id": "1", "question": "?"}}),
        ]
        reply = await bot.send(USER, "/start", user_id=USER)
        assert "arXiv paper digest" in reply.visible_text
        again = await bot.send(USER, "/help", user_id=USER)
        assert "/subscribe" in again.visible_text
    skipped = [record.getMessage() for record in caplog.records if "skipped" in record.getMessage()]
    assert [line.split(":")[0] for line in skipped] == [
        f"update {update['update_id']} skipped" for update in broken
    ]


# --- one send budget for the process -------------------------------------------------------------


async def test_replies_and_the_push_draw_on_one_send_rate():
    clock = VirtualTime()
    shared = SendRate(10, clock.monotonic, clock.sleep)
    limiter = SharedSendLimiter(shared, clock.monotonic, clock.sleep)
    sent: list[float] = []

    async def send() -> dict:
        sent.append(clock.now)
        return {}

    moments = []
    for chat_id in (1, 2, 3):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat_id}, None)
        moments.append(clock.now)
        await shared.acquire()  # the push's turn, from the same budget
        moments.append(clock.now)
    assert sent == pytest.approx([0.0, 0.2, 0.4])
    assert moments == pytest.approx([number / 10 for number in range(6)])


async def test_a_reply_goes_before_the_push_messages_queued_in_the_shared_budget():
    clock = QueuedTime()
    shared = SendRate(10, clock.monotonic, clock.sleep)
    limiter = SharedSendLimiter(shared, clock.monotonic, clock.sleep)
    pushed: list[float] = []
    replied: list[float] = []

    async def push() -> None:
        await shared.acquire()
        pushed.append(clock.now)

    async def reply() -> dict:
        replied.append(clock.now)
        return {}

    queued = [asyncio.create_task(push()) for _ in range(30)]  # three seconds of the push's messages
    await asyncio.sleep(0)
    answering = asyncio.create_task(
        limiter.process_request(reply, (), {}, "sendMessage", {"chat_id": USER}, None)
    )
    await asyncio.sleep(0)
    await clock.advance(4.0)
    await asyncio.gather(*queued, answering)
    assert replied == pytest.approx([0.1])
    assert sorted(pushed + replied) == pytest.approx([number / 10 for number in range(31)])


async def test_a_429_on_a_reply_holds_every_later_send_even_after_the_reply_gives_up():
    clock = VirtualTime()
    shared = SendRate(30, clock.monotonic, clock.sleep)
    limiter = SharedSendLimiter(shared, clock.monotonic, clock.sleep, retries=1)

    async def flooded() -> dict:
        raise RetryAfter(7)

    with pytest.raises(RetryAfter):
        await limiter.process_request(flooded, (), {}, "sendMessage", {"chat_id": 5}, None)
    started = clock.now
    await shared.acquire()  # the apology, or the push's next message
    assert clock.now >= started + 7 - 1e-9


async def test_a_group_keeps_its_twenty_messages_a_minute_through_the_limiter():
    clock = VirtualTime()
    limiter = SharedSendLimiter(SendRate(1000, clock.monotonic, clock.sleep), clock.monotonic, clock.sleep)

    async def send() -> dict:
        return {}

    moments = []
    for _ in range(21):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": GROUP}, None)
        moments.append(clock.now)
    assert moments[19] < 1.0
    assert moments[20] >= moments[0] + 60 - 1e-9


@pytest.mark.sqlite_only
async def test_a_reply_does_not_queue_behind_the_push_s_statements(bot: BotHarness):
    pushing = bot.application.bot_data[PUSH_SERVICES_KEY]
    finish = threading.Event()
    await pushing.db.create_function("long_statement", 0, lambda: finish.wait(10))
    statement = asyncio.create_task(pushing.db.execute_fetchall("SELECT long_statement()"))
    try:
        reply = await bot.send(USER, "/subscribe IR")  # a read and a write on the main connection
        assert reply.visible_text.startswith("✅ Subscribed to IR (Information Retrieval).")
        assert not statement.done()
    finally:
        finish.set()
        await statement


@pytest.mark.postgres_only
async def test_a_reply_does_not_wait_for_the_push_s_statements_on_postgres(bot: BotHarness):
    pushing = bot.application.bot_data[PUSH_SERVICES_KEY]
    other = await database.connect(pushing.settings.database)
    await other.execute_fetchall("SELECT pg_advisory_lock(?)", (_HELD,))
    statement = asyncio.create_task(pushing.db.execute_fetchall("SELECT pg_advisory_lock(?)", (_HELD,)))

    async def push_waits() -> bool:
        rows = await other.execute_fetchall(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        )
        return rows[0][0] == 1

    try:
        await wait_until(push_waits, "the push's statement waits for the lock")
        reply = await bot.send(USER, "/subscribe IR")
        assert reply.visible_text.startswith("✅ Subscribed to IR (Information Retrieval).")
        assert not statement.done()
    finally:
        await other.execute_fetchall("SELECT pg_advisory_unlock(?)", (_HELD,))
        await statement
        await pushing.db.execute_fetchall("SELECT pg_advisory_unlock(?)", (_HELD,))
        await other.close()


# --- a token revoked while running ---------------------------------------------------------------


async def test_a_job_that_starts_once_the_bot_is_stopping_is_cut_short_at_its_first_wait():
    """The scheduler may hand a job over just before the stop pauses it: the stop found no such job
    running to cancel, and would have waited for all of it (a whole push)."""
    application = SimpleNamespace(bot_data={}, job_queue=None)
    cancel_running_work(application)
    context = SimpleNamespace(bot_data=application.bot_data, job=SimpleNamespace(name=PUSH_JOB))
    reached: list[str] = []

    async def push() -> None:
        with cancelled_on_stop(context):
            await asyncio.sleep(0)
            reached.append("past its first wait")

    await asyncio.create_task(push())
    assert reached == []
    assert application.bot_data[RUNNING_KEY] == {}


async def test_a_rejected_token_cuts_the_other_jobs_short_and_starts_no_more():
    """As on SIGTERM: else PTB's stop waited for an enrichment pass, and cancelled (with a traceback)
    the jobs that came due meanwhile. The job that found out (a push, a webhook check) ends itself."""
    enrichment = asyncio.create_task(asyncio.Event().wait())
    paused: list[str] = []
    stopped: list[str] = []
    scheduler = SimpleNamespace(running=True, pause=lambda: paused.append("paused"))
    application = SimpleNamespace(
        bot_data={RUNNING_KEY: {enrichment: ENRICH_JOB, asyncio.current_task(): PUSH_JOB}},
        job_queue=SimpleNamespace(scheduler=scheduler),
        stop_running=lambda: stopped.append("stopped"),
    )

    stop_for_good(application, REJECTED_TOKEN)

    assert (paused, stopped) == (["paused"], ["stopped"])
    assert not asyncio.current_task().cancelling()
    with pytest.raises(asyncio.CancelledError):
        await enrichment
    assert application.bot_data[FATAL_KEY] == REJECTED_TOKEN


@pytest.mark.e2e
def test_a_token_revoked_while_running_stops_the_bot_with_one_line(
    bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Path
):
    with (tmp_path / "bot.log").open("w+") as log:
        process = start_cli(bot_env, "run", cwd=tmp_path, log=log)
        try:
            telegram.wait_until_polling_sync(timeout=20)
            telegram.fail_next("getUpdates", error_code=401, times=None)
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
    output = (tmp_path / "bot.log").read_text()
    assert code == 1
    assert (
        output.splitlines().count(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized): check it with @BotFather"
        )
        == 1
    )
    assert "Traceback" not in output
    assert TEST_TOKEN not in output and TEST_TOKEN.split(":")[1] not in output


async def test_the_limiter_is_the_application_s(bot: BotHarness):
    assert isinstance(bot.application.bot.rate_limiter, SharedSendLimiter)
    broadcaster = bot.application.bot_data["broadcaster"]
    assert broadcaster.send_rate is bot.application.bot.rate_limiter.send_rate


async def test_the_push_waits_while_an_update_is_handled():
    clock = QueuedTime()
    shared = SendRate(100, clock.monotonic, clock.sleep)
    processor = PerChatUpdateProcessor(send_rate=shared)
    handled = asyncio.Event()

    async def handle() -> None:
        await handled.wait()

    handling = asyncio.create_task(processor.process_update(_update(USER, 0), handle()))
    await clock.advance(0.0)
    pushing = asyncio.create_task(shared.acquire())
    await clock.advance(HOLD_FOR_REPLIES / 2)
    assert not pushing.done()
    handled.set()
    await handling
    await clock.advance(0.0)
    assert pushing.done()


async def test_a_busy_chat_waits_on_its_own_queue_not_on_the_shared_slots():
    processor = PerChatUpdateProcessor(max_concurrent_updates=2)
    release = asyncio.Event()
    order: list[str] = []

    async def slow(name: str) -> None:
        order.append(f"start {name}")
        await release.wait()

    async def quick(name: str) -> None:
        order.append(f"done {name}")

    tasks = [
        asyncio.create_task(processor.process_update(_update(USER, number), slow(f"user-{number}")))
        for number in range(5)
    ]

    async def first_started() -> bool:
        return order == ["start user-0"]

    await wait_until(first_started, "the first update of the busy chat starts")
    await processor.process_update(_update(OTHER, 0), quick("other"))
    assert order == ["start user-0", "done other"]
    release.set()
    await asyncio.gather(*tasks)
    assert order[2:] == [f"start user-{number}" for number in range(1, 5)]
