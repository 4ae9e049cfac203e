"""Taps on featured entries (👍 👎 🔖), /saved with its BibTeX export, and /ranking (explain, reset)."""

from __future__ import annotations

import math
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.bibtex import bibtex
from bot.core.callbacks import Feedback, FeedbackAction, SavedPage
from bot.core.i18n import N_
from bot.core.keyboards import featured_on, refreshed
from bot.core.rank import MIN_POSITIVES, PaperFeedback, training_labels
from bot.core.tex import readable_tex
from bot.locales import ENGLISH, Translation
from bot.services import BotContext, Services
from handlers.access import refused
from handlers.commands import command
from handlers.editing import edit_in_place, edit_markup_in_place
from handlers.i18n import translation_for

STALE = N_("This button is out of date.")
SAVED_PAGE = 8
MAX_EXPORT = 2000
_TOASTS = {
    (FeedbackAction.LIKE, True): N_("👍 More like this"),
    (FeedbackAction.LIKE, False): N_("👍 removed"),
    (FeedbackAction.DISLIKE, True): N_("👎 Less like this"),
    (FeedbackAction.DISLIKE, False): N_("👎 removed"),
    (FeedbackAction.SAVE, True): N_("🔖 Saved: /saved lists your saved papers"),
    (FeedbackAction.SAVE, False): N_("🔖 removed from your saved papers"),
}


def member_of(update: Update) -> int:
    """Whose tap or list this is: the user, or the chat itself for posts made as the chat."""
    user = update.effective_user
    return user.id if user is not None else update.effective_chat.id


async def tap(update: Update, context: BotContext) -> None:
    """Refuses data that is malformed, not on the message it was pressed on (forged, or copied from
    another chat's message), or names a paper no longer stored."""
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    button = Feedback.parse(query.data)
    message = query.message
    rows = message.reply_markup.to_dict()["inline_keyboard"] if message and message.reply_markup else []
    shown = featured_on(rows)
    if button is None or button.arxiv_id not in shown or await services.papers.paper(button.arxiv_id) is None:
        await query.answer(tr.gettext(STALE))
        return
    chat_id = update.effective_chat.id
    result = await services.feedback.tap(
        chat_id, member_of(update), button.arxiv_id, button.action, list(shown), services.clock()
    )
    await query.answer(tr.gettext(_TOASTS[(FeedbackAction(button.action), result.on)]))
    keyboard = {"inline_keyboard": refreshed(rows, button.arxiv_id, result.tally)}
    await edit_markup_in_place(query, InlineKeyboardMarkup.de_json(keyboard, context.bot))


async def _saved_page(
    services: Services, chat_id: int, member: int, number: int, tr: Translation
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = tr.gettext
    _first, total = await services.feedback.saved(chat_id, member, 0, 1)
    if not total:
        return _("Nothing saved yet. Tap 🔖 under a featured paper of a digest or /today to save it."), None
    count = math.ceil(total / SAVED_PAGE)
    number = min(max(number, 1), count)
    page, _total = await services.feedback.saved(chat_id, member, (number - 1) * SAVED_PAGE, SAVED_PAGE)
    papers = await services.papers.papers(item.arxiv_id for item in page)
    lines = [
        _("<b>Saved papers</b> · {total} · page {number} of {count}, newest first").format(
            total=total, number=number, count=count
        )
    ]
    for position, item in enumerate(page, start=(number - 1) * SAVED_PAGE + 1):
        paper = papers.get(item.arxiv_id)
        title = readable_tex(paper.title) if paper else item.arxiv_id
        lines.append(
            f'{position}. <a href="https://arxiv.org/abs/{escape(item.arxiv_id)}">{escape(title)}</a>'
            " · " + _("saved {day}").format(day=tr.date(item.saved_at.date()))
        )
    row = []
    if number > 1:
        row.append(InlineKeyboardButton(_("◀ Newer"), callback_data=SavedPage(number - 1).pack()))
    if number < count:
        row.append(InlineKeyboardButton(_("Older ▶"), callback_data=SavedPage(number + 1).pack()))
    everything = _("BibTeX of all {count}").format(count=total)
    export = [InlineKeyboardButton(everything, callback_data=SavedPage(0).pack())]
    return "\n".join(lines), InlineKeyboardMarkup([row, export] if row else [export])


async def saved(update: Update, context: BotContext) -> None:
    tr = await translation_for(update, context)
    text, markup = await _saved_page(context.services, update.effective_chat.id, member_of(update), 1, tr)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def saved_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    _ = tr.gettext
    button = SavedPage.parse(query.data)
    if button is None or query.message is None:
        await query.answer(_(STALE))
        return
    chat_id, member = update.effective_chat.id, member_of(update)
    if button.page == 0:
        await query.answer(_("BibTeX export"))
        await send_export(update, context, chat_id, member, tr)
        return
    text, markup = await _saved_page(services, chat_id, member, button.page, tr)
    await query.answer(_("Page {number}").format(number=button.page))
    await edit_in_place(query, text, reply_markup=markup)


async def send_export(
    update: Update, context: BotContext, chat_id: int, member: int, tr: Translation
) -> None:
    services = context.services
    page, total = await services.feedback.saved(chat_id, member, 0, MAX_EXPORT)
    if not total:
        await context.bot.send_message(chat_id, tr.gettext("Nothing saved yet, so nothing to export."))
        return
    papers = await services.papers.papers(item.arxiv_id for item in page)
    text = bibtex(papers[item.arxiv_id] for item in page if item.arxiv_id in papers)
    document = InputFile(text.encode(), filename="saved-papers.bib")
    caption = tr.ngettext("{count} saved paper as BibTeX", "{count} saved papers as BibTeX", len(papers))
    caption = caption.format(count=len(papers))
    await context.bot.send_document(chat_id, document, caption=caption)


async def ranking(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    tr = await translation_for(update, context)
    _ = tr.gettext
    argument = " ".join(context.args or []).strip().casefold()
    if argument == "reset":
        if await refused(update, context):
            return
        await services.feedback.reset(chat_id, services.clock())
        services.curation.forget(chat_id)
        await message.reply_text(
            _(
                "Ranking reset: this chat's model forgot what it learned from taps. "
                "Follows and saved papers stay; new taps teach it again."
            )
        )
        return
    if argument:
        await message.reply_text(
            _("Send /ranking to see how this chat's digest is ordered, or /ranking reset.")
        )
        return
    await message.reply_text(await describe(services, chat_id, tr))


async def describe(services: Services, chat_id: int, tr: Translation = ENGLISH) -> str:
    """How this chat's digest is ordered, for /ranking and /settings."""
    _ = tr.gettext
    follows = len(await services.follows.of_chat(chat_id))
    feedback = await services.feedback.of_chat(chat_id)
    labels = training_labels(
        (PaperFeedback(arxiv_id, votes, saves) for arxiv_id, votes, saves in feedback.papers), feedback.shown
    )
    positives = sum(labels.values())
    if positives >= MIN_POSITIVES:
        model = _("on: learned from {liked} liked or saved and {other} other papers").format(
            liked=positives, other=len(labels) - positives
        )
    else:
        model = _("off until {needed} papers are liked or saved ({liked} so far)").format(
            needed=MIN_POSITIVES, liked=positives
        )
    return "\n".join(
        (
            _("<b>How this chat's digest is ordered</b>"),
            _("1. Papers matching what the chat follows (/follows: {count}), marked ★").format(count=follows),
            _("2. Papers like the ones tapped 👍 or 🔖 — personal model {model}").format(model=escape(model)),
            _(
                "3. Then: submitted to your categories before cross-lists, liked by other readers, "
                "accepted at a venue, code available; ties in arXiv's order"
            ),
            _("👎 sends a paper down. /ranking reset forgets the model (follows and saved papers stay)."),
        )
    )


def handlers() -> list[BaseHandler]:
    return [
        command("saved", saved),
        command("ranking", ranking),
        CallbackQueryHandler(tap, pattern=Feedback.matches),
        CallbackQueryHandler(saved_button, pattern=SavedPage.matches),
    ]
