"""/search through the export API: every word must match, `au:`/`ti:`/`abs:`/`cat:` narrow a word
to a field; results newest first, five a page, the same entries as /cat, paged with buttons. The
query is kept for the buttons; the results are never stored."""

from __future__ import annotations

import math
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.arxiv.api import ArxivApiError
from bot.arxiv.http import ArxivError
from bot.core.callbacks import MAX_PAGE, SearchPage
from bot.core.navigation import page_buttons
from bot.core.render import render_results
from bot.core.search import SearchError, search_query
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.editing import edit_in_place, pressed
from handlers.paper import wait_notice
from handlers.today import keyboard

PER_PAGE = 5
STALE = "This search is out of date. Send /search again."
UNREACHABLE = "arXiv could not be reached just now. Try the search again in a minute."
REFUSED = "arXiv could not read that search. Try plain words, or au:, ti:, abs: and cat: terms."


async def results(
    services: Services, search_id: int, text: str, number: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message for page `number` of a search: text and keyboard (None when it has no pages)."""
    try:
        query = search_query(text, services.settings.categories)
        found = await services.arxiv.api.search(query, (number - 1) * PER_PAGE, PER_PAGE)
    except SearchError as error:
        return escape(str(error)), None
    except ArxivApiError:
        return escape(REFUSED), None
    except ArxivError:
        return escape(UNREACHABLE), None
    shown = escape(text if len(text) <= 60 else text[:60] + "…")
    if not found.papers:
        ending = "No more results." if number > 1 else f"No arXiv paper matches “{shown}”."
        return ending, None
    count = min(math.ceil(found.total / PER_PAGE), MAX_PAGE)
    matches = "1 paper" if found.total == 1 else f"{found.total} papers"
    heading = f"<b>Search</b> “{shown}” · page {number} of {count} · {matches}, newest first"
    text_html = render_results(heading, found.papers, (number - 1) * PER_PAGE + 1)
    markup = keyboard(page_buttons(number, count, lambda page: SearchPage(search_id, page)))
    return text_html, markup


async def search(update: Update, context: BotContext) -> None:
    services = context.services
    message: Message = update.effective_message
    text = " ".join(context.args or [])
    try:
        search_query(text, services.settings.categories)
    except SearchError as error:
        await message.reply_text(escape(str(error)))
        return
    search_id = await services.searches.save(update.effective_chat.id, text, services.clock())
    waiting = wait_notice(services, "Searching")
    notice = await message.reply_text(waiting) if waiting else None
    answer, markup = await results(services, search_id, text, 1)
    if notice is None:
        await message.reply_text(answer, reply_markup=markup)
    else:
        await notice.edit_text(answer, reply_markup=markup)


async def turn_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    button = await pressed(update, SearchPage, STALE)
    if button is None:
        return
    text = await services.searches.get(button.search, update.effective_chat.id)
    if text is None:
        await query.answer(STALE)
        return
    await query.answer(wait_notice(services, "Searching") or f"Page {button.page}")
    answer, markup = await results(services, button.search, text, button.page)
    await edit_in_place(query, answer, reply_markup=markup)


def handlers() -> list[BaseHandler]:
    return [command("search", search), CallbackQueryHandler(turn_page, pattern=SearchPage.matches)]
