"""The catalogue of chat commands: one source for /help, /start and Telegram's command menu."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str
    example: str
    in_menu: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("start", "what this bot does", "/start"),
    Command("help", "every command with an example", "/help"),
    Command("subscribe", "follow categories (buttons, or codes)", "/subscribe IR CV"),
    Command("unsubscribe", "stop following categories", "/unsubscribe IR  or  /unsubscribe all"),
    Command("mysubs", "the categories this chat follows", "/mysubs"),
    Command("categories", "every category on offer", "/categories"),
)


def menu() -> list[BotCommand]:
    return [BotCommand(command.name, command.description) for command in COMMANDS if command.in_menu]
