"""Subscribing: /subscribe (keyboard or codes), /unsubscribe, /mysubs, and /categories, which browses
arXiv's whole taxonomy by archive; every category can be followed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import BrowseArchive, ToggleSubscription
from bot.core.categories import ARCHIVES, CategoryError, in_archive, parse_category
from bot.core.i18n import N_
from bot.core.render import tag_label
from bot.locales import ENGLISH, Translation
from bot.push.planning import replan_chat
from bot.services import BotContext, Services
from handlers.access import refused, refused_press
from handlers.commands import command
from handlers.editing import edit_in_place, pressed
from handlers.i18n import translation_for

MAX_ARGUMENTS = 20
STARTS_NEXT = N_(
    "Your daily digest starts with the next arXiv announcement; /today shows the latest one now."
)
STALE = N_("This button is out of date. Send /subscribe for a fresh one.")
MORE = N_("More categories…")


def label(name: str, tr: Translation = ENGLISH) -> str:
    """`IR (Information Retrieval)`: the code users type, and what it means."""
    return f"{tag_label(name)} ({tr.category_title(name)})"


def button_label(name: str, subscribed: Sequence[str], tr: Translation = ENGLISH) -> str:
    """`✅ IR · Retrieval`: short enough for two buttons side by side on a phone."""
    return f"{'✅' if name in subscribed else '▫️'} {tag_label(name)} · {tr.category_short_title(name)}"


def keyboard_order(
    shown: Sequence[str], followers: Mapping[str, int], subscribed: Sequence[str]
) -> list[str]:
    """The keyboard's categories, most followed first, then what the chat follows beyond them."""
    ranked = sorted(shown, key=lambda name: -followers.get(name, 0))
    return ranked + [name for name in subscribed if name not in shown]


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def keyboard(
    names: Sequence[str], subscribed: Sequence[str], archive: str | None = None, tr: Translation = ENGLISH
) -> InlineKeyboardMarkup:
    """Toggle buttons for `names`; below them a way into the rest of the taxonomy (or back to it)."""
    buttons = [
        InlineKeyboardButton(
            button_label(name, subscribed, tr), callback_data=ToggleSubscription(name, archive).pack()
        )
        for name in names
    ]
    last = tr.gettext("◀ All archives") if archive else tr.gettext(MORE)
    return InlineKeyboardMarkup(
        [*_rows(buttons), [InlineKeyboardButton(last, callback_data=BrowseArchive().pack())]]
    )


def keyboard_text(subscribed: Sequence[str], tr: Translation = ENGLISH) -> str:
    _ = tr.gettext
    following = ", ".join(tag_label(name) for name in subscribed) or _("nothing yet")
    return _("Tap a category to follow or unfollow it.\nFollowing: {categories}").format(
        categories=escape(following)
    )


async def chat_keyboard(
    services: Services, subscribed: Sequence[str], tr: Translation = ENGLISH
) -> InlineKeyboardMarkup:
    """The subscribe keyboard as this chat sees it: the operator's set by popularity, plus its own."""
    followers = await services.subscriptions.counts_by_category()
    # Counted without this chat, so a tap never moves the buttons under the user's finger.
    others = {name: count - (name in subscribed) for name, count in followers.items()}
    return keyboard(keyboard_order(services.settings.categories, others, subscribed), subscribed, tr=tr)


def archives_view(tr: Translation) -> tuple[str, InlineKeyboardMarkup]:
    buttons = [
        InlineKeyboardButton(
            tr.archive_name(archive, short=True), callback_data=BrowseArchive(archive).pack()
        )
        for archive in ARCHIVES
    ]
    text = tr.gettext(
        "<b>arXiv's categories</b>, by archive. Every one can be followed: tap an archive, "
        "or send e.g. /subscribe stat.ML math.OC."
    )
    return text, InlineKeyboardMarkup(_rows(buttons))


def category_lines(names: Sequence[str], tr: Translation) -> str:
    """`• IR cs.IR — Information Retrieval`, one line per category."""
    return "\n".join(
        f"• <code>{escape(tag_label(name))}</code> {escape(name)} — {escape(tr.category_title(name))}"
        for name in names
    )


def archive_view(
    archive: str, subscribed: Sequence[str], tr: Translation
) -> tuple[str, InlineKeyboardMarkup]:
    names = in_archive(archive)
    text = f"<b>{escape(tr.archive_name(archive))}</b> ({escape(archive)})\n" + category_lines(names, tr)
    return text + "\n\n" + keyboard_text(subscribed, tr), keyboard(names, subscribed, archive, tr)


def _arguments(context: BotContext) -> list[str]:
    return [part for arg in context.args or [] for part in arg.split(",") if part][:MAX_ARGUMENTS]


def _parse_all(
    arguments: Sequence[str], keyboard_set: Sequence[str], tr: Translation
) -> tuple[list[str], list[str]]:
    """(category names, error lines) for what the user typed."""
    names, errors = [], []
    for argument in arguments:
        try:
            names.append(parse_category(argument, keyboard_set).name)
        except CategoryError as error:
            errors.append(f"❓ {escape(tr.problem(error))}")
    return list(dict.fromkeys(names)), errors


async def _reply_with_keyboard(update: Update, context: BotContext, tr: Translation) -> None:
    services = context.services
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    await update.effective_message.reply_text(
        keyboard_text(subscribed, tr), reply_markup=await chat_keyboard(services, subscribed, tr)
    )


async def subscribe(update: Update, context: BotContext) -> None:
    if await refused(update, context):
        return
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    tr = await translation_for(update, context)
    _ = tr.gettext
    arguments = _arguments(context)
    if not arguments:
        await _reply_with_keyboard(update, context, tr)
        return
    names, lines = _parse_all(arguments, services.settings.categories, tr)
    added = await services.subscriptions.add(chat_id, names, services.clock())
    already = [name for name in names if name not in added]
    if added:
        shown = escape(", ".join(label(name, tr) for name in added))
        lines.insert(0, _("✅ Subscribed to {categories}.").format(categories=shown))
        services.catch_up(added)
    if already:
        shown = escape(", ".join(tag_label(name) for name in already))
        lines.append(_("Already following {categories}.").format(categories=shown))
    if added:
        lines.append("\n" + _(STARTS_NEXT))
    elif not already:
        lines.append(
            "\n" + _("/categories lists every arXiv category, or send /subscribe alone for buttons.")
        )
    await message.reply_text("\n".join(lines))


async def unsubscribe(update: Update, context: BotContext) -> None:
    if await refused(update, context):
        return
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    tr = await translation_for(update, context)
    _ = tr.gettext
    arguments = _arguments(context)
    if not arguments:
        await _reply_with_keyboard(update, context, tr)
        return
    if [argument.casefold() for argument in arguments] == ["all"]:
        removed = await services.subscriptions.remove_all(chat_id)
        lines = []
    else:
        names, lines = _parse_all(arguments, services.settings.categories, tr)
        removed = await services.subscriptions.remove(chat_id, names)
    if removed:
        await replan_chat(services, chat_id)
        codes = ", ".join(tag_label(name) for name in removed)
        lines.insert(0, _("Unsubscribed from {categories}.").format(categories=escape(codes)))
    else:
        lines.insert(0, _("Nothing to remove: this chat did not follow that."))
    remaining = await services.subscriptions.of_chat(chat_id)
    codes = ", ".join(tag_label(name) for name in remaining) or _("nothing")
    lines.append(_("Still following: {categories}.").format(categories=escape(codes)))
    await message.reply_text("\n".join(lines))


async def my_subscriptions(update: Update, context: BotContext) -> None:
    services = context.services
    tr = await translation_for(update, context)
    _ = tr.gettext
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    if not subscribed:
        text = _("This chat follows no category yet. Send /subscribe to pick some, or e.g. /subscribe IR LG.")
    else:
        text = _("<b>This chat follows</b>") + "\n" + category_lines(subscribed, tr)
    await update.effective_message.reply_text(text)


async def list_categories(update: Update, context: BotContext) -> None:
    text, markup = archives_view(await translation_for(update, context))
    await update.effective_message.reply_text(text, reply_markup=markup)


async def browse_archive(update: Update, context: BotContext) -> None:
    query = update.callback_query
    tr = await translation_for(update, context)
    button = await pressed(update, BrowseArchive, tr.gettext(STALE))
    if button is None:
        return
    await query.answer()
    if button.archive is None:
        text, markup = archives_view(tr)
    else:
        subscribed = await context.services.subscriptions.of_chat(update.effective_chat.id)
        text, markup = archive_view(button.archive, subscribed, tr)
    await edit_in_place(query, text, reply_markup=markup)


async def toggle(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    _ = tr.gettext
    button = await pressed(update, ToggleSubscription, _(STALE))
    if button is None:
        return
    if await refused_press(update, context):
        return
    chat_id = update.effective_chat.id
    name = button.category
    now_following = await services.subscriptions.toggle(chat_id, name, services.clock())
    if now_following:
        services.catch_up([name])
    else:
        await replan_chat(services, chat_id)
    subscribed = await services.subscriptions.of_chat(chat_id)
    toast = _("Following {category}") if now_following else _("Stopped following {category}")
    await query.answer(toast.format(category=tag_label(name)))
    if button.archive is not None:
        text, markup = archive_view(button.archive, subscribed, tr)
    else:
        text, markup = keyboard_text(subscribed, tr), await chat_keyboard(services, subscribed, tr)
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
