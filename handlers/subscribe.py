"""Subscribing: /subscribe (keyboard or codes), /unsubscribe, /mysubs, /categories."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import ToggleSubscription
from bot.core.categories import CategoryError, category, parse_category
from bot.push.planning import replan_chat
from bot.services import BotContext
from handlers.access import NOT_GROUP_ADMIN, can_configure, refused
from handlers.commands import command
from handlers.editing import edit_in_place, pressed

MAX_ARGUMENTS = 20
STARTS_NEXT = "Your daily digest starts with the next arXiv announcement; /today shows the latest one now."


def label(name: str) -> str:
    """`IR (Information Retrieval)`: the code users type, and what it means."""
    entry = category(name)
    return f"{entry.code} ({entry.title})"


def keyboard(offered: Sequence[str], subscribed: Sequence[str]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"{'✅' if name in subscribed else '▫️'} {category(name).code} · {category(name).title}",
            callback_data=ToggleSubscription(name).pack(),
        )
        for name in offered
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def keyboard_text(subscribed: Sequence[str]) -> str:
    following = ", ".join(category(name).code for name in subscribed) or "nothing yet"
    return f"Tap a category to follow or unfollow it.\nFollowing: {escape(following)}"


def _arguments(context: BotContext) -> list[str]:
    return [part for arg in context.args or [] for part in arg.split(",") if part][:MAX_ARGUMENTS]


def _parse_all(arguments: Sequence[str], offered: Sequence[str]) -> tuple[list[str], list[str]]:
    """(category names, error lines) for what the user typed."""
    names, errors = [], []
    for argument in arguments:
        try:
            names.append(parse_category(argument, offered).name)
        except CategoryError as error:
            errors.append(f"❓ {escape(str(error))}")
    return list(dict.fromkeys(names)), errors


async def _reply_with_keyboard(update: Update, context: BotContext) -> None:
    services = context.services
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    await update.effective_message.reply_text(
        keyboard_text(subscribed), reply_markup=keyboard(services.settings.categories, subscribed)
    )


async def subscribe(update: Update, context: BotContext) -> None:
    if await refused(update, context):
        return
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    offered = services.settings.categories
    arguments = _arguments(context)
    if not arguments:
        await _reply_with_keyboard(update, context)
        return
    names, lines = _parse_all(arguments, offered)
    added = await services.subscriptions.add(chat_id, names, services.clock())
    already = [name for name in names if name not in added]
    if added:
        lines.insert(0, "✅ Subscribed to " + escape(", ".join(label(name) for name in added)) + ".")
    if already:
        lines.append("Already following " + escape(", ".join(category(name).code for name in already)) + ".")
    if added:
        lines.append("\n" + STARTS_NEXT)
    elif not already:
        lines.append("\n/categories lists what you can follow, or send /subscribe alone for buttons.")
    await message.reply_text("\n".join(lines))


async def unsubscribe(update: Update, context: BotContext) -> None:
    if await refused(update, context):
        return
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    arguments = _arguments(context)
    if not arguments:
        await _reply_with_keyboard(update, context)
        return
    if [argument.casefold() for argument in arguments] == ["all"]:
        removed = await services.subscriptions.remove_all(chat_id)
        lines = []
    else:
        names, lines = _parse_all(arguments, services.settings.categories)
        removed = await services.subscriptions.remove(chat_id, names)
    if removed:
        await replan_chat(services, chat_id)
        codes = ", ".join(category(name).code for name in removed)
        lines.insert(0, f"Unsubscribed from {escape(codes)}.")
    else:
        lines.insert(0, "Nothing to remove: this chat did not follow that.")
    remaining = await services.subscriptions.of_chat(chat_id)
    codes = ", ".join(category(name).code for name in remaining) or "nothing"
    lines.append(f"Still following: {escape(codes)}.")
    await message.reply_text("\n".join(lines))


async def my_subscriptions(update: Update, context: BotContext) -> None:
    services = context.services
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    if not subscribed:
        text = "This chat follows no category yet. Send /subscribe to pick some, or e.g. /subscribe IR LG."
    else:
        text = "<b>This chat follows</b>\n" + "\n".join(
            f"• <code>{escape(category(name).code)}</code> {escape(name)} — {escape(category(name).title)}"
            for name in subscribed
        )
    await update.effective_message.reply_text(text)


async def list_categories(update: Update, context: BotContext) -> None:
    offered = context.services.settings.categories
    lines = [
        f"• <code>{escape(category(name).code)}</code> {escape(name)} — {escape(category(name).title)}"
        for name in offered
    ]
    text = "<b>Categories on offer</b>\n" + "\n".join(lines) + "\n\nFollow with e.g. /subscribe IR CV."
    await update.effective_message.reply_text(text)


async def toggle(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    stale = "This button is out of date. Send /subscribe for a fresh one."
    button = await pressed(update, ToggleSubscription, services.settings.categories, stale)
    if button is None:
        return
    if not await can_configure(update, context):
        await query.answer(NOT_GROUP_ADMIN, show_alert=True)
        return
    chat_id = update.effective_chat.id
    name = button.category
    now_following = await services.subscriptions.toggle(chat_id, name, services.clock())
    if not now_following:
        await replan_chat(services, chat_id)
    subscribed = await services.subscriptions.of_chat(chat_id)
    await query.answer(f"{'Following' if now_following else 'Stopped following'} {category(name).code}")
    await edit_in_place(
        query, keyboard_text(subscribed), reply_markup=keyboard(services.settings.categories, subscribed)
    )


def handlers() -> list[BaseHandler]:
    return [
        command("subscribe", subscribe),
        command("unsubscribe", unsubscribe),
        command("mysubs", my_subscriptions),
        command("categories", list_categories),
        CallbackQueryHandler(toggle, pattern=ToggleSubscription.matches),
    ]
