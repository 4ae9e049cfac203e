"""Reading the latest announcement on demand: /today for the chat's categories, /cat for one, paged."""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes

from bot.core.callbacks import MORE_PREFIX, PAGE_PREFIX
from bot.core.categories import CategoryError, category, parse_category
from bot.core.digest import category_page
from bot.core.preferences import DEFAULT_DIGEST_SIZE
from bot.core.render import render_digest, render_page, tag_label
from bot.reading import latest_announcement, load_digest, page_with_full_papers, with_full_papers
from bot.services import Services, services_of
from handlers.commands import command
from handlers.editing import edit_in_place
from handlers.subscribe import keyboard as subscribe_keyboard

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
NOTHING_YET = (
    "No arXiv announcement is stored yet for {what}. The bot reads arXiv every weekday shortly after "
    "the announcement (20:00 US Eastern); try again then."
)


async def today(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    message = update.effective_message
    chat_id = update.effective_chat.id
    subscribed = await services.subscriptions.of_chat(chat_id)
    if not subscribed:
        await message.reply_text(
            "This chat follows no category yet. Tap some below, or send e.g. /subscribe IR LG.",
            reply_markup=subscribe_keyboard(services.settings.categories, []),
        )
        return
    announced = await latest_announcement(services.papers, subscribed)
    if announced is None:
        await message.reply_text(NOTHING_YET.format(what="your categories"))
        return
    chosen = await services.chats.settings(chat_id)
    size = DEFAULT_DIGEST_SIZE if chosen.digest_size is None else chosen.digest_size
    digest = await load_digest(services.papers, subscribed, announced)
    digest = await with_full_papers(services.papers, digest, size or None)
    for text in render_digest(digest, limit=size or None):
        await message.reply_text(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)


def category_keyboard(offered: list[str] | tuple[str, ...]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"{category(name).code} · {category(name).title}", callback_data=f"{PAGE_PREFIX}{name}:"
        )
        for name in offered
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def page_keyboard(name: str, announced: date, number: int, count: int) -> InlineKeyboardMarkup | None:
    if count <= 1:
        return None
    at = f"{PAGE_PREFIX}{name}:{announced.isoformat()}:"
    row = []
    if number > 1:
        row.append(InlineKeyboardButton("◀ Previous", callback_data=f"{at}{number - 1}"))
    row.append(InlineKeyboardButton(f"{number} / {count}", callback_data=f"{at}{number}"))
    if number < count:
        row.append(InlineKeyboardButton("Next ▶", callback_data=f"{at}{number + 1}"))
    return InlineKeyboardMarkup([row])


async def _page(
    services: Services, name: str, announced: date | None, number: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    announced = announced or await services.papers.latest_announcement(name)
    if announced is None:
        return escape(NOTHING_YET.format(what=name)), None
    page = category_page(await load_digest(services.papers, [name], announced), name, number)
    page = await page_with_full_papers(services.papers, page)
    return render_page(page), page_keyboard(name, announced, page.number, page.count)


async def browse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_of(context)
    message = update.effective_message
    argument = " ".join(context.args or [])
    if not argument:
        await message.reply_text(
            "Which category? Tap one, or send e.g. /cat IR.",
            reply_markup=category_keyboard(services.settings.categories),
        )
        return
    try:
        name = parse_category(argument, services.settings.categories).name
    except CategoryError as error:
        await message.reply_text(f"{error} /categories lists what is on offer.")
        return
    text, markup = await _page(services, name, None, 1)
    await message.reply_text(
        text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW
    )


def _parse_page_data(data: str, offered: tuple[str, ...]) -> tuple[str, date | None, int] | None:
    """`cat:<category>:<date>:<page>` (date and page empty for "latest, first page"); None if forged."""
    parts = data.removeprefix(PAGE_PREFIX).split(":")
    if len(parts) not in (2, 3) or parts[0] not in offered:
        return None
    try:
        announced = date.fromisoformat(parts[1]) if parts[1] else None
        number = int(parts[2]) if len(parts) == 3 else 1
    except ValueError:
        return None
    if (len(parts) == 3 and announced is None) or not 1 <= number <= 10_000:
        return None
    return parts[0], announced, number


async def turn_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    services = services_of(context)
    parsed = _parse_page_data(query.data or "", services.settings.categories)
    if parsed is None or query.message is None:
        await query.answer("This button is out of date. Send /cat for a fresh list.")
        return
    name, announced, number = parsed
    text, markup = await _page(services, name, announced, number)
    await query.answer(f"{tag_label(name)} · page {number}" if announced else tag_label(name))
    await edit_in_place(query, text, reply_markup=markup, link_preview_options=NO_PREVIEW)


async def open_category(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    services = services_of(context)
    name, _, day = (query.data or "").removeprefix(MORE_PREFIX).partition(":")
    try:
        announced = date.fromisoformat(day)
    except ValueError:
        announced = None
    if name not in services.settings.categories or announced is None or query.message is None:
        await query.answer("This button is out of date. Send /cat for a fresh list.")
        return
    await query.answer(tag_label(name))
    text, markup = await _page(services, name, announced, 1)
    await context.bot.send_message(
        query.message.chat.id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
    )


def handlers() -> list[BaseHandler]:
    return [
        command("today", today),
        command("cat", browse),
        CallbackQueryHandler(turn_page, pattern=f"^{PAGE_PREFIX}"),
        CallbackQueryHandler(open_category, pattern=f"^{MORE_PREFIX}"),
    ]
