"""Telegram-facing features; `register` wires every handler, in order, in one place."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, TypeHandler

from handlers import (
    admin,
    feedback,
    follows,
    language,
    membership,
    paper,
    search,
    settings,
    start,
    subscribe,
    today,
)
from handlers.access import remember_chat
from handlers.errors import on_error

REGISTRATION_GROUP = -1  # before every feature's handlers, which run in group 0


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, remember_chat), group=REGISTRATION_GROUP)
    for feature in (
        start,
        subscribe,
        today,
        follows,
        feedback,
        settings,
        language,
        membership,
        admin,
        search,
        paper,
    ):
        for handler in feature.handlers():
            application.add_handler(handler)
    for handler in start.fallback_handlers():
        application.add_handler(handler)
    application.add_error_handler(on_error)
