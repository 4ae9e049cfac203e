"""Logging set-up that keeps the bot token out of every log line.

httpx logs each request URL, and Telegram URLs contain the token; exceptions can carry it too.
Redacting in the formatter covers every logger, level and traceback at once.
"""

from __future__ import annotations

import logging
import sys

from telegram.error import InvalidToken

REDACTED = "[TOKEN]"


class _OneLineForRejectedToken(logging.Filter):
    """A rejected token ends the process with one line from the CLI; PTB's traceback of it adds nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            record.msg = f"{record.getMessage()} (Telegram rejected the bot token)"
            record.args = ()
            record.exc_info = record.exc_text = None
        return True


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str) -> None:
        super().__init__(fmt)
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def configure_logging(level: str, secrets: list[str | None]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(
            [secret for secret in secrets if secret], "%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    )
    handler.addFilter(_OneLineForRejectedToken())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per HTTP request drowns the useful lines; keep these for warnings unless debugging.
    for chatty in ("httpx", "arxiv"):
        logging.getLogger(chatty).setLevel(level if level == "DEBUG" else "WARNING")
