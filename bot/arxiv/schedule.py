"""arXiv's rhythm, as pure functions of an injected time.

arXiv announces Sunday to Thursday at 20:00 US Eastern; the announcement feed turns over shortly
after midnight Eastern and is dated with that weekday (Monday to Friday). Saturdays, Sundays and
holidays bring no new feed. So the bot polls from each weekday's turnover until the new
announcement appears, gives up for the day after `GIVE_UP_AFTER` (a holiday), and otherwise rests
until the next turnover.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ARXIV_TZ = ZoneInfo("America/New_York")
TURNOVER = time(0, 5)
POLL_EVERY = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=8)


def _is_announcement_day(day: date) -> bool:
    return day.weekday() < 5


def turnover_at(day: date) -> datetime:
    return datetime.combine(day, TURNOVER, ARXIV_TZ)


def due_announcement(now: datetime) -> date:
    """The date of the newest announcement that should exist at `now` (holidays aside)."""
    day = now.astimezone(ARXIV_TZ).date()
    if now < turnover_at(day):
        day -= timedelta(days=1)
    while not _is_announcement_day(day):
        day -= timedelta(days=1)
    return day


def next_turnover(now: datetime) -> datetime:
    day = now.astimezone(ARXIV_TZ).date()
    while turnover_at(day) <= now or not _is_announcement_day(day):
        day += timedelta(days=1)
    return turnover_at(day)


def next_poll(now: datetime, latest_seen: date | None, *, incomplete: bool = False) -> datetime:
    """When to look at the feed again, given the newest announcement already ingested.

    `incomplete`: the last poll left work undone (a feed or the export API failed), so it comes
    back soon rather than at the next turnover, in time for the day's push.
    """
    if incomplete:
        return now + POLL_EVERY
    due = due_announcement(now)
    waiting = latest_seen is None or latest_seen < due
    if waiting and now < turnover_at(due) + GIVE_UP_AFTER:
        return now + POLL_EVERY
    return next_turnover(now)
