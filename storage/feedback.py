"""Taps on featured entries (👍 👎 🔖), what each chat was shown, and the state of its ranking model."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.db import Connection, transaction
from storage.dialect import Dialect, dialect_of

LIKE, DISLIKE, SAVE = "up", "down", "save"


@dataclass(frozen=True, slots=True)
class Tap:
    """What one member's tap left behind."""

    on: bool  # the action is in effect after the tap (False: the tap undid it)
    tally: tuple[int, int, int]  # the chat's 👍, 👎 and 🔖 on the paper after the tap


@dataclass(frozen=True, slots=True)
class ChatFeedback:
    """A chat's taps since its last /ranking reset: what its model learns from."""

    version: int
    papers: tuple[tuple[str, int, int], ...]  # (arXiv id, 👍 minus 👎, 🔖)
    shown: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SavedPaper:
    arxiv_id: str
    saved_at: datetime


def _merge_taps(dialect: Dialect) -> str:
    """A member who tapped the same paper in both chats: the later non-zero vote wins (an undo never
    erases the other chat's vote), and the paper stays saved if it was saved in either."""
    return f"""
    UPDATE feedback AS kept SET
        vote = CASE
            WHEN moved.vote = 0 THEN kept.vote
            WHEN kept.vote = 0 OR moved.updated > kept.updated THEN moved.vote
            ELSE kept.vote END,
        saved_at = CASE
            WHEN kept.saved_at IS NULL THEN moved.saved_at
            WHEN moved.saved_at IS NULL THEN kept.saved_at
            ELSE {dialect.greatest("kept.saved_at", "moved.saved_at")} END,
        updated = {dialect.greatest("kept.updated", "moved.updated")}
    FROM feedback AS moved
    WHERE kept.chat_id = :new AND moved.chat_id = :old
      AND moved.user_id = kept.user_id AND moved.arxiv_id = kept.arxiv_id
"""


def _merge_ranking_state(dialect: Dialect) -> str:
    """Any cached model of either chat is out of date (the version grows past both), and a /ranking
    reset asked for in either chat stays in force."""
    return f"""
    INSERT INTO ranking_state (chat_id, version, reset_at)
    SELECT :new, version + 1, reset_at FROM ranking_state WHERE chat_id = :old
    ON CONFLICT (chat_id) DO UPDATE SET
        version = ranking_state.version + excluded.version,
        reset_at = CASE
            WHEN ranking_state.reset_at IS NULL THEN excluded.reset_at
            WHEN excluded.reset_at IS NULL THEN ranking_state.reset_at
            ELSE {dialect.greatest("ranking_state.reset_at", "excluded.reset_at")} END
"""


async def move_feedback(db: Connection, old_id: int, new_id: int) -> None:
    """A group became a supergroup the bot knew: the group's taps, saved papers, impressions and
    model state join the supergroup's (inside the caller's transaction), so nothing a member did is
    lost. Rows left behind are the duplicates, deleted with the group's chat row."""
    ids = {"old": old_id, "new": new_id}
    dialect = dialect_of(db)
    await db.execute(_merge_taps(dialect), ids)
    await db.execute(
        "UPDATE feedback SET chat_id = :new WHERE chat_id = :old AND NOT EXISTS ("
        " SELECT 1 FROM feedback AS kept WHERE kept.chat_id = :new"
        " AND kept.user_id = feedback.user_id AND kept.arxiv_id = feedback.arxiv_id)",
        ids,
    )
    await db.execute(
        "UPDATE impressions SET chat_id = :new WHERE chat_id = :old AND NOT EXISTS ("
        " SELECT 1 FROM impressions AS kept WHERE kept.chat_id = :new"
        " AND kept.arxiv_id = impressions.arxiv_id)",
        ids,
    )
    await db.execute(_merge_ranking_state(dialect), ids)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class FeedbackRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db
        self._dialect = dialect_of(db)
        self.generation = 0
        """Grows with every tap and reset through this repository: counts of likes are cached by it."""

    async def tap(
        self, chat_id: int, user_id: int, arxiv_id: str, action: str, shown: Sequence[str], now: datetime
    ) -> Tap:
        """Apply one tap: 👍/👎 set the member's vote or clear it when tapped again, 🔖 toggles.

        `shown` are the featured papers of the message tapped on, recorded as impressions.
        """
        stamp = _stamp(now)
        self.generation += 1
        async with transaction(self._db):
            rows = await self._db.execute_fetchall(
                "SELECT vote, saved_at FROM feedback WHERE chat_id = ? AND user_id = ? AND arxiv_id = ?",
                (chat_id, user_id, arxiv_id),
            )
            vote, saved_at = (rows[0][0], rows[0][1]) if rows else (0, None)
            if action == SAVE:
                on = saved_at is None
                saved_at = stamp if on else None
            else:
                wanted = 1 if action == LIKE else -1
                on = vote != wanted
                vote = wanted if on else 0
            await self._db.execute(
                "INSERT INTO feedback (chat_id, user_id, arxiv_id, vote, saved_at, updated)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, user_id, arxiv_id) DO UPDATE SET"
                " vote = excluded.vote, saved_at = excluded.saved_at, updated = excluded.updated",
                (chat_id, user_id, arxiv_id, vote, saved_at, stamp),
            )
            await self._db.executemany(
                "INSERT INTO impressions (chat_id, arxiv_id, shown)"
                " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM papers WHERE arxiv_id = ?)"
                " ON CONFLICT DO NOTHING",
                [(chat_id, shown_id, stamp, shown_id) for shown_id in dict.fromkeys(shown)],
            )
            await self._db.execute(
                "INSERT INTO ranking_state (chat_id, version) VALUES (?, 1)"
                " ON CONFLICT (chat_id) DO UPDATE SET version = ranking_state.version + 1",
                (chat_id,),
            )
            tally = (await self._tallies(chat_id, [arxiv_id])).get(arxiv_id, (0, 0, 0))
        return Tap(on, tally)

    async def tallies(self, chat_id: int, arxiv_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        """The chat's (👍, 👎, 🔖) on these papers; papers without any are absent."""
        return await self._tallies(chat_id, arxiv_ids)

    async def _tallies(self, chat_id: int, arxiv_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id, COUNT(*) FILTER (WHERE vote = 1), COUNT(*) FILTER (WHERE vote = -1),"
            f" COUNT(saved_at) FROM feedback WHERE chat_id = ? AND arxiv_id IN ({self._dialect.texts_in})"
            " GROUP BY arxiv_id",
            (chat_id, _json(arxiv_ids)),
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows if any(row[1:])}

    async def of_chat(self, chat_id: int) -> ChatFeedback:
        """The chat's taps and impressions since its last reset, and the model version they make."""
        state = await self._db.execute_fetchall(
            "SELECT version, reset_at FROM ranking_state WHERE chat_id = ?", (chat_id,)
        )
        if not state:
            return ChatFeedback(0, (), ())
        version, reset_at = state[0]
        since = reset_at or ""
        papers = await self._db.execute_fetchall(
            "SELECT arxiv_id, SUM(vote), COUNT(saved_at) FROM feedback"
            " WHERE chat_id = ? AND updated > ? GROUP BY arxiv_id ORDER BY arxiv_id",
            (chat_id, since),
        )
        shown = await self._db.execute_fetchall(
            "SELECT arxiv_id FROM impressions WHERE chat_id = ? AND shown > ? ORDER BY arxiv_id",
            (chat_id, since),
        )
        return ChatFeedback(
            version, tuple((row[0], row[1], row[2]) for row in papers), tuple(r[0] for r in shown)
        )

    async def versions(self, chat_ids: Sequence[int]) -> dict[int, int]:
        """Model versions of chats that ever tapped; the others are absent."""
        rows = await self._db.execute_fetchall(
            f"SELECT chat_id, version FROM ranking_state WHERE chat_id IN ({self._dialect.ids_in})",
            (_json(chat_ids),),
        )
        return {row[0]: row[1] for row in rows}

    async def reset(self, chat_id: int, now: datetime) -> None:
        """Forget what the chat's model learned; saved papers and the taps' history stay."""
        self.generation += 1
        async with transaction(self._db):
            await self._db.execute(
                "INSERT INTO ranking_state (chat_id, version, reset_at) VALUES (?, 1, ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET version = ranking_state.version + 1,"
                " reset_at = excluded.reset_at",
                (chat_id, _stamp(now)),
            )

    async def liked_by(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        """Readers who liked or saved each paper, in every chat; papers nobody liked are absent."""
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id, COUNT(*) FROM feedback"
            f" WHERE arxiv_id IN ({self._dialect.texts_in}) AND (vote = 1 OR saved_at IS NOT NULL)"
            " GROUP BY arxiv_id",
            (_json(list(arxiv_ids)),),
        )
        return {row[0]: row[1] for row in rows}

    async def picks(self, chat_id: int, since: datetime, limit: int) -> list[tuple[str, int]]:
        """Papers the chat's members liked or saved since `since`, most liked first."""
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id, COUNT(*) AS likes FROM feedback WHERE chat_id = ? AND updated >= ?"
            " AND (vote = 1 OR saved_at IS NOT NULL) GROUP BY arxiv_id ORDER BY likes DESC, arxiv_id LIMIT ?",
            (chat_id, _stamp(since), limit),
        )
        return [(row[0], row[1]) for row in rows]

    async def saved(
        self, chat_id: int, user_id: int, offset: int, limit: int
    ) -> tuple[list[SavedPaper], int]:
        """A page of what the member saved in this chat, newest first, and how many there are."""
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id, saved_at FROM feedback"
            " WHERE chat_id = ? AND user_id = ? AND saved_at IS NOT NULL"
            " ORDER BY saved_at DESC, arxiv_id LIMIT ? OFFSET ?",
            (chat_id, user_id, limit, offset),
        )
        count = await self._db.execute_fetchall(
            "SELECT COUNT(*) FROM feedback WHERE chat_id = ? AND user_id = ? AND saved_at IS NOT NULL",
            (chat_id, user_id),
        )
        return [SavedPaper(row[0], datetime.fromisoformat(row[1])) for row in rows], count[0][0]


def _json(values: Iterable[object]) -> str:
    return json.dumps(list(values))
