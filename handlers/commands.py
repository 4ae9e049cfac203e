"""The catalogue of chat commands: one source for /help, /start and Telegram's command menu."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import CommandHandler, filters

from bot.core.i18n import N_
from bot.locales import Translation
from bot.services import BotContext

# New messages and channel posts; an edited command is not run again.
COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str  # English, marked for the catalogue: shown through `gettext`
    example: str  # marked for the catalogue too where it has words ("or")
    admin_only: bool = False


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("what this bot does"), "/start"),
    Command("help", N_("every command with an example"), "/help"),
    Command("today", N_("the latest papers in this chat's categories"), "/today"),
    Command("cat", N_("every paper of one category, page by page"), "/cat IR"),
    Command("paper", N_("one paper in full, from its id or link"), "/paper 2205.11728"),
    Command(
        "search", N_("search arXiv, newest first (au:, ti:, abs:, cat:)"), "/search au:hinton ti:capsule"
    ),
    Command("subscribe", N_("follow categories (buttons, or codes)"), "/subscribe IR CV"),
    Command("unsubscribe", N_("stop following categories"), N_("/unsubscribe IR  or  /unsubscribe all")),
    Command("mysubs", N_("the categories this chat follows"), "/mysubs"),
    Command("categories", N_("every category on offer"), "/categories"),
    Command("time", N_("when the daily digest arrives"), N_("/time 08:30  or  /time now")),
    Command("timezone", N_("this chat's time zone"), "/timezone Europe/Berlin"),
    Command("size", N_("how many papers the daily digest shows"), N_("/size 5  or  /size all")),
    Command(
        "follow",
        N_("put papers on a topic, author or institution first"),
        N_('/follow author:Leskovec  or  /follow "graph neural networks"'),
    ),
    Command("follows", N_("what this chat follows, with remove buttons"), "/follows"),
    Command("unfollow", N_("stop following a topic, author or institution"), "/unfollow RAG"),
    Command("saved", N_("papers you saved with 🔖, and their BibTeX"), "/saved"),
    Command(
        "ranking",
        N_("how this chat's digest is ordered; reset what it learned"),
        N_("/ranking  or  /ranking reset"),
    ),
    Command("settings", N_("this chat's delivery settings"), "/settings"),
    Command("lang", N_("the language I answer in: English or Chinese"), "/lang"),
    Command("stats", N_("chats, subscriptions and the last push (operators)"), "/stats", admin_only=True),
    Command(
        "broadcast",
        N_("a message to every chat, after a preview (operators)"),
        "/broadcast Hello",
        admin_only=True,
    ),
)


DESCRIPTION = N_(
    "Daily digests of new arXiv papers, within minutes of each announcement: title, authors, "
    "affiliations and links, the most relevant first. Follow any arXiv category; look up a paper by "
    "its id or link; search arXiv. Works in private chats, groups and channels."
)
SHORT_DESCRIPTION = N_("Daily arXiv digests with affiliations, paper lookup and search.")


def menu(tr: Translation) -> list[BotCommand]:
    """Telegram's command menu in one language (the descriptions; commands keep their names)."""
    return [
        BotCommand(command.name, tr.gettext(command.description))
        for command in COMMANDS
        if not command.admin_only
    ]


def command(name: str, callback: Callback) -> CommandHandler:
    """A handler for /name in private chats, groups (also as /name@bot) and channels."""
    return CommandHandler(name, callback, filters=COMMAND_UPDATES)
