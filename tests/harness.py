"""The real bot Application, in the test's event loop, talking HTTP to the fake Telegram server.

Nothing is monkeypatched: PTB's httpx client reaches the fake through TELEGRAM_API_BASE_URL, and
the handlers run exactly as under `python -m bot run`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.context import cancel_running_work
from bot.services import SERVICES_KEY, Services
from tests.fakes.telegram import Call, FakeTelegram, SentMessage


@dataclass
class BotHarness:
    telegram: FakeTelegram
    application: Application

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.post_init(self.application)
        await self.application.updater.start_polling(poll_interval=0, timeout=1)
        await self.application.start()

    async def stop(self) -> None:
        """Stop as `python -m bot run` does on SIGTERM: long jobs (a push, enrichment) are cut short."""
        cancel_running_work(self.application)
        if self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.post_shutdown(self.application)
        await self.application.shutdown()

    async def send(self, chat_id: int, text: str, **options: Any) -> SentMessage:
        """Send `text` as a user and return the bot's first reply in that chat."""
        replies = await self.exchange(chat_id, text, **options)
        return replies[0]

    async def exchange(self, chat_id: int, text: str, *, count: int = 1, **options: Any) -> list[SentMessage]:
        """Send `text` as a user and return the `count` messages the bot sent to the chat in reply."""
        before = len(self.telegram.sent_messages(chat_id))
        mark = self.telegram.mark()
        self.telegram.push_update(self.telegram.message_update(chat_id, text, **options))
        await self.telegram.wait_for(
            "sendMessage", chat_id=chat_id, after=mark, count=count, predicate=lambda call: call.ok
        )
        return self.telegram.sent_messages(chat_id)[before:]

    def current(self, message: SentMessage) -> SentMessage:
        """The message as it is now, with the bot's later edits applied."""
        latest = self.telegram.message(message.chat_id, message.message_id)
        assert latest is not None
        return latest

    async def press(self, chat_id: int, message_id: int, data: str, **options: Any) -> Call:
        """Press an inline button, wait until the bot has handled it; return its answerCallbackQuery."""
        mark = self.telegram.mark()
        update = self.telegram.callback_update(chat_id, message_id, data, **options)
        query_id = update["callback_query"]["id"]
        await self.handled(self.telegram.push_update(update)["update_id"])
        answers = await self.telegram.wait_for(
            "answerCallbackQuery",
            predicate=lambda call: call.params.get("callback_query_id") == query_id,
            after=mark,
        )
        return answers[0]

    async def quiet(self, chat_id: int, text: str, **options: Any) -> list[Call]:
        """Send `text` and return what the bot did in reply once it has handled the update."""
        mark = self.telegram.mark()
        update = self.telegram.push_update(self.telegram.message_update(chat_id, text, **options))
        await self.handled(update["update_id"])
        return [call for call in self.telegram.calls[mark:] if call.method != "getUpdates"]

    async def handled(self, update_id: int, within: float = 5.0) -> None:
        """Wait until the bot confirmed `update_id` (asked for a later offset) and processed it.

        PTB queues fetched updates before asking for the next offset, so once the fake sees the
        confirmation the update is in the application's queue, and joining the queue waits for it.
        """
        deadline = time.monotonic() + within
        while any(update["update_id"] == update_id for update in self.telegram.pending_updates):
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not fetch update {update_id} within {within} s")
            await asyncio.sleep(0.01)
        await self.application.update_queue.join()


def make_harness(
    telegram: FakeTelegram, settings: Settings, clock: Callable[[], datetime] | None = None
) -> BotHarness:
    application = build_application(settings, clock=clock) if clock else build_application(settings)
    return BotHarness(telegram, application)


StartBot = Callable[..., Awaitable[BotHarness]]
"""The `start_bot` fixture: `await start_bot(clock=None, **settings)` returns a started bot."""
