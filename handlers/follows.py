"""Following topics, authors and institutions: /follow, /follows (with remove buttons), /unfollow."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import RemoveFollow
from bot.core.follows import MAX_FOLLOWS, Follow, FollowError, FollowKind, meant_as, parse_follows
from bot.core.i18n import N_
from bot.curation import follows_from
from bot.locales import Translation
from bot.services import BotContext, Services
from handlers.access import refused, refused_press
from handlers.commands import command
from handlers.editing import edit_in_place, pressed
from handlers.i18n import translation_for

EXAMPLES = N_(
    'e.g. /follow "retrieval augmented generation", /follow RAG, /follow author:Leskovec, '
    '/follow inst:"Google DeepMind"'
)
STALE = N_("This button is out of date. Send /follows for a fresh list.")


def _argument(update: Update) -> str:
    text = update.effective_message.text or ""
    return text.partition(" ")[2] if text.startswith("/") else ""


async def listing(
    services: Services, chat_id: int, tr: Translation
) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = tr.gettext
    follows = follows_from(await services.follows.of_chat(chat_id))
    if not follows:
        return _("This chat follows no topic, author or institution yet: {examples}.").format(
            examples=escape(_(EXAMPLES))
        ), None
    heading = _("<b>This chat follows</b> ({count} of at most {limit})")
    lines = [heading.format(count=len(follows), limit=MAX_FOLLOWS)]
    lines += [f"★ {escape(follow.label)}" for follow in follows]
    lines.append("\n" + _("Followed papers come first in every digest. Tap one to stop following it."))
    buttons = [
        InlineKeyboardButton(f"✖ {follow.label[:40]}", callback_data=RemoveFollow(follow.id or 0).pack())
        for follow in follows
    ]
    return "\n".join(lines), InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def follow(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.effective_message
    argument = _argument(update)
    tr = await translation_for(update, context)
    _ = tr.gettext
    if not argument.strip():
        text, markup = await listing(services, update.effective_chat.id, tr)
        await message.reply_text(text, reply_markup=markup)
        return
    if await refused(update, context):
        return
    try:
        follows = parse_follows(argument)
    except FollowError as error:
        await message.reply_text(escape(tr.problem(error)))
        return
    added, already, full = await services.follows.add(
        update.effective_chat.id,
        [(item.kind.value, item.text, item.key) for item in follows],
        services.clock(),
        limit=MAX_FOLLOWS,
    )
    labels = {item.text: item.label for item in follows}

    def named(texts: list[str]) -> str:
        return escape(", ".join(labels[text] for text in texts))

    lines = []
    if added:
        lines.append(_("★ Following {names}.").format(names=named(added)))
        lines.append(_("Matching papers come first in your digests, marked with ★."))
        meant = [(item, person) for item in follows if item.text in added and (person := meant_as(item))]
        lines.extend(_hint(item, person, tr) for item, person in meant)
    if already:
        lines.append(_("Already following {names}.").format(names=named(already)))
    if full:
        lines.append(
            _(
                "Not added: {names}. A chat follows at most {limit} topics, authors and institutions; "
                "/follows lists them with remove buttons."
            ).format(names=named(full), limit=MAX_FOLLOWS)
        )
    await message.reply_text("\n".join(lines))


_MEANT = {
    FollowKind.AUTHOR: N_("“{text}” is followed as words. To follow the author, send /follow {command}"),
    FollowKind.INSTITUTION: N_(
        "“{text}” is followed as words. To follow the institution, send /follow {command}"
    ),
}


def _hint(follow: Follow, meant: Follow, tr: Translation) -> str:
    """For "author Yann LeCun", followed as words: the command that follows whom it seems to mean."""
    return escape(tr.gettext(_MEANT[meant.kind]).format(text=follow.text, command=meant.label))


async def unfollow(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.effective_message
    chat_id = update.effective_chat.id
    argument = _argument(update).strip()
    tr = await translation_for(update, context)
    _ = tr.gettext
    if not argument:
        text, markup = await listing(services, chat_id, tr)
        await message.reply_text(text, reply_markup=markup)
        return
    if await refused(update, context):
        return
    if argument.casefold() == "all":
        removed = await services.follows.remove_all(chat_id)
        await message.reply_text(
            tr.ngettext(
                "Stopped following {count} topic, author or institution.",
                "Stopped following {count} topics, authors and institutions.",
                removed,
            ).format(count=removed)
        )
        return
    try:
        follows = parse_follows(argument)
    except FollowError as error:
        await message.reply_text(escape(tr.problem(error)))
        return
    removed_texts = await services.follows.remove_keys(
        chat_id, [(item.kind.value, item.key) for item in follows]
    )
    if removed_texts:
        names = escape(", ".join(removed_texts))
        await message.reply_text(_("Stopped following {names}.").format(names=names))
    else:
        await message.reply_text(_("This chat did not follow that. /follows lists what it follows."))


async def show_follows(update: Update, context: BotContext) -> None:
    tr = await translation_for(update, context)
    text, markup = await listing(context.services, update.effective_chat.id, tr)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def remove(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    _ = tr.gettext
    button = await pressed(update, RemoveFollow, _(STALE))
    if button is None:
        return
    if await refused_press(update, context):
        return
    chat_id = update.effective_chat.id
    removed = await services.follows.remove(chat_id, button.follow_id)
    if removed is None:
        await query.answer(_(STALE))
    else:
        await query.answer(_("Stopped following {name}").format(name=removed.text[:60]))
    text, markup = await listing(services, chat_id, tr)
    await edit_in_place(query, text, reply_markup=markup)


def handlers() -> list[BaseHandler]:
    return [
        command("follow", follow),
        command("unfollow", unfollow),
        command("follows", show_follows),
        CallbackQueryHandler(remove, pattern=RemoveFollow.matches),
    ]
