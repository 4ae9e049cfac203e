"""Pushing through the fake Telegram server with PTB's real Bot: limits, error policy, resuming.

Gaps between sends are read from the fake's arrival times, which trail the moment the broadcaster
let each request go by a little scheduling jitter: assertions on them allow JITTER for that.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest
from telegram import Bot

from bot.push.broadcaster import Broadcaster
from bot.push.claims import owner_is_gone
from bot.push.limits import HOLD_FOR_REPLIES, ChatLimits, ChatPacer, SendRate, SendRetry
from bot.push.report import PushReport
from bot.push.transport import PushRequest, push_bot
from storage import db as database
from storage.chats import ChatRepository
from storage.deliveries import DeliveryLedger, Plan, PlannedPart, SentPart
from storage.subscriptions import SubscriptionRepository
from tests.clock import QueuedTime, SteppingClock, VirtualTime
from tests.fakes.telegram import FakeTelegram
from tests.postgres_server import database_target

NOW = datetime(2026, 1, 5, 20, 30, tzinfo=UTC)
DAY = date(2026, 1, 5)
JITTER = 0.05
FAST = ChatLimits(interval=0.05)
QUICK_RETRY = SendRetry(sends=3, backoff=0.01, later=timedelta(minutes=10))
MORE = {"inline_keyboard": [[{"text": "More papers", "callback_data": "more:cs.IR"}]]}
TYPES = {101: "private", 102: "private", 103: "private", -202: "group", -100303: "channel"}


@pytest.fixture
def telegram(telegram: FakeTelegram) -> FakeTelegram:
    for chat_id, chat_type in TYPES.items():
        telegram.add_chat(chat_id, chat_type)
    return telegram


@pytest.fixture
def ledger(db: aiosqlite.Connection) -> DeliveryLedger:
    return DeliveryLedger(db)


def texts(chat_id: int, count: int) -> list[str]:
    return [f"<b>Digest</b> for {chat_id}, part {number} of {count}" for number in range(1, count + 1)]


async def plan(db: aiosqlite.Connection, ledger: DeliveryLedger, chat_ids, parts: int = 2, now=NOW) -> None:
    """Register the chats and plan a digest of `parts` messages each, the last with a button."""
    chats = ChatRepository(db)
    for chat_id in chat_ids:
        await chats.register(chat_id, TYPES.get(chat_id, "private"), None, None, now)
    await ledger.plan_many(
        [
            Plan(
                chat_id,
                DAY,
                [
                    PlannedPart(text, MORE if number == parts else None)
                    for number, text in enumerate(texts(chat_id, parts), 1)
                ],
            )
            for chat_id in chat_ids
        ],
        now,
    )


def broadcaster(pusher: Bot, db: aiosqlite.Connection, ledger: DeliveryLedger, **options) -> Broadcaster:
    options.setdefault("chat_limits", FAST)
    options.setdefault("retry", QUICK_RETRY)
    options.setdefault("clock", SteppingClock(NOW))  # the ledger's wall clock, moved by hand
    return Broadcaster(pusher, ledger, ChatRepository(db), **options)


def received(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [message.text for message in telegram.sent_messages(chat_id)]


async def test_each_chat_gets_its_parts_in_order_once(telegram, pusher, db, ledger):
    chat_ids = [101, -202, -100303]
    await plan(db, ledger, chat_ids)
    progress: list[int] = []
    report = await broadcaster(pusher, db, ledger).run(progress=lambda r: progress.append(r.done))
    assert (report.chats_due, report.messages_due, report.sent, report.failed, report.retried) == (
        3,
        6,
        6,
        0,
        0,
    )
    assert progress == [1, 2, 3, 4, 5, 6]
    for chat_id in chat_ids:
        messages = telegram.sent_messages(chat_id)
        assert [m.text for m in messages] == texts(chat_id, 2)
        assert [m.reply_markup for m in messages] == [None, MORE]
        assert all(
            m.parse_mode == "HTML" and m.link_preview_options == {"is_disabled": True} for m in messages
        )
        assert not any(m.allow_paid_broadcast for m in messages)
        rows = await db.execute_fetchall(
            "SELECT message_id FROM deliveries WHERE chat_id = ? ORDER BY part", (chat_id,)
        )
        assert [row[0] for row in rows] == [m.message_id for m in messages]
        assert await ledger.delivered(chat_id, DAY)

    again = await broadcaster(pusher, db, ledger).run()
    assert (again.chats_due, again.sent) == (0, 0)
    assert telegram.count("sendMessage") == 6


async def test_paid_broadcasts_say_so_and_free_ones_stay_within_30_a_second(telegram, pusher, db, ledger):
    with pytest.raises(ValueError, match="paid"):
        broadcaster(pusher, db, ledger, rate=31)
    await plan(db, ledger, [101], parts=1)
    report = await broadcaster(pusher, db, ledger, rate=1000, paid=True).run()
    assert report.sent == 1
    assert telegram.sent_messages(101)[0].allow_paid_broadcast is True


async def test_a_dry_run_builds_and_counts_without_sending_or_claiming(telegram, pusher, db, ledger):
    await plan(db, ledger, [101, 102, -202], parts=2)
    report = await broadcaster(pusher, db, ledger, batch=2).run(dry_run=True)
    assert (report.dry_run, report.chats_due, report.messages_due, report.sent) == (True, 3, 6, 0)
    assert telegram.count("sendMessage") == 0
    assert (await ledger.backlog(NOW)).parts == 6


async def test_one_message_a_second_per_chat_and_a_window_per_group(telegram, pusher, db, ledger):
    """Telegram's 20 a minute per group, scaled down to 1 in 1.5 seconds to keep the test short."""
    await plan(db, ledger, [101, -202], parts=2)
    limits = ChatLimits(interval=1.0, group_messages=1, group_window=1.5)
    report = await broadcaster(pusher, db, ledger, chat_limits=limits).run()
    assert report.sent == 4
    assert received(telegram, 101) == texts(101, 2)
    assert received(telegram, -202) == texts(-202, 2)
    [private_gap] = [b - a for a, b in itertools.pairwise(telegram.send_times(101))]
    [group_gap] = [b - a for a, b in itertools.pairwise(telegram.send_times(-202))]
    assert private_gap >= 1.0 - JITTER
    assert group_gap >= 1.5 - JITTER


async def test_the_overall_rate_holds_in_every_second_without_bursts(telegram, pusher, db, ledger):
    chat_ids = range(1, 26)
    await plan(db, ledger, chat_ids, parts=1)
    report = await broadcaster(pusher, db, ledger, rate=20).run()
    assert report.sent == 25
    assert all(received(telegram, chat_id) == texts(chat_id, 1) for chat_id in chat_ids)
    assert telegram.peak_sends(window=1.0 - JITTER) <= 20


async def test_flood_control_pauses_every_send_for_as_long_as_telegram_asks(telegram, pusher, db, ledger):
    await plan(db, ledger, [101, 102, 103], parts=1)
    telegram.fail_next("sendMessage", error_code=429, retry_after=1, chat_id=102)
    report = await broadcaster(pusher, db, ledger, rate=10).run()
    assert (report.sent, report.retried) == (3, 1)
    assert all(received(telegram, chat_id) == texts(chat_id, 1) for chat_id in (101, 102, 103))
    sends = [call for call in telegram.calls if call.method == "sendMessage"]
    [flooded] = [call for call in sends if call.error_code == 429]
    after = [call for call in sends if call.time > flooded.time]
    assert len(after) >= 2
    assert all(call.time >= flooded.time + 1 for call in after)


@pytest.mark.parametrize("refusal", ["blocked", "chat not found"])
async def test_a_chat_that_is_gone_is_deactivated_and_the_others_still_get_theirs(
    telegram, pusher, db, ledger, refusal
):
    await plan(db, ledger, [101, 102, 103], parts=2)
    if refusal == "blocked":
        telegram.block_chat(102)
    else:
        telegram.fail_next(
            "sendMessage", error_code=400, description="Bad Request: chat not found", times=None, chat_id=102
        )
    report = await broadcaster(pusher, db, ledger).run()
    assert (report.sent, report.deactivated, report.skipped, report.failed) == (4, 1, 2, 0)
    assert (await ChatRepository(db).get(102)).active is False
    assert received(telegram, 101) == texts(101, 2)
    assert received(telegram, 103) == texts(103, 2)
    assert received(telegram, 102) == []
    summary = await ledger.summary(DAY)
    assert (summary.sent, summary.failed, summary.pending) == (4, 2, 0)
    await broadcaster(pusher, db, ledger).run()
    assert len(telegram.send_times(102)) == 1


async def test_a_part_telegram_refuses_fails_alone_and_the_push_goes_on(telegram, pusher, db, ledger):
    await plan(db, ledger, [101, 102], parts=2)
    await ChatRepository(db).register(103, "private", None, None, NOW)
    await ledger.plan(103, DAY, [PlannedPart("<b>unclosed"), PlannedPart("fine")], NOW)
    report = await broadcaster(pusher, db, ledger).run()
    assert (report.sent, report.failed, report.deactivated) == (5, 1, 0)
    assert received(telegram, 103) == ["fine"]
    rows = await db.execute_fetchall(
        "SELECT status, last_error FROM deliveries WHERE chat_id = 103 AND part = 1"
    )
    assert rows[0][0] == "failed" and "end tag" in rows[0][1]


async def test_a_group_that_became_a_supergroup_is_moved_and_delivered_there(telegram, pusher, db, ledger):
    supergroup = -1_000_000_000_202
    await plan(db, ledger, [-202, 101], parts=2)
    await SubscriptionRepository(db).add(-202, ["cs.IR", "cs.AI"], NOW)
    telegram.migrate_chat(-202, supergroup)
    report = await broadcaster(pusher, db, ledger).run()
    assert (report.sent, report.migrated, report.failed) == (4, 1, 0)
    assert received(telegram, supergroup) == texts(-202, 2)
    assert received(telegram, -202) == []
    chats = ChatRepository(db)
    assert await chats.get(-202) is None
    assert (await chats.get(supergroup)).type == "supergroup"
    assert await SubscriptionRepository(db).of_chat(supergroup) == ["cs.AI", "cs.IR"]
    assert await ledger.delivered(supergroup, DAY)


@pytest.mark.parametrize("error_code", [500, 502])
async def test_server_errors_are_retried_then_left_for_the_next_push(
    telegram, pusher, db, ledger, error_code
):
    await plan(db, ledger, [101, 102, 103], parts=2)
    telegram.fail_next("sendMessage", error_code=error_code, times=None, chat_id=102)
    clock = SteppingClock(NOW)
    report = await broadcaster(pusher, db, ledger, clock=clock).run()
    assert (report.sent, report.retried, report.released) == (4, 2, 2)
    assert len(telegram.send_times(102)) == 3
    rows = await db.execute_fetchall(
        "SELECT attempts, last_error FROM deliveries WHERE chat_id = 102 ORDER BY part"
    )
    assert [row[0] for row in rows] == [1, 0]
    assert rows[0][1].startswith("NetworkError")

    telegram.clear_faults()
    assert (await broadcaster(pusher, db, ledger, clock=clock).run()).sent == 0
    clock.now += QUICK_RETRY.later
    report = await broadcaster(pusher, db, ledger, clock=clock).run()
    assert report.sent == 2
    assert received(telegram, 102) == texts(102, 2)


async def test_timeouts_are_retried_then_left_for_the_next_push(telegram, db, ledger):
    """A timed-out request may still arrive, so Telegram can show it twice: timeouts are at least once."""
    await plan(db, ledger, [101], parts=1)
    telegram.set_delay("sendMessage", 0.3)
    clock = SteppingClock(NOW)
    impatient = Bot(telegram.token, base_url=telegram.base_url, request=PushRequest(8, timeout=0.1))
    async with impatient:
        report = await broadcaster(
            impatient, db, ledger, clock=clock, retry=SendRetry(sends=2, backoff=0.01)
        ).run()
        assert (report.sent, report.retried, report.released) == (0, 1, 1)
        rows = await db.execute_fetchall("SELECT status, last_error FROM deliveries")
        assert rows[0][0] == "pending" and rows[0][1].startswith("TimedOut")
        telegram.set_delay("sendMessage", 0)
        clock.now += SendRetry().later
        report = await broadcaster(impatient, db, ledger, clock=clock).run()
    assert report.sent == 1
    assert await ledger.delivered(101, DAY)


async def test_two_pushers_on_one_ledger_never_send_a_part_twice(telegram, tmp_path: Path):
    path = tmp_path / "shared.sqlite3"
    first_db = await database.connect(database_target(path))
    second_db = await database.connect(database_target(path))
    try:
        first_ledger, second_ledger = DeliveryLedger(first_db), DeliveryLedger(second_db)
        chat_ids = range(1, 21)
        await plan(first_db, first_ledger, chat_ids, parts=2)
        async with (
            push_bot(telegram.token, telegram.base_url, 8) as one,
            push_bot(telegram.token, telegram.base_url, 8) as two,
        ):
            reports: list[PushReport] = await asyncio.gather(
                broadcaster(one, first_db, first_ledger, batch=5).run("one"),
                broadcaster(two, second_db, second_ledger, batch=5).run("two"),
            )
        assert all(received(telegram, chat_id) == texts(chat_id, 2) for chat_id in chat_ids)
        assert telegram.count("sendMessage") == 40
        assert [report.sent > 0 for report in reports] == [True, True]
        assert sum(report.sent for report in reports) == 40
    finally:
        await first_db.close()
        await second_db.close()


async def test_a_crashed_pushers_chats_resume_at_the_first_unrecorded_part(telegram, pusher, db, ledger):
    """A crash leaves claims that run out; a claim still live is left to its holder."""
    earlier = NOW - timedelta(hours=2)
    await plan(db, ledger, [101, 102, 103], parts=2, now=earlier)
    lease = timedelta(minutes=5)
    [crashed_mid_chat] = await ledger.claim("crashed", NOW - timedelta(hours=1), 1, lease)
    await ledger.mark_sent("crashed", [SentPart(crashed_mid_chat.parts[0].id, 1, NOW)])
    [crashed_early] = await ledger.claim("crashed", NOW - timedelta(hours=1), 1, lease)
    [alive] = await ledger.claim("alive", NOW - timedelta(hours=1), 1, timedelta(hours=2))

    report = await broadcaster(pusher, db, ledger).run("resumer")
    assert report.sent == 3
    assert received(telegram, crashed_mid_chat.chat_id) == texts(crashed_mid_chat.chat_id, 2)[1:]
    assert received(telegram, crashed_early.chat_id) == texts(crashed_early.chat_id, 2)
    assert received(telegram, alive.chat_id) == []
    assert (await ledger.summary(DAY)).claimed == 2


async def test_send_rate_spaces_sends_evenly_and_a_pause_holds_everyone():
    clock = VirtualTime()
    rate = SendRate(30, clock.monotonic, clock.sleep)
    moments = []
    for _ in range(100):
        await rate.acquire()
        moments.append(clock.now)
    assert all(moments[i + 30] - moments[i] >= 1.0 - 1e-9 for i in range(len(moments) - 30))
    assert moments[-1] == pytest.approx(99 / 30)
    rate.pause(5.0)
    await rate.acquire()
    assert clock.now == pytest.approx(99 / 30 + 5.0)


async def test_an_urgent_send_takes_the_earliest_queued_slot_and_the_rate_still_holds():
    clock = QueuedTime()
    rate = SendRate(10, clock.monotonic, clock.sleep)
    sent: list[tuple[str, float]] = []

    async def send(name: str, *, urgent: bool = False) -> None:
        await rate.acquire(urgent=urgent)
        sent.append((name, clock.now))

    queued = [asyncio.create_task(send(f"push {number}")) for number in range(5)]
    await asyncio.sleep(0)  # push 0 goes at once, pushes 1-4 sleep until 0.1 .. 0.4
    reply = asyncio.create_task(send("reply", urgent=True))
    await asyncio.sleep(0)
    await clock.advance(1.0)
    await asyncio.gather(*queued, reply)
    assert [name for name, _ in sent] == ["push 0", "reply", "push 2", "push 3", "push 4", "push 1"]
    assert [moment for _, moment in sent] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


async def test_an_urgent_send_waits_out_a_pause_like_every_other():
    clock = QueuedTime()
    rate = SendRate(10, clock.monotonic, clock.sleep)
    queued = [asyncio.create_task(rate.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    rate.pause(5.0)
    reply = asyncio.create_task(rate.acquire(urgent=True))
    await asyncio.sleep(0)
    await clock.advance(4.9)
    assert not reply.done()
    await clock.advance(0.15)
    assert reply.done()  # first at the end of the pause
    assert sum(task.done() for task in queued) == 1  # only the send that went before the pause
    await clock.advance(1.0)
    await asyncio.gather(*queued)


async def test_queued_sends_wait_while_a_reply_is_made_and_replies_do_not():
    clock = QueuedTime()
    rate = SendRate(100, clock.monotonic, clock.sleep)
    sent: list[tuple[str, float]] = []

    async def send(name: str, *, urgent: bool = False) -> None:
        await rate.acquire(urgent=urgent)
        sent.append((name, clock.now))

    queued = [asyncio.create_task(send(f"push {number}")) for number in range(3)]
    await asyncio.sleep(0)  # push 0 goes at once, pushes 1 and 2 sleep until 0.01 and 0.02
    with rate.replying():
        answer = asyncio.create_task(send("reply", urgent=True))
        await asyncio.sleep(0)
        await clock.advance(0.05)
        assert [name for name, _ in sent] == ["push 0", "reply"]
    await clock.advance(0.05)
    await asyncio.gather(*queued, answer)
    assert [name for name, _ in sent] == ["push 0", "reply", "push 1", "push 2"]
    assert [moment for _, moment in sent] == pytest.approx([0.0, 0.01, 0.05, 0.06])


async def test_a_long_reply_holds_the_queued_sends_a_while_then_as_long_not():
    clock = QueuedTime()
    rate = SendRate(100, clock.monotonic, clock.sleep)
    sent: list[float] = []

    async def push() -> None:
        await rate.acquire()
        sent.append(clock.now)

    with rate.replying():
        first = asyncio.create_task(push())
        await clock.advance(HOLD_FOR_REPLIES / 2)
        assert sent == []
        await clock.advance(HOLD_FOR_REPLIES)
        assert sent == [pytest.approx(HOLD_FOR_REPLIES)]
        with rate.replying():  # begun while the push has its turn: no hold
            second = asyncio.create_task(push())
            await clock.advance(0.0)
            assert len(sent) == 2
    await clock.advance(HOLD_FOR_REPLIES)
    with rate.replying():  # the push had its turn as long as it waited: this reply holds it again
        third = asyncio.create_task(push())
        await clock.advance(HOLD_FOR_REPLIES / 2)
        assert len(sent) == 2
    await clock.advance(0.0)
    await asyncio.gather(first, second, third)
    assert len(sent) == 3


async def test_at_the_free_rate_the_push_does_not_wait_for_replies():
    clock = QueuedTime()
    rate = SendRate(30, clock.monotonic, clock.sleep)
    with rate.replying():
        pushing = asyncio.create_task(rate.acquire())
        await clock.advance(0.0)
        assert pushing.done()


def test_chat_pacer_spaces_a_chat_and_windows_only_groups():
    limits = ChatLimits()
    private, group = ChatPacer(101, limits), ChatPacer(-202, limits)
    for second in range(20):
        private.record(float(second))
        group.record(float(second))
    assert private.ready_at() == 20.0
    assert group.ready_at() == 60.0
    group.record(60.0)
    assert group.ready_at() == 61.0


async def until_sent(telegram: FakeTelegram, chat_id: int, count: int, within: float = 10.0) -> None:
    """Until `count` sendMessage requests for the chat reached the fake (answered or not)."""
    deadline = asyncio.get_running_loop().time() + within
    while len(telegram.send_times(chat_id)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{count} sends to {chat_id} never arrived"
        await asyncio.sleep(0.01)


async def test_a_chat_replanned_while_its_parts_go_out_stops_after_the_part_in_flight(
    telegram, pusher, db, ledger
):
    await plan(db, ledger, [101], parts=3)
    telegram.set_delay("sendMessage", 0.5)  # the first part is in flight while the chat changes
    pushing = asyncio.create_task(broadcaster(pusher, db, ledger).run())
    await until_sent(telegram, 101, 1)
    assert await ledger.replan(Plan(101, DAY, [PlannedPart("<b>Digest</b> as wanted now")]), NOW)
    report = await pushing
    assert report.sent == 2  # the part in flight, then the new digest, claimed by the same push
    assert received(telegram, 101) == [texts(101, 3)[0], "<b>Digest</b> as wanted now"]
    assert await ledger.delivered(101, DAY)


def a_gone_pid() -> int:
    """The pid of a process that has exited (and been reaped): nothing answers to it now."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(finished.stdout)


def test_an_owner_is_gone_only_when_its_process_on_this_host_is():
    host = socket.gethostname()
    assert owner_is_gone(f"{host}:{a_gone_pid()}:abcd1234")
    assert not owner_is_gone(f"{host}:{os.getpid()}:abcd1234")  # alive
    assert not owner_is_gone(f"another-host:{a_gone_pid()}:abcd1234")  # cannot be told from here
    assert not owner_is_gone("crashed")


async def test_a_gone_process_claims_are_taken_over_at_once_and_a_live_or_distant_ones_wait(
    telegram, pusher, db, ledger
):
    await plan(db, ledger, [101, 102, 103, 104], parts=1)
    host, hour = socket.gethostname(), timedelta(hours=1)
    [gone] = await ledger.claim(f"{host}:{a_gone_pid()}:dead0000", NOW, 1, hour)
    [distant] = await ledger.claim(f"another-host:{a_gone_pid()}:far00000", NOW, 1, hour)
    [alive] = await ledger.claim(f"{host}:{os.getpid()}:live0000", NOW, 1, hour)
    report = await broadcaster(pusher, db, ledger).run()
    assert (report.taken_over, report.sent) == (1, 2)
    assert received(telegram, gone.chat_id) == texts(gone.chat_id, 1)
    assert received(telegram, distant.chat_id) == received(telegram, alive.chat_id) == []
    assert (await ledger.summary(DAY)).claimed == 2
