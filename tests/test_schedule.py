from datetime import UTC, date, datetime, timedelta

import pytest

from bot.arxiv.schedule import ARXIV_TZ, POLL_EVERY, due_announcement, next_poll, next_turnover


def eastern(year, month, day, hour, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=ARXIV_TZ)


# November 2026: Monday the 23rd ... Sunday the 29th; Thursday the 26th is a US holiday (Thanksgiving).
@pytest.mark.parametrize(
    ("now", "due"),
    [
        (eastern(2026, 11, 24, 9), date(2026, 11, 24)),  # Tuesday morning: Tuesday's feed
        (eastern(2026, 11, 24, 0, 1), date(2026, 11, 23)),  # just before the turnover: still Monday's
        (eastern(2026, 11, 28, 12), date(2026, 11, 27)),  # Saturday: Friday's
        (eastern(2026, 11, 29, 23), date(2026, 11, 27)),  # Sunday night: still Friday's
        (eastern(2026, 11, 30, 0, 10), date(2026, 11, 30)),  # Monday after the turnover
    ],
)
def test_due_announcement_follows_weekdays(now, due):
    assert due_announcement(now) == due


def test_due_announcement_accepts_any_time_zone():
    assert due_announcement(datetime(2026, 11, 24, 4, 30, tzinfo=UTC)) == date(2026, 11, 23)
    assert due_announcement(datetime(2026, 11, 24, 5, 30, tzinfo=UTC)) == date(2026, 11, 24)


def test_polls_until_the_new_announcement_appears_then_rests_until_the_next_turnover():
    now = eastern(2026, 11, 24, 0, 20)
    assert next_poll(now, latest_seen=date(2026, 11, 23)) == now + POLL_EVERY
    assert next_poll(now, latest_seen=date(2026, 11, 24)) == eastern(2026, 11, 25, 0, 5)


def test_friday_announcement_rests_over_the_weekend():
    now = eastern(2026, 11, 27, 1)
    assert next_poll(now, latest_seen=date(2026, 11, 27)) == eastern(2026, 11, 30, 0, 5)


def test_a_holiday_is_given_up_after_the_morning_and_the_next_day_polled():
    thanksgiving = date(2026, 11, 26)
    morning = eastern(2026, 11, 26, 3)
    assert next_poll(morning, latest_seen=date(2026, 11, 25)) == morning + POLL_EVERY
    afternoon = eastern(2026, 11, 26, 14)
    assert next_poll(afternoon, latest_seen=date(2026, 11, 25)) == eastern(2026, 11, 27, 0, 5)
    assert due_announcement(afternoon) == thanksgiving


def test_nothing_ingested_yet_polls_now_within_the_window():
    now = eastern(2026, 11, 24, 2)
    assert next_poll(now, latest_seen=None) == now + POLL_EVERY


def test_next_turnover_skips_the_weekend_and_handles_daylight_saving():
    assert next_turnover(eastern(2026, 11, 27, 0, 5)) == eastern(2026, 11, 30, 0, 5)
    before_dst_ends = eastern(2026, 10, 30, 12)
    turnover = next_turnover(before_dst_ends)
    assert turnover == eastern(2026, 11, 2, 0, 5)
    assert turnover.astimezone(UTC) - before_dst_ends.astimezone(UTC) == timedelta(
        days=2, hours=13, minutes=5
    )


def test_a_poll_that_left_work_undone_comes_back_soon_whatever_the_day():
    saturday = eastern(2026, 11, 28, 12)
    assert next_poll(saturday, latest_seen=date(2026, 11, 27), incomplete=True) == saturday + POLL_EVERY
