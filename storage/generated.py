"""Generated titles and summaries, cached once per paper and language, and the model's daily budget."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime

from storage.db import Connection, transaction
from storage.dialect import dialect_of
from storage.generation import Generation
from storage.models import Generated


class GeneratedTextRepository:
    def __init__(self, db: Connection) -> None:
        self._db = db
        self._dialect = dialect_of(db)
        self._generation = Generation(db, "generated_text_changes")

    async def generation(self) -> tuple[int, int]:
        """Changes when a text is recorded, by any connection or process (triggers move
        generated_text_changes). Renderings that show the texts are cached by it."""
        return await self._generation.current()

    async def accepted(self, arxiv_ids: Iterable[str], language: str) -> dict[str, Generated]:
        """The accepted texts among `arxiv_ids` in `language`."""
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return {}
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id, summary, title FROM generated_texts"
            f" WHERE status = 'ok' AND language = ? AND arxiv_id IN ({self._dialect.texts_in})",
            (language, json.dumps(ids)),
        )
        return {row[0]: Generated(row[1], row[2]) for row in rows}

    async def not_asked(self, arxiv_ids: Iterable[str], language: str) -> list[str]:
        """Those of `arxiv_ids` (in the given order) the model was never asked about in `language`."""
        ids = list(dict.fromkeys(arxiv_ids))
        if not ids:
            return []
        rows = await self._db.execute_fetchall(
            "SELECT arxiv_id FROM generated_texts"
            f" WHERE language = ? AND arxiv_id IN ({self._dialect.texts_in})",
            (language, json.dumps(ids)),
        )
        asked = {row[0] for row in rows}
        return [arxiv_id for arxiv_id in ids if arxiv_id not in asked]

    async def record(
        self,
        arxiv_id: str,
        language: str,
        model: str,
        now: datetime,
        *,
        generated: Generated | None = None,
        status: str = "ok",
        problem: str | None = None,
    ) -> None:
        async with self._generation.write():
            await self._db.execute(
                "INSERT INTO generated_texts"
                " (arxiv_id, language, status, title, summary, model, problem, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (arxiv_id, language) DO UPDATE SET status = excluded.status,"
                " title = excluded.title, summary = excluded.summary, model = excluded.model,"
                " problem = excluded.problem, created = excluded.created",
                (
                    arxiv_id,
                    language,
                    status if generated is None else "ok",
                    generated.title if generated else None,
                    generated.summary if generated else None,
                    model,
                    problem,
                    now.astimezone(UTC).isoformat(),
                ),
            )

    async def take_request(self, day: date, budget: int) -> bool:
        """Count one request against `day`'s budget; False (and nothing counted) once it is spent."""
        if budget <= 0:
            return False
        async with transaction(self._db):
            cursor = await self._db.execute(
                "INSERT INTO llm_usage (day, requests) VALUES (?, 1)"
                " ON CONFLICT (day) DO UPDATE SET requests = llm_usage.requests + 1"
                " WHERE llm_usage.requests < ?",
                (day.isoformat(), budget),
            )
            return cursor.rowcount == 1

    async def requests_on(self, day: date) -> int:
        rows = await self._db.execute_fetchall(
            "SELECT requests FROM llm_usage WHERE day = ?", (day.isoformat(),)
        )
        return rows[0][0] if rows else 0
