"""Logging set-up that keeps secrets out of every log line, and the one rule for redacting them.

httpx logs each request URL, and Telegram URLs contain the token; exceptions can carry it too (PTB's
InvalidToken quotes it). Redacting in the formatter covers every logger, level and traceback at once;
`redact` serves the other ways out: the CLI's one-line errors, doctor's table, the ledger's errors.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.core.clock import Monotonic

if TYPE_CHECKING:
    from bot.config import Settings

from telegram.error import InvalidToken, TelegramError

REDACTED = "[TOKEN]"
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*):[^/\s@]+@")
"""The password of a URL the settings do not name, e.g. the webhook another deployment registered."""


def secrets_in(token: str | None, urls: Sequence[str] = ()) -> list[str]:
    """What must never be shown: the token, its secret half alone, and passwords inside URLs.

    Longest first, so the whole token is replaced before its half could be.
    """
    found = {token, token.partition(":")[2]} if token else set()
    found.update(urlsplit(url).password for url in urls)
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret the settings hold: the token, the webhook's secret, and any password in the
    configured URLs."""
    urls = [
        settings.telegram_api_base_url,
        settings.arxiv_feed_url,
        settings.arxiv_api_url,
        settings.arxiv_html_url,
        settings.arxiv_listing_url,
        *([settings.llm_base_url] if settings.llm_base_url else []),
        *([settings.webhook_url] if settings.webhook_url else []),
        *([settings.database_url] if settings.database_url else []),
    ]
    return sorted(
        {
            *secrets_in(settings.telegram_bot_token, urls),
            *([settings.llm_api_key] if settings.llm_api_key else []),
            *([settings.webhook_secret] if settings.webhook_secret else []),
        },
        key=len,
        reverse=True,
    )


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` without `secrets`, nor the password of any URL in it."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)


RETRY_LOOP = ("telegram.ext", "networkloop")
"""PTB's retry loop (logger, module) logs with a traceback the error it gives up on, then raises it to
its caller."""


class _OneLineForTelegramFailures(logging.Filter):
    """A rejected token, or a Telegram error PTB's retry loop gives up on (a webhook Telegram refuses),
    ends the process with one line from the CLI; PTB's traceback of it adds nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, InvalidToken):
            told = "Telegram rejected the bot token"
        elif isinstance(error, TelegramError) and (record.name, record.module) == RETRY_LOOP:
            told = f"{type(error).__name__}: {error}"
        else:
            return True
        record.msg = f"{record.getMessage()} ({told})"
        record.args = ()
        record.exc_info = record.exc_text = None
        return True


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Sequence[str], fmt: str) -> None:
        super().__init__(fmt)
        self._secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def configure_logging(level: str, secrets: Sequence[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_OneLineForTelegramFailures())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning reaches stderr through the formatter too
    # One line per HTTP request drowns the useful lines; keep these for warnings unless debugging.
    for chatty in ("httpx", "arxiv"):
        logging.getLogger(chatty).setLevel(level if level == "DEBUG" else "WARNING")


class Throttle:
    """For a problem that recurs (a full disk): at most one log line per `interval` seconds."""

    def __init__(self, interval: float = 60.0, monotonic: Monotonic = time.monotonic) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._next = float("-inf")
        self.held_back = 0  # lines not written since the last one

    def ready(self) -> bool:
        now = self._monotonic()
        if now < self._next:
            self.held_back += 1
            return False
        self._next = now + self._interval
        return True
