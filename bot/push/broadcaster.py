"""Pushes planned messages to Telegram within its broadcast limits, resuming where a push stopped.

The ledger (`storage.deliveries`) holds every message part to send. A push claims chats in small
batches and delivers many chats at once, each chat's parts in order by one task, so a slow chat holds
up only itself. Telegram's limits: about 30 messages a second for the whole bot (up to 1000 with
paid broadcasts), one a second per chat, 20 a minute per group. A 429 pauses every send for as long
as Telegram asks, because flood control counts the whole bot.

No send goes out without its record following: each sent part is recorded (in batches) before the
chat's next part goes out, and at most `unrecorded` sends are ever out without a record. When the
database cannot be written (locked by another process, disk full, read-only, I/O errors), sending
stops at once and the writes are retried with backoff for as long as the push's claims are provably
its own (the lease); if the database does not come back by then, the push stops with `PushStopped`.
So whatever ends a push, a crash or a storage fault, only those unrecorded sends can repeat.

A push claimed by a process that is gone (same host, its pid no longer exists) is taken over at once
instead of after its lease.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.core.clock import Clock, Monotonic, Sleep, utc_now
from bot.log import redact, secrets_in
from bot.push.budget import SharedSendBudget
from bot.push.claims import Slots, default_owner, owner_is_gone
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
from bot.push.recording import SentLog
from bot.push.report import ClaimsRanOut, OnPushProgress, PushReport, PushStopped, SendGaveUp, StorageGaveUp
from bot.push.transport import CONNECTIONS, PushRequest
from storage.chats import ChatRepository
from storage.coordination import SendBudget
from storage.db import StorageFault, storage_fault
from storage.deliveries import ChatBacklog, Content, DeliveryLedger, LedgerPart, SentPart

logger = logging.getLogger(__name__)

T = TypeVar("T")


UNRECORDED_PER_CONNECTION = 2
"""Sends out without a record, per connection: all that a crash or a storage fault can repeat."""
LEASE = timedelta(seconds=30)
BATCH = (10, 200)
"""Chats claimed at once: about a second of sending at the push's rate, within these bounds."""
STORAGE_RETRY = (0.1, 2.0)
"""Seconds before retrying a write the database refused, doubling up to the second figure."""

SEND_MESSAGE = "sendMessage"
"""Posted with `PushRequest.post_json`, which hands back Telegram's JSON as it is: building a Message
from every answer took a third of a push's CPU."""


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
        lease: timedelta = LEASE,
        batch: int | None = None,
        connections: int = CONNECTIONS,
        clock: Clock = utc_now,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        send_rate: SendRate | None = None,
        budget: SendBudget | None = None,
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
        self.batch = batch or min(BATCH[1], max(BATCH[0], math.ceil(rate)))
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        # Shared with the application's limiter when given: replies and the push share one budget.
        self.send_rate = send_rate or SendRate(rate * RATE_MARGIN, monotonic, sleep)
        # Several processes sending for the bot share its rate through the database.
        self.shared = SharedSendBudget(budget, rate * RATE_MARGIN) if budget else None
        self.requests = Slots(connections)
        self.unrecorded = UNRECORDED_PER_CONNECTION * connections
        # Enough chats in hand to keep the overall rate busy while each waits out its own interval,
        # and to keep sending while the next batch is claimed.
        self.chats_in_flight = max(2 * self.batch, math.ceil(2 * rate * chat_limits.interval))
        # Claims stop being trusted this long before their lease runs out (clocks, a send under way).
        self.margin = min(lease / 4, timedelta(seconds=2))
        self.secrets = secrets_in(bot.token)
        self.send_url = f"{bot.base_url}/{SEND_MESSAGE}"
        # Each distinct message encoded once: every chat it goes to differs only in its chat id.
        self._encoded: weakref.WeakKeyDictionary[Content, bytes] = weakref.WeakKeyDictionary()

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

    def send_body(self, chat_id: int, part: LedgerPart) -> bytes:
        """The sendMessage request for a stored part, as a Bot API JSON body."""
        encoded = self._encoded.get(part.content)
        if encoded is None:
            arguments = {
                "text": part.text,
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
                "reply_markup": part.markup,
                "allow_paid_broadcast": True if self.paid else None,
            }
            text = json.dumps({name: value for name, value in arguments.items() if value is not None})
            encoded = self._encoded[part.content] = text[1:].encode()
        return b'{"chat_id":%d,%s' % (chat_id, encoded)

    @property
    def request(self) -> PushRequest:
        request = self.bot.request
        if not isinstance(request, PushRequest):
            raise TypeError("a push sends through a Bot made by push_bot")
        return request

    async def _count_due(self, progress: OnPushProgress | None) -> PushReport:
        report = PushReport(dry_run=True)
        now = self.clock()
        after = None
        while page := await self.ledger.peek(now, after, self.batch):
            for chat in page:
                report.chats_due += 1
                for part in chat.parts:
                    self.send_body(chat.chat_id, part)
                    report.messages_due += 1
            after = page[-1].chat_id
            if progress is not None:
                progress(report)
        return report


@dataclass
class _Push:
    """One push: claims chats while there is room, one task per chat, until nothing is due."""

    broadcaster: Broadcaster
    owner: str
    progress: OnPushProgress | None
    report: PushReport = field(default_factory=PushReport)
    tasks: dict[asyncio.Task[None], datetime] = field(default_factory=dict)  # chats in hand: when claimed
    freed: asyncio.Event = field(default_factory=asyncio.Event)
    failure: BaseException | None = None
    exhausted: bool = False  # the last claim found less than asked: wait for the chats in hand
    renewed_at: datetime = field(init=False)  # the claims held then run out a lease later
    writable: asyncio.Event = field(default_factory=asyncio.Event)  # cleared while writes fail
    trouble_since: datetime | None = None
    fault: StorageFault | None = None  # the last trouble the database gave
    window: asyncio.Semaphore = field(init=False)  # a slot per send out without a record
    outstanding: int = 0  # sends started and not recorded yet

    def __post_init__(self) -> None:
        self.renewed_at = self.broadcaster.clock()
        self.window = asyncio.Semaphore(self.broadcaster.unrecorded)
        self.writable.set()

    async def drain(self) -> PushReport:
        b = self.broadcaster
        await self._take_over_from_the_gone()
        backlog = await b.ledger.backlog(b.clock())
        self.report.chats_due, self.report.messages_due = backlog.chats, backlog.parts
        refill = max(1, b.batch // 2)  # claim in batches, not one chat per finished chat
        log = SentLog(self)
        keeper = self._watch(asyncio.create_task(self._keep_claims()))
        try:
            while True:
                room = b.chats_in_flight - len(self.tasks)
                if not self.tasks or (not self.exhausted and room >= refill):
                    wanted = min(room, b.batch)
                    claimed_at, claimed = await self._claim(wanted)
                    for chat in claimed:
                        self._start(chat, log, claimed_at)
                    if not self.tasks:
                        break
                    self.exhausted = len(claimed) < wanted
                    if not self.exhausted:
                        continue
                await self._wait_for_room()
            if self.failure is not None:
                raise self.failure
            await log.close()
        except BaseException as error:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self._wind_down(log)
            if isinstance(error, StorageGaveUp | ClaimsRanOut):
                fault = error.fault if isinstance(error, StorageGaveUp) else self.fault or StorageFault.BUSY
                raise PushStopped(fault, error, self.report, self.outstanding) from None
            raise
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        return self.report

    async def write(self, operation: Callable[..., Awaitable[T]], *arguments: Any) -> T:
        """A ledger write, retried while the database refuses it for a reason that passes.

        While it fails no new send starts; it gives up a lease after the trouble began (by then the
        claims may have run out, and sending could not go on anyway).
        """
        b = self.broadcaster
        delay = STORAGE_RETRY[0]
        while True:
            try:
                result = await operation(*arguments)
            except Exception as error:
                fault = storage_fault(error)
                if fault is None or not fault.passes:
                    raise
                self.fault = fault
                if self.writable.is_set():
                    self.writable.clear()
                    self.trouble_since = b.clock()
                    logger.warning("push: the database is %s (%s); sending paused, retrying", fault, error)
                if b.clock() + timedelta(seconds=delay) >= (self.trouble_since or b.clock()) + b.lease:
                    raise StorageGaveUp(fault, error) from None
                await b.sleep(delay)
                delay = min(2 * delay, STORAGE_RETRY[1])
                continue
            if not self.writable.is_set():
                logger.warning(
                    "push: the database is writable again after %.1f s; sending resumes",
                    (b.clock() - (self.trouble_since or b.clock())).total_seconds(),
                )
                self.writable.set()
                self.trouble_since = None
            return result

    def recorded(self, count: int) -> None:
        """`count` sends were recorded: their slots in the window are free."""
        self.outstanding -= count
        for _ in range(count):
            self.window.release()

    async def _claim(self, wanted: int) -> tuple[datetime, list[ChatBacklog]]:
        """(the moment the claims count from, the chats claimed)."""
        b = self.broadcaster
        await self.writable.wait()
        now = b.clock()
        return now, await self.write(b.ledger.claim, self.owner, now, wanted, b.lease)

    def _runs_out(self, claimed_at: datetime) -> datetime:
        """When a claim made at `claimed_at` runs out, with the renewals so far."""
        return max(claimed_at, self.renewed_at) + self.broadcaster.lease

    async def _take_over_from_the_gone(self) -> None:
        b = self.broadcaster
        for holder in await b.ledger.holders(b.clock()):
            if owner_is_gone(holder):
                now = b.clock()
                released = await self.write(b.ledger.release_all, holder, now)
                logger.info("push: took over %d part(s) from %s, whose process is gone", released, holder)
                self.report.taken_over += released

    async def _keep_claims(self) -> None:
        """Renew the claims every third of the lease; a renewal that ends too late stops the push."""
        b = self.broadcaster
        while True:
            await asyncio.sleep(b.lease.total_seconds() / 3)
            moment = b.clock()
            await self.write(b.ledger.renew, self.owner, moment, b.lease)
            first = min(self.tasks.values(), default=None)
            if first is not None and b.clock() >= self._runs_out(first) - b.margin:
                raise ClaimsRanOut(f"the claims could not be renewed before {self._runs_out(first)}")
            self.renewed_at = moment

    async def _wind_down(self, log: SentLog) -> None:
        """Stopped early: record what was sent, hand the rest back, as far as the database lets us."""
        b = self.broadcaster
        try:
            await log.close()
        except Exception as error:
            logger.warning("push: could not record the last %d send(s): %s", self.outstanding, error)
        try:
            await self.write(b.ledger.release_all, self.owner, b.clock())
        except Exception as error:
            logger.warning("push: could not hand back its claims (%s); they run out with the lease", error)

    def _start(self, chat: ChatBacklog, log: SentLog, claimed_at: datetime) -> None:
        self.tasks[self._watch(asyncio.create_task(self._deliver(chat, log, claimed_at)))] = claimed_at

    def _watch(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()
        self.freed.set()

    async def _wait_for_room(self) -> None:
        """Until a chat is done, or something failed."""
        await self.freed.wait()
        self.freed.clear()
        if self.failure is not None:
            raise self.failure

    def _advance(self) -> None:
        if self.progress is not None:
            self.progress(self.report)

    async def _slot(self, claimed_at: datetime, log: SentLog) -> None:
        """A moment to send within the rate, with the database keeping up and the claim still ours.

        Checked again once the rate gives the slot: sends queued for the rate must not go out after
        recording stopped. A wait for the database takes a fresh slot, so resuming is no burst. The
        bot-wide rate's grants are writes too, retried like a record: asked for ahead of the slot
        (at full pace the sends at hand last until the next grant comes), and after it when none is
        at hand (at a slow pace a grant's span is shorter than the wait for a slot).
        """
        shared = self.broadcaster.shared
        while True:
            await log.caught_up()
            await self.writable.wait()
            if shared is not None and shared.running_low():
                await self.write(shared.top_up)
            await self.broadcaster.send_rate.acquire()
            while shared is not None and not shared.take():
                await self.write(shared.wait)
            if self._clear(claimed_at, log):
                return

    def _clear(self, claimed_at: datetime, log: SentLog) -> bool:
        """Whether a send may start now; raises once the claim may have run out."""
        b = self.broadcaster
        if b.clock() >= self._runs_out(claimed_at) - b.margin:
            raise ClaimsRanOut(f"a claim ran out at {self._runs_out(claimed_at)}")
        return self.writable.is_set() and not log.stalled()

    async def _deliver(self, chat: ChatBacklog, log: SentLog, claimed_at: datetime) -> None:
        b = self.broadcaster
        chat_id = chat.chat_id
        pacer = ChatPacer(chat_id, b.chat_limits)
        last: tuple[int, asyncio.Future[set[int]]] | None = None  # the part sent before, its record
        for part in chat.parts:
            # The record is shared by every chat: cancelling one must not cancel it.
            if last is not None and last[0] not in await asyncio.shield(last[1]):
                logger.info("chat %s: parts replanned or dropped while sending; stopping", chat_id)
                return
            try:
                message_id = await self._send(chat_id, part, pacer, claimed_at, log)
            except ChatMigrated as moved:
                await self._migrate(chat_id, moved.new_chat_id)
                return
            except (Forbidden, BadRequest) as refused:
                if chat_is_gone(refused):
                    await self._deactivate(chat_id, refused)
                    return
                reason = redact(refused.message, b.secrets)
                logger.warning("chat %s refused part %s: %s", chat_id, part.part, reason)
                await self.write(b.ledger.mark_failed, self.owner, part.id, reason)
                self.report.failed += 1
                self._advance()
                continue
            except SendGaveUp as given_up:
                retry_at = b.clock() + b.retry.later
                reason = redact(str(given_up), b.secrets)
                released = await self.write(b.ledger.release, self.owner, chat_id, retry_at, reason)
                logger.warning("chat %s: %s; %d part(s) wait until %s", chat_id, reason, released, retry_at)
                self.report.released += released
                self._advance()
                return
            last = part.id, log.add(SentPart(part.id, message_id, b.clock()))
            self.report.sent += 1
            self._advance()

    async def _send(
        self, chat_id: int, part: LedgerPart, pacer: ChatPacer, claimed_at: datetime, log: SentLog
    ) -> int:
        """Send one part; Telegram's message id. The send holds a slot of the window until recorded."""
        b = self.broadcaster
        body = b.send_body(chat_id, part)
        post = b.request.post_json
        attempt = 1
        while True:
            wait = pacer.ready_at() - b.monotonic()
            if wait > 0:
                await b.sleep(wait)
            async with b.requests:
                await self.window.acquire()
                try:
                    await self._slot(claimed_at, log)
                except BaseException:
                    self.window.release()
                    raise
                self.outstanding += 1
                pacer.record(b.monotonic())
                try:
                    sent = await post(b.send_url, body)
                    return sent["message_id"]
                except RetryAfter as error:
                    b.send_rate.pause(flood_wait(error))
                    problem: TelegramError = error
                    backoff = 0.0
                except (BadRequest, Forbidden, ChatMigrated, InvalidToken):
                    self.recorded(1)
                    raise
                except TelegramError as error:  # timeouts, network errors, Telegram's 5xx
                    problem = error
                    backoff = b.retry.backoff * 2 ** (attempt - 1)
                except BaseException:
                    self.recorded(1)
                    raise
                self.recorded(1)  # nothing went out
            if attempt == b.retry.sends:
                raise SendGaveUp(f"{type(problem).__name__}: {problem.message}")
            logger.info("chat %s: %s; trying again (%d of %d)", chat_id, problem, attempt + 1, b.retry.sends)
            self.report.retried += 1
            attempt += 1
            if backoff:
                await b.sleep(backoff)

    async def _deactivate(self, chat_id: int, refused: TelegramError) -> None:
        b = self.broadcaster
        reason = redact(refused.message, b.secrets)
        logger.info("chat %s is gone (%s); deactivating it", chat_id, reason)
        await self.write(b.chats.set_active, chat_id, False)
        self.report.skipped += await self.write(b.ledger.skip_chat, self.owner, chat_id, reason)
        self.report.deactivated += 1
        self._advance()

    async def _migrate(self, old_id: int, new_id: int) -> None:
        """Move the chat, and hand its parts back due now: this push claims them under the new id."""
        b = self.broadcaster
        logger.info("chat %s became supergroup %s; moving it", old_id, new_id)
        await self.write(b.ledger.move_chat, old_id, new_id)
        await self.write(b.ledger.release, self.owner, new_id, b.clock())
        self.exhausted = False
        self.report.migrated += 1
