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
from bot.core.render import affiliation_share
from bot.reading import latest_announcement
from bot.services import BotContext, Services
from handlers.commands import command
from handlers.editing import edit_in_place
from storage.db import database_size

PENDING_KEY = "pending_broadcasts"
NOT_OPERATOR = "This command is for the bot's operators."
MAX_BROADCAST = 4000


def is_admin(update: Update, services: Services) -> bool:
    user = update.effective_user
    return user is not None and user.id in services.settings.admin_ids


async def stats(update: Update, context: BotContext) -> None:
    services = context.services
    if not is_admin(update, services):
        await update.effective_message.reply_text(NOT_OPERATOR)
        return
    await update.effective_message.reply_text(await stats_text(services))


async def stats_text(services: Services) -> str:
    total, active = await services.chats.count()
    per_category = await services.subscriptions.counts_by_category()
    latest = await latest_announcement(services.papers, await services.subscriptions.active_categories())
    lines = [
        "<b>Bot statistics</b>",
        f"Chats: {total} ({active} active)",
        f"Latest announcement ingested: {latest or 'none yet'}",
        "<b>Subscriptions</b>",
    ]
    lines += [
        f"{escape(category(name).code)} ({escape(name)}): {count}" for name, count in per_category.items()
    ]
    if not per_category:
        lines.append("none yet")
    run = await services.push_runs.latest()
    if run is None:
        lines.append("<b>Last push</b>\nnone yet")
    else:
        summary = await services.ledger.summary(run.announced)
        lines.append(
            f"<b>Last push</b> ({run.announced}, planned {run.planned_at:%Y-%m-%d %H:%M} UTC)\n"
            f"{run.chats} chats, {run.messages} messages: {summary.sent} sent, {summary.pending} waiting, "
            f"{summary.claimed} sending, {summary.failed} failed"
        )
        if run.featured is not None:
            share = affiliation_share(run.featured, run.featured_with_affiliations or 0)
            lines.append(f"Featured papers with affiliations: {share}")
    size = await database_size(services.db)
    lines.append(
        f"<b>Database</b>\n{size.total / 1e6:.1f} MB, {size.free / 1e6:.1f} MB of it free for new rows;"
        f" sent messages kept {services.settings.ledger_retention_days} days"
    )
    return "\n".join(lines)


async def broadcast(update: Update, context: BotContext) -> None:
    services = context.services
    message = update.effective_message
    if not is_admin(update, services):
        await message.reply_text(NOT_OPERATOR)
        return
    text = message.text.partition(" ")[2].strip() if message.text else ""
    if not text:
        await message.reply_text(
            "Write the message after the command: /broadcast Maintenance tonight at 22:00 UTC."
        )
        return
    if len(text) > MAX_BROADCAST:
        await message.reply_text(
            f"That is {len(text)} characters; a broadcast holds at most {MAX_BROADCAST}."
        )
        return
    _, active = await services.chats.count()
    key = secrets.token_hex(6)
    context.bot_data.setdefault(PENDING_KEY, {})[key] = text
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"Send to {active} chats", callback_data=BroadcastChoice("send", key).pack()
                ),
                InlineKeyboardButton("Cancel", callback_data=BroadcastChoice("cancel", key).pack()),
            ]
        ]
    )
    await message.reply_text(f"<b>Broadcast preview</b>\n\n{escape(text)}", reply_markup=buttons)


async def confirm_broadcast(update: Update, context: BotContext) -> None:
    query = update.callback_query
    services = context.services
    if not is_admin(update, services):
        await query.answer(NOT_OPERATOR, show_alert=True)
        return
    button = BroadcastChoice.parse(query.data)
    text = context.bot_data.get(PENDING_KEY, {}).pop(button.key, None) if button else None
    if button is None or text is None:
        await query.answer("This broadcast is out of date.")
        return
    if button.action == "cancel":
        await query.answer("Cancelled")
        await edit_in_place(query, "Broadcast cancelled.")
        return
    await query.answer("Sending…")
    _, chats = await services.ledger.plan_broadcast(
        escape(text), update.effective_user.id, query.message.chat.id, services.clock()
    )
    services.push_soon()
    await edit_in_place(query, f"<b>Broadcast sending</b> to {chats} chats\n\n{escape(text)}")


def handlers() -> list[BaseHandler]:
    return [
        command("stats", stats),
        command("broadcast", broadcast),
        CallbackQueryHandler(confirm_broadcast, pattern=BroadcastChoice.matches),
    ]
