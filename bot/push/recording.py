"""Recording sent parts: one transaction every RECORD_EVERY seconds, and knowing when recording stalls."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from storage.deliveries import SentPart

if TYPE_CHECKING:
    from bot.push.broadcaster import _Push

RECORD_EVERY = 0.05
"""Seconds between the transactions that record sent parts."""
RECORD_STALLED = 0.25
"""Seconds a record may take before no new send starts until it is done (a lock held elsewhere)."""


class SentLog:
    """Records sent parts in one transaction every RECORD_EVERY seconds instead of one per message.

    `add` returns a future that resolves, once the part is recorded, to the ids recorded with it: a
    chat's next part waits for it, which is what limits a crash to repeating one part per chat, and
    a part missing from it was taken back (the chat's digest was replanned) so the chat stops.
    """

    def __init__(self, push: _Push) -> None:
        self._push = push
        self._batch: list[SentPart] = []
        self._recorded: asyncio.Future[set[int]] = asyncio.get_running_loop().create_future()
        self._waiting = asyncio.Event()
        self._closing = False
        self._flushing_since: float | None = None
        self._flushed = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def stalled(self) -> bool:
        """A record has been under way for more than RECORD_STALLED."""
        started = self._flushing_since
        return started is not None and self._push.broadcaster.monotonic() - started > RECORD_STALLED

    async def caught_up(self) -> None:
        """Return at once, unless the record under way stalled: then once it is done."""
        if self.stalled():
            await self._flushed.wait()

    def add(self, sent: SentPart) -> asyncio.Future[set[int]]:
        self._batch.append(sent)
        self._waiting.set()
        return self._recorded

    async def close(self) -> None:
        """Record what is left; raises if recording failed."""
        self._closing = True
        self._waiting.set()
        await self._task

    async def _run(self) -> None:
        while True:
            await self._waiting.wait()
            if not self._closing:
                await asyncio.sleep(RECORD_EVERY)
            await self._flush()
            if self._closing:
                return

    async def _flush(self) -> None:
        self._waiting.clear()
        batch, recorded = self._batch, self._recorded
        self._batch, self._recorded = [], asyncio.get_running_loop().create_future()
        push = self._push
        self._flushing_since = push.broadcaster.monotonic()
        self._flushed.clear()
        try:
            ids = await push.write(push.broadcaster.ledger.mark_sent, push.owner, batch)
        except BaseException as error:
            recorded.set_exception(error)
            recorded.exception()  # retrieved: the chats waiting for it may all be gone
            raise
        finally:
            self._flushing_since = None
            self._flushed.set()
        push.recorded(len(batch))
        recorded.set_result(ids)
