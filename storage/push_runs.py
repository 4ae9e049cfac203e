"""Which announcements have had their push planned, and how big each push was."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from storage.db import Connection, transaction


@dataclass(frozen=True, slots=True)
class PushRun:
    announced: date
    planned_at: datetime
    chats: int
    messages: int
    featured: int | None = None  # papers featured at the top of a digest; None before it was counted
    featured_with_affiliations: int | None = None


class PushRunRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db

    async def get(self, announced: date) -> PushRun | None:
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM push_runs WHERE announced = ?",
            (announced.isoformat(),),
        )
        return _run(rows[0]) if rows else None

    async def latest(self) -> PushRun | None:
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM push_runs ORDER BY announced DESC LIMIT 1"
        )
        return _run(rows[0]) if rows else None

    async def record(
        self,
        announced: date,
        planned_at: datetime,
        chats: int,
        messages: int,
        *,
        featured: tuple[int, int] | None = None,
    ) -> bool:
        """Record a planned push, with (featured papers, how many of them have affiliations); False if
        another process recorded this announcement first."""
        counts = featured or (None, None)
        async with transaction(self._db):
            cursor = await self._db.execute(
                f"INSERT INTO push_runs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (announced.isoformat(), planned_at.astimezone(UTC).isoformat(), chats, messages, *counts),
            )
        return cursor.rowcount == 1


_COLUMNS = "announced, planned_at, chats, messages, featured, featured_with_affiliations"


def _run(row: Sequence[Any]) -> PushRun:
    return PushRun(date.fromisoformat(row[0]), datetime.fromisoformat(row[1]), row[2], row[3], row[4], row[5])
