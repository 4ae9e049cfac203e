"""Processes sharing one database (instances on PostgreSQL, `push` beside `run` on SQLite): a job
runs in one of them at a time, and together they send within the bot-wide rate. Runs on both
engines."""

from __future__ import annotations

import asyncio
import random
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.push.broadcaster import Broadcaster
from bot.push.budget import LEAD, SPAN, SharedSendBudget
from bot.push.limits import ChatLimits, SendRetry
from bot.push.transport import push_bot
from bot.services import Services
from storage import db as database
from storage.chats import ChatRepository
from storage.coordination import Grant, LeaseRepository, SendBudget
from storage.deliveries import DeliveryLedger, Plan, PlannedPart
from tests.announcement import DAY
from tests.clock import VirtualClock
from tests.postgres_server import database_target

NOW = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


async def test_a_job_lease_has_one_holder_until_it_is_released_or_runs_out(db):
    leases = LeaseRepository(db)
    assert await leases.acquire("poll", "a", NOW, LEASE)
    assert not await leases.acquire("poll", "b", NOW + timedelta(minutes=1), LEASE)
    assert await leases.acquire("poll", "a", NOW + timedelta(minutes=1), LEASE), "its holder renews it"
    assert await leases.holder("poll", NOW) == "a"
    assert await leases.acquire("plan", "b", NOW, LEASE), "each job has its own lease"
    assert not await leases.acquire("poll", "b", NOW + timedelta(minutes=2), LEASE)
    assert await leases.acquire("poll", "b", NOW + timedelta(minutes=3), LEASE), "a lease runs out"
    await leases.release("poll", "a")  # no longer a's: changes nothing
    assert await leases.holder("poll", NOW + timedelta(minutes=3)) == "b"
    await leases.release("poll", "b")
    assert await leases.acquire("poll", "a", NOW + timedelta(minutes=3), LEASE)
    assert not await leases.take_over("poll", "b", "c", NOW, LEASE), "only from the holder named"
    assert await leases.take_over("poll", "a", "c", NOW, LEASE)
    assert await leases.holder("poll", NOW) == "c"


async def test_send_grants_never_put_more_than_the_rate_into_any_second(db):
    budget, rate, rng = SendBudget(db), 30, random.Random(7)
    moments = sorted(1_800_000_000 + rng.uniform(0, 6) for _ in range(300))
    granted: list[tuple[float, int]] = []
    for moment in moments:
        grant = await budget.grant(rng.randint(1, 10), rate, SPAN, moment)
        if grant.sends:
            granted.append((moment, grant.sends))
        else:
            assert grant.retry_in > 0
    assert sum(sends for _, sends in granted) > 4 * rate, "the rate is used, not just kept"
    # A grant's sends start within SPAN of it: a window [t, t + 1) meets grants made in (t - SPAN, t + 1).
    for start, _ in granted:
        for window in (start, start - SPAN + 1e-6):
            within = sum(sends for moment, sends in granted if window - SPAN < moment < window + 1)
            assert within <= rate


async def test_of_two_instances_one_does_a_job_and_a_dead_holder_is_not_waited_for(settings):
    async with Services.open(settings) as first, Services.open(settings) as second:
        async with first.exclusive("plan-push") as first_does, second.exclusive("plan-push") as second_does:
            assert (first_does, second_does) == (True, False)
        async with second.exclusive("plan-push") as second_does:
            assert second_does, "released when the first was done"

        dead = f"{socket.gethostname()}:{2**22 + 1}:00000000"  # above Linux's largest pid
        await LeaseRepository(first.db).acquire("poll-arxiv", dead, second.clock(), LEASE)
        async with second.exclusive("poll-arxiv") as second_does:
            assert second_does, "a process of this host that is gone holds nothing"


async def test_two_pushers_sharing_the_budget_send_within_the_rate_together(telegram, tmp_path: Path):
    """Each would send 20 a second on its own; together they stay at the bot's 20."""
    path = tmp_path / "shared.sqlite3"
    first_db = await database.connect(database_target(path))
    second_db = await database.connect(database_target(path))
    try:
        chat_ids = range(1, 81)
        for chat_id in chat_ids:
            await ChatRepository(first_db).register(chat_id, "private", None, None, NOW)
        await DeliveryLedger(first_db).plan_many(
            [Plan(chat_id, DAY, [PlannedPart(f"for {chat_id}")]) for chat_id in chat_ids], NOW
        )
        async with (
            push_bot(telegram.token, telegram.base_url, 8) as one,
            push_bot(telegram.token, telegram.base_url, 8) as two,
        ):
            reports = await asyncio.gather(
                *(
                    Broadcaster(
                        bot,
                        DeliveryLedger(db),
                        ChatRepository(db),
                        rate=20,
                        batch=5,
                        chat_limits=ChatLimits(interval=0.0),
                        retry=SendRetry(backoff=0.01),
                        budget=SendBudget(db),
                    ).run(owner)
                    for bot, db, owner in ((one, first_db, "one"), (two, second_db, "two"))
                )
            )
        assert sorted(message.chat_id for message in telegram.sent_messages()) == list(chat_ids)
        assert all(report.sent > 0 for report in reports)
        assert telegram.peak_sends(1.0) <= 20
    finally:
        await first_db.close()
        await second_db.close()


class ScriptedBudget:
    """The database's side of the shared budget: answers each grant as the test says, and holds an
    answer back while `answering` is cleared."""

    def __init__(self, *answers: Grant) -> None:
        self.answers = list(answers)
        self.asked: list[float] = []
        self.wanted: list[int] = []
        self.answering = asyncio.Event()
        self.answering.set()

    async def grant(self, wanted: int, rate: int, span: float, now: float) -> Grant:
        self.asked.append(now)
        self.wanted.append(wanted)
        await self.answering.wait()
        return self.answers.pop(0)


async def test_a_grant_is_spent_a_send_at_a_time_within_its_span():
    clock = VirtualClock()
    budget = ScriptedBudget(Grant(3, 0.0), Grant(3, 0.0))
    shared = SharedSendBudget(budget, rate=12, wall=clock, sleep=clock.sleep)
    assert not shared.take(), "nothing is at hand before a grant"
    await shared.wait()
    assert [shared.take() for _ in range(4)] == [True, True, True, False]
    await shared.wait()
    clock.now += SPAN - LEAD
    assert not shared.running_low(), "sends at hand, if soon expiring, hold no further grant"
    clock.now += LEAD
    assert not shared.take(), "sends a grant gave may not start after its span"
    assert budget.asked == [0.0, 0.0]


async def test_the_next_grant_is_asked_for_before_the_last_runs_out_and_sends_go_on_meanwhile():
    clock = VirtualClock()
    budget = ScriptedBudget(Grant(40, 0.0), Grant(40, 0.0))
    shared = SharedSendBudget(budget, rate=400, wall=clock, sleep=clock.sleep)
    await shared.wait()
    taken = 0
    while not shared.running_low():
        assert shared.take()
        taken += 1
    assert taken == 40 - 400 * LEAD, "low once what is left lasts a LEAD at the rate"

    budget.answering.clear()
    asking = asyncio.create_task(shared.top_up())
    await asyncio.sleep(0)
    assert len(budget.asked) == 2
    assert not shared.running_low(), "one request at a time"
    await shared.top_up()  # returns at once: another is asking
    assert len(budget.asked) == 2
    assert all(shared.take() for _ in range(int(400 * LEAD))), "the sends at hand go on meanwhile"
    budget.answering.set()
    await asking
    assert sum(shared.take() for _ in range(50)) == 40


async def test_a_refused_grant_is_waited_out_and_not_asked_for_again_meanwhile():
    clock = VirtualClock()
    budget = ScriptedBudget(Grant(0, 0.4), Grant(5, 0.0))
    shared = SharedSendBudget(budget, rate=20, wall=clock, sleep=clock.sleep)
    await shared.top_up()
    await shared.top_up()
    assert budget.asked == [0.0], "the refusal said when to ask again"
    await shared.wait()
    assert budget.asked == [0.0, 0.4] and clock.sleeps == [0.4]
    assert shared.take()


async def test_at_a_pace_of_one_send_a_grant_nothing_is_asked_for_ahead():
    """The grant would expire before the send's slot came (a tenth of a second apart at 10 a second)."""
    clock = VirtualClock()
    budget = ScriptedBudget(Grant(1, 0.0))
    shared = SharedSendBudget(budget, rate=10, wall=clock, sleep=clock.sleep)
    assert not shared.running_low()
    await shared.wait()
    assert budget.wanted == [1] and shared.take()
