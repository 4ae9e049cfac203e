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
from bot.core.i18n import N_
from bot.core.navigation import page_buttons
from bot.core.render import render_results
from bot.core.search import SearchError, search_query
from bot.locales import Translation
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.editing import edit_in_place, pressed
from handlers.i18n import translation_for
from handlers.paper import wait_notice
from handlers.today import keyboard

PER_PAGE = 5
STALE = N_("This search is out of date. Send /search again.")
UNREACHABLE = N_("arXiv could not be reached just now. Try the search again in a minute.")
REFUSED = N_("arXiv could not read that search. Try plain words, or au:, ti:, abs: and cat: terms.")


async def results(
    services: Services, search_id: int, text: str, number: int, tr: Translation
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message for page `number` of a search: text and keyboard (None when it has no pages)."""
    _ = tr.gettext
    try:
        query = search_query(text, services.settings.categories)
        found = await services.arxiv.api.search(query, (number - 1) * PER_PAGE, PER_PAGE)
    except SearchError as error:
        return escape(tr.problem(error)), None
    except ArxivApiError:
        return escape(_(REFUSED)), None
    except ArxivError:
        return escape(_(UNREACHABLE)), None
    shown = escape(text if len(text) <= 60 else text[:60] + "…")
    if not found.papers:
        ending = (
            _("No more results.")
            if number > 1
            else _("No arXiv paper matches “{query}”.").format(query=shown)
        )
        return ending, None
    count = min(math.ceil(found.total / PER_PAGE), MAX_PAGE)
    matches = tr.ngettext("{count} paper", "{count} papers", found.total).format(count=found.total)
    heading = _("<b>Search</b> “{query}” · page {number} of {count} · {matches}, newest first").format(
        query=shown, number=number, count=count, matches=matches
    )
    text_html = render_results(heading, found.papers, (number - 1) * PER_PAGE + 1, words=tr.digest_words())
    markup = keyboard(page_buttons(number, count, lambda page: SearchPage(search_id, page)))
    return text_html, markup


async def search(update: Update, context: BotContext) -> None:
    services = context.services
    message: Message = update.effective_message
    text = " ".join(context.args or [])
    tr = await translation_for(update, context)
    try:
        search_query(text, services.settings.categories)
    except SearchError as error:
        await message.reply_text(escape(tr.problem(error)))
        return
    search_id = await services.searches.save(update.effective_chat.id, text, services.clock())
    waiting = wait_notice(services, tr.gettext("Searching"), tr)
    notice = await message.reply_text(waiting) if waiting else None
    answer, markup = await results(services, search_id, text, 1, tr)
    if notice is None:
        await message.reply_text(answer, reply_markup=markup)
    else:
        await notice.edit_text(answer, reply_markup=markup)


async def turn_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    _ = tr.gettext
    button = await pressed(update, SearchPage, _(STALE))
    if button is None:
        return
    text = await services.searches.get(button.search, update.effective_chat.id)
    if text is None:
        await query.answer(_(STALE))
        return
    await query.answer(
        wait_notice(services, _("Searching"), tr) or _("Page {number}").format(number=button.page)
    )
    answer, markup = await results(services, button.search, text, button.page, tr)
    await edit_in_place(query, answer, reply_markup=markup)


def handlers() -> list[BaseHandler]:
    return [command("search", search), CallbackQueryHandler(turn_page, pattern=SearchPage.matches)]
