"""A chat's delivery preferences: /time, /timezone, /size, and /settings to see them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from telegram import Update
from telegram.ext import BaseHandler

from bot.core.preferences import (
    PreferenceError,
    digest_limit,
    parse_delivery_time,
    parse_digest_size,
    parse_timezone,
)
from bot.locales import Translation
from bot.push.planning import replan_chat
from bot.services import BotContext, Services
from handlers.access import refused
from handlers.commands import command
from handlers.feedback import describe as ranking_description
from handlers.i18n import translation_for


async def describe(services: Services, chat_id: int, tr: Translation) -> str:
    _ = tr.gettext
    chosen = await services.chats.settings(chat_id)
    zone = chosen.timezone or services.settings.timezone.key
    when = (
        chosen.delivery_time.strftime("%H:%M") + f" ({zone})"
        if chosen.delivery_time
        else _("as soon as arXiv announces")
    )
    limit = digest_limit(chosen.digest_size)
    shown = (
        _("every paper")
        if limit is None
        else tr.ngettext("the top {count} paper", "the top {count} papers", limit).format(count=limit)
    )
    return "\n".join(
        (
            _("<b>Settings of this chat</b>"),
            _("Delivery: {when} — change with /time 08:30 or /time now").format(when=escape(when)),
            _("Time zone: {zone} — change with /timezone Europe/Berlin").format(zone=escape(zone)),
            _("Digest: {shown} — change with /size 5 or /size all").format(shown=shown),
            "",
            await ranking_description(services, chat_id, tr),
        )
    )


async def _update_setting(
    update: Update,
    context: BotContext,
    apply: Callable[[Services, int, str], Awaitable[None]],
) -> None:
    """Shared flow: no argument shows the settings; otherwise check rights, parse, store, confirm."""
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    argument = " ".join(context.args or [])
    tr = await translation_for(update, context)
    if not argument:
        await message.reply_text(await describe(services, chat_id, tr))
        return
    if await refused(update, context):
        return
    try:
        await apply(services, chat_id, argument)
    except PreferenceError as error:
        await message.reply_text(escape(tr.problem(error)))
        return
    await replan_chat(services, chat_id)
    await message.reply_text(tr.gettext("Saved.") + "\n\n" + await describe(services, chat_id, tr))


async def _apply_time(services: Services, chat_id: int, argument: str) -> None:
    await services.chats.set_delivery_time(chat_id, parse_delivery_time(argument))


async def _apply_timezone(services: Services, chat_id: int, argument: str) -> None:
    await services.chats.set_timezone(chat_id, parse_timezone(argument))


async def _apply_size(services: Services, chat_id: int, argument: str) -> None:
    await services.chats.set_digest_size(chat_id, parse_digest_size(argument))


async def set_time(update: Update, context: BotContext) -> None:
    await _update_setting(update, context, _apply_time)


async def set_timezone(update: Update, context: BotContext) -> None:
    await _update_setting(update, context, _apply_timezone)


async def set_size(update: Update, context: BotContext) -> None:
    await _update_setting(update, context, _apply_size)


async def show_settings(update: Update, context: BotContext) -> None:
    tr = await translation_for(update, context)
    text = await describe(context.services, update.effective_chat.id, tr)
    await update.effective_message.reply_text(text)


def handlers() -> list[BaseHandler]:
    return [
        command("time", set_time),
        command("timezone", set_timezone),
        command("size", set_size),
        command("settings", show_settings),
    ]
