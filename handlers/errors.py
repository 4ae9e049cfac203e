"""The global error handler: log the traceback, apologise briefly, never let the process die."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot.gateway.polling import REJECTED_TOKEN
from bot.services import BotContext

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


async def on_error(update: object, context: BotContext) -> None:
    if isinstance(context.error, InvalidToken):
        context.stop_for_good(REJECTED_TOKEN)
        return
    logger.error("Error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(APOLOGY, show_alert=False)
        except TelegramError:
            logger.warning("Could not answer the callback query after an error")
        return
    try:
        await context.bot.send_message(update.effective_chat.id, APOLOGY)
    except TelegramError:
        logger.warning("Could not send the apology to chat %s", update.effective_chat.id)
