"""The language of a reply: the chat's /lang choice, else the Telegram language of whoever wrote.

A handler starts with `tr = await translation_for(update, context)` and writes `_ = tr.gettext`;
`pybabel extract` finds `_(...)`, `tr.gettext(...)`, `tr.ngettext(...)` and `N_(...)`.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.core.i18n import Language, language_of
from bot.locales import Translation, translation
from bot.services import BotContext

logger = logging.getLogger(__name__)


async def chat_language(update: Update, context: BotContext) -> Language:
    chat = update.effective_chat
    user = update.effective_user
    chosen, seen = await context.services.chats.languages(chat.id) if chat else (None, None)
    return language_of(chosen, (user.language_code if user else None) or seen)


async def translation_for(update: Update, context: BotContext) -> Translation:
    return translation(await chat_language(update, context))


def user_translation(update: Update) -> Translation:
    """The Telegram language of whoever wrote, without asking the database."""
    user = update.effective_user
    return translation(language_of(None, user.language_code if user else None))


async def translation_after_error(
    update: Update, context: BotContext, *, storage_trouble: bool
) -> Translation:
    """For an apology: the failure may be the database's, so the chat's choice is read only when the
    database is not known to be in trouble, and a failed read falls back to the user's language."""
    if storage_trouble:
        return user_translation(update)
    try:
        return await translation_for(update, context)
    except Exception as error:
        logger.info("chat language unreadable, the user's Telegram language instead: %s", error)
        return user_translation(update)
