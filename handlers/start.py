"""/start (a greeting and the category keyboard), /help and the hint for commands the bot does
not know."""

from __future__ import annotations

from html import escape

from telegram import MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.core.i18n import N_
from bot.locales import Translation
from bot.services import BotContext
from handlers.commands import COMMAND_UPDATES, COMMANDS, command
from handlers.i18n import translation_for
from handlers.subscribe import chat_keyboard

GREETING = N_(
    "<b>arXiv paper digest</b>\n"
    "Every evening arXiv announces new papers. Follow some categories and this chat gets theirs "
    "within minutes: title, authors, affiliations and links, the most relevant first.\n"
    "Tap categories below (the most followed first), or send e.g. /subscribe stat.ML; /categories "
    "has every one. Then /today shows the latest papers; /help lists everything."
)


def help_text(tr: Translation, admin: bool = False) -> str:
    _ = tr.gettext
    lines = [
        f"/{command.name} — {escape(_(command.description))}\n    "
        + _("e.g. {example}").format(example=f"<code>{escape(_(command.example))}</code>")
        for command in COMMANDS
        if admin or not command.admin_only
    ]
    return _("<b>Commands</b>") + "\n" + "\n".join(lines)


async def start(update: Update, context: BotContext) -> None:
    services = context.services
    tr = await translation_for(update, context)
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    await update.effective_message.reply_text(
        tr.gettext(GREETING), reply_markup=await chat_keyboard(services, subscribed, tr)
    )


async def show_help(update: Update, context: BotContext) -> None:
    user = update.effective_user
    admin = user is not None and user.id in context.services.settings.admin_ids
    await update.effective_message.reply_text(help_text(await translation_for(update, context), admin))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer unknown commands in private chats, and in groups only when addressed to this bot."""
    message = update.effective_message
    entity = message.entities[0] if message.entities else None
    if entity is None or entity.type != MessageEntity.BOT_COMMAND or entity.offset != 0:
        return
    typed = message.parse_entity(entity)
    addressee = typed.partition("@")[2]
    if addressee and addressee.casefold() != context.bot.username.casefold():
        return
    if not addressee and update.effective_chat.type != ChatType.PRIVATE:
        return
    shown = escape(typed.split("@")[0][:40])
    _ = (await translation_for(update, context)).gettext
    await message.reply_text(_("I don't know {command}. /help lists what I can do.").format(command=shown))


def handlers() -> list[BaseHandler]:
    return [command("start", start), command("help", show_help)]


async def stale_button(update: Update, context: BotContext) -> None:
    _ = (await translation_for(update, context)).gettext
    await update.callback_query.answer(_("This button is out of date."))


def fallback_handlers() -> list[BaseHandler]:
    """Registered after every feature, so they only see commands and buttons no feature handled."""
    return [
        MessageHandler(filters.COMMAND & COMMAND_UPDATES, unknown_command),
        CallbackQueryHandler(stale_button),
    ]
