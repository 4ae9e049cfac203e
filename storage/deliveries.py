"""The delivery ledger: which messages each chat gets (digest parts, broadcasts), and how far sending got.

A push first plans every chat's messages (the exact HTML and buttons, each distinct message stored
once however many chats get it), then senders drain the plan. A sender claims every part of a chat
that is due under a lease, so one chat's parts go out in order from one sender, and two senders
never send the same part. A part is marked sent only after Telegram accepted it; a sender that
crashes stops renewing its lease, and when the lease runs out (or its process is found gone)
another sender resumes at the first unsent part: only messages in flight can repeat.

A digest nothing was sent of yet can be replanned (the chat changed what it follows or how it wants
it) or dropped; a sender holding its parts finds them gone when it records its next send.

Times are ISO 8601 in UTC with microseconds, so they compare correctly as text.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import groupby, islice
from typing import Any

from storage.db import Connection, transaction
from storage.dialect import Dialect, dialect_of
from storage.feedback import move_feedback
from storage.follows import move_follows

_PART_COLUMNS = "id, chat_id, announced, broadcast_id, part, content_id, attempts"

_CLAIM_LOCK = 0x636C61696D  # the advisory lock PostgreSQL pushers take while claiming
_PLAN_CHUNK = 500  # plans per INSERT statement: bounds the JSON handed to the database at once

# Pages in chat id order, so each page walks deliveries_unsent from where the last one ended.
_RENUMBERING = 1_000_000

PRUNE_BATCH = 5_000
"""Rows deleted per transaction when pruning: each holds the write lock for a few milliseconds."""

_PRUNE_BROADCASTS = """
    DELETE FROM broadcasts WHERE reported IS NOT NULL AND created < :before
      AND NOT EXISTS (SELECT 1 FROM deliveries WHERE broadcast_id = broadcasts.id)
"""
# Texts no part and no broadcast refers to any more, in the range of ids a batch looks at.
_PRUNE_CONTENTS = """
    DELETE FROM delivery_contents WHERE id IN (
        SELECT c.id FROM delivery_contents AS c
        WHERE c.id > :after AND c.id <= :through
          AND NOT EXISTS (SELECT 1 FROM deliveries WHERE content_id = c.id)
          AND NOT EXISTS (SELECT 1 FROM broadcasts WHERE content_id = c.id))
"""

# A chat's digests that are not fully sent, and whether any part of each went out (or failed) already.
_UNSENT_DIGESTS = """
    SELECT announced, COUNT(*) FILTER (WHERE status IN ('sent', 'failed')) FROM deliveries
    WHERE chat_id = ? AND broadcast_id IS NULL GROUP BY announced
    HAVING COUNT(*) FILTER (WHERE status IN ('pending', 'claimed')) > 0 ORDER BY announced
"""

# PostgreSQL reads the JSON arrays of the bulk statements below with its own functions.
_POSTGRES_ADD_CONTENTS = """
    INSERT INTO delivery_contents (sha256, text, markup)
    SELECT item->>0, item->>1, item->>2 FROM jsonb_array_elements(CAST(:contents AS jsonb)) AS item
    ON CONFLICT (sha256) DO NOTHING
"""
_POSTGRES_PLAN = """
    INSERT INTO deliveries (chat_id, announced, part, content_id, due)
    SELECT CAST(plan->>0 AS bigint), plan->>1, piece.position,
           (SELECT id FROM delivery_contents WHERE sha256 = piece.sha256), plan->>3
    FROM jsonb_array_elements(CAST(:plans AS jsonb)) AS plan,
         jsonb_array_elements_text(plan->2) WITH ORDINALITY AS piece (sha256, position)
    WHERE NOT EXISTS (
        SELECT 1 FROM deliveries AS d
        WHERE d.chat_id = CAST(plan->>0 AS bigint) AND d.announced = plan->>1 AND d.broadcast_id IS NULL)
    RETURNING part
"""
_POSTGRES_MARK_SENT = """
    UPDATE deliveries SET status = 'sent', message_id = CAST(item->>1 AS bigint), sent_at = item->>2
    FROM jsonb_array_elements(CAST(:sent AS jsonb)) AS item
    WHERE deliveries.id = CAST(item->>0 AS bigint) AND status = 'claimed' AND claimed_by = :owner
    RETURNING deliveries.id
"""


@dataclass(frozen=True, slots=True)
class _LedgerSql:
    """The ledger's statements that depend on the engine (index hints, JSON, aggregation)."""

    claim: str
    peek: str
    backlog: str
    holders: str
    add_contents: str
    missing_contents: str
    plan: str
    mark_sent: str
    prune_parts: str
    shared_announcements: str
    contents_by_id: str
    hashes_by_id: str
    # Pushers in several processes on one PostgreSQL server claim one at a time, so each sees the
    # claims the one before it committed (SQLite's write lock does this on its own).
    claim_lock: str | None


@cache
def _ledger_sql(dialect: Dialect) -> _LedgerSql:
    unsent = dialect.indexed_by("deliveries_unsent")
    queue = dialect.indexed_by("deliveries_queue")
    # A chat is claimable when one of its unsent parts is due (pending and not held back, or claimed
    # under a lease that ran out) and nobody holds a live claim on it. The NOT EXISTS is one seek
    # into deliveries_unsent, which holds only unsent parts (SQLite uses a partial index only when
    # the query repeats its condition, hence the redundant IN).
    claimable = f"""
        d.status IN ('pending', 'claimed') AND d.due <= :now
        AND NOT EXISTS (
            SELECT 1 FROM deliveries AS e {unsent}
            WHERE e.chat_id = d.chat_id AND e.status IN ('pending', 'claimed') AND e.status = 'claimed'
              AND e.due > :now)
    """
    content_ids = f"FROM delivery_contents WHERE id IN ({dialect.ids_in})"
    same_digest = "FROM deliveries WHERE chat_id = {chat} AND announced = old.announced"
    if dialect.name == "postgres":
        add_contents, plan, mark_sent = _POSTGRES_ADD_CONTENTS, _POSTGRES_PLAN, _POSTGRES_MARK_SENT
        ordered = "string_agg(CAST(content_id AS text), ',' ORDER BY part)"
        old_contents = f"(SELECT {ordered} {same_digest.format(chat=':old')})"
        new_contents = f"(SELECT {ordered} {same_digest.format(chat=':new')})"
    else:
        # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.
        add_contents = """
            INSERT INTO delivery_contents (sha256, text, markup)
            SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
            FROM json_each(:contents) WHERE true
            ON CONFLICT (sha256) DO NOTHING
        """
        plan = """
            INSERT INTO deliveries (chat_id, announced, part, content_id, due)
            SELECT json_extract(plan.value, '$[0]'), json_extract(plan.value, '$[1]'), piece.key + 1,
                   (SELECT id FROM delivery_contents WHERE sha256 = piece.value),
                   json_extract(plan.value, '$[3]')
            FROM json_each(:plans) AS plan, json_each(plan.value, '$[2]') AS piece
            WHERE NOT EXISTS (
                SELECT 1 FROM deliveries AS d
                WHERE d.chat_id = json_extract(plan.value, '$[0]')
                  AND d.announced = json_extract(plan.value, '$[1]') AND d.broadcast_id IS NULL)
            RETURNING part
        """
        # One row lookup per part. "+status" keeps SQLite from walking every claimed row through
        # deliveries_queue instead (and scanning the batch for each): that cost more than the sends.
        mark_sent = """
            UPDATE deliveries SET status = 'sent', message_id = json_extract(value, '$[1]'),
                                  sent_at = json_extract(value, '$[2]')
            FROM json_each(:sent)
            WHERE deliveries.id = json_extract(value, '$[0]') AND +status = 'claimed' AND claimed_by = :owner
            RETURNING deliveries.id
        """
        concat = dialect.concat("content_id", "','")
        old_contents = (
            f"(SELECT {concat} FROM (SELECT content_id {same_digest.format(chat=':old')} ORDER BY part))"
        )
        new_contents = (
            f"(SELECT {concat} FROM (SELECT content_id {same_digest.format(chat=':new')} ORDER BY part))"
        )
    # The chats to take are chosen once: PostgreSQL would otherwise run an IN (... LIMIT) subquery
    # again for every row it looks at (MATERIALIZED keeps it from folding the CTE back in).
    if dialect.name == "postgres":
        claim = f"""
            WITH chosen AS MATERIALIZED (
                SELECT DISTINCT d.chat_id FROM deliveries AS d WHERE {claimable} LIMIT :limit)
            UPDATE deliveries SET status = 'claimed', claimed_by = :owner, claimed_at = :now, due = :until
            FROM chosen
            WHERE deliveries.chat_id = chosen.chat_id AND status IN ('pending', 'claimed') AND due <= :now
            RETURNING {", ".join(f"deliveries.{column}" for column in _PART_COLUMNS.split(", "))}
        """
        peek = f"""
            WITH chosen AS MATERIALIZED (
                SELECT DISTINCT d.chat_id FROM deliveries AS d
                WHERE d.chat_id > :after AND {claimable} ORDER BY d.chat_id LIMIT :limit)
            SELECT {_PART_COLUMNS} FROM deliveries
            WHERE status IN ('pending', 'claimed') AND due <= :now
              AND chat_id IN (SELECT chat_id FROM chosen)
        """
    else:
        # Without statistics SQLite would read every unsent part to match a few chat ids: the
        # chats' parts are fetched through deliveries_unsent explicitly. A claim takes every part
        # of the chat that is due.
        claim = f"""
            UPDATE deliveries {unsent}
            SET status = 'claimed', claimed_by = :owner, claimed_at = :now, due = :until
            WHERE status IN ('pending', 'claimed') AND due <= :now AND chat_id IN (
                SELECT DISTINCT d.chat_id FROM deliveries AS d {queue} WHERE {claimable}
                LIMIT :limit)
            RETURNING {_PART_COLUMNS}
        """
        peek = f"""
            SELECT {_PART_COLUMNS} FROM deliveries {unsent}
            WHERE status IN ('pending', 'claimed') AND due <= :now AND chat_id IN (
                SELECT DISTINCT d.chat_id FROM deliveries AS d {unsent}
                WHERE d.chat_id > :after AND {claimable} ORDER BY d.chat_id LIMIT :limit)
        """
    if dialect.name == "postgres":
        prune_head, prune_tail = (
            "WITH doomed AS MATERIALIZED (",
            "DELETE FROM deliveries WHERE id IN (SELECT id FROM doomed)",
        )
    else:
        prune_head, prune_tail = "DELETE FROM deliveries WHERE id IN (", ""
    return _LedgerSql(
        claim=claim,
        peek=peek,
        backlog=f"SELECT COUNT(DISTINCT d.chat_id), COUNT(*) FROM deliveries AS d {queue} WHERE {claimable}",
        holders=f"SELECT DISTINCT claimed_by FROM deliveries {queue} WHERE status = 'claimed' AND due > ?",
        add_contents=add_contents,
        missing_contents=f"""
            WITH wanted (sha256) AS ({dialect.texts_in})
            SELECT sha256 FROM wanted
            WHERE NOT EXISTS (SELECT 1 FROM delivery_contents AS c WHERE c.sha256 = wanted.sha256)
        """,
        plan=plan,
        mark_sent=mark_sent,
        # Parts of announcements before :before that are done with: sent or given up, their whole
        # digest finished (a digest half sent keeps its sent parts, which mark it as started), a
        # broadcast only once its operator was told the outcome.
        prune_parts=f"""
            {prune_head}
                SELECT d.id FROM deliveries AS d {dialect.indexed_by("deliveries_by_date")}
                WHERE d.announced < :before AND d.status IN ('sent', 'failed')
                  AND NOT EXISTS (
                      SELECT 1 FROM deliveries AS u {unsent}
                      WHERE u.chat_id = d.chat_id AND u.status IN ('pending', 'claimed')
                        AND u.announced = d.announced)
                  AND (d.broadcast_id IS NULL
                       OR d.broadcast_id IN (SELECT id FROM broadcasts WHERE reported IS NOT NULL))
                LIMIT :batch)
            {prune_tail}
        """,
        # Announcements both chats have a digest of: each side's contents in part order, and the new
        # one's last part.
        shared_announcements=f"""
            SELECT old.announced, {old_contents}, {new_contents},
                   (SELECT max(part) FROM deliveries WHERE chat_id = :new AND announced = old.announced)
            FROM (SELECT DISTINCT announced FROM deliveries WHERE chat_id = :old) AS old
            WHERE EXISTS (SELECT 1 FROM deliveries WHERE chat_id = :new AND announced = old.announced)
        """,
        contents_by_id=f"SELECT id, sha256, text, markup {content_ids}",
        hashes_by_id=f"SELECT id, sha256 {content_ids}",
        claim_lock=f"SELECT pg_advisory_xact_lock({_CLAIM_LOCK})" if dialect.name == "postgres" else None,
    )


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """One message as it will be sent: HTML text, and reply markup as Bot API JSON (or None).

    Its stored form is worked out once, when it is made: a push plans one rendering for thousands of
    chats, which need it hashed and its buttons encoded once, not once each.
    """

    text: str
    markup: Mapping[str, Any] | None = None
    stored: tuple[str, str, str | None] = field(init=False, repr=False, compare=False)
    """(SHA-256 of text and markup, text, markup as JSON): its row in delivery_contents."""

    def __post_init__(self) -> None:
        markup = None
        if self.markup is not None:
            markup = json.dumps(self.markup, separators=(",", ":"), ensure_ascii=False)
        sha256 = hashlib.sha256(f"{self.text}\0{markup}".encode()).hexdigest()
        object.__setattr__(self, "stored", (sha256, self.text, markup))


@dataclass(frozen=True, slots=True)
class Plan:
    """Every message a chat gets for one announcement, in sending order."""

    chat_id: int
    announced: date
    parts: Sequence[PlannedPart]
    due: datetime | None = None  # not before this moment (the chat's delivery time); None: at once


@dataclass(frozen=True, slots=True, weakref_slot=True, eq=False)
class Content:
    """A message's text and buttons as loaded once per process, shared by every part that sends it
    (so the same object, compared and hashed by identity, stands for the same message)."""

    text: str
    markup: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class LedgerPart:
    id: int  # the row: how a sender records what became of it
    announced: date  # the digest's announcement (for a broadcast, the day it was asked for)
    part: int  # 1-based position within the digest's messages
    content: Content
    attempts: int  # earlier sends that failed for good or were given up for a later run
    broadcast_id: int | None = None

    @property
    def text(self) -> str:
        return self.content.text

    @property
    def markup(self) -> dict[str, Any] | None:
        return self.content.markup


@dataclass(frozen=True, slots=True)
class ChatBacklog:
    """A chat's parts due now, in sending order (oldest announcement first, broadcasts after digests)."""

    chat_id: int
    parts: tuple[LedgerPart, ...]


@dataclass(frozen=True, slots=True)
class SentPart:
    id: int
    message_id: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Backlog:
    chats: int
    parts: int


@dataclass(frozen=True, slots=True)
class DateSummary:
    """Where one announcement's messages stand."""

    chats: int
    pending: int
    claimed: int
    sent: int
    failed: int


@dataclass(frozen=True, slots=True)
class Pruned:
    """What `prune` removed."""

    parts: int
    contents: int


@dataclass(frozen=True, slots=True)
class UnsentDigest:
    """A digest of one chat with parts still to send."""

    announced: date
    started: bool  # a part was sent (or refused): the digest is finished as planned, not redone


class DeliveryLedger:
    """The deliveries table and the message contents it points to."""

    def __init__(self, db: Connection) -> None:
        self._db = db
        self._sql = _ledger_sql(dialect_of(db))
        # Texts in the hands of senders, by hash: a text is loaded once however many claims send it,
        # and forgotten once no claimed part refers to it. A hash, unlike an id, is never reused.
        self._loaded: weakref.WeakValueDictionary[str, Content] = weakref.WeakValueDictionary()

    async def plan(self, chat_id: int, announced: date, parts: Sequence[PlannedPart], now: datetime) -> bool:
        """Record a chat's messages for an announcement; False (and no change) if it was planned before."""
        return await self.plan_many([Plan(chat_id, announced, parts)], now) == 1

    async def plan_many(self, plans: Iterable[Plan], now: datetime) -> int:
        """Plan many chats at once; each plan goes in whole or not at all. Returns how many were new."""
        async with transaction(self._db):
            return await self._insert_plans(plans, now)

    async def plan_pages(self, pages: AsyncIterator[Sequence[Plan]], now: datetime) -> int:
        """Plan page by page, each page drawn from `pages` inside the transaction that writes it.

        So a page's chats are read and planned in one step: a chat changing its settings meanwhile
        either changed them before (and is planned with them) or waits and finds its digest planned
        (and replans it). Returns how many plans were new.
        """
        planned = 0
        while True:
            async with transaction(self._db):
                page = await anext(pages, None)
                if page is None:
                    return planned
                planned += await self._insert_plans(page, now)

    async def _insert_plans(self, plans: Iterable[Plan], now: datetime) -> int:
        planned = 0
        remaining = iter(plans)
        while chunk := list(islice(remaining, _PLAN_CHUNK)):
            contents: dict[str, tuple[str, str, str | None]] = {}
            rows: dict[tuple[int, date], list[Any]] = {}
            for plan in chunk:
                if not plan.parts or (plan.chat_id, plan.announced) in rows:
                    continue
                hashes = [_add_content(contents, part) for part in plan.parts]
                due = _stamp(plan.due or now)
                rows[(plan.chat_id, plan.announced)] = [plan.chat_id, plan.announced.isoformat(), hashes, due]
            await self._store_new_contents(contents)
            plans = {"plans": json.dumps(list(rows.values()))}
            inserted = await self._db.execute_fetchall(self._sql.plan, plans)
            planned += sum(1 for row in inserted if row[0] == 1)
        return planned

    async def _store_new_contents(self, contents: Mapping[str, tuple[str, str, str | None]]) -> None:
        """Store the texts not stored yet, asking by hash first: a push's pages share most of their
        texts, which each page would otherwise hand to the database again, and it parse again."""
        missing = await self._db.execute_fetchall(self._sql.missing_contents, (json.dumps(list(contents)),))
        if missing:
            new = [contents[row[0]] for row in missing]
            await self._db.execute(self._sql.add_contents, {"contents": json.dumps(new)})

    async def has_digest(self, chat_id: int, announced: date) -> bool:
        rows = await self._db.execute_fetchall(
            "SELECT 1 FROM deliveries WHERE chat_id = ? AND announced = ? AND broadcast_id IS NULL LIMIT 1",
            (chat_id, announced.isoformat()),
        )
        return bool(rows)

    async def append(self, plan: Plan, now: datetime) -> bool:
        """Add `plan`'s parts after the chat's digest of the same announcement (a category that came
        late), sent in order after the rest. False when the chat has them already: appending twice
        (a pass cut short and run again) changes nothing."""
        contents: dict[str, tuple[str, str, str | None]] = {}
        hashes = [_add_content(contents, part) for part in plan.parts]
        if not hashes:
            return False
        key = {"chat": plan.chat_id, "announced": plan.announced.isoformat()}
        async with transaction(self._db):
            await self._db.execute(self._sql.add_contents, {"contents": json.dumps(list(contents.values()))})
            rows = await self._db.execute_fetchall(
                "SELECT max(d.part), COUNT(*) FILTER (WHERE c.sha256 = :first) FROM deliveries AS d"
                " JOIN delivery_contents AS c ON c.id = d.content_id"
                " WHERE d.chat_id = :chat AND d.announced = :announced AND d.broadcast_id IS NULL",
                {**key, "first": hashes[0]},
            )
            last, appended = rows[0] if rows else (None, None)
            if appended:
                return False
            await self._db.executemany(
                "INSERT INTO deliveries (chat_id, announced, part, content_id, due)"
                " SELECT :chat, :announced, :part, id, :due FROM delivery_contents WHERE sha256 = :sha256",
                [
                    {**key, "part": (last or 0) + number, "sha256": sha256, "due": _stamp(plan.due or now)}
                    for number, sha256 in enumerate(hashes, start=1)
                ],
            )
        return True

    async def unsent_digests(self, chat_id: int) -> list[UnsentDigest]:
        """The chat's digests with parts still to send, oldest first."""
        rows = await self._db.execute_fetchall(_UNSENT_DIGESTS, (chat_id,))
        return [UnsentDigest(date.fromisoformat(row[0]), bool(row[1])) for row in rows]

    async def replan(self, plan: Plan, now: datetime) -> bool:
        """Replace a chat's digest that nothing was sent of yet (parts, buttons, due time) by `plan`.

        Claimed parts are taken back too: their sender finds them gone when it records its next
        send, and stops. False (and no change) once a part was sent or refused.
        """
        contents: dict[str, tuple[str, str, str | None]] = {}
        hashes = [_add_content(contents, part) for part in plan.parts]
        row = [plan.chat_id, plan.announced.isoformat(), hashes, _stamp(plan.due or now)]
        async with transaction(self._db):
            cursor = await self._db.execute(
                "DELETE FROM deliveries WHERE chat_id = :chat AND announced = :announced"
                " AND broadcast_id IS NULL AND NOT EXISTS ("
                "   SELECT 1 FROM deliveries WHERE chat_id = :chat AND announced = :announced"
                "   AND broadcast_id IS NULL AND status IN ('sent', 'failed'))",
                {"chat": plan.chat_id, "announced": plan.announced.isoformat()},
            )
            if cursor.rowcount == 0:
                return False
            await self._db.execute(self._sql.add_contents, {"contents": json.dumps(list(contents.values()))})
            await self._db.execute_fetchall(self._sql.plan, {"plans": json.dumps([row])})
        return True

    async def drop(self, chat_id: int, announced: date, reason: str) -> int:
        """The chat no longer wants this digest: its unsent parts, claimed or not, fail with `reason`."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "UPDATE deliveries SET status = 'failed', last_error = ? WHERE chat_id = ? AND announced = ?"
                " AND broadcast_id IS NULL AND status IN ('pending', 'claimed')",
                (reason, chat_id, announced.isoformat()),
            )
        return cursor.rowcount

    async def plan_broadcast(
        self, text: str, requested_by: int, report_to: int, now: datetime
    ) -> tuple[int, int]:
        """One message to every active chat, due now; (the broadcast's id, chats it goes to)."""
        contents: dict[str, tuple[str, str, str | None]] = {}
        sha256 = _add_content(contents, PlannedPart(text))
        async with transaction(self._db):
            await self._db.execute(self._sql.add_contents, {"contents": json.dumps(list(contents.values()))})
            inserted = await self._db.execute_fetchall(
                "INSERT INTO broadcasts (content_id, requested_by, report_to, created)"
                " SELECT id, ?, ?, ? FROM delivery_contents WHERE sha256 = ? RETURNING id",
                (requested_by, report_to, _stamp(now), sha256),
            )
            broadcast_id = inserted[0][0]
            cursor = await self._db.execute(
                "INSERT INTO deliveries (chat_id, announced, broadcast_id, part, content_id, due)"
                " SELECT chats.id, :day, b.id, 1, b.content_id, :now FROM chats, broadcasts AS b"
                " WHERE chats.active = 1 AND b.id = :broadcast",
                {
                    "day": now.astimezone(UTC).date().isoformat(),
                    "now": _stamp(now),
                    "broadcast": broadcast_id,
                },
            )
        return broadcast_id, cursor.rowcount

    async def finished_broadcasts(self) -> list[BroadcastOutcome]:
        """Broadcasts whose every message was sent or given up on, and whose operator is not told yet."""
        rows = await self._db.execute_fetchall(
            "SELECT b.id, b.report_to, COUNT(*) FILTER (WHERE d.status = 'sent'),"
            " COUNT(*) FILTER (WHERE d.status = 'failed' AND c.active = 1),"
            " COUNT(*) FILTER (WHERE d.status = 'failed' AND (c.active IS NULL OR c.active <> 1))"
            " FROM broadcasts AS b LEFT JOIN deliveries AS d ON d.broadcast_id = b.id"
            " LEFT JOIN chats AS c ON c.id = d.chat_id"
            " WHERE b.reported IS NULL GROUP BY b.id, b.report_to"
            " HAVING COUNT(*) FILTER (WHERE d.status IN ('pending', 'claimed')) = 0 ORDER BY b.id"
        )
        return [BroadcastOutcome(*row) for row in rows]

    async def mark_reported(self, broadcast_id: int, now: datetime) -> None:
        async with transaction(self._db):
            await self._db.execute(
                "UPDATE broadcasts SET reported = ? WHERE id = ?", (_stamp(now), broadcast_id)
            )

    async def claim(self, owner: str, now: datetime, limit: int, lease: timedelta) -> list[ChatBacklog]:
        """Take up to `limit` chats with a part due, with all their parts due, until now + lease."""
        async with transaction(self._db):
            if self._sql.claim_lock:
                await self._db.execute(self._sql.claim_lock)
            rows = await self._db.execute_fetchall(
                self._sql.claim,
                {"owner": owner, "now": _stamp(now), "until": _stamp(now + lease), "limit": limit},
            )
            return await self._backlogs(rows)

    async def renew(self, owner: str, now: datetime, lease: timedelta) -> int:
        """Extend every claim `owner` holds to now + lease; returns the number of parts held."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "UPDATE deliveries SET due = ? WHERE status = 'claimed' AND claimed_by = ?",
                (_stamp(now + lease), owner),
            )
        return cursor.rowcount

    async def holders(self, now: datetime) -> list[str]:
        """Who holds live claims now."""
        rows = await self._db.execute_fetchall(self._sql.holders, (_stamp(now),))
        return [row[0] for row in rows]

    async def mark_sent(self, owner: str, sent: Sequence[SentPart]) -> set[int]:
        """Record parts Telegram accepted, in one transaction; returns the ids recorded.

        Parts no longer held by `owner` (taken back by a replan, or by another sender after the
        lease ran out) are left alone and missing from the answer.
        """
        if not sent:
            return set()
        async with transaction(self._db):
            rows = await self._db.execute_fetchall(
                self._sql.mark_sent,
                {"sent": json.dumps([[s.id, s.message_id, _stamp(s.sent_at)] for s in sent]), "owner": owner},
            )
        return {row[0] for row in rows}

    async def mark_failed(self, owner: str, part_id: int, error: str) -> bool:
        """Telegram refused this part for good (e.g. malformed HTML): never send it; the next may go."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ? "
                "WHERE id = ? AND status = 'claimed' AND claimed_by = ?",
                (error, part_id, owner),
            )
        return cursor.rowcount == 1

    async def skip_chat(self, owner: str, chat_id: int, reason: str) -> int:
        """The chat is gone (blocked the bot, deleted): fail its unsent parts; returns how many."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "UPDATE deliveries SET status = 'failed', last_error = ? WHERE chat_id = ? "
                "AND (status = 'pending' OR (status = 'claimed' AND claimed_by = ?))",
                (reason, chat_id, owner),
            )
        return cursor.rowcount

    async def release(self, owner: str, chat_id: int, retry_at: datetime, error: str | None = None) -> int:
        """Give the chat's claimed parts back, due again at `retry_at`; returns how many.

        With an error, the first of them (the part that could not be sent) records it and counts an
        attempt; without one (the chat moved), nothing failed.
        """
        async with transaction(self._db):
            cursor = await self._db.execute(
                """
                UPDATE deliveries SET
                    status = 'pending', due = :retry_at,
                    attempts = attempts + CASE WHEN CAST(:error AS TEXT) IS NOT NULL
                                               AND id = head.first_id THEN 1 ELSE 0 END,
                    last_error = CASE WHEN CAST(:error AS TEXT) IS NOT NULL AND id = head.first_id
                                      THEN CAST(:error AS TEXT) ELSE last_error END
                FROM (SELECT id AS first_id FROM deliveries
                      WHERE chat_id = :chat AND status = 'claimed' AND claimed_by = :owner
                      ORDER BY announced, broadcast_id IS NOT NULL, broadcast_id, part LIMIT 1) AS head
                WHERE chat_id = :chat AND status = 'claimed' AND claimed_by = :owner
                """,
                {"retry_at": _stamp(retry_at), "error": error, "chat": chat_id, "owner": owner},
            )
        return cursor.rowcount

    async def supersede(self, announced: date) -> int:
        """A newer announcement is planned: older digests no chat has started on will not be sent.

        Their pending parts fail as superseded; a digest already partly sent or in a sender's hands
        is finished, never cut short. Returns how many parts were superseded.
        """
        async with transaction(self._db):
            cursor = await self._db.execute(
                """
                UPDATE deliveries SET status = 'failed', last_error = :reason
                WHERE status = 'pending' AND announced < :announced AND broadcast_id IS NULL
                  AND NOT EXISTS (
                      SELECT 1 FROM deliveries AS started
                      WHERE started.chat_id = deliveries.chat_id AND started.announced = deliveries.announced
                        AND started.broadcast_id IS NULL AND started.status IN ('claimed', 'sent'))
                """,
                {"announced": announced.isoformat(), "reason": f"superseded by {announced.isoformat()}"},
            )
        return cursor.rowcount

    async def release_all(self, owner: str, retry_at: datetime) -> int:
        """A sender stopping early (SIGTERM), or found dead, hands back every claim it holds, so the
        next push need not wait for the lease to run out. Returns how many parts were released."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "UPDATE deliveries SET status = 'pending', due = ?"
                " WHERE status = 'claimed' AND claimed_by = ?",
                (_stamp(retry_at), owner),
            )
        return cursor.rowcount

    async def move_chat(self, old_id: int, new_id: int) -> None:
        """Telegram turned a group into a supergroup: the chat and everything it owns move.

        Usually the chat row simply changes id and ON UPDATE CASCADE carries the rest. If the
        supergroup is already known (it talked to the bot first), the group's subscriptions, follows,
        taps, saved papers and ranking state join its own (a union: nothing is lost) and the group's
        row goes. A digest is never mixed part by part with another: where both
        have one for the same announcement, the group's follows the supergroup's, renumbered, unless
        it is the same digest (same contents in the same order), which is then dropped.
        """
        async with transaction(self._db):
            rows = await self._db.execute_fetchall("SELECT 1 FROM chats WHERE id = ?", (new_id,))
            if not rows:
                await self._db.execute(
                    "UPDATE chats SET id = ?, type = 'supergroup' WHERE id = ?", (new_id, old_id)
                )
                return
            await self._db.execute(
                "UPDATE subscriptions SET chat_id = :new WHERE chat_id = :old AND NOT EXISTS ("
                " SELECT 1 FROM subscriptions AS kept WHERE kept.chat_id = :new"
                " AND kept.category = subscriptions.category)",
                {"new": new_id, "old": old_id},
            )
            await move_follows(self._db, old_id, new_id)
            await move_feedback(self._db, old_id, new_id)
            for announced, old_contents, new_contents, new_last in await self._db.execute_fetchall(
                self._sql.shared_announcements, {"old": old_id, "new": new_id}
            ):
                if old_contents == new_contents:
                    await self._db.execute(
                        "DELETE FROM deliveries WHERE chat_id = ? AND announced = ?", (old_id, announced)
                    )
                    continue
                # Two steps, so no renumbered part meets one of its own not renumbered yet.
                for shift in (new_last + _RENUMBERING, -_RENUMBERING):
                    await self._db.execute(
                        "UPDATE deliveries SET part = part + ? WHERE chat_id = ? AND announced = ?",
                        (shift, old_id, announced),
                    )
            await self._db.execute("UPDATE deliveries SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
            await self._db.execute("DELETE FROM chats WHERE id = ?", (old_id,))
            await self._db.execute("UPDATE chats SET active = 1 WHERE id = ?", (new_id,))

    async def prune(self, before: date, batch: int = PRUNE_BATCH) -> Pruned:
        """Forget what was sent (or given up on) for announcements before `before`, and the texts no
        part refers to any more.

        In transactions of at most `batch` rows, yielding between them, so a push or a command
        waiting for the write lock waits for one batch at most.
        """
        day = before.isoformat()
        parts = 0
        while True:
            async with transaction(self._db):
                cursor = await self._db.execute(self._sql.prune_parts, {"before": day, "batch": batch})
            parts += cursor.rowcount
            await asyncio.sleep(0)
            if cursor.rowcount < batch:
                break
        async with transaction(self._db):
            await self._db.execute(_PRUNE_BROADCASTS, {"before": day})
        rows = await self._db.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM delivery_contents")
        last, after, contents = rows[0][0], 0, 0
        while after < last:
            async with transaction(self._db):
                cursor = await self._db.execute(_PRUNE_CONTENTS, {"after": after, "through": after + batch})
            contents += cursor.rowcount
            after += batch
            await asyncio.sleep(0)
        return Pruned(parts=parts, contents=contents)

    async def peek(self, now: datetime, after: int | None, limit: int) -> list[ChatBacklog]:
        """What `claim` would take, without taking it: chats by id after `after`, for a dry run."""
        rows = await self._db.execute_fetchall(
            self._sql.peek,
            {"now": _stamp(now), "after": after if after is not None else -(2**63), "limit": limit},
        )
        return await self._backlogs(rows)

    async def backlog(self, now: datetime) -> Backlog:
        """Chats with a part due now and nobody holding them, and those parts: a push's work now."""
        rows = await self._db.execute_fetchall(self._sql.backlog, {"now": _stamp(now)})
        return Backlog(chats=rows[0][0], parts=rows[0][1])

    async def pending_count(self) -> int:
        """Unsent parts, due or not, claimed or not."""
        rows = await self._db.execute_fetchall(
            "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'claimed')"
        )
        return rows[0][0]

    async def summary(self, announced: date) -> DateSummary:
        rows = await self._db.execute_fetchall(
            "SELECT COUNT(DISTINCT chat_id), COUNT(*) FILTER (WHERE status = 'pending'), "
            "COUNT(*) FILTER (WHERE status = 'claimed'), COUNT(*) FILTER (WHERE status = 'sent'), "
            "COUNT(*) FILTER (WHERE status = 'failed') FROM deliveries "
            "WHERE announced = ? AND broadcast_id IS NULL",
            (announced.isoformat(),),
        )
        chats, pending, claimed, sent, failed = rows[0]
        return DateSummary(chats=chats, pending=pending, claimed=claimed, sent=sent, failed=failed)

    async def delivered(self, chat_id: int, announced: date) -> bool:
        """True once every part planned for the chat and announcement was sent."""
        rows = await self._db.execute_fetchall(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'sent') FROM deliveries "
            "WHERE chat_id = ? AND announced = ? AND broadcast_id IS NULL",
            (chat_id, announced.isoformat()),
        )
        planned, sent = rows[0]
        return planned > 0 and planned == sent

    async def _backlogs(self, rows: Iterable[Sequence[Any]]) -> list[ChatBacklog]:
        """Group part rows (`_PART_COLUMNS`) by chat, in sending order.

        Each distinct content is read and parsed once while senders hold it, and shared by every
        part that sends it: a push's memory grows with its distinct messages, not its chats.
        """
        ordered = sorted(rows, key=lambda row: (row[1], row[2], row[3] or 0, row[4]))
        hashes = {
            content_id: sha256
            for content_id, sha256 in await self._db.execute_fetchall(
                self._sql.hashes_by_id, (json.dumps(sorted({row[5] for row in ordered})),)
            )
        }
        contents = {content_id: self._loaded.get(sha256) for content_id, sha256 in hashes.items()}
        missing = sorted(content_id for content_id, content in contents.items() if content is None)
        if missing:
            for content_id, sha256, text, markup in await self._db.execute_fetchall(
                self._sql.contents_by_id, (json.dumps(missing),)
            ):
                content = Content(text, json.loads(markup) if markup is not None else None)
                self._loaded[sha256] = content
                contents[content_id] = content
        days: dict[str, date] = {}
        return [
            ChatBacklog(
                chat_id=chat_id,
                parts=tuple(
                    LedgerPart(
                        id=row[0],
                        announced=days.get(row[2]) or days.setdefault(row[2], date.fromisoformat(row[2])),
                        part=row[4],
                        content=contents[row[5]],
                        attempts=row[6],
                        broadcast_id=row[3],
                    )
                    for row in chat_rows
                ),
            )
            for chat_id, chat_rows in groupby(ordered, key=lambda row: row[1])
        ]


@dataclass(frozen=True, slots=True)
class BroadcastOutcome:
    id: int
    report_to: int
    sent: int
    failed: int
    deactivated: int  # not sent because the chat blocked or removed the bot


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _add_content(contents: dict[str, tuple[str, str, str | None]], part: PlannedPart) -> str:
    """Add the part's text and buttons to `contents` (by hash, stored once); returns the hash."""
    sha256 = part.stored[0]
    contents.setdefault(sha256, part.stored)
    return sha256
