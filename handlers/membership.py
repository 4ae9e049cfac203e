"""The bot's own membership: blocked or removed deactivates the chat at once; added back revives it."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, ChatMemberHandler

from bot.core.i18n import N_
from bot.push.planning import replan_chat
from bot.services import BotContext
from handlers.access import ensure_chat, forget_registration
from handlers.i18n import translation_for

logger = logging.getLogger(__name__)

_GONE = {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}

GROUP_GREETING = N_(
    "Hello! I post a daily digest of new arXiv papers here. A group administrator can choose "
    "the categories with /subscribe (for example <code>/subscribe IR LG</code>); /help lists everything."
)


async def membership_changed(update: Update, context: BotContext) -> None:
    change = update.my_chat_member
    services = context.services
    chat = change.chat
    was_gone = change.old_chat_member.status in _GONE
    is_gone = change.new_chat_member.status in _GONE
    if is_gone and not was_gone:
        await services.chats.set_active(chat.id, False)
        await replan_chat(services, chat.id)
        forget_registration(context)
        logger.info("chat %s: the bot was blocked or removed; deactivated", chat.id)
    elif was_gone and not is_gone:
        await ensure_chat(update, services)
        logger.info("chat %s: the bot was added or unblocked; active", chat.id)
        if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            try:
                tr = await translation_for(update, context)
                await context.bot.send_message(chat.id, tr.gettext(GROUP_GREETING))
            except TelegramError as error:
                logger.info("chat %s: could not greet the group: %s", chat.id, error)


def handlers() -> list[BaseHandler]:
    return [ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)]
