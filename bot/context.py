"""The context handlers and jobs receive, kept apart from `bot.services` so a push, which has no
application, never loads PTB's application layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import FATAL_KEY, SERVICES_KEY

if TYPE_CHECKING:
    from bot.services import Services


def stop_for_good(application: Application, reason: str) -> None:
    """A failure no retry mends (the token was revoked): stop, and let `run` exit non-zero with `reason`."""
    if FATAL_KEY not in application.bot_data:
        application.bot_data[FATAL_KEY] = reason
        from bot.jobs import cancel_running_work  # bot.jobs needs this module first

        cancel_running_work(application)  # as on SIGTERM: long jobs cut short, no new ones started
        application.stop_running()


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The context handlers and jobs receive: PTB's own, plus this process's services."""

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES_KEY]

    def stop_for_good(self, reason: str) -> None:
        stop_for_good(self.application, reason)
