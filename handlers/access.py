"""Who may change a chat's settings, and knowing every chat from its first update on."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.core.i18n import N_
from bot.services import BotContext, Services
from handlers.i18n import translation_for

_ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}

NOT_GROUP_ADMIN = N_("Only this group's administrators can change its subscriptions and settings.")


async def can_configure(update: Update, context: BotContext) -> bool:
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


async def refused(update: Update, context: BotContext) -> bool:
    """True, after telling the user so, when they may not change this chat's settings."""
    if await can_configure(update, context):
        return False
    tr = await translation_for(update, context)
    await update.effective_message.reply_text(tr.gettext(NOT_GROUP_ADMIN))
    return True


async def refused_press(update: Update, context: BotContext) -> bool:
    """`refused` for a pressed button: the answer is an alert on the press, not a message."""
    if await can_configure(update, context):
        return False
    tr = await translation_for(update, context)
    await update.callback_query.answer(tr.gettext(NOT_GROUP_ADMIN), show_alert=True)
    return True


async def ensure_chat(update: Update, services: Services) -> None:
    """Register the chat (or reactivate it) so its subscriptions and settings have an owner row."""
    chat = update.effective_chat
    user = update.effective_user
    title = chat.title if chat.type != ChatType.PRIVATE else None
    language = user.language_code if user else None
    await services.chats.register(chat.id, chat.type, title, language, services.clock())


REGISTERED = "registered"


async def remember_chat(update: object, context: BotContext) -> None:
    """Runs before every handler: a chat is known from its first update on, written once per process.

    The bot's own membership changes are left to `handlers.membership`, which must not revive a
    chat that just blocked or removed the bot.
    """
    if not isinstance(update, Update) or update.effective_chat is None or update.my_chat_member:
        return
    if context.chat_data is not None and context.chat_data.get(REGISTERED):
        return
    try:
        await ensure_chat(update, context.services)
    except Exception as error:
        # The database refuses writes (locked, full): the features still answer what they can.
        if not context.services.storage_trouble("registering a chat", error):
            raise
        return
    if context.chat_data is not None:
        context.chat_data[REGISTERED] = True


def forget_registration(context: BotContext) -> None:
    """After a chat is deactivated, its next update registers (and so reactivates) it again."""
    if context.chat_data is not None:
        context.chat_data.pop(REGISTERED, None)
