"""The generation of what a repository stores: caches of what they rendered or built from it compare
it to know they are stale, whichever connection or process wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.db import Connection, transaction


class Generation:
    """Writes by any connection or process move the counter of `counter_table`, a one-row table that
    database triggers keep; the repository's own writes move the first number too, once they are
    over: a reader on this connection between a write's statements sees the counter moved already,
    with the write half done. A write that changed nothing (a poll finding what is stored) moves
    neither, so the caches built on what it left as it was stay."""

    def __init__(self, db: Connection, counter_table: str) -> None:
        self._db = db
        self._read_counter = f"SELECT counter FROM {counter_table}"
        self._writes = 0

    async def current(self) -> tuple[int, int]:
        return self._writes, await self._counter()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        """A write transaction that moves the generation once it is over, committed or rolled back: a
        reader in between caches what it read under the old generation and is refreshed, never the
        reverse (reads on the shared SQLite connection see a transaction's rows before its commit)."""
        changed = True  # unless the write is seen to end without moving the counter
        try:
            async with transaction(self._db):
                before = await self._counter()
                yield
                changed = await self._counter() != before
        finally:
            if changed:
                self._writes += 1

    async def _counter(self) -> int:
        rows = await self._db.execute_fetchall(self._read_counter)
        return rows[0][0]
