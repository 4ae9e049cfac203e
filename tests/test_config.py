import ssl
from pathlib import Path

import pytest

from bot import config
from bot.__main__ import main
from bot.config import ConfigError, load_settings, tls_context, trusts_openssl_defaults
from bot.log import redact, settings_secrets
from bot.push import transport
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
    assert settings.affiliation_wait == 600
    assert settings.arxiv_listing_url == "https://arxiv.org/list/"
    assert settings.broadcast_rate == 30
    assert settings.paid_broadcast is False
    assert settings.push_lease == 30
    assert settings.database_busy_timeout == 10
    assert settings.run_mode == "polling"
    assert settings.webhook_listen == ("127.0.0.1", 8443)
    assert (settings.webhook_url, settings.webhook_secret) == (None, None)
    assert settings.webhook_check_interval == 300


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


@pytest.mark.parametrize("contact", ["ops@example.org", "https://example.org/bot-contact"])
def test_an_arxiv_contact_is_an_address_or_a_page(contact):
    assert load_settings({"ARXIV_CONTACT": f" {contact} "}, env_file=None).arxiv_contact == contact
    assert load_settings({}, env_file=None).arxiv_contact is None


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
        ("PUSH_LEASE", "0.5", "expected at least 1 second"),
        ("DATABASE_BUSY_TIMEOUT", "forever", "expected seconds"),
        ("TELEGRAM_BOT_TOKEN", "not a token", "does not look like a bot token"),
        ("ARXIV_CONTACT", "call me", "expected an e-mail address or an http(s) URL"),
        ("ARXIV_CONTACT", "ftp://example.org", "expected an e-mail address or an http(s) URL"),
        ("ARXIV_PAGE_DELAY", "-1", "expected seconds"),
        ("RUN_MODE", "push", "expected polling or webhook"),
        ("WEBHOOK_URL", "http://bot.example.org/hook", "public https URL"),
        ("WEBHOOK_URL", "https://bot.example.org:9000/hook", "only to ports 443, 80, 88, 8443"),
        ("WEBHOOK_LISTEN", "8443", "expected host:port"),
        ("WEBHOOK_LISTEN", "127.0.0.1:70000", "expected host:port"),
        ("WEBHOOK_SECRET", "x" * 257, "1 to 256 characters"),
        ("WEBHOOK_CHECK_INTERVAL", "0.5", "expected at least 1 second"),
        ("WEBHOOK_CHECK_INTERVAL", "7200", "expected seconds between 0 and 3600"),
    ],
)
def test_malformed_values_name_the_variable(variable, value, problem):
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value}, env_file=None)
    assert str(caught.value).startswith(f"{variable}: ")
    assert problem in str(caught.value)


WEBHOOK = {
    "RUN_MODE": "Webhook",
    "WEBHOOK_URL": "https://bot.example.org:8443/telegram/updates",
    "WEBHOOK_LISTEN": "[::1]:9000",
    "WEBHOOK_SECRET": "s3cret_Value-1",
}


def test_webhook_mode_reads_its_url_listen_address_and_secret():
    settings = load_settings(WEBHOOK, env_file=None)
    assert settings.run_mode == "webhook"
    assert settings.webhook_url == "https://bot.example.org:8443/telegram/updates"
    assert settings.webhook_listen == ("::1", 9000)
    assert settings.webhook_secret == "s3cret_Value-1"
    assert "s3cret_Value-1" not in repr(settings)


@pytest.mark.parametrize("missing", ["WEBHOOK_URL", "WEBHOOK_SECRET"])
def test_webhook_mode_requires_its_url_and_secret(missing):
    with pytest.raises(ConfigError, match=rf"^{missing}: required with RUN_MODE=webhook"):
        load_settings({**WEBHOOK, missing: ""}, env_file=None)
    polling = load_settings({**WEBHOOK, "RUN_MODE": "polling", missing: ""}, env_file=None)
    assert polling.run_mode == "polling"


@pytest.mark.parametrize("secret", ["has space", "dots.are.not.allowed", "ünïcode"])
def test_a_malformed_webhook_secret_is_refused_without_being_quoted(secret):
    with pytest.raises(ConfigError, match=r"^WEBHOOK_SECRET: ") as caught:
        load_settings({**WEBHOOK, "WEBHOOK_SECRET": secret}, env_file=None)
    assert secret not in str(caught.value)


def test_the_webhook_secret_is_redacted_like_the_token():
    settings = load_settings({**WEBHOOK, "TELEGRAM_BOT_TOKEN": TEST_TOKEN}, env_file=None)
    line = redact(
        f"POST /telegram/updates secret=s3cret_Value-1 token={TEST_TOKEN}", settings_secrets(settings)
    )
    assert "s3cret_Value-1" not in line
    assert TEST_TOKEN.partition(":")[2] not in line


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


def test_passwords_in_the_listing_and_webhook_urls_are_redacted():
    settings = load_settings(
        {
            **WEBHOOK,
            "ARXIV_LISTING_URL": "https://reader:list-pass@mirror.example/list/",
            "WEBHOOK_URL": "https://hook:hook-pass@bot.example/telegram",
        },
        env_file=None,
    )
    line = redact(
        "fetched https://reader:list-pass@mirror.example/list/ for hook-pass", settings_secrets(settings)
    )
    assert "list-pass" not in line and "hook-pass" not in line


def test_the_password_of_any_url_is_redacted_and_the_rest_of_the_url_kept():
    line = redact(
        "posts to https://old:elsewhere-pass@old.example/hook, polls http://127.0.0.1:9/bot[TOKEN]/getMe",
        [],
    )
    assert line == "posts to https://old:[TOKEN]@old.example/hook, polls http://127.0.0.1:9/bot[TOKEN]/getMe"


def test_the_process_has_one_tls_context_and_it_verifies_servers():
    """Loading the certificate authorities costs tens of milliseconds: every HTTP client shares it."""
    context = tls_context()
    assert tls_context() is context
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0


NO_SYSTEM_BUNDLE = ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "/no.pem", "SSL_CERT_DIR", "/no")


@pytest.fixture
def fresh_tls_context():
    tls_context.cache_clear()
    yield
    tls_context.cache_clear()


def test_the_authorities_are_openssls_defaults_and_certifi_only_where_a_system_has_none(
    monkeypatch, fresh_tls_context
):
    import certifi

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if ssl.get_default_verify_paths().cafile:
        assert trusts_openssl_defaults()
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: NO_SYSTEM_BUNDLE)
    assert not trusts_openssl_defaults()
    bundled = ssl.create_default_context(cafile=certifi.where()).get_ca_certs()
    assert tls_context().get_ca_certs() == bundled
    monkeypatch.setenv("SSL_CERT_DIR", "/etc/ssl/certs")
    assert trusts_openssl_defaults()
    monkeypatch.delenv("SSL_CERT_DIR")
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert trusts_openssl_defaults()
    tls_context.cache_clear()
    assert tls_context().get_ca_certs() == bundled  # loaded by OpenSSL from SSL_CERT_FILE


async def test_aiohttp_connections_use_aiohttps_own_context_when_it_trusts_the_same_authorities(
    monkeypatch, fresh_tls_context
):
    """aiohttp loads OpenSSL's default authorities when imported: the push does not load them again."""
    made = []
    monkeypatch.setattr(transport, "tls_context", lambda: made.append(1) or config.tls_context())
    monkeypatch.setenv("SSL_CERT_FILE", ssl.get_default_verify_paths().openssl_cafile)
    request = transport.PushRequest(1)
    await request.initialize()
    await request.shutdown()
    assert made == []
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: NO_SYSTEM_BUNDLE)
    request = transport.PushRequest(1)
    await request.initialize()
    await request.shutdown()
    assert made == [1]
