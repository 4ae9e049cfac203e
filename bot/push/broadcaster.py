"""Pushes planned messages to Telegram within its broadcast limits, resuming where a push stopped.

The ledger (`storage.deliveries`) holds every message part to send. A push claims chats in batches
and delivers many chats at once, each chat's parts in order by one task, so a slow chat holds up only
itself. Telegram's limits: about 30 messages a second for the whole bot (up to 1000 with paid
broadcasts), one a second per chat, 20 a minute per group. A 429 pauses every send for as long as
Telegram asks, because flood control counts the whole bot.

Each sent part is recorded (in batches) before the chat's next part goes out, so a crash repeats
at most the one part that was in flight per chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.core.clock import Clock, Monotonic, Sleep, utc_now
from bot.push.limits import (
    FREE_RATE,
    PAID_RATE,
    RATE_MARGIN,
    ChatLimits,
    ChatPacer,
    SendRate,
    SendRetry,
    chat_is_gone,
    flood_wait,
)
from bot.push.transport import CONNECTIONS
from storage.chats import ChatRepository
from storage.deliveries import ChatBacklog, DeliveryLedger, LedgerPart, SentPart

logger = logging.getLogger(__name__)

OnPushProgress = Callable[["PushReport"], None]

RECORD_EVERY = 0.05
"""Seconds between the transactions that record sent parts."""

SEND_MESSAGE = "sendmessage"
"""Sent with `Bot.do_api_request`, which hands back Telegram's JSON as it is: building a Message from
every answer took a third of a push's CPU. Bot API method names are case-insensitive; in lower case
PTB does not warn that `send_message` exists."""


@dataclass(slots=True)
class PushReport:
    chats_due: int = 0  # chats with a part due when the push started
    messages_due: int = 0  # their unsent parts
    sent: int = 0
    skipped: int = 0  # not sent: the chat blocked the bot or no longer exists
    deactivated: int = 0
    migrated: int = 0  # groups that became supergroups, delivered under the new id
    failed: int = 0  # refused by Telegram (bad request): never retried
    retried: int = 0  # sends repeated after flood control or a network error
    released: int = 0  # parts left for a later push after repeated errors
    elapsed: float = 0.0
    dry_run: bool = False

    @property
    def done(self) -> int:
        """Parts dealt with so far, against `messages_due` for a progress bar."""
        return self.sent + self.skipped + self.failed + self.released


def default_owner() -> str:
    """Who holds a claim: host and process, plus a random part so a restarted process is new."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Broadcaster:
    """Drains the delivery ledger into Telegram.

    Give it a Bot without PTB's rate limiter and with a connection pool at least `connections`
    wide (`push_bot` builds one): that many requests go out at once.
    """

    def __init__(
        self,
        bot: Bot,
        ledger: DeliveryLedger,
        chats: ChatRepository,
        *,
        rate: float = FREE_RATE,
        paid: bool = False,
        chat_limits: ChatLimits = ChatLimits(),
        retry: SendRetry = SendRetry(),
        lease: timedelta = timedelta(minutes=5),
        batch: int = 200,
        connections: int = CONNECTIONS,
        clock: Clock = utc_now,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        send_rate: SendRate | None = None,
    ) -> None:
        ceiling = PAID_RATE if paid else FREE_RATE
        if not 0 < rate <= ceiling:
            raise ValueError(
                f"rate must be above 0 and at most {ceiling:g} messages a second"
                + ("" if paid else " (more needs paid broadcasts)")
            )
        self.bot = bot
        self.ledger = ledger
        self.chats = chats
        self.paid = paid
        self.chat_limits = chat_limits
        self.retry = retry
        self.lease = lease
        self.batch = batch
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        # Shared with the application's limiter when given: replies and the push share one budget.
        self.send_rate = send_rate or SendRate(rate * RATE_MARGIN, monotonic, sleep)
        self.requests = asyncio.Semaphore(connections)
        # Enough chats in hand to keep the overall rate busy while each waits out its own interval,
        # and to keep sending while the next batch is claimed.
        self.chats_in_flight = max(2 * batch, math.ceil(2 * rate * chat_limits.interval))

    async def run(
        self, owner: str | None = None, *, dry_run: bool = False, progress: OnPushProgress | None = None
    ) -> PushReport:
        """Send every part due now; a dry run builds each message and counts without sending."""
        started = self.monotonic()
        if dry_run:
            report = await self._count_due(progress)
        else:
            report = await _Push(self, owner or default_owner(), progress).drain()
        report.elapsed = self.monotonic() - started
        return report

    def send_arguments(self, chat_id: int, part: LedgerPart) -> dict[str, Any]:
        """The sendMessage parameters for a stored part, as Bot API JSON."""
        return {
            "chat_id": chat_id,
            "text": part.text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "reply_markup": part.markup,
            "allow_paid_broadcast": True if self.paid else None,
        }

    async def _count_due(self, progress: OnPushProgress | None) -> PushReport:
        report = PushReport(dry_run=True)
        now = self.clock()
        after = None
        while page := await self.ledger.peek(now, after, self.batch):
            for chat in page:
                report.chats_due += 1
                for part in chat.parts:
                    self.send_arguments(chat.chat_id, part)
                    report.messages_due += 1
            after = page[-1].chat_id
            if progress is not None:
                progress(report)
        return report


class _GaveUp(Exception):
    """A part kept hitting flood control or network errors for this push."""


class _SentLog:
    """Records sent parts in one transaction every RECORD_EVERY seconds instead of one per message.

    `add` returns a future that resolves once the part is recorded: a chat's next part waits for
    it, which is what limits a crash to repeating one part per chat.
    """

    def __init__(self, ledger: DeliveryLedger, owner: str) -> None:
        self._ledger = ledger
        self._owner = owner
        self._batch: list[SentPart] = []
        self._recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def add(self, sent: SentPart) -> asyncio.Future[None]:
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
        try:
            await self._ledger.mark_sent(self._owner, batch)
        except BaseException as error:
            recorded.set_exception(error)
            raise
        recorded.set_result(None)


@dataclass
class _Push:
    """One push: claims chats while there is room, one task per chat, until nothing is due."""

    broadcaster: Broadcaster
    owner: str
    progress: OnPushProgress | None
    report: PushReport = field(default_factory=PushReport)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    failure: BaseException | None = None
    exhausted: bool = False  # the last claim found less than asked: wait for the chats in hand

    async def drain(self) -> PushReport:
        b = self.broadcaster
        backlog = await b.ledger.backlog(b.clock())
        self.report.chats_due, self.report.messages_due = backlog.chats, backlog.parts
        renew_at = b.clock() + b.lease / 3
        refill = max(1, b.batch // 2)  # claim in batches, not one chat per finished chat
        log = _SentLog(b.ledger, self.owner)
        try:
            while True:
                room = b.chats_in_flight - len(self.tasks)
                if not self.tasks or (not self.exhausted and room >= refill):
                    wanted = min(room, b.batch)
                    claimed = await b.ledger.claim(self.owner, b.clock(), wanted, b.lease)
                    for chat in claimed:
                        self._start(chat, log)
                    if not self.tasks:
                        break
                    self.exhausted = len(claimed) < wanted
                    if not self.exhausted:
                        continue
                await self._wait_for_room()
                if b.clock() >= renew_at:
                    await b.ledger.renew(self.owner, b.clock(), b.lease)
                    renew_at = b.clock() + b.lease / 3
        except BaseException:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await log.close()
            # Stopped early (cancelled, or a failure): what was sent is recorded above; hand the
            # rest back at once instead of leaving it to the lease.
            await b.ledger.release_all(self.owner, b.clock())
            raise
        await log.close()
        return self.report

    def _start(self, chat: ChatBacklog, log: _SentLog) -> None:
        task = asyncio.create_task(self._deliver(chat, log))
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
        self.freed.set()

    async def _wait_for_room(self) -> None:
        """Until a chat is done, or a third of the lease passed (time to renew the claims)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.broadcaster.lease.total_seconds() / 3):
                await self.freed.wait()
        self.freed.clear()
        if self.failure is not None:
            raise self.failure

    def _advance(self) -> None:
        if self.progress is not None:
            self.progress(self.report)

    async def _deliver(self, chat: ChatBacklog, log: _SentLog) -> None:
        b = self.broadcaster
        chat_id = chat.chat_id
        pacer = ChatPacer(chat_id, b.chat_limits)
        recorded: asyncio.Future[None] | None = None
        for part in chat.parts:
            if recorded is not None:
                await asyncio.shield(recorded)  # shared by every chat: cancelling one must not cancel it
            try:
                message_id = await self._send(chat_id, part, pacer)
            except ChatMigrated as moved:
                await self._migrate(chat_id, moved.new_chat_id)
                return
            except (Forbidden, BadRequest) as refused:
                if chat_is_gone(refused):
                    await self._deactivate(chat_id, refused)
                    return
                logger.warning(
                    "chat %s refused part %s of %s: %s", chat_id, part.part, part.announced, refused
                )
                await b.ledger.mark_failed(self.owner, chat_id, part.announced, part.part, refused.message)
                self.report.failed += 1
                self._advance()
                continue
            except _GaveUp as given_up:
                retry_at = b.clock() + b.retry.later
                released = await b.ledger.release(self.owner, chat_id, retry_at, str(given_up))
                logger.warning("chat %s: %s; %d part(s) wait until %s", chat_id, given_up, released, retry_at)
                self.report.released += released
                self._advance()
                return
            recorded = log.add(SentPart(chat_id, part.announced, part.part, message_id, b.clock()))
            self.report.sent += 1
            self._advance()

    async def _send(self, chat_id: int, part: LedgerPart, pacer: ChatPacer) -> int:
        """Send one part; Telegram's message id."""
        b = self.broadcaster
        arguments = b.send_arguments(chat_id, part)
        attempt = 1
        while True:
            wait = pacer.ready_at() - b.monotonic()
            if wait > 0:
                await b.sleep(wait)
            async with b.requests:
                await b.send_rate.acquire()
                pacer.record(b.monotonic())
                try:
                    sent = await b.bot.do_api_request(SEND_MESSAGE, api_kwargs=arguments)
                    return sent["message_id"]
                except RetryAfter as error:
                    b.send_rate.pause(flood_wait(error))
                    problem: TelegramError = error
                    backoff = 0.0
                except (BadRequest, Forbidden, ChatMigrated, InvalidToken):
                    raise
                except TelegramError as error:  # timeouts, network errors, Telegram's 5xx
                    problem = error
                    backoff = b.retry.backoff * 2 ** (attempt - 1)
            if attempt == b.retry.sends:
                raise _GaveUp(f"{type(problem).__name__}: {problem.message}")
            logger.info("chat %s: %s; trying again (%d of %d)", chat_id, problem, attempt + 1, b.retry.sends)
            self.report.retried += 1
            attempt += 1
            if backoff:
                await b.sleep(backoff)

    async def _deactivate(self, chat_id: int, refused: TelegramError) -> None:
        b = self.broadcaster
        logger.info("chat %s is gone (%s); deactivating it", chat_id, refused)
        await b.chats.set_active(chat_id, False)
        self.report.skipped += await b.ledger.skip_chat(self.owner, chat_id, refused.message)
        self.report.deactivated += 1
        self._advance()

    async def _migrate(self, old_id: int, new_id: int) -> None:
        """Move the chat, and hand its parts back due now: this push claims them under the new id."""
        b = self.broadcaster
        logger.info("chat %s became supergroup %s; moving it", old_id, new_id)
        await b.ledger.move_chat(old_id, new_id)
        await b.ledger.release(self.owner, new_id, b.clock())
        self.exhausted = False
        self.report.migrated += 1
