"""Paper lookup: /paper 2205.11728, and arXiv ids or links pasted in a private chat (or sent with a
mention of the bot in a group) get the paper's full entry, from storage or through the export API.

Other text in a private chat gets a one-line hint. The export API takes one request every few
seconds for everyone, so a lookup that has to wait its turn says so first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.arxiv.http import ArxivError
from bot.core.i18n import N_
from bot.core.references import PaperRef, find_papers
from bot.core.render import render_paper
from bot.locales import Translation
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.i18n import translation_for

MAX_PAPERS = 3  # looked up per message; more wait for the next one
NOTICE_FROM = 2.0  # seconds of expected wait from which the chat is told first
HINT = N_(
    "Send /today for the latest papers, /search and some words to search arXiv, or paste an arXiv "
    "link or id. /help lists everything."
)
NOT_AN_ID = N_(
    "“{shown}” is not an arXiv id. Ids look like 2205.11728 or hep-th/9901001; links like "
    "arxiv.org/abs/2205.11728."
)
OTHER_SITE = N_(
    "That link is not on arxiv.org. I look up arXiv papers by id (2205.11728) or by their arxiv.org link."
)
NO_PAPER_LINK = N_("That arXiv link names no paper. Paste a paper's link (arxiv.org/abs/…) or its id.")
UNREACHABLE = N_(
    "arXiv could not be reached just now, so {id} could not be looked up. Try again in a minute."
)
NOT_ON_ARXIV = N_("arXiv has no paper {id}. Check the number: new ids look like 2205.11728.")


async def _reply(message: Message, text: str, notice: Message | None) -> None:
    if notice is None:
        await message.reply_text(text)
    else:
        await notice.edit_text(text)


def wait_notice(services: Services, what: str, tr: Translation) -> str | None:
    """What to tell a chat whose request to the export API has to wait its turn, if long enough;
    `what` is the translated beginning ("Searching")."""
    wait = services.arxiv.api.expected_wait()
    if wait < NOTICE_FROM:
        return None
    return tr.gettext(
        "{what} on arXiv, which answers one request every {delay} seconds: about {wait} seconds…"
    ).format(what=what, delay=f"{services.settings.arxiv_request_delay:g}", wait=math.ceil(wait))


async def _answer(message: Message, services: Services, ref: PaperRef, tr: Translation) -> None:
    """One paper's full entry, looked up on arXiv when it is not stored (and stored then)."""
    _ = tr.gettext
    paper = await services.papers.paper(ref.arxiv_id)
    notice = None
    if paper is None:
        waiting = wait_notice(services, _("Looking up {id}").format(id=escape(ref.arxiv_id)), tr)
        if waiting is not None:
            notice = await message.reply_text(waiting)
        try:
            batch = await services.arxiv.api.fetch([ref.arxiv_id])
        except ArxivError:
            await _reply(message, escape(_(UNREACHABLE).format(id=ref.arxiv_id)), notice)
            return
        if not batch.papers:
            await _reply(message, escape(_(NOT_ON_ARXIV).format(id=ref.arxiv_id)), notice)
            return
        await services.papers.store_metadata(batch.papers)
        paper = batch.papers[0]
    generated = await services.texts.accepted([paper.arxiv_id], tr.language.value)
    text = render_paper(paper, words=tr.digest_words(), generated=generated.get(paper.arxiv_id))
    if ref.version is not None and ref.version != paper.version:
        asked = _("You asked for v{asked}; this is v{latest}, the latest.").format(
            asked=ref.version, latest=paper.version
        )
        text = f"<i>{asked}</i>\n{text}"
    await _reply(message, text, notice)


async def answer_papers(
    message: Message, services: Services, refs: Sequence[PaperRef], tr: Translation
) -> None:
    for ref in refs[:MAX_PAPERS]:
        await _answer(message, services, ref, tr)
    if len(refs) > MAX_PAPERS:
        more = len(refs) - MAX_PAPERS
        await message.reply_text(
            tr.ngettext(
                "…and {count} more: send it in another message.",
                "…and {count} more: send them in another message.",
                more,
            ).format(count=more)
        )


async def paper(update: Update, context: BotContext) -> None:
    message = update.effective_message
    tr = await translation_for(update, context)
    _ = tr.gettext
    argument = " ".join(context.args or [])
    if not argument:
        await message.reply_text(_("Which paper? Send e.g. /paper 2205.11728, or paste an arXiv link."))
        return
    found = find_papers(argument)
    if found.papers:
        await answer_papers(message, context.services, found.papers, tr)
    elif found.other_links:
        await message.reply_text(escape(_(OTHER_SITE)))
    else:
        shown = argument if len(argument) <= 40 else argument[:40] + "…"
        await message.reply_text(escape(_(NOT_AN_ID).format(shown=shown)))


def _addressed(message: Message, username: str) -> bool:
    """A group message for the bot: it mentions @username."""
    mentions = message.parse_entities([MessageEntity.MENTION])
    return any(text.casefold() == f"@{username}".casefold() for text in mentions.values())


async def pasted(update: Update, context: BotContext) -> None:
    """Text that is no command: papers it names, else a hint (private chats, or groups when addressed)."""
    message = update.effective_message
    private = update.effective_chat.type == ChatType.PRIVATE
    if not private and not _addressed(message, context.bot.username):
        return
    tr = await translation_for(update, context)
    _ = tr.gettext
    found = find_papers(message.text or "")
    if found.papers:
        await answer_papers(message, context.services, found.papers, tr)
    elif found.other_links:
        await message.reply_text(escape(_(OTHER_SITE)))
    elif found.arxiv_links_unread:
        await message.reply_text(escape(_(NO_PAPER_LINK)))
    else:
        await message.reply_text(_(HINT))


def handlers() -> list[BaseHandler]:
    return [
        command("paper", paper),
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, pasted),
    ]
