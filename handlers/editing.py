"""Editing the message a button sits on, tolerating what users do to messages meanwhile."""

from __future__ import annotations

import logging
from typing import Any

from telegram import CallbackQuery
from telegram.error import BadRequest

logger = logging.getLogger(__name__)

# A double tap re-renders the same text; a message deleted (or too old) since cannot be edited.
_HARMLESS = ("message is not modified", "message to edit not found", "message can't be edited")


async def edit_in_place(query: CallbackQuery, text: str, **options: Any) -> None:
    try:
        await query.edit_message_text(text, **options)
    except BadRequest as error:
        if not any(reason in str(error).casefold() for reason in _HARMLESS):
            raise
        logger.info("button message left as it is: %s", error)
