"""What each chat follows beyond its categories (topics, authors, institutions); see bot.core.follows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Connection, transaction
from storage.dialect import dialect_of


@dataclass(frozen=True, slots=True)
class StoredFollow:
    id: int
    chat_id: int
    kind: str  # "topic", "author" or "inst"
    text: str
    key: str


_COLUMNS = "id, chat_id, kind, text, key"


async def move_follows(db: Connection, old_id: int, new_id: int) -> None:
    """A group became a supergroup the bot knew: its follows join the supergroup's (inside the caller's
    transaction). A follow both chats have stays once, under the supergroup's id and button."""
    await db.execute(
        "UPDATE follows SET chat_id = :new WHERE chat_id = :old AND NOT EXISTS ("
        " SELECT 1 FROM follows AS kept WHERE kept.chat_id = :new"
        " AND kept.kind = follows.kind AND kept.key = follows.key)",
        {"new": new_id, "old": old_id},
    )


class FollowRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db
        self._dialect = dialect_of(db)

    async def of_chat(self, chat_id: int) -> list[StoredFollow]:
        """The chat's follows in the order they were added."""
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM follows WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [StoredFollow(*row) for row in rows]

    async def of_chats(self, chat_ids: Sequence[int]) -> dict[int, list[StoredFollow]]:
        """Follows of many chats at once (a page of the push); chats without follows are absent."""
        found: dict[int, list[StoredFollow]] = {}
        if not chat_ids:
            return found
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM follows WHERE chat_id IN ({self._dialect.ids_in}) ORDER BY id",
            (_json_ids(chat_ids),),
        )
        for row in rows:
            found.setdefault(row[1], []).append(StoredFollow(*row))
        return found

    async def add(
        self, chat_id: int, follows: Iterable[tuple[str, str, str]], now: datetime, *, limit: int
    ) -> tuple[list[str], list[str], list[str]]:
        """Add (kind, text, key) follows while the chat has fewer than `limit`.

        Returns the texts (added, already followed, refused for the limit), in the given order.
        """
        added: list[str] = []
        already: list[str] = []
        refused: list[str] = []
        stamp = now.astimezone(UTC).isoformat()
        async with transaction(self._db):
            rows = await self._db.execute_fetchall(
                "SELECT COUNT(*) FROM follows WHERE chat_id = ?", (chat_id,)
            )
            count = rows[0][0]
            for kind, text, key in follows:
                exists = await self._db.execute_fetchall(
                    "SELECT 1 FROM follows WHERE chat_id = ? AND kind = ? AND key = ?", (chat_id, kind, key)
                )
                if exists:
                    already.append(text)
                elif count >= limit:
                    refused.append(text)
                else:
                    await self._db.execute(
                        "INSERT INTO follows (chat_id, kind, text, key, created) VALUES (?, ?, ?, ?, ?)",
                        (chat_id, kind, text, key, stamp),
                    )
                    added.append(text)
                    count += 1
        return added, already, refused

    async def remove(self, chat_id: int, follow_id: int) -> StoredFollow | None:
        """Remove one follow of this chat; None if the chat has no follow with that id."""
        async with transaction(self._db):
            rows = await self._db.execute_fetchall(
                f"DELETE FROM follows WHERE chat_id = ? AND id = ? RETURNING {_COLUMNS}", (chat_id, follow_id)
            )
        return StoredFollow(*rows[0]) if rows else None

    async def remove_keys(self, chat_id: int, keys: Iterable[tuple[str, str]]) -> list[str]:
        """Remove follows by (kind, key); returns the texts of those that were followed."""
        removed = []
        async with transaction(self._db):
            for kind, key in keys:
                rows = await self._db.execute_fetchall(
                    "DELETE FROM follows WHERE chat_id = ? AND kind = ? AND key = ? RETURNING text",
                    (chat_id, kind, key),
                )
                removed += [row[0] for row in rows]
        return removed

    async def remove_all(self, chat_id: int) -> int:
        async with transaction(self._db):
            cursor = await self._db.execute("DELETE FROM follows WHERE chat_id = ?", (chat_id,))
        return cursor.rowcount


def _json_ids(chat_ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(chat_id)) for chat_id in chat_ids) + "]"
