"""Telegram-facing features; `register` wires every handler, in order, in one place."""

from __future__ import annotations

from telegram.ext import Application

from handlers import start
from handlers.errors import on_error


def register(application: Application) -> None:
    for handler in start.handlers():
        application.add_handler(handler)
    for handler in start.fallback_handlers():
        application.add_handler(handler)
    application.add_error_handler(on_error)
