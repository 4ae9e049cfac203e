"""Operator commands, only for ADMIN_IDS: /stats and /broadcast (with confirmation).

A confirmed broadcast is planned into the delivery ledger, one message per active chat, and sent by
the push: within BROADCAST_RATE, resumed after a crash or restart, chats that are gone deactivated.
The operator is told the outcome once every chat's message went out or was given up on.
"""

from __future__ import annotations

import secrets
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.callbacks import BroadcastChoice
from bot.core.categories import category
from bot.core.i18n import N_
from bot.core.render import affiliation_share
from bot.locales import Translation
from bot.reading import latest_announcement
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.editing import edit_in_place
from handlers.i18n import translation_for
from storage.db import database_size

PENDING_KEY = "pending_broadcasts"
NOT_OPERATOR = N_("This command is for the bot's operators.")
MAX_BROADCAST = 4000


def is_admin(update: Update, services: Services) -> bool:
    user = update.effective_user
    return user is not None and user.id in services.settings.admin_ids


async def stats(update: Update, context: BotContext) -> None:
    services = context.services
    tr = await translation_for(update, context)
    if not is_admin(update, services):
        await update.effective_message.reply_text(tr.gettext(NOT_OPERATOR))
        return
    await update.effective_message.reply_text(await stats_text(services, tr))


async def stats_text(services: Services, tr: Translation) -> str:
    _ = tr.gettext
    total, active = await services.chats.count()
    per_category = await services.subscriptions.counts_by_category()
    latest = await latest_announcement(services.papers, await services.subscriptions.active_categories())
    lines = [
        _("<b>Bot statistics</b>"),
        _("Chats: {total} ({active} active)").format(total=total, active=active),
        _("Latest announcement ingested: {day}").format(day=latest or _("none yet")),
        _("<b>Subscriptions</b>"),
    ]
    lines += [
        f"{escape(category(name).code)} ({escape(name)}): {count}" for name, count in per_category.items()
    ]
    if not per_category:
        lines.append(_("none yet"))
    run = await services.push_runs.latest()
    if run is None:
        lines.append(_("<b>Last push</b>") + "\n" + _("none yet"))
    else:
        summary = await services.ledger.summary(run.announced)
        heading = _("<b>Last push</b> ({day}, planned {planned} UTC)").format(
            day=run.announced, planned=f"{run.planned_at:%Y-%m-%d %H:%M}"
        )
        counts = _(
            "{chats} chats, {messages} messages: {sent} sent, {pending} waiting, {claimed} sending, "
            "{failed} failed"
        ).format(
            chats=run.chats,
            messages=run.messages,
            sent=summary.sent,
            pending=summary.pending,
            claimed=summary.claimed,
            failed=summary.failed,
        )
        lines.append(f"{heading}\n{counts}")
        if run.featured is not None:
            share = affiliation_share(run.featured, run.featured_with_affiliations or 0)
            lines.append(_("Featured papers with affiliations: {share}").format(share=share))
    size = await database_size(services.db)
    lines.append(
        _("<b>Database</b>")
        + "\n"
        + _("{total} MB, {free} MB of it free for new rows; sent messages kept {days} days").format(
            total=f"{size.total / 1e6:.1f}",
            free=f"{size.free / 1e6:.1f}",
            days=services.settings.ledger_retention_days,
        )
    )
    return "\n".join(lines)


async def broadcast(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.effective_message
    tr = await translation_for(update, context)
    _ = tr.gettext
    if not is_admin(update, services):
        await message.reply_text(_(NOT_OPERATOR))
        return
    text = message.text.partition(" ")[2].strip() if message.text else ""
    if not text:
        await message.reply_text(
            _("Write the message after the command: /broadcast Maintenance tonight at 22:00 UTC.")
        )
        return
    if len(text) > MAX_BROADCAST:
        await message.reply_text(
            _("That is {length} characters; a broadcast holds at most {most}.").format(
                length=len(text), most=MAX_BROADCAST
            )
        )
        return
    active = (await services.chats.count())[1]
    key = secrets.token_hex(6)
    context.bot_data.setdefault(PENDING_KEY, {})[key] = text
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr.ngettext("Send to {count} chat", "Send to {count} chats", active).format(count=active),
                    callback_data=BroadcastChoice("send", key).pack(),
                ),
                InlineKeyboardButton(_("Cancel"), callback_data=BroadcastChoice("cancel", key).pack()),
            ]
        ]
    )
    await message.reply_text(_("<b>Broadcast preview</b>") + f"\n\n{escape(text)}", reply_markup=buttons)


async def confirm_broadcast(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    tr = await translation_for(update, context)
    _ = tr.gettext
    if not is_admin(update, services):
        await query.answer(_(NOT_OPERATOR), show_alert=True)
        return
    button = BroadcastChoice.parse(query.data)
    text = context.bot_data.get(PENDING_KEY, {}).pop(button.key, None) if button else None
    if button is None or text is None:
        await query.answer(_("This broadcast is out of date."))
        return
    if button.action == "cancel":
        await query.answer(_("Cancelled"))
        await edit_in_place(query, _("Broadcast cancelled."))
        return
    await query.answer(_("Sending…"))
    chats = (
        await services.ledger.plan_broadcast(
            escape(text), update.effective_user.id, query.message.chat.id, services.clock()
        )
    )[1]
    services.push_soon()
    sending = tr.ngettext(
        "<b>Broadcast sending</b> to {count} chat", "<b>Broadcast sending</b> to {count} chats", chats
    ).format(count=chats)
    await edit_in_place(query, f"{sending}\n\n{escape(text)}")


def handlers() -> list[BaseHandler]:
    return [
        command("stats", stats),
        command("broadcast", broadcast),
        CallbackQueryHandler(confirm_broadcast, pattern=BroadcastChoice.matches),
    ]
