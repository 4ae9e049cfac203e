"""Buttons: reading a pressed button's data, and editing the message it sits on, tolerating what
users do to messages meanwhile."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.core.callbacks import ButtonData
from bot.core.categories import ARCHIVES, is_category

logger = logging.getLogger(__name__)

Button = TypeVar("Button", bound=ButtonData)

# A double tap re-renders the same text; a message deleted (or too old) since cannot be edited.
_HARMLESS = ("message is not modified", "message to edit not found", "message can't be edited")


async def edit_in_place(query: CallbackQuery, text: str, **options: Any) -> None:
    try:
        await query.edit_message_text(text, **options)
    except BadRequest as error:
        _tolerate(error)


async def edit_markup_in_place(query: CallbackQuery, reply_markup: InlineKeyboardMarkup) -> None:
    """New buttons under the same text (feedback counts after a tap)."""
    try:
        await query.edit_message_reply_markup(reply_markup=reply_markup)
    except BadRequest as error:
        _tolerate(error)


def _tolerate(error: BadRequest) -> None:
    if not any(reason in str(error).casefold() for reason in _HARMLESS):
        raise error
    logger.info("button message left as it is: %s", error)


async def pressed(update: Update, kind: type[Button], stale: str) -> Button | None:
    """The pressed button's data, if it is of `kind`, names arXiv categories and archives that exist
    and still sits on a message; otherwise the press is answered with `stale` and None is returned."""
    query = update.callback_query
    button = kind.parse(query.data)
    category = getattr(button, "category", None)
    archive = getattr(button, "archive", None)
    if (
        button is None
        or query.message is None
        or (category is not None and not is_category(category))
        or (archive is not None and archive not in ARCHIVES)
    ):
        await query.answer(stale)
        return None
    return button
