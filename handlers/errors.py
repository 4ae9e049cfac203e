"""The global error handler: log the traceback, apologise briefly, never let the process die.

A database that is locked by another process, full or read-only is no bug: one line (at most once a
minute) instead of a traceback, and the user is told to try again shortly.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot.core.i18n import N_
from bot.gateway.polling import REJECTED_TOKEN
from bot.services import BotContext
from handlers.i18n import translation_after_error

logger = logging.getLogger(__name__)

APOLOGY = N_("Sorry, something went wrong on my side. Please try again in a moment.")
BUSY = N_("I'm busy right now and could not save that. Please try again in a minute.")


async def on_error(update: object, context: BotContext) -> None:
    if isinstance(context.error, InvalidToken):
        context.stop_for_good(REJECTED_TOKEN)
        return
    trouble = context.services.storage_trouble("handling an update", context.error)
    if trouble:
        answer = BUSY
    else:
        logger.error("Error while handling an update", exc_info=context.error)
        answer = APOLOGY
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    tr = await translation_after_error(update, context, storage_trouble=trouble)
    answer = tr.gettext(answer)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(answer, show_alert=False)
        except TelegramError:
            logger.warning("Could not answer the callback query after an error")
        return
    try:
        await context.bot.send_message(update.effective_chat.id, answer)
    except TelegramError:
        logger.warning("Could not send the apology to chat %s", update.effective_chat.id)
