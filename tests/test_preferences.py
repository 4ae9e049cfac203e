from datetime import time

import pytest

from bot.core.preferences import PreferenceError, parse_delivery_time, parse_digest_size, parse_timezone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:30", time(8, 30)),
        ("8:30", time(8, 30)),
        ("8.30", time(8, 30)),
        ("20h15", time(20, 15)),
        ("7am", time(7, 0)),
        ("7:30 pm", time(19, 30)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        ("23", time(23, 0)),
        ("now", None),
        ("NOW", None),
    ],
)
def test_delivery_times(text, expected):
    assert parse_delivery_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8:75", "13pm", "tomorrow", "", "🙂", "9" * 500])
def test_bad_delivery_times_explain_the_format(text):
    with pytest.raises(PreferenceError, match="/time 08:30"):
        parse_delivery_time(text)


def test_time_zones_are_matched_forgivingly_and_suggested():
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    assert parse_timezone("America/New York") == "America/New_York"
    with pytest.raises(PreferenceError, match="Did you mean Europe/Berlin"):
        parse_timezone("Europe/Berln")
    with pytest.raises(PreferenceError, match="Unknown time zone"):
        parse_timezone("x" * 500)


def test_digest_sizes():
    assert parse_digest_size("5") == 5
    assert parse_digest_size("ALL") == 0
    for bad in ["0", "51", "-3", "ten", ""]:
        with pytest.raises(PreferenceError):
            parse_digest_size(bad)


def test_a_size_of_thousands_of_digits_gets_the_usual_answer():
    with pytest.raises(PreferenceError, match="from 1 to 50"):
        parse_digest_size("9" * 5000)
