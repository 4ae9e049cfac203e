"""Who may change a chat's settings, and making sure the chat is known before it subscribes."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.services import Services

_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}

NOT_GROUP_ADMIN = "Only this group's administrators can change its subscriptions and settings."


async def can_configure(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats decide for themselves; in groups only administrators (or the group itself,
    when an anonymous admin posts as the group); channel posts come from admins by construction."""
    chat = update.effective_chat
    if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True
    user = update.effective_user
    if user is None:
        return False
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in _ADMIN_STATUSES


async def ensure_chat(update: Update, services: Services) -> None:
    """Register the chat (or reactivate it) so its subscriptions have an owner row."""
    chat = update.effective_chat
    user = update.effective_user
    title = chat.title if chat.type != ChatType.PRIVATE else None
    language = user.language_code if user else None
    await services.chats.register(chat.id, chat.type, title, language, services.clock())
