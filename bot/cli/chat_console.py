"""`python -m bot console`: the bot's own handlers in a terminal chat, without Telegram.

The real Application runs with an in-process stand-in for the Bot API (`ConsoleRequest`): what the
handlers send is printed, each typed line becomes a message, and a number presses that button of
the last message that has buttons. Live, it reads arXiv as the bot does (a category followed for
the first time is read at once); `--offline` stores a real announcement shipped with the project
(arXiv's math-ph listing page of 9 August 2024) and reaches no network. Either way it keeps its
own throwaway database, so the bot's chats and subscriptions are never touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.arxiv.listing import parse_listing
from bot.cli.console import console, print_message
from bot.config import Settings
from bot.core.render import format_date
from bot.jobs import catch_up_now
from bot.services import SERVICES_KEY, Services

OFFLINE_PAGE = Path(__file__).resolve().parent / "offline" / "math-ph-2024-08-09.html"
OFFLINE_CATEGORY = "math-ph"
NOWHERE = "http://127.0.0.1:9/"  # the discard port: offline, every arXiv request fails at once
TOKEN = "1000:console-needs-no-telegram-token"
CHAT_ID = 1
YOU = {"id": CHAT_ID, "is_bot": False, "first_name": "You", "language_code": "en"}
BOT = {"id": 1000, "is_bot": True, "first_name": "arXiv digest", "username": "arxiv_digest_console_bot"}
PROMPT = "you › "
QUIT = ("/quit", "/exit")


class ConsoleRequest(BaseRequest):
    """Answers the Bot API calls of the handlers in-process, printing the chat as it goes."""

    def __init__(self) -> None:
        self.messages: dict[int, dict[str, Any]] = {}
        self.last_with_buttons: int | None = None
        self._ids = itertools.count(1)

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def initialize(self) -> None:
        """Nothing to connect to."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1].casefold()
        result = self.answer(name, request_data.parameters if request_data else {})
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getme":
            return BOT
        if method == "sendmessage":
            message = self._message(next(self._ids), params)
            self._show(message, "bot")
            return message
        if method in ("editmessagetext", "editmessagereplymarkup"):
            known = self.messages.get(int(params.get("message_id", 0)))
            if known is None:
                return True
            message = self._message(known["message_id"], {"text": known["text"], **params})
            self._show(message, "bot (edited)")
            return message
        if method == "answercallbackquery":
            if params.get("text"):
                console.print(f"  · {params['text']}", style="dim italic", highlight=False)
            return True
        if method == "getchatmember":
            return {"status": "creator", "user": YOU, "is_anonymous": False}
        return True

    def _message(self, message_id: int, params: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": CHAT_ID, "type": "private", "first_name": "You"},
            "from": BOT,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[message_id] = message
        return message

    def _show(self, message: dict[str, Any], who: str) -> None:
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        if rows:
            self.last_with_buttons = message["message_id"]
        print_message(message["text"], [[button["text"] for button in row] for row in rows], heading=who)

    def pressed(self, number: int) -> tuple[dict[str, Any], str] | None:
        """The message and callback data of button `number` (1-based) of the last message with buttons."""
        if self.last_with_buttons is None:
            return None
        message = self.messages[self.last_with_buttons]
        buttons = [button for row in message["reply_markup"]["inline_keyboard"] for button in row]
        if not 1 <= number <= len(buttons):
            return None
        return message, buttons[number - 1]["callback_data"]


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def message_update(update_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": CHAT_ID, "type": "private", "first_name": "You"},
        "from": YOU,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def press_update(update_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
    query = {"id": str(update_id), "from": YOU, "chat_instance": "console", "data": data, "message": message}
    return {"update_id": update_id, "callback_query": query}


async def _lines() -> AsyncIterator[str]:
    """Typed lines; piped ones are echoed, so a transcript reads like the chat it was."""
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = await asyncio.to_thread(input, PROMPT if interactive else "")
        except EOFError:
            return
        if not interactive:
            console.print(f"{PROMPT}{line}", style="bold", highlight=False, markup=False)
        yield line.strip()


async def _load_offline(services: Services) -> str:
    page = parse_listing(OFFLINE_PAGE.read_bytes(), OFFLINE_CATEGORY, source=OFFLINE_PAGE.name)
    entries = [(entry.paper(), entry.announce_type) for entry in page.entries]
    await services.papers.store_announcement(page.category, page.announced, entries)
    news = sum(kind.is_news for _, kind in entries)
    return (
        f"Offline: arXiv's {page.category} announcement of {format_date(page.announced)} ({news} papers), "
        "shipped with the project; nothing is read from the network. "
        f"Try /subscribe {page.category}, then /today, /cat {page.category} 2, /paper 2408.03981."
    )


async def _catch_up_inline(services: Services, categories: Sequence[str]) -> None:
    names = ", ".join(categories)
    console.print(f"  · reading {names} from arXiv…", style="dim italic", highlight=False)
    read = await catch_up_now(services, categories)
    if read:
        console.print(f"  · {', '.join(read)} read", style="dim italic", highlight=False)


async def converse(
    application: Application, request: ConsoleRequest, lines: AsyncIterator[str], *, live: bool
) -> None:
    """Each line becomes an update the application handles. Live, reading newly followed categories
    finishes before the next line, so `/subscribe IR` then `/today` shows IR's papers."""
    services: Services = application.bot_data[SERVICES_KEY]
    pending: list[asyncio.Task[None]] = []
    if live:
        services.catch_up = lambda categories: pending.append(
            asyncio.create_task(_catch_up_inline(services, categories))
        )
    update_ids = itertools.count(1)
    async for line in lines:
        if not line:
            continue
        if line.casefold() in QUIT:
            break
        if line.isdecimal():
            found = request.pressed(int(line))
            if found is None:
                console.print("  · no such button", style="dim italic")
                continue
            data = press_update(next(update_ids), *found)
        else:
            data = message_update(next(update_ids), line)
        await application.process_update(Update.de_json(data, application.bot))
        while pending:
            await pending.pop(0)


async def run_console(settings: Settings, *, offline: bool, database: Path | None) -> int:
    with tempfile.TemporaryDirectory(prefix="paper-digest-console-") as folder:
        changes: dict[str, Any] = {
            "telegram_bot_token": TOKEN,
            "database_path": database or Path(folder) / "console.sqlite3",
        }
        if offline:
            changes.update(
                arxiv_listing_url=NOWHERE + "list/",
                arxiv_feed_url=NOWHERE + "atom/",
                arxiv_api_url=NOWHERE + "api/query",
                arxiv_html_url=NOWHERE + "html/",
                arxiv_retries=1,
            )
        settings = dataclasses.replace(settings, **changes)
        request = ConsoleRequest()
        application = build_application(settings, request=request, background=False)
        await application.initialize()
        await application.post_init(application)
        try:
            services: Services = application.bot_data[SERVICES_KEY]
            intro = (
                await _load_offline(services)
                if offline
                else "Live: papers are read from arXiv as you follow them."
            )
            console.print(intro, style="dim", highlight=False)
            console.print(
                "Type as you would in Telegram (/start, /help); a number presses a button; /quit ends."
            )
            await converse(application, request, _lines(), live=not offline)
        finally:
            await application.post_shutdown(application)
            await application.shutdown()
    return 0


def console_command(settings: Settings, *, offline: bool, database: Path | None) -> int:
    # The console prints the chat; the log's INFO lines would drown it.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    try:
        return asyncio.run(run_console(settings, offline=offline, database=database))
    except KeyboardInterrupt:
        return 130
