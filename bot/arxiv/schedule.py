"""arXiv's rhythm, as pure functions of an injected time.

arXiv announces Sunday to Thursday at 20:00 US Eastern; each announcement is dated with the next
weekday (Sunday evening's is Monday's). Its listing pages (`/list/<category>/new`) show it at
once, so the bot polls them from 20:00, every `POLL_SOON` for the first half hour, then every
`POLL_LATER`, and gives up for the day after `GIVE_UP_AFTER` (a holiday). The announcement feeds
turn over only shortly after midnight Eastern: one poll at that turnover reads them too, to
cross-check the listing pages and to stand in for any the bot could not read.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ARXIV_TZ = ZoneInfo("America/New_York")
ANNOUNCES_AT = time(20, 0)
TURNOVER = time(0, 5)
POLL_SOON = timedelta(minutes=2)
POLL_LATER = timedelta(minutes=10)
SOON_FOR = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(hours=8)


def _is_announcement_day(day: date) -> bool:
    return day.weekday() < 5


def announced_at(day: date) -> datetime:
    """When the announcement dated `day` (a weekday) comes out: 20:00 Eastern the evening before."""
    return datetime.combine(day - timedelta(days=1), ANNOUNCES_AT, ARXIV_TZ)


def turnover_at(day: date) -> datetime:
    """When the feeds show the announcement dated `day`."""
    return datetime.combine(day, TURNOVER, ARXIV_TZ)


def due_announcement(now: datetime) -> date:
    """The date of the newest announcement that should exist at `now` (holidays aside)."""
    local = now.astimezone(ARXIV_TZ)
    day = local.date()
    if local.time() >= ANNOUNCES_AT:
        day += timedelta(days=1)
    while not _is_announcement_day(day):
        day -= timedelta(days=1)
    return day


def next_announcement(now: datetime) -> datetime:
    day = due_announcement(now) + timedelta(days=1)
    while not _is_announcement_day(day):
        day += timedelta(days=1)
    return announced_at(day)


def reads_feeds(now: datetime) -> bool:
    """Whether a poll at `now` reads the feeds too: once they show the due announcement."""
    return now >= turnover_at(due_announcement(now))


def next_poll(now: datetime, latest_seen: date | None, *, incomplete: bool = False) -> datetime:
    """When to look at arXiv again, given the newest announcement already ingested.

    `incomplete`: the last poll left work undone (a page or the export API failed), so it comes
    back soon rather than at the next announcement, within the push's wait for affiliations.
    """
    if incomplete:
        return now + POLL_SOON
    due = due_announcement(now)
    since = now - announced_at(due)
    interval = POLL_SOON if since < SOON_FOR else POLL_LATER
    waiting = latest_seen is None or latest_seen < due
    if waiting and since < GIVE_UP_AFTER:
        return now + interval
    if now < turnover_at(due):
        return turnover_at(due)
    return next_announcement(now)
