"""The delivery ledger: planning is idempotent, claims keep one sender per chat and parts in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import aiosqlite
import pytest

from storage.chats import ChatRepository
from storage.deliveries import (
    BroadcastOutcome,
    DateSummary,
    DeliveryLedger,
    Plan,
    PlannedPart,
    Pruned,
    SentPart,
    UnsentDigest,
)
from storage.feedback import LIKE, SAVE, FeedbackRepository
from storage.follows import FollowRepository
from storage.models import AnnounceType, Paper
from storage.papers import PaperRepository
from storage.subscriptions import SubscriptionRepository

NOW = datetime(2026, 1, 5, 20, 30, tzinfo=UTC)
DAY = date(2026, 1, 5)
NEXT_DAY = date(2026, 1, 6)
LEASE = timedelta(minutes=5)
MORE = {"inline_keyboard": [[{"text": "More", "callback_data": "more:IR"}]]}


@pytest.fixture
def ledger(db: aiosqlite.Connection) -> DeliveryLedger:
    return DeliveryLedger(db)


async def register(db: aiosqlite.Connection, *chat_ids: int) -> None:
    chats = ChatRepository(db)
    for chat_id in chat_ids:
        await chats.register(chat_id, "private" if chat_id > 0 else "group", None, None, NOW)


def parts(*texts: str) -> list[PlannedPart]:
    return [PlannedPart(text) for text in texts]


def claimed_texts(backlogs) -> dict[int, list[str]]:
    return {backlog.chat_id: [part.text for part in backlog.parts] for backlog in backlogs}


async def part_ids(db: aiosqlite.Connection, chat_id: int, announced: date) -> dict[int, int]:
    """The ledger rows of a chat's digest, by part number."""
    rows = await db.execute_fetchall(
        "SELECT part, id FROM deliveries WHERE chat_id = ? AND announced = ? AND broadcast_id IS NULL",
        (chat_id, announced.isoformat()),
    )
    return {part: row_id for part, row_id in rows}


async def sent(db: aiosqlite.Connection, chat_id: int, announced: date, *numbers: int) -> list[SentPart]:
    ids = await part_ids(db, chat_id, announced)
    return [SentPart(ids[number], 1000 + number, NOW) for number in numbers]


async def test_planning_a_chat_and_date_twice_changes_nothing(db, ledger):
    await register(db, 1)
    assert await ledger.plan(1, DAY, parts("a1", "a2"), NOW) is True
    assert await ledger.plan(1, DAY, parts("b1", "b2", "b3"), NOW) is False
    assert await ledger.plan(1, NEXT_DAY, parts("c1"), NOW) is True
    assert claimed_texts(await ledger.claim("me", NOW, 10, LEASE)) == {1: ["a1", "a2", "c1"]}


async def test_plan_many_counts_new_plans_and_keeps_text_and_markup(db, ledger):
    await register(db, 1, 2, 3)
    text = "<b>Ünïcode</b> &amp; “quotes” 📄"
    plans = [Plan(chat_id, DAY, [PlannedPart(text), PlannedPart("last", MORE)]) for chat_id in (1, 2, 3)]
    assert await ledger.plan_many(plans, NOW) == 3
    assert await ledger.plan_many([*plans, Plan(1, NEXT_DAY, parts("x"))], NOW) == 1
    claimed = await ledger.claim("me", NOW, 10, LEASE)
    assert [backlog.chat_id for backlog in claimed] == [1, 2, 3]
    first, last = claimed[1].parts
    assert (first.text, first.markup, first.part, first.announced) == (text, None, 1, DAY)
    assert (last.text, last.markup, last.part, last.attempts) == ("last", MORE, 2, 0)


async def test_a_message_many_chats_get_is_stored_once(db, ledger):
    await register(db, 1, 2, 3)
    shared = [PlannedPart("same digest"), PlannedPart("same buttons", MORE)]
    await ledger.plan_many([Plan(chat_id, DAY, shared) for chat_id in (1, 2, 3)], NOW)
    await ledger.plan(1, NEXT_DAY, [PlannedPart("same buttons", MORE), PlannedPart("same buttons")], NOW)
    rows = await db.execute_fetchall("SELECT COUNT(*) FROM delivery_contents")
    assert rows[0][0] == 3
    claimed = await ledger.claim("me", NOW, 10, LEASE)
    assert [[(p.text, p.markup) for p in b.parts] for b in claimed] == [
        [("same digest", None), ("same buttons", MORE), ("same buttons", MORE), ("same buttons", None)],
        [("same digest", None), ("same buttons", MORE)],
        [("same digest", None), ("same buttons", MORE)],
    ]


async def test_a_plan_can_be_due_at_the_chats_delivery_time(db, ledger):
    await register(db, 1, 2)
    eight = NOW + timedelta(hours=12)
    await ledger.plan_many([Plan(1, DAY, parts("at eight"), due=eight), Plan(2, DAY, parts("at once"))], NOW)
    assert claimed_texts(await ledger.claim("a", NOW, 10, LEASE)) == {2: ["at once"]}
    await ledger.mark_sent("a", await sent(db, 2, DAY, 1))
    assert (await ledger.backlog(eight - timedelta(seconds=1))).chats == 0
    assert claimed_texts(await ledger.claim("a", eight, 10, LEASE)) == {1: ["at eight"]}


async def test_a_newer_announcement_supersedes_older_digests_nobody_started(db, ledger):
    await register(db, 1, 2, 3)
    await ledger.plan_many([Plan(chat_id, DAY, parts("old 1", "old 2")) for chat_id in (1, 2, 3)], NOW)
    assert [b.chat_id for b in await ledger.claim("a", NOW, 1, LEASE)] == [1]
    await ledger.mark_sent("a", await sent(db, 1, DAY, 1))
    assert [b.chat_id for b in await ledger.claim("b", NOW, 1, LEASE)] == [2]
    await ledger.release("a", 1, NOW)
    await ledger.plan_many([Plan(chat_id, NEXT_DAY, parts("new")) for chat_id in (1, 2, 3)], NOW)
    assert await ledger.supersede(NEXT_DAY) == 2
    assert (await ledger.summary(DAY)).failed == 2
    assert claimed_texts(await ledger.claim("c", NOW, 10, LEASE)) == {1: ["old 2", "new"], 3: ["new"]}


async def test_a_claim_takes_a_chats_whole_backlog_oldest_announcement_first(db, ledger):
    await register(db, 1)
    await ledger.plan(1, NEXT_DAY, parts("n1", "n2"), NOW)
    await ledger.plan(1, DAY, parts("d1", "d2"), NOW)
    [backlog] = await ledger.claim("me", NOW, 10, LEASE)
    assert [(p.announced, p.part) for p in backlog.parts] == [
        (DAY, 1),
        (DAY, 2),
        (NEXT_DAY, 1),
        (NEXT_DAY, 2),
    ]


async def test_limit_counts_chats_and_no_two_owners_hold_the_same_chat(db, ledger):
    await register(db, 1, 2, 3, 4, 5)
    await ledger.plan_many([Plan(chat_id, DAY, parts("p1", "p2")) for chat_id in range(1, 6)], NOW)
    first = await ledger.claim("a", NOW, 2, LEASE)
    second = await ledger.claim("b", NOW, 10, LEASE)
    assert [len(backlog.parts) for backlog in first + second] == [2] * 5
    assert sorted(b.chat_id for b in first + second) == [1, 2, 3, 4, 5]
    assert len(first) == 2
    assert await ledger.claim("c", NOW, 10, LEASE) == []


async def test_parts_planned_while_a_chat_is_claimed_wait_for_that_claim(db, ledger):
    await register(db, 1)
    await ledger.plan(1, DAY, parts("d1", "d2"), NOW)
    await ledger.claim("a", NOW, 10, LEASE)
    await ledger.plan(1, NEXT_DAY, parts("n1"), NOW)
    assert await ledger.claim("b", NOW, 10, LEASE) == []
    assert len(await ledger.mark_sent("a", await sent(db, 1, DAY, 1, 2))) == 2
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {1: ["n1"]}


async def test_an_expired_claim_is_taken_over_at_the_first_unsent_part(db, ledger):
    await register(db, 1)
    await ledger.plan(1, DAY, parts("p1", "p2", "p3"), NOW)
    await ledger.claim("crashed", NOW, 10, LEASE)
    await ledger.mark_sent("crashed", await sent(db, 1, DAY, 1))
    assert await ledger.claim("b", NOW + LEASE - timedelta(seconds=1), 10, LEASE) == []
    assert claimed_texts(await ledger.claim("b", NOW + LEASE, 10, LEASE)) == {1: ["p2", "p3"]}
    assert await ledger.mark_sent("crashed", await sent(db, 1, DAY, 2)) == set()
    assert len(await ledger.mark_sent("b", await sent(db, 1, DAY, 2, 3))) == 2
    assert await ledger.delivered(1, DAY)


async def test_renewing_keeps_a_claim_past_its_first_lease(db, ledger):
    await register(db, 1, 2)
    await ledger.plan_many([Plan(chat_id, DAY, parts("p1", "p2")) for chat_id in (1, 2)], NOW)
    await ledger.claim("a", NOW, 1, LEASE)
    assert await ledger.renew("a", NOW + timedelta(minutes=4), LEASE) == 2
    assert [b.chat_id for b in await ledger.claim("b", NOW + timedelta(minutes=8), 10, LEASE)] == [2]


async def test_release_holds_the_chat_back_and_records_the_error_on_its_first_part(db, ledger):
    await register(db, 1)
    await ledger.plan(1, DAY, parts("p1", "p2", "p3"), NOW)
    await ledger.claim("a", NOW, 10, LEASE)
    await ledger.mark_sent("a", await sent(db, 1, DAY, 1))
    later = NOW + timedelta(minutes=10)
    assert await ledger.release("a", 1, later, "TimedOut: Timed out") == 2
    assert await ledger.claim("b", later - timedelta(seconds=1), 10, LEASE) == []
    [backlog] = await ledger.claim("b", later, 10, LEASE)
    assert [(p.text, p.attempts) for p in backlog.parts] == [("p2", 1), ("p3", 0)]
    rows = await db.execute_fetchall("SELECT part, last_error FROM deliveries ORDER BY part")
    assert [tuple(row) for row in rows] == [(1, None), (2, "TimedOut: Timed out"), (3, None)]


async def test_a_failed_part_is_never_sent_and_the_next_one_goes(db, ledger):
    await register(db, 1)
    await ledger.plan(1, DAY, parts("bad <b", "good"), NOW)
    await ledger.claim("a", NOW, 10, LEASE)
    ids = await part_ids(db, 1, DAY)
    assert await ledger.mark_failed("a", ids[1], "Can't parse entities") is True
    assert await ledger.mark_failed("someone else", ids[2], "no") is False
    await ledger.mark_sent("a", await sent(db, 1, DAY, 2))
    summary = await ledger.summary(DAY)
    assert (summary.chats, summary.sent, summary.failed, summary.pending) == (1, 1, 1, 0)
    assert not await ledger.delivered(1, DAY)
    assert await ledger.claim("b", NOW + timedelta(days=1), 10, LEASE) == []


async def test_skipping_a_gone_chat_fails_its_claimed_and_pending_parts(db, ledger):
    await register(db, 1, 2)
    await ledger.plan_many([Plan(1, DAY, parts("p1", "p2")), Plan(2, DAY, parts("q1"))], NOW)
    await ledger.claim("a", NOW, 1, LEASE)
    await ledger.plan(1, NEXT_DAY, parts("n1"), NOW)
    assert await ledger.skip_chat("a", 1, "Forbidden: bot was blocked by the user") == 3
    assert await ledger.pending_count() == 1
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {2: ["q1"]}


async def test_moving_a_chat_carries_its_subscriptions_and_deliveries(db, ledger):
    await register(db, -5)
    subscriptions = SubscriptionRepository(db)
    await subscriptions.add(-5, ["cs.IR", "cs.AI"], NOW)
    await ledger.plan(-5, DAY, parts("p1", "p2"), NOW)
    await ledger.claim("a", NOW, 10, LEASE)
    await ledger.move_chat(-5, -1005)
    chats = ChatRepository(db)
    assert await chats.get(-5) is None
    assert (await chats.get(-1005)).type == "supergroup"
    assert await subscriptions.of_chat(-1005) == ["cs.AI", "cs.IR"]
    assert await ledger.release("a", -1005, NOW) == 2
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {-1005: ["p1", "p2"]}


async def test_moving_into_a_known_supergroup_keeps_both_digests_whole(db, ledger):
    await register(db, -5, -1005)
    subscriptions = SubscriptionRepository(db)
    await subscriptions.add(-5, ["cs.IR", "cs.AI"], NOW)
    await subscriptions.add(-1005, ["cs.IR"], NOW)
    await ledger.plan(-5, DAY, parts("group day"), NOW)
    await ledger.plan(-5, NEXT_DAY, parts("group next day"), NOW)
    await ledger.plan(-1005, DAY, parts("supergroup day"), NOW)
    await ChatRepository(db).set_active(-1005, False)
    await ledger.move_chat(-5, -1005)
    assert await ChatRepository(db).get(-5) is None
    assert (await ChatRepository(db).get(-1005)).active is True
    assert await subscriptions.of_chat(-1005) == ["cs.AI", "cs.IR"]
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {
        -1005: ["supergroup day", "group day", "group next day"]
    }


async def test_a_group_s_digest_is_never_mixed_part_by_part_into_a_supergroup_s(db, ledger):
    await register(db, -5, -1005)
    await ledger.plan(-5, DAY, parts("group 1-10", "group 11-20", "group buttons"), NOW)
    await ledger.plan(-1005, DAY, parts("supergroup 1-10"), NOW)
    await ledger.move_chat(-5, -1005)
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {
        -1005: ["supergroup 1-10", "group 1-10", "group 11-20", "group buttons"]
    }


async def test_the_same_digest_in_both_chats_arrives_once_after_the_move(db, ledger):
    await register(db, -5, -1005)
    await ledger.plan(-5, DAY, parts("p1", "p2"), NOW)
    await ledger.plan(-1005, DAY, parts("p1", "p2"), NOW)
    await ledger.move_chat(-5, -1005)
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {-1005: ["p1", "p2"]}


async def test_moving_into_a_known_supergroup_keeps_follows_taps_saved_papers_and_ranking(db, ledger):
    await register(db, -5, -1005)
    ids = ["2601.00001", "2601.00002", "2601.00003"]
    await PaperRepository(db).store_announcement(
        "cs.IR", DAY, [(Paper(arxiv_id, 1, "T", "A", (), ("cs.IR",)), AnnounceType.NEW) for arxiv_id in ids]
    )
    follows, feedback = FollowRepository(db), FeedbackRepository(db)
    await follows.add(-5, [("topic", "RAG", "rag"), ("author", "J Leskovec", "leskovec j")], NOW, limit=50)
    await follows.add(-1005, [("topic", "rag", "rag"), ("inst", "Google", "google")], NOW, limit=50)
    await feedback.reset(-5, NOW)
    later = NOW + timedelta(minutes=1)
    await feedback.tap(-5, 7, ids[0], LIKE, ids[:2], later)
    await feedback.tap(-5, 7, ids[1], SAVE, ids[:2], later)
    await feedback.tap(-5, 8, ids[2], LIKE, ids[2:], later)
    await feedback.tap(-1005, 7, ids[0], SAVE, ids[:1], later + timedelta(minutes=1))
    await feedback.tap(-1005, 9, ids[2], LIKE, ids[2:], later)
    versions = await feedback.versions([-5, -1005])

    await ledger.move_chat(-5, -1005)

    assert [(item.kind, item.text) for item in await follows.of_chat(-1005)] == [
        ("author", "J Leskovec"),
        ("topic", "rag"),
        ("inst", "Google"),
    ]
    saved, count = await feedback.saved(-1005, 7, 0, 10)
    assert count == 2 and {paper.arxiv_id for paper in saved} == {ids[0], ids[1]}
    assert await feedback.tallies(-1005, ids) == {ids[0]: (1, 0, 1), ids[1]: (0, 0, 1), ids[2]: (2, 0, 0)}
    merged = await feedback.of_chat(-1005)
    assert merged.version > max(versions.values())
    assert merged.papers == ((ids[0], 1, 1), (ids[1], 0, 1), (ids[2], 2, 0))
    assert merged.shown == tuple(ids)
    assert await feedback.versions([-5]) == {}
    assert await follows.of_chat(-5) == []


async def test_backlog_and_peek_show_what_a_push_would_take_without_taking_it(db, ledger):
    await register(db, 1, 2, 3, 4, 5)
    await ledger.plan_many([Plan(chat_id, DAY, parts("p1", "p2")) for chat_id in range(1, 6)], NOW)
    await ledger.claim("a", NOW, 1, LEASE)
    assert (await ledger.backlog(NOW)).chats == 4
    assert (await ledger.backlog(NOW)).parts == 8
    pages, after = [], None
    while page := await ledger.peek(NOW, after, 3):
        pages.append([backlog.chat_id for backlog in page])
        after = page[-1].chat_id
    assert pages == [[2, 3, 4], [5]]
    assert await ledger.pending_count() == 10
    assert len(await ledger.claim("b", NOW, 10, LEASE)) == 4
    assert (await ledger.backlog(NOW)).chats == 0


@pytest.mark.sqlite_only
async def test_claiming_reads_only_what_it_takes_however_long_the_backlog(db, ledger):
    """Counted in SQLite VM steps, not time: a table scan would grow with the backlog."""
    steps = 0

    def count_step() -> int:
        nonlocal steps
        steps += 1
        return 0

    async def claim_cost(owner: str) -> int:
        nonlocal steps
        await db.set_progress_handler(count_step, 1)
        steps = 0
        claimed = await ledger.claim(owner, NOW, 20, LEASE)
        await db.set_progress_handler(None, 1)
        assert len(claimed) == 20
        return steps

    async def add_chats(first: int, count: int) -> None:
        chat_ids = range(first, first + count)
        await db.executemany(
            "INSERT INTO chats (id, type, created) VALUES (?, 'private', ?)",
            [(chat_id, NOW.isoformat()) for chat_id in chat_ids],
        )
        await ledger.plan_many([Plan(chat_id, DAY, parts("p1", "p2")) for chat_id in chat_ids], NOW)

    await add_chats(1, 100)
    small = await claim_cost("first")
    await add_chats(1000, 4000)
    large = await claim_cost("second")
    for owner in ("drain-1", "drain-2"):
        taken = await ledger.claim(owner, NOW, 1000, LEASE)
        await ledger.mark_sent(owner, [SentPart(p.id, 1, NOW) for b in taken for p in b.parts])
    drained = await claim_cost("third")
    assert large < small * 1.5
    assert drained < small * 1.5


async def test_release_all_hands_back_every_claim_of_one_sender(db):
    ledger = DeliveryLedger(db)
    chats = ChatRepository(db)
    for chat_id in (1, 2):
        await chats.register(chat_id, "private", None, None, NOW)
        await ledger.plan(chat_id, DAY, [PlannedPart("a"), PlannedPart("b")], NOW)
    await ledger.claim("stopping", NOW, 10, timedelta(minutes=5))
    assert await ledger.release_all("someone else", NOW) == 0
    assert await ledger.release_all("stopping", NOW) == 4
    reclaimed = await ledger.claim("next", NOW, 10, timedelta(minutes=5))
    assert sorted(chat.chat_id for chat in reclaimed) == [1, 2]


async def test_a_digest_nothing_was_sent_of_is_replanned_and_a_started_one_is_not(db, ledger):
    await register(db, 1, 2)
    await ledger.plan_many([Plan(1, DAY, parts("a1", "a2")), Plan(2, DAY, parts("b1", "b2"))], NOW)
    await ledger.claim("a", NOW, 1, LEASE)
    await ledger.mark_sent("a", await sent(db, 1, DAY, 1))
    assert await ledger.unsent_digests(1) == [UnsentDigest(DAY, started=True)]
    assert await ledger.unsent_digests(2) == [UnsentDigest(DAY, started=False)]

    assert await ledger.replan(Plan(1, DAY, parts("x")), NOW) is False
    later = NOW + timedelta(hours=3)
    assert await ledger.replan(Plan(2, DAY, parts("c1"), due=later), NOW) is True
    assert await ledger.claim("b", NOW, 10, LEASE) == []
    assert claimed_texts(await ledger.claim("b", later, 10, LEASE)) == {1: ["a2"], 2: ["c1"]}
    assert await ledger.summary(DAY) == DateSummary(chats=2, pending=0, claimed=2, sent=1, failed=0)


async def test_late_parts_follow_a_sent_digest_in_order_and_once(db, ledger):
    await register(db, 1)
    assert not await ledger.has_digest(1, DAY)
    await ledger.plan(1, DAY, parts("a1", "a2"), NOW)
    [backlog] = await ledger.claim("a", NOW, 10, LEASE)
    await ledger.mark_sent("a", [SentPart(part.id, 7, NOW) for part in backlog.parts])
    assert await ledger.has_digest(1, DAY)

    assert await ledger.append(Plan(1, DAY, parts("late1", "late2")), NOW) is True
    assert await ledger.append(Plan(1, DAY, parts("late1", "late2")), NOW) is False  # a pass run again
    [late] = await ledger.claim("b", NOW, 10, LEASE)
    assert [(part.part, part.text) for part in late.parts] == [(3, "late1"), (4, "late2")]


async def test_parts_taken_back_from_their_sender_are_not_recorded_as_its_sends(db, ledger):
    await register(db, 1)
    await ledger.plan(1, DAY, parts("a1", "a2"), NOW)
    [backlog] = await ledger.claim("a", NOW, 10, LEASE)
    assert await ledger.replan(Plan(1, DAY, parts("b1")), NOW) is True
    assert await ledger.mark_sent("a", [SentPart(backlog.parts[0].id, 7, NOW)]) == set()
    assert claimed_texts(await ledger.claim("b", NOW, 10, LEASE)) == {1: ["b1"]}


async def test_dropping_a_digest_fails_its_unsent_parts_claimed_or_not(db, ledger):
    await register(db, 1)
    await ledger.plan(1, DAY, parts("a1", "a2", "a3"), NOW)
    await ledger.plan(1, NEXT_DAY, parts("n1"), NOW)
    await ledger.claim("a", NOW, 10, LEASE)
    await ledger.mark_sent("a", await sent(db, 1, DAY, 1))
    assert await ledger.drop(1, DAY, "dropped: unsubscribed") == 2
    assert await ledger.summary(DAY) == DateSummary(chats=1, pending=0, claimed=0, sent=1, failed=2)
    assert await ledger.unsent_digests(1) == [UnsentDigest(NEXT_DAY, started=False)]


async def test_a_broadcast_goes_to_every_active_chat_once_and_is_reported_when_all_went(db, ledger):
    await register(db, 1, 2, 3)
    await ChatRepository(db).set_active(3, False)
    await ledger.plan(1, DAY, parts("digest"), NOW)
    broadcast_id, chats = await ledger.plan_broadcast("Maintenance", 99, 1, NOW)
    assert chats == 2
    assert claimed_texts(await ledger.claim("a", NOW, 10, LEASE)) == {
        1: ["digest", "Maintenance"],
        2: ["Maintenance"],
    }
    assert await ledger.finished_broadcasts() == []
    rows = await db.execute_fetchall(
        "SELECT id, chat_id FROM deliveries WHERE broadcast_id = ?", (broadcast_id,)
    )
    ids = dict((chat_id, row_id) for row_id, chat_id in rows)
    await ledger.mark_sent("a", [SentPart(ids[1], 5, NOW)])
    await ChatRepository(db).set_active(2, False)
    await ledger.skip_chat("a", 2, "Forbidden: bot was blocked by the user")
    assert await ledger.finished_broadcasts() == [
        BroadcastOutcome(broadcast_id, 1, sent=1, failed=0, deactivated=1)
    ]
    await ledger.mark_reported(broadcast_id, NOW)
    assert await ledger.finished_broadcasts() == []
    assert await ledger.summary(DAY) == DateSummary(chats=1, pending=0, claimed=1, sent=0, failed=0)


async def test_holders_are_the_owners_of_live_claims(db, ledger):
    await register(db, 1, 2)
    await ledger.plan_many([Plan(chat_id, DAY, parts("p")) for chat_id in (1, 2)], NOW)
    await ledger.claim("early", NOW - LEASE, 1, LEASE)
    await ledger.claim("now", NOW, 1, LEASE)
    assert await ledger.holders(NOW) == ["now"]


async def test_a_change_made_while_a_page_is_planned_waits_for_it_and_then_replans(db, ledger):
    await register(db, 1)
    chats = ChatRepository(db)
    changing: list[asyncio.Task[None]] = []

    async def change_and_replan() -> None:
        await chats.set_digest_size(1, 3)  # a handler's write
        await ledger.replan(Plan(1, DAY, parts("as wanted now")), NOW)

    async def pages() -> AsyncIterator[list[Plan]]:
        changing.append(asyncio.create_task(change_and_replan()))
        await asyncio.sleep(0.05)  # room for the change to run, were it not held back
        assert not changing[0].done(), "a change went through while its page was being planned"
        yield [Plan(1, DAY, parts("as read before the change"))]

    assert await ledger.plan_pages(pages(), NOW) == 1
    await changing[0]
    assert claimed_texts(await ledger.claim("a", NOW, 10, LEASE)) == {1: ["as wanted now"]}


async def test_claims_share_each_text_while_senders_hold_it(db, ledger):
    await register(db, 1, 2)
    await ledger.plan_many([Plan(chat_id, DAY, parts("same digest")) for chat_id in (1, 2)], NOW)
    (first,) = await ledger.claim("me", NOW, 1, LEASE)
    (second,) = await ledger.claim("me", NOW, 1, LEASE)
    assert first.parts[0].content is second.parts[0].content


async def contents(db: aiosqlite.Connection) -> set[str]:
    return {row[0] for row in await db.execute_fetchall("SELECT text FROM delivery_contents")}


async def test_pruning_forgets_finished_digests_of_old_announcements_and_their_texts(db, ledger):
    await register(db, 1, 2, 3)
    await ledger.plan(1, DAY, parts("old only", "old shared"), NOW)
    await ledger.plan(2, DAY, parts("half sent", "old shared"), NOW)
    await ledger.plan(3, NEXT_DAY, parts("old shared", "new"), NOW)
    await ledger.claim("me", NOW, 10, LEASE)
    await ledger.mark_sent("me", [*await sent(db, 1, DAY, 1, 2), *await sent(db, 2, DAY, 1)])
    await ledger.mark_sent("me", await sent(db, 3, NEXT_DAY, 1, 2))

    pruned = await ledger.prune(NEXT_DAY, batch=1)

    assert (pruned.parts, pruned.contents) == (2, 1)
    assert await part_ids(db, 1, DAY) == {}
    assert set(await part_ids(db, 2, DAY)) == {1, 2}  # a digest half sent is kept whole
    assert set(await part_ids(db, 3, NEXT_DAY)) == {1, 2}
    assert await contents(db) == {"half sent", "old shared", "new"}


async def test_a_text_pruned_away_is_stored_again_when_a_later_plan_sends_it(db, ledger):
    await register(db, 1, 2)
    await ledger.plan_many([Plan(1, DAY, parts("said again later"))], NOW)
    await ledger.claim("me", NOW, 10, LEASE)
    await ledger.mark_sent("me", await sent(db, 1, DAY, 1))
    await ledger.prune(NEXT_DAY)
    assert await contents(db) == set()
    await ledger.plan_many([Plan(2, NEXT_DAY, parts("said again later", "new"))], NOW)
    assert claimed_texts(await ledger.claim("me", NOW, 10, LEASE)) == {2: ["said again later", "new"]}


async def test_pruning_keeps_a_broadcast_until_its_operator_is_told(db, ledger):
    await register(db, 1)
    broadcast_id, _ = await ledger.plan_broadcast("Maintenance", 7, 7, NOW)
    (chat,) = await ledger.claim("me", NOW, 10, LEASE)
    await ledger.mark_sent("me", [SentPart(chat.parts[0].id, 1, NOW)])
    later = NEXT_DAY + timedelta(days=1)
    assert await ledger.prune(later) == Pruned(parts=0, contents=0)
    await ledger.mark_reported(broadcast_id, NOW)
    assert await ledger.prune(later) == Pruned(parts=1, contents=1)
    assert await db.execute_fetchall("SELECT id FROM broadcasts") == []
