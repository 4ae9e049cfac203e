from datetime import UTC, date, datetime, timedelta

import pytest

from bot.arxiv.schedule import (
    ARXIV_TZ,
    POLL_LATER,
    POLL_SOON,
    announced_at,
    due_announcement,
    next_announcement,
    next_poll,
    reads_feeds,
)


def eastern(year, month, day, hour, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=ARXIV_TZ)


# November 2026: Monday the 23rd ... Sunday the 29th; Thursday the 26th is a US holiday (Thanksgiving).
@pytest.mark.parametrize(
    ("now", "due"),
    [
        (eastern(2026, 11, 24, 9), date(2026, 11, 24)),  # Tuesday morning: Tuesday's, out Monday 20:00
        (eastern(2026, 11, 23, 19, 59), date(2026, 11, 23)),  # Monday just before 20:00: still Monday's
        (eastern(2026, 11, 23, 20, 0), date(2026, 11, 24)),  # Monday 20:00: Tuesday's is out
        (eastern(2026, 11, 27, 20, 30), date(2026, 11, 27)),  # Friday evening: no announcement
        (eastern(2026, 11, 28, 12), date(2026, 11, 27)),  # Saturday: Friday's
        (eastern(2026, 11, 29, 19), date(2026, 11, 27)),  # Sunday before 20:00: still Friday's
        (eastern(2026, 11, 29, 20, 1), date(2026, 11, 30)),  # Sunday 20:00: Monday's
    ],
)
def test_due_announcement_follows_the_evening_announcements(now, due):
    assert due_announcement(now) == due


def test_due_announcement_accepts_any_time_zone():
    # 20:00 Eastern is 01:00 UTC in November: 09:00 the next morning in Beijing.
    assert due_announcement(datetime(2026, 11, 24, 0, 59, tzinfo=UTC)) == date(2026, 11, 23)
    assert due_announcement(datetime(2026, 11, 24, 1, 0, tzinfo=UTC)) == date(2026, 11, 24)


def test_an_announcement_comes_out_the_evening_before_its_date():
    assert announced_at(date(2026, 11, 24)) == eastern(2026, 11, 23, 20)
    assert announced_at(date(2026, 11, 30)) == eastern(2026, 11, 29, 20)  # Monday's, on Sunday


def test_polls_often_from_20_00_until_the_announcement_appears():
    at_eight = eastern(2026, 11, 23, 20)
    assert next_poll(at_eight, latest_seen=date(2026, 11, 23)) == at_eight + POLL_SOON
    later = eastern(2026, 11, 23, 21)
    assert next_poll(later, latest_seen=date(2026, 11, 23)) == later + POLL_LATER


def test_once_seen_the_next_poll_is_the_feeds_turnover_then_the_next_evening():
    seen = eastern(2026, 11, 23, 20, 2)
    assert next_poll(seen, latest_seen=date(2026, 11, 24)) == eastern(2026, 11, 24, 0, 5)
    turnover = eastern(2026, 11, 24, 0, 5)
    assert next_poll(turnover, latest_seen=date(2026, 11, 24)) == eastern(2026, 11, 24, 20)


def test_the_feeds_are_read_from_their_turnover_until_the_next_announcement():
    assert not reads_feeds(eastern(2026, 11, 23, 20, 2))
    assert not reads_feeds(eastern(2026, 11, 24, 0, 4))
    assert reads_feeds(eastern(2026, 11, 24, 0, 5))
    assert reads_feeds(eastern(2026, 11, 24, 19, 59))
    assert not reads_feeds(eastern(2026, 11, 24, 20))


def test_friday_announcement_rests_over_the_weekend():
    now = eastern(2026, 11, 27, 1)
    assert next_poll(now, latest_seen=date(2026, 11, 27)) == eastern(2026, 11, 29, 20)
    assert next_announcement(eastern(2026, 11, 26, 20, 1)) == eastern(2026, 11, 29, 20)


def test_a_holiday_is_given_up_after_the_night_and_the_next_evening_polled():
    thanksgiving = date(2026, 11, 26)
    night = eastern(2026, 11, 26, 3)
    assert next_poll(night, latest_seen=date(2026, 11, 25)) == night + POLL_LATER
    morning = eastern(2026, 11, 26, 4, 30)
    assert next_poll(morning, latest_seen=date(2026, 11, 25)) == eastern(2026, 11, 26, 20)
    assert due_announcement(morning) == thanksgiving


def test_nothing_ingested_yet_polls_within_the_window():
    now = eastern(2026, 11, 24, 2)
    assert next_poll(now, latest_seen=None) == now + POLL_LATER


def test_daylight_saving_moves_the_announcement_in_utc():
    before = announced_at(date(2026, 10, 30))  # Thursday evening, daylight time
    after = announced_at(date(2026, 11, 2))  # Sunday evening, standard time
    assert before.astimezone(UTC).hour == 0 and after.astimezone(UTC).hour == 1


def test_a_poll_that_left_work_undone_comes_back_soon_whatever_the_day():
    saturday = eastern(2026, 11, 28, 12)
    assert next_poll(saturday, latest_seen=date(2026, 11, 27), incomplete=True) == saturday + POLL_SOON
    evening = eastern(2026, 11, 29, 20, 3)
    assert next_poll(evening, latest_seen=date(2026, 11, 30), incomplete=True) == evening + POLL_SOON


def test_next_announcement_skips_to_sunday_evening_across_the_end_of_daylight_time():
    friday_night = eastern(2026, 10, 30, 21)
    sunday = next_announcement(friday_night)
    assert sunday == eastern(2026, 11, 1, 20)
    assert sunday.astimezone(UTC) - friday_night.astimezone(UTC) == timedelta(hours=48)
