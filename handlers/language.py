"""/lang: the language the bot answers a chat in, English or Simplified Chinese, with buttons (or
`/lang zh`). Groups and channels choose too; in groups only administrators may change it."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import ChooseLanguage
from bot.core.i18n import LANGUAGE_NAMES, N_, Language, parse_language
from bot.locales import Translation, translation
from bot.services import BotContext
from handlers.access import NOT_GROUP_ADMIN, can_configure, refused
from handlers.commands import command
from handlers.editing import edit_in_place
from handlers.i18n import translation_for

STALE = N_("This button is out of date. Send /lang for a fresh one.")


def choice_keyboard(current: Language) -> InlineKeyboardMarkup:
    """One button per language, each in its own words; the current one ticked."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{'✅ ' if language is current else ''}{name}",
                    callback_data=ChooseLanguage(language.value).pack(),
                )
                for language, name in LANGUAGE_NAMES.items()
            ]
        ]
    )


def chosen_text(tr: Translation) -> str:
    """The confirmation, in the language just chosen."""
    return tr.gettext("I answer this chat in English now. /lang changes it.")


async def _choose(update: Update, context: BotContext, language: Language) -> Translation:
    await context.services.chats.set_language(update.effective_chat.id, language.value)
    return translation(language)


async def lang(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if await refused(update, context):
        return
    tr = await translation_for(update, context)
    argument = " ".join(context.args or [])
    if argument:
        language = parse_language(argument)
        if language is None:
            await message.reply_text(tr.gettext("Send /lang en for English or /lang zh for Chinese."))
            return
        await message.reply_text(chosen_text(await _choose(update, context, language)))
        return
    await message.reply_text(
        tr.gettext("Which language should I answer this chat in?"), reply_markup=choice_keyboard(tr.language)
    )


async def choose(update: Update, context: BotContext) -> None:
    query = update.callback_query
    tr = await translation_for(update, context)
    button = ChooseLanguage.parse(query.data)
    if button is None or query.message is None:
        await query.answer(tr.gettext(STALE))
        return
    if not await can_configure(update, context):
        await query.answer(tr.gettext(NOT_GROUP_ADMIN), show_alert=True)
        return
    chosen = await _choose(update, context, Language(button.language))
    await query.answer(LANGUAGE_NAMES[chosen.language])
    await edit_in_place(query, chosen_text(chosen), reply_markup=choice_keyboard(chosen.language))


def handlers() -> list[BaseHandler]:
    return [command("lang", lang), CallbackQueryHandler(choose, pattern=ChooseLanguage.matches)]
