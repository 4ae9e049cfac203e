"""Which announcement a user means: `2026-08-20`, `today`, `yesterday`, `mon` … `sun`. Pure."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.i18n import N_, Problem

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MAX_SHOWN = 40


class DayError(Problem):
    """Text that names no announcement day."""


def parse_day(text: str, today: date) -> date:
    """The day `text` names, seen from `today` (the chat's own date): an ISO date, `today`,
    `yesterday`, or a weekday (its latest occurrence, today included)."""
    cleaned = text.strip().casefold()
    if cleaned == "today":
        return today
    if cleaned == "yesterday":
        return today - timedelta(days=1)
    if len(cleaned) >= 3:
        for number, name in enumerate(_WEEKDAYS):
            if name.startswith(cleaned):
                return today - timedelta(days=(today.weekday() - number) % 7)
    try:
        return date.fromisoformat(cleaned)
    except ValueError:
        shown = text.strip() if len(text.strip()) <= _MAX_SHOWN else text.strip()[:_MAX_SHOWN] + "…"
        raise DayError(
            N_("“{shown}” is not a day. Try a date like 2026-08-20, or yesterday, or mon … fri."), shown=shown
        ) from None


def is_page_number(text: str) -> bool:
    """`3` is a page; `2026-08-20` and `20260820` are not."""
    return text.isdecimal() and len(text) <= 4
