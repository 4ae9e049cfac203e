"""Property-based fuzzing of every command, button and update kind against the real bot.

One bot runs per test. Hypothesis runs in a worker thread and drives that bot example by example
on the test's event loop, through the fake Telegram server, so failing examples shrink as usual.
After every update the bot must have: never reached its error handler, made only calls Telegram
accepts (valid HTML, at most 4096 UTF-16 units per message), answered what it should answer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from itertools import count
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.core.callbacks import BUTTON_KINDS
from handlers.commands import COMMANDS
from tests.announcement import seed_day
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram import (
    DEFAULT_BOT_USERNAME,
    MAX_MESSAGE_LENGTH,
    MEMBER_STATUSES,
    Call,
    parse_html,
    utf16_length,
)
from tests.harness import BotHarness
from tests.strategies import (
    EMOJI,
    callback_data,
    command_messages,
    fit_message,
    message_texts,
)
from tests.support import ingested

T = TypeVar("T")

BOT = DEFAULT_BOT_USERNAME
KNOWN_COMMANDS = tuple(command.name for command in COMMANDS)
EXAMPLE_TIMEOUT = 30.0
MAX_CALLBACK_ANSWER = 200
MAX_CAPTION_UNITS = 1024
MAX_QUERY_UNITS = 256
TEXT_UPDATE_KINDS = ("edited_message", "channel_post", "edited_channel_post")
NOT_MODIFIED = "message is not modified"
CLAIMS_UNKNOWN = re.compile(r"I don't know /(\w+)")


def fuzz_settings(max_examples: int) -> settings:
    """Examples wait for real HTTP round trips, so no deadline; the count keeps the module quick."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@pytest.fixture
def arxiv(arxiv: FakeArxiv) -> FakeArxiv:
    seed_day(arxiv)
    return arxiv


@dataclass(frozen=True, slots=True)
class Sender:
    """Where an update comes from: the kind of chat, and whether its sender administers the group."""

    chat_type: str
    admin: bool


@dataclass(frozen=True, slots=True)
class ChatState:
    """What the chat had set up before the example: followed categories and digest size."""

    subscribed: tuple[str, ...]
    digest_size: int | None


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat made for one example."""

    chat_id: int
    chat_type: str
    user_id: int
    """Who sends the example's updates."""
    admin_id: int
    """An administrator of the group (the user himself in a private chat)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """An update other than a new message or a button press; `text` is its text, caption or query."""

    kind: str
    text: str
    old_status: str = "member"
    new_status: str = "member"


def senders() -> st.SearchStrategy[Sender]:
    return st.builds(Sender, st.sampled_from(["private", "group", "supergroup"]), st.booleans())


def chat_states(offered: tuple[str, ...]) -> st.SearchStrategy[ChatState]:
    return st.builds(
        ChatState,
        st.lists(st.sampled_from(offered), unique=True, max_size=4).map(tuple),
        st.none() | st.integers(0, 50),
    )


def incoming_updates() -> st.SearchStrategy[Incoming]:
    texts = message_texts(KNOWN_COMMANDS, BOT)
    statuses = st.sampled_from(MEMBER_STATUSES)
    return st.one_of(
        st.builds(Incoming, st.sampled_from(TEXT_UPDATE_KINDS), texts),
        st.builds(Incoming, st.just("photo"), texts.map(lambda text: fit_message(text, MAX_CAPTION_UNITS))),
        st.builds(Incoming, st.just("photo"), st.just("")),
        st.builds(Incoming, st.just("sticker"), st.sampled_from(EMOJI)),
        st.builds(
            Incoming,
            st.just("inline_query"),
            texts.map(lambda text: fit_message(text, MAX_QUERY_UNITS)),
        ),
        st.builds(Incoming, st.just("my_chat_member"), st.just(""), statuses, statuses),
    )


def opening_command(message: dict[str, Any]) -> tuple[str, str] | None:
    """(name, addressee) of the bot command opening a message, as Telegram marked it."""
    entities = message.get("entities") or []
    if not entities or entities[0]["type"] != "bot_command" or entities[0]["offset"] != 0:
        return None
    name, _, addressee = message["text"][1 : entities[0]["length"]].partition("@")
    return name, addressee


def expects_reply(message: dict[str, Any]) -> bool:
    """Commands for this bot are answered; in groups a bare command only when the bot knows it."""
    command = opening_command(message)
    if command is None:
        return False
    name, addressee = command
    if addressee:
        return addressee.casefold() == BOT.casefold()
    return message["chat"]["type"] == "private" or name.casefold() in KNOWN_COMMANDS


def check_call(call: Call) -> None:
    """Telegram accepted the call, and what it shows is valid HTML within Telegram's limits."""
    assert not call.unknown, f"the fake does not model {call.method}"
    tolerated = call.method == "editMessageText" and NOT_MODIFIED in (call.description or "")
    assert call.ok or tolerated, f"Telegram refused {call.summary()}"
    if call.method in ("sendMessage", "editMessageText"):
        text = call.params["text"]
        shown = (
            parse_html(text, strict=True).text if call.params.get("parse_mode") == ParseMode.HTML else text
        )
        assert utf16_length(shown) <= MAX_MESSAGE_LENGTH, f"{utf16_length(shown)} UTF-16 units"
        claimed = CLAIMS_UNKNOWN.match(shown)
        assert not (claimed and claimed.group(1).casefold() in KNOWN_COMMANDS), f"answered {shown!r}"
    if call.method == "answerCallbackQuery":
        assert len(call.params.get("text", "")) <= MAX_CALLBACK_ANSWER, call.summary()


class Fuzzer:
    """Drives one running bot from hypothesis' worker thread, with a fresh chat per example."""

    def __init__(self, bot: BotHarness, loop: asyncio.AbstractEventLoop) -> None:
        self.bot = bot
        self.telegram = bot.telegram
        self.loop = loop
        self.errors: list[BaseException] = []
        self._numbers = count(1)

    async def record_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.errors.append(context.error)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one example on the bot's event loop and wait for it here, in hypothesis' thread."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(EXAMPLE_TIMEOUT)
        finally:
            future.cancel()

    async def new_chat(self, sender: Sender, state: ChatState = ChatState((), None)) -> Chat:
        """A chat no earlier example touched, so every example starts from the state it drew."""
        number = next(self._numbers)
        user_id = 1_000_000 + number
        if sender.chat_type == "private":
            chat = Chat(user_id, "private", user_id, user_id)
        else:
            chat_id = -1_000_000 - number if sender.chat_type == "group" else -1_001_000_000_000 - number
            admin_id = user_id if sender.admin else 2_000_000 + number
            chat = Chat(chat_id, sender.chat_type, user_id, admin_id)
            self.telegram.set_admins(chat_id, [admin_id])
        services = self.bot.services
        if state.subscribed or state.digest_size is not None:
            await services.chats.register(chat.chat_id, chat.chat_type, None, "en", services.clock())
            await services.subscriptions.add(chat.chat_id, state.subscribed, services.clock())
            await services.chats.set_digest_size(chat.chat_id, state.digest_size)
        return chat

    def new_channel(self) -> int:
        return -1_002_000_000_000 - next(self._numbers)

    async def deliver(self, update: dict[str, Any]) -> list[Call]:
        """Push an update, wait until the bot handled it; return its calls once they all passed."""
        self.errors.clear()
        mark = self.telegram.mark()
        await self.bot.handled(self.telegram.push_update(update)["update_id"])
        if self.errors:
            raise AssertionError(f"the error handler fired: {self.errors[0]!r}") from self.errors[0]
        calls = [call for call in self.telegram.calls[mark:] if call.method != "getUpdates"]
        for call in calls:
            check_call(call)
        return calls

    async def send_text(self, chat: Chat, text: str, *, user_id: int | None = None) -> list[Call]:
        update = self.telegram.message_update(
            chat.chat_id, text, user_id=user_id or chat.user_id, chat_type=chat.chat_type
        )
        calls = await self.deliver(update)
        replies = [call for call in calls if call.method == "sendMessage" and call.chat_id == chat.chat_id]
        if expects_reply(update["message"]):
            assert replies, f"no reply to {text!r} in a {chat.chat_type} chat"
        else:
            assert not replies, f"replied to {text!r} in a {chat.chat_type} chat: {replies[0].summary()}"
        return calls

    async def press(self, chat: Chat, message_id: int, data: str) -> None:
        update = self.telegram.callback_update(
            chat.chat_id, message_id, data, user_id=chat.user_id, chat_type=chat.chat_type
        )
        query_id = update["callback_query"]["id"]
        calls = await self.deliver(update)
        answers = [call for call in calls if call.method == "answerCallbackQuery"]
        assert [call.params["callback_query_id"] for call in answers] == [query_id], (
            f"{data!r} was not answered exactly once: {[call.summary() for call in answers]}"
        )

    async def incoming(self, incoming: Incoming, sender: Sender) -> None:
        chat = await self.new_chat(sender)
        kind, text = incoming.kind, incoming.text
        if kind == "edited_message":
            update = self.telegram.edited_message_update(
                chat.chat_id, 1, text, user_id=chat.user_id, chat_type=chat.chat_type
            )
        elif kind in ("channel_post", "edited_channel_post"):
            channel = self.new_channel()
            update = self.telegram.channel_post_update(channel, text)
            if kind == "edited_channel_post":
                update = self.telegram.edited_message_update(channel, 1, text, chat_type="channel")
        elif kind == "photo":
            update = self.telegram.photo_message_update(
                chat.chat_id, caption=text or None, user_id=chat.user_id, chat_type=chat.chat_type
            )
        elif kind == "sticker":
            update = self.telegram.sticker_message_update(
                chat.chat_id, emoji=text, user_id=chat.user_id, chat_type=chat.chat_type
            )
        elif kind == "inline_query":
            user = {"id": chat.user_id, "is_bot": False, "first_name": "Fuzz", "language_code": "en"}
            query = {
                "id": str(chat.user_id),
                "from": user,
                "query": text,
                "offset": "",
                "chat_type": "sender",
            }
            update = {"inline_query": query}
        else:
            update = self.telegram.my_chat_member_update(
                chat.chat_id,
                incoming.old_status,
                incoming.new_status,
                user_id=chat.user_id,
                chat_type=chat.chat_type,
            )
        await self.deliver(update)


@pytest.fixture
async def fuzzer(bot: BotHarness) -> AsyncIterator[Fuzzer]:
    """The bot once its start-up ingest stored the seeded announcement, with errors recorded."""
    await ingested(bot, "cs.IR", "cs.LG")
    fuzzer = Fuzzer(bot, asyncio.get_running_loop())
    bot.application.add_error_handler(fuzzer.record_error)
    yield fuzzer
    bot.application.remove_error_handler(fuzzer.record_error)


async def test_any_command_with_any_arguments_gets_a_valid_answer(fuzzer: Fuzzer):
    offered = fuzzer.bot.services.settings.categories

    @fuzz_settings(150)
    @given(
        sender=senders(),
        state=chat_states(offered),
        text=command_messages(KNOWN_COMMANDS, BOT),
    )
    @example(sender=Sender("private", False), state=ChatState(offered, 0), text="/today")
    @example(sender=Sender("group", False), state=ChatState((), None), text=f"/frobnicate@{BOT}, please")
    def interact(sender: Sender, state: ChatState, text: str) -> None:
        async def interaction() -> None:
            chat = await fuzzer.new_chat(sender, state)
            await fuzzer.send_text(chat, text)

        fuzzer.run(interaction())

    await asyncio.to_thread(interact)


async def test_any_text_gets_a_valid_answer_or_none(fuzzer: Fuzzer):
    @fuzz_settings(60)
    @given(sender=senders(), text=message_texts(KNOWN_COMMANDS, BOT))
    def interact(sender: Sender, text: str) -> None:
        async def interaction() -> None:
            await fuzzer.send_text(await fuzzer.new_chat(sender), text)

        fuzzer.run(interaction())

    await asyncio.to_thread(interact)


OPENERS = ("/subscribe", "/unsubscribe", "/cat", "/cat IR", "/cat cs.LG", "/today")
"""Commands whose answers carry buttons (or, for /today with subscriptions, a digest without)."""


async def test_pressing_real_and_forged_buttons_is_always_answered_once(fuzzer: Fuzzer):
    offered = fuzzer.bot.services.settings.categories
    presses = st.one_of(
        st.integers(0, 20), callback_data([*(kind.prefix for kind in BUTTON_KINDS), ""], offered)
    )

    @fuzz_settings(60)
    @given(
        sender=senders(),
        state=chat_states(offered),
        opener=st.sampled_from(OPENERS),
        presses=st.lists(presses, min_size=1, max_size=4),
    )
    def interact(sender: Sender, state: ChatState, opener: str, presses: list[int | str]) -> None:
        """An int presses the button at that index (modulo) of the message as it is then."""

        async def interaction() -> None:
            chat = await fuzzer.new_chat(sender, state)
            await fuzzer.send_text(chat, opener, user_id=chat.admin_id)
            target = fuzzer.telegram.sent_messages(chat.chat_id)[0].message_id
            for press in presses:
                buttons = fuzzer.telegram.message(chat.chat_id, target).buttons
                if isinstance(press, int):
                    if not buttons:
                        continue
                    press = buttons[press % len(buttons)]["callback_data"]
                await fuzzer.press(chat, target, press)

        fuzzer.run(interaction())

    await asyncio.to_thread(interact)


async def test_other_update_kinds_never_break_the_bot(fuzzer: Fuzzer):
    @fuzz_settings(100)
    @given(incoming=incoming_updates(), sender=senders())
    @example(incoming=Incoming("channel_post", f"/help@{BOT}"), sender=Sender("private", False))
    @example(incoming=Incoming("edited_message", "/subscribe IR"), sender=Sender("group", False))
    def interact(incoming: Incoming, sender: Sender) -> None:
        fuzzer.run(fuzzer.incoming(incoming, sender))

    await asyncio.to_thread(interact)
