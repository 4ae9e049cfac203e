"""Telegram-facing features; `register` wires every handler, in order, in one place."""

from __future__ import annotations

from telegram.ext import Application

from handlers import admin, membership, settings, start, subscribe, today
from handlers.errors import on_error


def register(application: Application) -> None:
    for feature in (start, subscribe, today, settings, membership, admin):
        for handler in feature.handlers():
            application.add_handler(handler)
    for handler in start.fallback_handlers():
        application.add_handler(handler)
    application.add_error_handler(on_error)
