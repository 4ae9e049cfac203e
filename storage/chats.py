"""Chats the bot knows: registered on /start, deactivated when the bot is blocked or removed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from storage.db import Connection, transaction


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """Delivery preferences; None means the default (at once, the bot's time zone, default size)."""

    delivery_time: time | None = None
    timezone: str | None = None
    digest_size: int | None = None  # 0 means every paper


@dataclass(frozen=True, slots=True)
class Chat:
    id: int
    type: str
    title: str | None
    language: str | None
    created: datetime
    active: bool


class ChatRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def register(
        self, chat_id: int, chat_type: str, title: str | None, language: str | None, now: datetime
    ) -> bool:
        """Insert or reactivate a chat, refreshing its title and language; True if it was new."""
        async with (
            transaction(self._db),
            self._db.execute(
                """
            INSERT INTO chats (id, type, title, language, created, active) VALUES (?, ?, ?, ?, ?, 1)
            ON CONFLICT (id) DO UPDATE SET
                type = excluded.type, title = excluded.title,
                language = COALESCE(excluded.language, chats.language), active = 1
            RETURNING created
            """,
                (chat_id, chat_type, title, language, now.astimezone(UTC).isoformat()),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return datetime.fromisoformat(row[0]) == now

    async def get(self, chat_id: int) -> Chat | None:
        rows = await self._db.execute_fetchall(
            "SELECT id, type, title, language, created, active FROM chats WHERE id = ?", (chat_id,)
        )
        if not rows:
            return None
        row = rows[0]
        return Chat(
            id=row["id"],
            type=row["type"],
            title=row["title"],
            language=row["language"],
            created=datetime.fromisoformat(row["created"]),
            active=bool(row["active"]),
        )

    async def set_active(self, chat_id: int, active: bool) -> None:
        async with transaction(self._db):
            await self._db.execute("UPDATE chats SET active = ? WHERE id = ?", (int(active), chat_id))

    async def settings(self, chat_id: int) -> ChatSettings:
        rows = await self._db.execute_fetchall(
            "SELECT delivery_time, timezone, digest_size FROM chats WHERE id = ?", (chat_id,)
        )
        if not rows:
            return ChatSettings()
        row = rows[0]
        delivery_time = time.fromisoformat(row[0]) if row[0] else None
        return ChatSettings(delivery_time, row[1], row[2])

    async def set_delivery_time(self, chat_id: int, delivery_time: time | None) -> None:
        value = delivery_time.strftime("%H:%M") if delivery_time else None
        async with transaction(self._db):
            await self._db.execute("UPDATE chats SET delivery_time = ? WHERE id = ?", (value, chat_id))

    async def set_timezone(self, chat_id: int, timezone: str | None) -> None:
        async with transaction(self._db):
            await self._db.execute("UPDATE chats SET timezone = ? WHERE id = ?", (timezone, chat_id))

    async def set_digest_size(self, chat_id: int, size: int | None) -> None:
        async with transaction(self._db):
            await self._db.execute("UPDATE chats SET digest_size = ? WHERE id = ?", (size, chat_id))

    async def languages(self, chat_id: int) -> tuple[str | None, str | None]:
        """(the language chosen with /lang, the last Telegram language_code seen); None when unknown."""
        rows = await self._db.execute_fetchall(
            "SELECT chosen_language, language FROM chats WHERE id = ?", (chat_id,)
        )
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    async def set_language(self, chat_id: int, language: str | None) -> None:
        async with transaction(self._db):
            await self._db.execute("UPDATE chats SET chosen_language = ? WHERE id = ?", (language, chat_id))

    async def active_ids(self) -> list[int]:
        rows = await self._db.execute_fetchall("SELECT id FROM chats WHERE active = 1 ORDER BY id")
        return [row[0] for row in rows]

    async def count(self) -> tuple[int, int]:
        """(all chats, active chats)."""
        [row] = await self._db.execute_fetchall("SELECT COUNT(*), COALESCE(SUM(active), 0) FROM chats")
        return int(row[0]), int(row[1])
