from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_settings
from tests.support import TEST_TOKEN


def test_defaults_follow_the_documented_contract():
    settings = load_settings({}, env_file=None)
    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.arxiv_feed_url == "https://rss.arxiv.org/atom/"
    assert settings.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert settings.arxiv_html_url == "https://arxiv.org/html/"
    assert settings.arxiv_request_delay == 3
    assert settings.arxiv_retries == 4
    assert {"cs.LG", "cs.CV", "cs.CL", "eess.AS", "cs.RO", "cs.IR"} <= set(settings.categories)
    assert settings.timezone.key == "UTC"
    assert settings.admin_ids == frozenset()
    assert settings.log_level == "INFO"
    assert settings.affiliation_wait == 900
    assert settings.broadcast_rate == 30
    assert settings.paid_broadcast is False


def test_paid_broadcast_lifts_the_rate_ceiling():
    settings = load_settings({"BROADCAST_RATE": "800", "PAID_BROADCAST": "yes"}, env_file=None)
    assert (settings.broadcast_rate, settings.paid_broadcast) == (800, True)
    with pytest.raises(ConfigError, match=r"^BROADCAST_RATE: .*PAID_BROADCAST=true"):
        load_settings({"BROADCAST_RATE": "800"}, env_file=None)


def test_values_are_parsed_forgivingly():
    settings = load_settings(
        {
            "CATEGORIES": "IR, cs.lg  AS,IR",
            "ADMIN_IDS": "1, 22",
            "LOG_LEVEL": "debug",
            "TIMEZONE": "Asia/Shanghai",
        },
        env_file=None,
    )
    assert settings.categories == ("cs.IR", "cs.LG", "eess.AS")
    assert settings.admin_ids == {1, 22}
    assert settings.log_level == "DEBUG"
    assert settings.timezone.key == "Asia/Shanghai"


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ARXIV_REQUEST_DELAY=5\nLOG_LEVEL=WARNING\n")
    settings = load_settings({"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.arxiv_request_delay == 5
    assert settings.log_level == "ERROR"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("ARXIV_REQUEST_DELAY", "soon", "expected seconds"),
        ("ARXIV_REQUEST_DELAY", "-1", "expected seconds"),
        ("TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("CATEGORIES", "IR, quantum-gravity", "Unknown category"),
        ("ADMIN_IDS", "12,alice", "expected Telegram user ids"),
        ("ARXIV_API_URL", "ftp://example.org", "http(s) URL"),
        ("LOG_LEVEL", "LOUD", "expected DEBUG"),
        ("AFFILIATION_WAIT", "-5", "expected seconds"),
        ("ARXIV_RETRIES", "0", "expected a whole number of attempts"),
        ("BROADCAST_RATE", "0", "expected messages per second"),
        ("BROADCAST_RATE", "5000", "expected messages per second"),
        ("PAID_BROADCAST", "maybe", "expected true or false"),
        ("TELEGRAM_BOT_TOKEN", "not a token", "does not look like a bot token"),
    ],
)
def test_malformed_values_name_the_variable(variable, value, problem):
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value}, env_file=None)
    assert str(caught.value).startswith(f"{variable}: ")
    assert problem in str(caught.value)


def test_token_is_kept_out_of_the_settings_repr():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TEST_TOKEN}, env_file=None)
    assert TEST_TOKEN not in repr(settings)


def test_cli_exits_2_with_one_line_when_the_token_is_missing(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: TELEGRAM_BOT_TOKEN: not set")


def test_cli_exits_2_on_a_malformed_setting(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARXIV_REQUEST_DELAY", "fast")
    assert main(["run"]) == 2
    assert capsys.readouterr().err.startswith("error: ARXIV_REQUEST_DELAY: ")
