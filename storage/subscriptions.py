"""Which categories each chat follows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from storage.db import Connection, transaction
from storage.dialect import dialect_of


@dataclass(frozen=True, slots=True)
class Subscriber:
    """An active chat with what it follows and how it wants its digest."""

    chat_id: int
    chat_type: str
    categories: tuple[str, ...]
    delivery_time: time | None
    timezone: str | None
    digest_size: int | None
    language: str | None = None  # the /lang choice, else the last Telegram language code seen


_SUBSCRIBERS = (
    "SELECT c.id, c.type, c.delivery_time, c.timezone, c.digest_size, {categories},"
    " coalesce(c.chosen_language, c.language)"
    " FROM chats c JOIN subscriptions s ON s.chat_id = c.id"
    " WHERE c.active = 1 AND {chats} AND s.created <= ? GROUP BY c.id"
)


class SubscriptionRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db
        self._categories = dialect_of(db).concat("s.category", "' '")

    async def of_chat(self, chat_id: int) -> list[str]:
        rows = await self._db.execute_fetchall(
            "SELECT category FROM subscriptions WHERE chat_id = ? ORDER BY category", (chat_id,)
        )
        return [row[0] for row in rows]

    async def add(self, chat_id: int, categories: Iterable[str], now: datetime) -> list[str]:
        """Subscribe to each category; returns those that were not subscribed before."""
        added = []
        stamp = now.astimezone(UTC).isoformat()
        async with transaction(self._db):
            for category in dict.fromkeys(categories):
                async with self._db.execute(
                    "INSERT INTO subscriptions (chat_id, category, created) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING RETURNING category",
                    (chat_id, category, stamp),
                ) as cursor:
                    if await cursor.fetchone() is not None:
                        added.append(category)
        return added

    async def remove(self, chat_id: int, categories: Iterable[str]) -> list[str]:
        """Unsubscribe from each category; returns those that were subscribed."""
        removed = []
        async with transaction(self._db):
            for category in dict.fromkeys(categories):
                async with self._db.execute(
                    "DELETE FROM subscriptions WHERE chat_id = ? AND category = ? RETURNING category",
                    (chat_id, category),
                ) as cursor:
                    if await cursor.fetchone() is not None:
                        removed.append(category)
        return removed

    async def remove_all(self, chat_id: int) -> list[str]:
        async with (
            transaction(self._db),
            self._db.execute(
                "DELETE FROM subscriptions WHERE chat_id = ? RETURNING category", (chat_id,)
            ) as cursor,
        ):
            return sorted(row[0] for row in await cursor.fetchall())

    async def toggle(self, chat_id: int, category: str, now: datetime) -> bool:
        """Flip one subscription; True if the chat is subscribed afterwards."""
        if await self.remove(chat_id, [category]):
            return False
        await self.add(chat_id, [category], now)
        return True

    async def subscribers(self, subscribed_by: datetime, after: int | None, limit: int) -> list[Subscriber]:
        """Active chats by id after `after`, with the subscriptions they had at `subscribed_by`."""
        rows = await self._db.execute_fetchall(
            _SUBSCRIBERS.format(categories=self._categories, chats="c.id > ?") + " ORDER BY c.id LIMIT ?",
            (after if after is not None else -(2**63), _stamp(subscribed_by), limit),
        )
        return [_subscriber(row) for row in rows]

    async def subscriber(self, chat_id: int, subscribed_by: datetime) -> Subscriber | None:
        """The chat, if it is active and followed something at `subscribed_by` that it still follows."""
        rows = await self._db.execute_fetchall(
            _SUBSCRIBERS.format(categories=self._categories, chats="c.id = ?"),
            (chat_id, _stamp(subscribed_by)),
        )
        return _subscriber(rows[0]) if rows else None

    async def chat_languages(self) -> dict[str, int]:
        """Active subscribed chats by their language, the /lang choice before the Telegram language code
        (None as ""): who needs text in which language."""
        rows = await self._db.execute_fetchall(
            "SELECT coalesce(c.chosen_language, c.language, ''), count(DISTINCT c.id) FROM chats c"
            " JOIN subscriptions s ON s.chat_id = c.id WHERE c.active = 1 GROUP BY 1"
        )
        return {row[0]: row[1] for row in rows}

    async def digest_choices(self) -> list[tuple[tuple[str, ...], int | None]]:
        """The distinct (categories, digest size) that active chats follow: one digest each."""
        rows = await self._db.execute_fetchall(
            f"SELECT c.digest_size, {self._categories} FROM chats c"
            " JOIN subscriptions s ON s.chat_id = c.id WHERE c.active = 1 GROUP BY c.id"
        )
        return await asyncio.to_thread(_distinct_choices, rows)  # a row per chat: 100,000 of them

    async def active_categories(self) -> list[str]:
        """Categories that at least one active chat follows: the ones worth polling."""
        rows = await self._db.execute_fetchall(
            "SELECT DISTINCT s.category FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
            "WHERE c.active = 1 ORDER BY s.category"
        )
        return [row[0] for row in rows]

    async def counts_by_category(self) -> dict[str, int]:
        rows = await self._db.execute_fetchall(
            "SELECT category, COUNT(*) FROM subscriptions GROUP BY category ORDER BY category"
        )
        return {row[0]: int(row[1]) for row in rows}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _subscriber(row: Sequence[Any]) -> Subscriber:
    return Subscriber(
        chat_id=row[0],
        chat_type=row[1],
        categories=tuple(sorted(row[5].split())),
        delivery_time=time.fromisoformat(row[2]) if row[2] else None,
        timezone=row[3],
        digest_size=row[4],
        language=row[6],
    )


def _distinct_choices(rows: Iterable[Sequence[Any]]) -> list[tuple[tuple[str, ...], int | None]]:
    return sorted(
        {(tuple(sorted(row[1].split())), row[0]) for row in rows},
        key=lambda choice: (choice[0], -1 if choice[1] is None else choice[1]),
    )
