"""Which announcements have had their push planned, and how big each push was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import aiosqlite

from storage.db import transaction


@dataclass(frozen=True, slots=True)
class PushRun:
    announced: date
    planned_at: datetime
    chats: int
    messages: int


class PushRunRepository:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def get(self, announced: date) -> PushRun | None:
        rows = await self._db.execute_fetchall(
            "SELECT announced, planned_at, chats, messages FROM push_runs WHERE announced = ?",
            (announced.isoformat(),),
        )
        return _run(rows[0]) if rows else None

    async def latest(self) -> PushRun | None:
        rows = await self._db.execute_fetchall(
            "SELECT announced, planned_at, chats, messages FROM push_runs ORDER BY announced DESC LIMIT 1"
        )
        return _run(rows[0]) if rows else None

    async def record(self, announced: date, planned_at: datetime, chats: int, messages: int) -> bool:
        """Record a planned push; False if another process recorded this announcement first."""
        async with transaction(self._db):
            cursor = await self._db.execute(
                "INSERT INTO push_runs (announced, planned_at, chats, messages) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (announced.isoformat(), planned_at.astimezone(UTC).isoformat(), chats, messages),
            )
        return cursor.rowcount == 1


def _run(row: aiosqlite.Row) -> PushRun:
    return PushRun(date.fromisoformat(row[0]), datetime.fromisoformat(row[1]), row[2], row[3])
