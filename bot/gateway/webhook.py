"""Webhook mode: Telegram posts updates to WEBHOOK_URL, PTB's webhook server behind a reverse proxy
takes them, and a request that is not Telegram's is refused and logged in one line.

PTB's server checks the secret-token header (403 without it or with another) and answers garbage
with an error, but it says so only at DEBUG, or with a CRITICAL traceback for JSON it cannot read as
an update. `WebhookRefusals` turns those into one WARNING line each, so a misconfigured proxy or a
stranger probing the URL shows in the log without drowning it.
"""

from __future__ import annotations

import errno
import logging
import socket
from urllib.parse import urlsplit

from telegram.ext import Application
from tornado.web import HTTPError

from bot.config import ConfigError, Settings

UPDATER_LOGGER = "telegram.ext.Updater"
"""PTB's webhook server logs under the Updater's name."""
_TAKEN = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL})
"""What binding WEBHOOK_LISTEN fails with when another process took it after `check_listen_address`."""
_HANDLER_FAILED = "Exception in TelegramHandler"
"""What PTB's webhook handler logs, at DEBUG with the exception, for every request it does not take."""


class WebhookRefusals(logging.Filter):
    """On PTB's Updater logger: a refused webhook request becomes one WARNING line; its other DEBUG
    lines pass only when the bot logs at DEBUG (the logger is lowered to see the refusals)."""

    def __init__(self, debugging: bool) -> None:
        super().__init__()
        self._debugging = debugging

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.levelno == logging.CRITICAL and error is not None:
            return False  # an unreadable update: the refusal line below tells it, without the traceback
        message = record.getMessage()
        if error is not None and message.endswith(_HANDLER_FAILED):
            sender = message.removesuffix(_HANDLER_FAILED).removesuffix(" - ")
            record.msg = "webhook request from %s refused: %s"
            record.args = (sender, _refusal(error))
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            return True
        return record.levelno > logging.DEBUG or self._debugging


def _refusal(error: BaseException) -> str:
    """Why PTB's handler refused a request, with the status it answered."""
    if isinstance(error, HTTPError):
        reason = error.reason or "not sent as application/json"
        cause = error.__cause__
        detail = f" ({type(cause).__name__}: {str(cause)[:120]})" if cause else ""
        return f"{reason}{detail} ({error.status_code})"
    return f"its body is not JSON ({type(error).__name__}: {str(error)[:120]}) (500)"


def run_webhook(application: Application, settings: Settings) -> None:
    """Serve on WEBHOOK_LISTEN the path of WEBHOOK_URL, after registering WEBHOOK_URL and the secret
    with Telegram. The webhook stays registered at the end: other instances may still serve it."""
    assert settings.webhook_url and settings.webhook_secret, "load_settings requires both in webhook mode"
    updater_log = logging.getLogger(UPDATER_LOGGER)
    updater_log.addFilter(WebhookRefusals(debugging=logging.getLogger().level <= logging.DEBUG))
    updater_log.setLevel(logging.DEBUG)
    host, port = settings.webhook_listen
    check_listen_address(host, port)
    try:
        application.run_webhook(
            listen=host,
            port=port,
            url_path=urlsplit(settings.webhook_url).path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=None,
            drop_pending_updates=False,
            stop_signals=None,
        )
    except OSError as error:
        if error.errno not in _TAKEN:
            raise
        raise _cannot_listen(host, port, error) from None


def check_listen_address(host: str, port: int) -> None:
    """Fail in one line, before a webhook is registered that nobody would serve, when WEBHOOK_LISTEN
    cannot be bound (a port in use, an address not of this host)."""
    try:
        for family, kind, protocol, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            with socket.socket(family, kind, protocol) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webhook server does
                probe.bind(address)
    except OSError as error:
        raise _cannot_listen(host, port, error) from None


def _cannot_listen(host: str, port: int, error: OSError) -> ConfigError:
    return ConfigError("WEBHOOK_LISTEN", f"cannot listen on {host}:{port}: {error.strerror}")
