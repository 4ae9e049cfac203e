"""Settings from the environment and an optional `.env` file, validated in one place.

Every problem becomes a `ConfigError` naming the variable, which the CLI prints as one line and
exits 2: a misconfigured bot should say what to fix, not show a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram.constants import SUPPORTED_WEBHOOK_PORTS, FloodLimit

from bot.core.categories import DEFAULT_CATEGORIES, CategoryError, parse_category

T = TypeVar("T")

FREE_BROADCAST_RATE = float(FloodLimit.MESSAGES_PER_SECOND)
PAID_BROADCAST_RATE = float(FloodLimit.PAID_MESSAGES_PER_SECOND)
RUN_MODES = ("polling", "webhook")


class ConfigError(Exception):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None = field(repr=False)
    telegram_api_base_url: str
    database_path: Path
    arxiv_feed_url: str
    arxiv_api_url: str
    arxiv_html_url: str
    arxiv_request_delay: float
    arxiv_retries: int
    categories: tuple[str, ...]
    timezone: ZoneInfo
    admin_ids: frozenset[int]
    log_level: str
    affiliation_wait: float = 600.0
    broadcast_rate: float = 30.0
    paid_broadcast: bool = False
    push_lease: float = 30.0
    ledger_retention_days: int = 30
    database_busy_timeout: float = 10.0
    arxiv_page_delay: float = 0.0  # at least this between arxiv.org pages; robots.txt's crawl delay wins
    arxiv_contact: str | None = None  # e-mail or URL in the User-Agent, so arXiv can reach the operator
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    llm_daily_budget: int = 500
    llm_timeout: float = 30.0
    run_mode: str = "polling"  # how updates arrive: long polling, or Telegram posting to WEBHOOK_URL
    webhook_url: str | None = None
    webhook_listen: tuple[str, int] = ("127.0.0.1", 8443)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_check_interval: float = 300.0  # seconds between the webhook bot's getWebhookInfo checks
    database_url: str | None = field(default=None, repr=False)  # PostgreSQL instead of DATABASE_PATH

    @property
    def database(self) -> Path | str:
        """Where the data lives: the PostgreSQL URL when one is set, otherwise the SQLite file."""
        return self.database_url or self.database_path

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    arxiv_listing_url: str = "https://arxiv.org/list/"

    def require_token(self) -> str:
        """The token, for commands that talk to Telegram; absent it is a configuration error."""
        if not self.telegram_bot_token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN",
                "not set; get a token from @BotFather and put it in the environment or .env",
            )
        return self.telegram_bot_token


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value


def _token(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    bot_id, _, secret = value.partition(":")
    if not bot_id.isdigit() or len(secret) < 20 or any(c.isspace() or c == "/" for c in secret):
        raise ValueError("does not look like a bot token (expected 123456:ABC-DEF..., from @BotFather)")
    return value


def _seconds_up_to(limit: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            seconds = float(value)
        except ValueError:
            seconds = float("nan")
        if not 0 <= seconds <= limit:
            raise ValueError(f"expected seconds between 0 and {limit:g}, got {value!r}")
        return seconds

    return parse


_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def _contact(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if _EMAIL.fullmatch(value) or (urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc):
        return value
    raise ValueError(f"expected an e-mail address or an http(s) URL where arXiv can reach you, got {value!r}")


def _attempts(value: str) -> int:
    if not value.isdecimal() or not 1 <= int(value) <= 10:
        raise ValueError(f"expected a whole number of attempts from 1 to 10, got {value!r}")
    return int(value)


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = float("nan")
    if not 0 < rate <= PAID_BROADCAST_RATE:
        raise ValueError(
            f"expected messages per second above 0 and at most {PAID_BROADCAST_RATE:g}, got {value!r}"
        )
    return rate


def _a_second_up_to(limit: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        seconds = _seconds_up_to(limit)(value)
        if seconds < 1:
            raise ValueError(f"expected at least 1 second, got {value!r}")
        return seconds

    return parse


def _flag(value: str) -> bool:
    folded = value.strip().casefold()
    if folded in ("1", "true", "yes", "on"):
        return True
    if folded in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _categories(value: str) -> tuple[str, ...]:
    names: list[str] = []
    for item in value.replace(",", " ").split():
        try:
            name = parse_category(item).name
        except CategoryError as error:
            raise ValueError(str(error)) from None
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError("lists no category")
    return tuple(names)


def _timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None


def _admin_ids(value: str) -> frozenset[int]:
    ids = set()
    for item in value.replace(",", " ").split():
        if not item.lstrip("-").isdigit():
            raise ValueError(f"expected Telegram user ids separated by commas, got {item!r}")
        ids.add(int(item))
    return frozenset(ids)


def _optional_url(value: str) -> str | None:
    return _url(value) if value else None


def _optional(value: str) -> str | None:
    return value or None


def _budget(value: str) -> int:
    if not value.isdecimal() or len(value) > 7:
        raise ValueError(f"expected a whole number of requests a day, got {value!r}")
    return int(value)


def _retention_days(value: str) -> int:
    if not value.isdecimal() or not 1 <= int(value) <= 3650:
        raise ValueError(f"expected a whole number of days from 1 to 3650, got {value!r}")
    return int(value)


def _run_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in RUN_MODES:
        raise ValueError(f"expected polling or webhook, got {value!r}")
    return mode


def _webhook_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"expected the public https URL Telegram posts updates to, got {value!r}")
    try:
        port = parts.port or 443
    except ValueError:
        port = 0
    if port not in SUPPORTED_WEBHOOK_PORTS:
        ports = ", ".join(map(str, SUPPORTED_WEBHOOK_PORTS))
        raise ValueError(f"Telegram posts only to ports {ports}, got {value!r}")
    return value


def _listen(value: str) -> tuple[str, int]:
    """host:port to bind; an IPv6 host in brackets ([::1]:8443)."""
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdecimal() or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected host:port to listen on, such as 127.0.0.1:8443, got {value!r}")
    return host, int(port)


def _database_url(value: str) -> str | None:
    if not value:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("expected a postgresql://user:password@host:port/database URL (unset: SQLite)")
    return value


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook_secret(value: str) -> str | None:
    if not value:
        return None
    if not _WEBHOOK_SECRET.fullmatch(value):
        # Never quote the value: it is a secret, and this line goes to the terminal and the journal.
        raise ValueError("expected 1 to 256 characters, each A-Z, a-z, 0-9, _ or - (Telegram's rule)")
    return value


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"expected DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return level


def _read(env: Mapping[str, str], name: str, default: str, parse: Callable[[str], T]) -> T:
    raw = env.get(name)
    value = default if raw is None or raw.strip() == "" else raw.strip()
    try:
        return parse(value)
    except ValueError as error:
        raise ConfigError(name, str(error)) from None


def load_settings(env: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Read settings from `env` (default: the process environment) over the `.env` file."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        from dotenv import dotenv_values  # only where a .env file is used

        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ if env is None else env)
    settings = Settings(
        telegram_bot_token=_read(merged, "TELEGRAM_BOT_TOKEN", "", _token),
        telegram_api_base_url=_read(merged, "TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot", _url),
        database_path=_read(merged, "DATABASE_PATH", "data/bot.sqlite3", Path),
        database_url=_read(merged, "DATABASE_URL", "", _database_url),
        arxiv_feed_url=_read(merged, "ARXIV_FEED_URL", "https://rss.arxiv.org/atom/", _url),
        arxiv_api_url=_read(merged, "ARXIV_API_URL", "https://export.arxiv.org/api/query", _url),
        arxiv_html_url=_read(merged, "ARXIV_HTML_URL", "https://arxiv.org/html/", _url),
        arxiv_request_delay=_read(merged, "ARXIV_REQUEST_DELAY", "3", _seconds_up_to(60)),
        arxiv_retries=_read(merged, "ARXIV_RETRIES", "4", _attempts),
        categories=_read(merged, "CATEGORIES", ",".join(DEFAULT_CATEGORIES), _categories),
        timezone=_read(merged, "TIMEZONE", "UTC", _timezone),
        admin_ids=_read(merged, "ADMIN_IDS", "", _admin_ids),
        log_level=_read(merged, "LOG_LEVEL", "INFO", _log_level),
        affiliation_wait=_read(merged, "AFFILIATION_WAIT", "600", _seconds_up_to(86_400)),
        broadcast_rate=_read(merged, "BROADCAST_RATE", "30", _rate),
        paid_broadcast=_read(merged, "PAID_BROADCAST", "false", _flag),
        push_lease=_read(merged, "PUSH_LEASE", "30", _a_second_up_to(3600)),
        ledger_retention_days=_read(merged, "LEDGER_RETENTION_DAYS", "30", _retention_days),
        arxiv_page_delay=_read(merged, "ARXIV_PAGE_DELAY", "0", _seconds_up_to(3600)),
        arxiv_contact=_read(merged, "ARXIV_CONTACT", "", _contact),
        database_busy_timeout=_read(merged, "DATABASE_BUSY_TIMEOUT", "10", _seconds_up_to(600)),
        llm_base_url=_read(merged, "LLM_BASE_URL", "", _optional_url),
        llm_api_key=_read(merged, "LLM_API_KEY", "", _optional),
        llm_model=_read(merged, "LLM_MODEL", "", _optional),
        llm_daily_budget=_read(merged, "LLM_DAILY_BUDGET", "500", _budget),
        llm_timeout=_read(merged, "LLM_TIMEOUT", "30", _seconds_up_to(600)),
        arxiv_listing_url=_read(merged, "ARXIV_LISTING_URL", "https://arxiv.org/list/", _url),
        run_mode=_read(merged, "RUN_MODE", "polling", _run_mode),
        webhook_url=_read(merged, "WEBHOOK_URL", "", _webhook_url),
        webhook_listen=_read(merged, "WEBHOOK_LISTEN", "127.0.0.1:8443", _listen),
        webhook_secret=_read(merged, "WEBHOOK_SECRET", "", _webhook_secret),
        webhook_check_interval=_read(merged, "WEBHOOK_CHECK_INTERVAL", "300", _a_second_up_to(3600)),
    )
    if bool(settings.llm_base_url) != bool(settings.llm_model):
        missing = "LLM_MODEL" if settings.llm_base_url else "LLM_BASE_URL"
        raise ConfigError(missing, "LLM_BASE_URL and LLM_MODEL go together: set both, or neither")
    if settings.broadcast_rate > FREE_BROADCAST_RATE and not settings.paid_broadcast:
        raise ConfigError(
            "BROADCAST_RATE",
            f"Telegram allows {FREE_BROADCAST_RATE:g} messages/s; set PAID_BROADCAST=true to go faster",
        )
    if settings.run_mode == "webhook":
        if not settings.webhook_url:
            raise ConfigError(
                "WEBHOOK_URL", "required with RUN_MODE=webhook: the public https URL of the bot"
            )
        if not settings.webhook_secret:
            raise ConfigError(
                "WEBHOOK_SECRET", "required with RUN_MODE=webhook: it proves a request comes from Telegram"
            )
    return settings


def trusts_openssl_defaults() -> bool:
    """Whether the process trusts OpenSSL's default certificate authorities: SSL_CERT_FILE or
    SSL_CERT_DIR when set, else the system's bundle. Only where the system has none (a container
    without ca-certificates, python.org's Python on macOS) does certifi's bundle stand in."""
    named = os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")
    return bool(named or ssl.get_default_verify_paths().cafile)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for its httpx clients (PTB's polling and start-up wait, arXiv's pages
    and feeds, doctor's checks), made on first use: loading the certificate authorities costs tens of
    milliseconds of CPU, so they share one (all speak HTTP/1.1).

    Its authorities are those `trusts_openssl_defaults` names, so it trusts what aiohttp's own context
    does: aiohttp loads OpenSSL's defaults when imported, and the aiohttp connections (the push's and
    the replies', `bot.push.transport`) use that context rather than load them once more.
    """
    if trusts_openssl_defaults():
        return ssl.create_default_context()
    import certifi

    return ssl.create_default_context(cafile=certifi.where())
