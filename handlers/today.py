"""Reading the latest announcement on demand: /today for the chat's categories, /cat for one, paged."""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import CategoryPage, OpenCategory
from bot.core.categories import CategoryError, category, parse_category
from bot.core.digest import category_page
from bot.core.keyboards import feedback_rows
from bot.core.preferences import digest_limit
from bot.core.render import digest_messages, render_page, tag_label
from bot.reading import latest_announcement, page_with_full_papers, with_full_papers
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.editing import edit_in_place, pressed
from handlers.subscribe import keyboard as subscribe_keyboard

STALE = "This button is out of date. Send /cat for a fresh list."
NOTHING_YET = (
    "No arXiv announcement is stored yet for {what}. The bot reads arXiv every weekday shortly after "
    "the announcement (20:00 US Eastern); try again then."
)


async def today(update: Update, context: BotContext) -> None:
    services = context.services
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
        await message.reply_text(escape(NOTHING_YET.format(what="your categories")))
        return
    limit = digest_limit((await services.chats.settings(chat_id)).digest_size)
    digest = await services.curation.digest(subscribed, announced)
    group = update.effective_chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    digest = await services.curation.personalize(chat_id, digest, group=group)
    digest = await with_full_papers(services.papers, digest, limit)
    messages = digest_messages(digest, limit=limit)
    tallies = await services.feedback.tallies(chat_id, [paper for m in messages for _, paper in m.featured])
    for rendered in messages:
        rows = feedback_rows(rendered.featured, tallies)
        markup = InlineKeyboardMarkup.de_json({"inline_keyboard": rows}, context.bot) if rows else None
        await message.reply_text(rendered.text, reply_markup=markup)


def category_keyboard(offered: list[str] | tuple[str, ...]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"{category(name).code} · {category(name).title}", callback_data=CategoryPage(name).pack()
        )
        for name in offered
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def page_keyboard(name: str, announced: date, number: int, count: int) -> InlineKeyboardMarkup | None:
    if count <= 1:
        return None

    def at(page: int) -> str:
        return CategoryPage(name, announced, page).pack()

    row = []
    if number > 1:
        row.append(InlineKeyboardButton("◀ Previous", callback_data=at(number - 1)))
    row.append(InlineKeyboardButton(f"{number} / {count}", callback_data=at(number)))
    if number < count:
        row.append(InlineKeyboardButton("Next ▶", callback_data=at(number + 1)))
    return InlineKeyboardMarkup([row])


async def _page(
    services: Services, chat_id: int, name: str, announced: date | None, number: int
) -> tuple[str, InlineKeyboardMarkup | None, int]:
    """The page's text and keyboard, and its number (a number past the end shows the last page)."""
    announced = announced or await services.papers.latest_announcement(name)
    if announced is None:
        return escape(NOTHING_YET.format(what=name)), None, 1
    digest = await services.curation.personalize(chat_id, await services.curation.digest([name], announced))
    page = category_page(digest, name, number)
    page = await page_with_full_papers(services.papers, page)
    return render_page(page), page_keyboard(name, announced, page.number, page.count), page.number


async def browse(update: Update, context: BotContext) -> None:
    services = context.services
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
        await message.reply_text(f"{escape(str(error))} /categories lists what is on offer.")
        return
    text, markup, _ = await _page(services, update.effective_chat.id, name, None, 1)
    await message.reply_text(text, reply_markup=markup)


async def _stored(services: Services, announced: date | None, query: CallbackQuery) -> bool:
    """A button names an announcement the bot stored (or the latest); a forged date is refused."""
    if announced is None or await services.papers.first_ingested(announced) is not None:
        return True
    await query.answer(STALE)
    return False


async def turn_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    button = await pressed(update, CategoryPage, services.settings.categories, STALE)
    if button is None or not await _stored(services, button.announced, query):
        return
    text, markup, shown = await _page(
        services, update.effective_chat.id, button.category, button.announced, button.page
    )
    label = tag_label(button.category)
    await query.answer(f"{label} · page {shown}" if button.announced else label)
    await edit_in_place(query, text, reply_markup=markup)


async def open_category(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    button = await pressed(update, OpenCategory, services.settings.categories, STALE)
    if button is None or not await _stored(services, button.announced, query):
        return
    await query.answer(tag_label(button.category))
    text, markup, _ = await _page(services, update.effective_chat.id, button.category, button.announced, 1)
    await context.bot.send_message(query.message.chat.id, text, reply_markup=markup)


def handlers() -> list[BaseHandler]:
    return [
        command("today", today),
        command("cat", browse),
        CallbackQueryHandler(turn_page, pattern=CategoryPage.matches),
        CallbackQueryHandler(open_category, pattern=OpenCategory.matches),
    ]
