"""Earlier announcements: which stored one a day names, seen from the chat's own date, and a clear
answer with the nearest stored days (as buttons) when none is stored for it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.callbacks import ButtonData
from bot.core.i18n import N_
from bot.core.preferences import chat_zone
from bot.locales import ENGLISH, Translation
from bot.services import Services

NOTHING_YET = N_(
    "No arXiv announcement is stored yet for {what}. arXiv announces Sunday to Thursday at 20:00 "
    "US Eastern, and the bot reads it then; try again after that."
)
NOT_READ = N_(
    "The bot reads only categories someone follows, and nobody follows {name} yet. "
    "Send /subscribe {label} and it is read at once."
)


async def chat_today(services: Services, chat_id: int) -> date:
    """Today in the chat's time zone (or the bot's default): what `yesterday` and `mon` count from."""
    zone = chat_zone((await services.chats.settings(chat_id)).timezone, services.settings.timezone)
    return services.clock().astimezone(zone).date()


async def missing_day(
    services: Services,
    categories: Sequence[str],
    day: date,
    today: date,
    what: str,
    button_for: Callable[[date], ButtonData],
    tr: Translation = ENGLISH,
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """None when `day`'s announcement is stored for `categories`; else what to answer instead:
    the nearest stored days, a day still to come, or where the history starts. `what` names the
    categories in the chat's language ("your categories", a category's name)."""
    _ = tr.gettext
    if await services.papers.is_announced(categories, day):
        return None
    before, after = await services.papers.nearest_announcements(categories, day)
    shown = tr.date(day)
    if before is None and after is None:
        return escape(_(NOTHING_YET).format(what=what)), None
    if day > today:
        text = _("{day} is still to come.").format(day=shown)
    elif before is None:
        text = _("No announcement is stored for {day}: this bot's history of {what} starts later.").format(
            day=shown, what=escape(what)
        )
    elif day.weekday() >= 5:
        text = _("No announcement of {what} is stored for {day} (arXiv announces Monday to Friday).").format(
            what=escape(what), day=shown
        )
    else:
        text = _("No announcement of {what} is stored for {day}.").format(what=escape(what), day=shown)
    nearest = [found for found in (before, after) if found is not None]
    days = _(", ").join(tr.date(found) for found in nearest)
    text = _("{sentence} Nearest: {days}.").format(sentence=text, days=days)
    buttons = [
        InlineKeyboardButton(tr.date(found), callback_data=button_for(found).pack()) for found in nearest
    ]
    return text, InlineKeyboardMarkup([buttons])
