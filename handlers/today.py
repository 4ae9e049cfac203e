"""Reading announcements on demand: /today for the chat's categories, /cat for one, paged; both for
the latest announcement or an earlier one (`/today 2026-08-20`, `/cat IR yesterday`, `/cat IR 3`)."""

from __future__ import annotations

from datetime import date
from html import escape

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import ButtonData, CategoryPage, DigestDay, OpenCategory
from bot.core.categories import CategoryError, parse_category
from bot.core.days import DayError, is_page_number, parse_day
from bot.core.digest import category_page
from bot.core.i18n import N_
from bot.core.navigation import NEXT, PREVIOUS, page_buttons, rows
from bot.core.preferences import digest_limit
from bot.core.render import render_page, tag_label
from bot.core.replies import Keyboard
from bot.locales import Translation
from bot.reading import latest_announcement, page_with_full_papers
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.editing import edit_in_place, pressed
from handlers.history import NOT_READ, NOTHING_YET, chat_today, missing_day
from handlers.i18n import translation_for
from handlers.subscribe import chat_keyboard

STALE = N_("This button is out of date. Send /cat for a fresh list.")


def keyboard(buttons: list[list[tuple[str, ButtonData]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data.pack()) for text, data in row] for row in buttons]
    )


async def send_digest(
    update: Update, services: Services, categories: list[str], announced: date, tr: Translation
) -> None:
    """The chat's digest of `announced` in its own order and language, with the model's text in that
    language: featured entries carry feedback buttons, the last message the buttons the push carries
    too. A chat without personal signals gets the rendering it shares with every such chat."""
    chat = update.effective_chat
    limit = digest_limit((await services.chats.settings(chat.id)).digest_size)
    digest = await services.curation.digest(categories, announced)
    group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    ranked = await services.curation.personalize(chat.id, digest, group=group)
    shared = services.curation.is_shared(ranked)
    reply = await services.replies.reply(ranked, limit, tr, shared=shared)
    featured = [paper for message in reply.messages for _, paper in message.featured]
    tallies = await services.feedback.tallies(chat.id, featured)
    for rendered, buttons in zip(reply.messages, reply.keyboards(tallies), strict=True):
        await update.effective_message.reply_text(rendered.text, reply_markup=markup(buttons))


def markup(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """Keyboard rows as the core makes them (Bot API JSON) in PTB's form; None for no buttons."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(**button) for button in row] for row in buttons])


async def today(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    tr = await translation_for(update, context)
    _ = tr.gettext
    subscribed = await services.subscriptions.of_chat(chat_id)
    if not subscribed:
        await message.reply_text(
            _("This chat follows no category yet. Tap some below, or send e.g. /subscribe IR LG."),
            reply_markup=await chat_keyboard(services, [], tr),
        )
        return
    argument = " ".join(context.args or [])
    if argument:
        today_there = await chat_today(services, chat_id)
        try:
            day = parse_day(argument, today_there)
        except DayError as error:
            await message.reply_text(escape(tr.problem(error)))
            return
        missing = await missing_day(
            services, subscribed, day, today_there, _("your categories"), DigestDay, tr
        )
        if missing is not None:
            text, markup = missing
            await message.reply_text(text, reply_markup=markup)
            return
        announced = day
    else:
        found = await latest_announcement(services.papers, subscribed)
        if found is None:
            await message.reply_text(escape(_(NOTHING_YET).format(what=_("your categories"))))
            return
        announced = found
    await send_digest(update, services, subscribed, announced, tr)


def category_keyboard(offered: list[str] | tuple[str, ...], tr: Translation) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"{tag_label(name)} · {tr.category_short_title(name)}", callback_data=CategoryPage(name).pack()
        )
        for name in offered
    ]
    return InlineKeyboardMarkup(rows(buttons))


async def _page(
    services: Services, chat_id: int, name: str, announced: date | None, number: int, tr: Translation
) -> tuple[str, InlineKeyboardMarkup | None, int]:
    """The page's text and keyboard, and its number (a number past the end shows the last page)."""
    _ = tr.gettext
    announced = announced or await services.papers.latest_announcement(name)
    if announced is None:
        if name not in await services.subscriptions.active_categories():
            return escape(_(NOT_READ).format(name=name, label=tag_label(name))), None, 1
        return escape(_(NOTHING_YET).format(what=name)), None, 1
    digest = await services.curation.personalize(chat_id, await services.curation.digest([name], announced))
    page = category_page(digest, name, number)
    page = await page_with_full_papers(services.papers, page)
    steps = (_(PREVIOUS), _(NEXT))
    markup = keyboard(
        page_buttons(page.number, page.count, lambda number: CategoryPage(name, announced, number), steps)
    )
    return render_page(page, words=tr.digest_words()), markup, page.number


async def browse(update: Update, context: BotContext) -> None:
    """/cat IR, /cat IR 3 (page 3), /cat IR 2026-08-20, /cat IR yesterday 2."""
    services = context.services
    message = update.effective_message
    arguments = context.args or []
    tr = await translation_for(update, context)
    _ = tr.gettext
    if not arguments:
        await message.reply_text(
            _("Which category? Tap one, or send e.g. /cat IR."),
            reply_markup=category_keyboard(services.settings.categories, tr),
        )
        return
    try:
        name = parse_category(arguments[0], services.settings.categories).name
    except CategoryError as error:
        await message.reply_text(
            _("{problem} /categories lists every category.").format(problem=escape(tr.problem(error)))
        )
        return
    day, number = None, 1
    today_there = await chat_today(services, update.effective_chat.id)
    try:
        for argument in arguments[1:3]:
            if is_page_number(argument):
                number = int(argument)
            else:
                day = parse_day(argument, today_there)
    except DayError as error:
        await message.reply_text(escape(tr.problem(error)))
        return
    if day is not None:
        missing = await missing_day(
            services, [name], day, today_there, name, lambda found: CategoryPage(name, found), tr
        )
        if missing is not None:
            text, markup = missing
            await message.reply_text(text, reply_markup=markup)
            return
    text, markup, _shown = await _page(services, update.effective_chat.id, name, day, number, tr)
    await message.reply_text(text, reply_markup=markup)


async def _stored(services: Services, announced: date | None, query: CallbackQuery, tr: Translation) -> bool:
    """A button names an announcement the bot stored (or the latest); a forged date is refused."""
    if announced is None or await services.papers.first_ingested(announced) is not None:
        return True
    await query.answer(tr.gettext(STALE))
    return False


async def turn_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    button = await pressed(update, CategoryPage, tr.gettext(STALE))
    if button is None or not await _stored(services, button.announced, query, tr):
        return
    text, markup, shown = await _page(
        services, update.effective_chat.id, button.category, button.announced, button.page, tr
    )
    label = tag_label(button.category)
    page = tr.gettext("{label} · page {number}").format(label=label, number=shown)
    await query.answer(page if button.announced else label)
    await edit_in_place(query, text, reply_markup=markup)


async def open_category(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    button = await pressed(update, OpenCategory, tr.gettext(STALE))
    if button is None or not await _stored(services, button.announced, query, tr):
        return
    await query.answer(tag_label(button.category))
    text, markup, _shown = await _page(
        services, update.effective_chat.id, button.category, button.announced, button.page, tr
    )
    await context.bot.send_message(query.message.chat.id, text, reply_markup=markup)


async def show_day(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    button = await pressed(update, DigestDay, tr.gettext(STALE))
    if button is None or not await _stored(services, button.announced, query, tr):
        return
    subscribed = await services.subscriptions.of_chat(update.effective_chat.id)
    if not subscribed:
        await query.answer(tr.gettext("This chat follows no category yet: /subscribe first."))
        return
    await query.answer()
    await send_digest(update, services, subscribed, button.announced, tr)


def handlers() -> list[BaseHandler]:
    return [
        command("today", today),
        command("cat", browse),
        CallbackQueryHandler(turn_page, pattern=CategoryPage.matches),
        CallbackQueryHandler(open_category, pattern=OpenCategory.matches),
        CallbackQueryHandler(show_day, pattern=DigestDay.matches),
    ]
