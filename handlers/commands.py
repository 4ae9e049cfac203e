"""The catalogue of chat commands: one source for /help, /start and Telegram's command menu."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import CommandHandler, filters

from bot.services import BotContext

# New messages and channel posts; an edited command is not run again.
COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str
    example: str
    admin_only: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("start", "what this bot does", "/start"),
    Command("help", "every command with an example", "/help"),
    Command("today", "the latest papers in this chat's categories", "/today"),
    Command("cat", "every paper of one category, page by page", "/cat IR"),
    Command("paper", "one paper in full, from its id or link", "/paper 2205.11728"),
    Command("search", "search arXiv, newest first (au:, ti:, abs:, cat:)", "/search au:hinton ti:capsule"),
    Command("subscribe", "follow categories (buttons, or codes)", "/subscribe IR CV"),
    Command("unsubscribe", "stop following categories", "/unsubscribe IR  or  /unsubscribe all"),
    Command("mysubs", "the categories this chat follows", "/mysubs"),
    Command("categories", "every category on offer", "/categories"),
    Command("time", "when the daily digest arrives", "/time 08:30  or  /time now"),
    Command("timezone", "this chat's time zone", "/timezone Europe/Berlin"),
    Command("size", "how many papers the daily digest shows", "/size 5  or  /size all"),
    Command(
        "follow",
        "put papers on a topic, author or institution first",
        '/follow author:Leskovec  or  /follow "graph neural networks"',
    ),
    Command("follows", "what this chat follows, with remove buttons", "/follows"),
    Command("unfollow", "stop following a topic, author or institution", "/unfollow RAG"),
    Command("saved", "papers you saved with 🔖, and their BibTeX", "/saved"),
    Command(
        "ranking", "how this chat's digest is ordered; reset what it learned", "/ranking  or  /ranking reset"
    ),
    Command("settings", "this chat's delivery settings", "/settings"),
    Command("stats", "chats, subscriptions and the last push (operators)", "/stats", admin_only=True),
    Command(
        "broadcast",
        "a message to every chat, after a preview (operators)",
        "/broadcast Hello",
        admin_only=True,
    ),
)


def menu() -> list[BotCommand]:
    return [BotCommand(command.name, command.description) for command in COMMANDS if not command.admin_only]


def command(name: str, callback: Callback) -> CommandHandler:
    """A handler for /name in private chats, groups (also as /name@bot) and channels."""
    return CommandHandler(name, callback, filters=COMMAND_UPDATES)
