"""Subscribing: /subscribe (keyboard or codes), /unsubscribe, /mysubs, and /categories, which browses
arXiv's whole taxonomy by archive; every category can be followed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import BrowseArchive, ToggleSubscription
from bot.core.categories import ARCHIVES, SHORT_ARCHIVES, CategoryError, category, in_archive, parse_category
from bot.core.render import tag_label
from bot.push.planning import replan_chat
from bot.services import BotContext, Services
from handlers.access import NOT_GROUP_ADMIN, can_configure, refused
from handlers.commands import command
from handlers.editing import edit_in_place, pressed

MAX_ARGUMENTS = 20
STARTS_NEXT = "Your daily digest starts with the next arXiv announcement; /today shows the latest one now."
STALE = "This button is out of date. Send /subscribe for a fresh one."
MORE = "More categories…"


def label(name: str) -> str:
    """`IR (Information Retrieval)`: the code users type, and what it means."""
    entry = category(name)
    return f"{tag_label(name)} ({entry.title})"


def button_label(name: str, subscribed: Sequence[str]) -> str:
    """`✅ IR · Retrieval`: short enough for two buttons side by side on a phone."""
    return f"{'✅' if name in subscribed else '▫️'} {tag_label(name)} · {category(name).short_title}"


def keyboard_order(
    shown: Sequence[str], followers: Mapping[str, int], subscribed: Sequence[str]
) -> list[str]:
    """The keyboard's categories, most followed first, then what the chat follows beyond them."""
    ranked = sorted(shown, key=lambda name: -followers.get(name, 0))
    return ranked + [name for name in subscribed if name not in shown]


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def keyboard(
    names: Sequence[str], subscribed: Sequence[str], archive: str | None = None
) -> InlineKeyboardMarkup:
    """Toggle buttons for `names`; below them a way into the rest of the taxonomy (or back to it)."""
    buttons = [
        InlineKeyboardButton(
            button_label(name, subscribed), callback_data=ToggleSubscription(name, archive).pack()
        )
        for name in names
    ]
    last = "◀ All archives" if archive else MORE
    return InlineKeyboardMarkup(
        [*_rows(buttons), [InlineKeyboardButton(last, callback_data=BrowseArchive().pack())]]
    )


def keyboard_text(subscribed: Sequence[str]) -> str:
    following = ", ".join(tag_label(name) for name in subscribed) or "nothing yet"
    return f"Tap a category to follow or unfollow it.\nFollowing: {escape(following)}"


async def chat_keyboard(services: Services, subscribed: Sequence[str]) -> InlineKeyboardMarkup:
    """The subscribe keyboard as this chat sees it: the operator's set by popularity, plus its own."""
    followers = await services.subscriptions.counts_by_category()
    # Counted without this chat, so a tap never moves the buttons under the user's finger.
    others = {name: count - (name in subscribed) for name, count in followers.items()}
    return keyboard(keyboard_order(services.settings.categories, others, subscribed), subscribed)


def archives_view() -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        InlineKeyboardButton(SHORT_ARCHIVES.get(archive, name), callback_data=BrowseArchive(archive).pack())
        for archive, name in ARCHIVES.items()
    ]
    text = (
        "<b>arXiv's categories</b>, by archive. Every one can be followed: tap an archive, "
        "or send e.g. /subscribe stat.ML math.OC."
    )
    return text, InlineKeyboardMarkup(_rows(buttons))


def archive_view(archive: str, subscribed: Sequence[str]) -> tuple[str, InlineKeyboardMarkup]:
    names = in_archive(archive)
    lines = [
        f"• <code>{escape(tag_label(name))}</code> {escape(name)} — {escape(category(name).title)}"
        for name in names
    ]
    text = f"<b>{escape(ARCHIVES[archive])}</b> ({escape(archive)})\n" + "\n".join(lines)
    return text + "\n\n" + keyboard_text(subscribed), keyboard(names, subscribed, archive)


def _arguments(context: BotContext) -> list[str]:
    return [part for arg in context.args or [] for part in arg.split(",") if part][:MAX_ARGUMENTS]


def _parse_all(arguments: Sequence[str], keyboard_set: Sequence[str]) -> tuple[list[str], list[str]]:
    """(category names, error lines) for what the user typed."""
    names, errors = [], []
    for argument in arguments:
        try:
            names.append(parse_category(argument, keyboard_set).name)
        except CategoryError as error:
            errors.append(f"❓ {escape(str(error))}")
    return list(dict.fromkeys(names)), errors


async def _reply_with_keyboard(update: Update, context: BotContext) -> None:
    services = context.services
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    await update.effective_message.reply_text(
        keyboard_text(subscribed), reply_markup=await chat_keyboard(services, subscribed)
    )


async def subscribe(update: Update, context: BotContext) -> None:
    if await refused(update, context):
        return
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    arguments = _arguments(context)
    if not arguments:
        await _reply_with_keyboard(update, context)
        return
    names, lines = _parse_all(arguments, services.settings.categories)
    added = await services.subscriptions.add(chat_id, names, services.clock())
    already = [name for name in names if name not in added]
    if added:
        lines.insert(0, "✅ Subscribed to " + escape(", ".join(label(name) for name in added)) + ".")
        services.catch_up(added)
    if already:
        lines.append("Already following " + escape(", ".join(tag_label(name) for name in already)) + ".")
    if added:
        lines.append("\n" + STARTS_NEXT)
    elif not already:
        lines.append("\n/categories lists every arXiv category, or send /subscribe alone for buttons.")
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
        codes = ", ".join(tag_label(name) for name in removed)
        lines.insert(0, f"Unsubscribed from {escape(codes)}.")
    else:
        lines.insert(0, "Nothing to remove: this chat did not follow that.")
    remaining = await services.subscriptions.of_chat(chat_id)
    codes = ", ".join(tag_label(name) for name in remaining) or "nothing"
    lines.append(f"Still following: {escape(codes)}.")
    await message.reply_text("\n".join(lines))


async def my_subscriptions(update: Update, context: BotContext) -> None:
    services = context.services
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    if not subscribed:
        text = "This chat follows no category yet. Send /subscribe to pick some, or e.g. /subscribe IR LG."
    else:
        text = "<b>This chat follows</b>\n" + "\n".join(
            f"• <code>{escape(tag_label(name))}</code> {escape(name)} — {escape(category(name).title)}"
            for name in subscribed
        )
    await update.effective_message.reply_text(text)


async def list_categories(update: Update, context: BotContext) -> None:
    text, markup = archives_view()
    await update.effective_message.reply_text(text, reply_markup=markup)


async def browse_archive(update: Update, context: BotContext) -> None:
    query = update.callback_query
    button = await pressed(update, BrowseArchive, STALE)
    if button is None:
        return
    await query.answer()
    if button.archive is None:
        text, markup = archives_view()
    else:
        subscribed = await context.services.subscriptions.of_chat(update.effective_chat.id)
        text, markup = archive_view(button.archive, subscribed)
    await edit_in_place(query, text, reply_markup=markup)


async def toggle(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    button = await pressed(update, ToggleSubscription, STALE)
    if button is None:
        return
    if not await can_configure(update, context):
        await query.answer(NOT_GROUP_ADMIN, show_alert=True)
        return
    chat_id = update.effective_chat.id
    name = button.category
    now_following = await services.subscriptions.toggle(chat_id, name, services.clock())
    if now_following:
        services.catch_up([name])
    else:
        await replan_chat(services, chat_id)
    subscribed = await services.subscriptions.of_chat(chat_id)
    await query.answer(f"{'Following' if now_following else 'Stopped following'} {tag_label(name)}")
    if button.archive is not None:
        text, markup = archive_view(button.archive, subscribed)
    else:
        text, markup = keyboard_text(subscribed), await chat_keyboard(services, subscribed)
    await edit_in_place(query, text, reply_markup=markup)


def handlers() -> list[BaseHandler]:
    return [
        command("subscribe", subscribe),
        command("unsubscribe", unsubscribe),
        command("mysubs", my_subscriptions),
        command("categories", list_categories),
        CallbackQueryHandler(toggle, pattern=ToggleSubscription.matches),
        CallbackQueryHandler(browse_archive, pattern=BrowseArchive.matches),
    ]
