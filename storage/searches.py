"""/search queries by id, for the paging buttons of their result messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Connection, transaction

KEPT_FOR = timedelta(days=30)  # a result message older than this gets a "search again" answer


class SearchRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def save(self, chat_id: int, query: str, now: datetime) -> int:
        """Store a chat's query; returns its id. Queries older than KEPT_FOR are dropped."""
        async with transaction(self._db):
            await self._db.execute(
                "DELETE FROM searches WHERE created < ?", ((now - KEPT_FOR).astimezone(UTC).isoformat(),)
            )
            rows = await self._db.execute_fetchall(
                "INSERT INTO searches (chat_id, query, created) VALUES (?, ?, ?) RETURNING id",
                (chat_id, query, now.astimezone(UTC).isoformat()),
            )
            return int(rows[0][0])

    async def get(self, search_id: int, chat_id: int) -> str | None:
        """The query, if it exists and belongs to this chat (a forged button gets nothing)."""
        rows = await self._db.execute_fetchall(
            "SELECT query FROM searches WHERE id = ? AND chat_id = ?", (search_id, chat_id)
        )
        return rows[0][0] if rows else None
